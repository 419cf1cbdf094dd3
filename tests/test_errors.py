"""Every error is problem JSON, or an OperationOutcome under /fhir; never a 500."""

from tests.factories import bearer, make_key


def test_unknown_route_is_problem_json_404(client) -> None:  # type: ignore[no-untyped-def]
    response = client.get("/no/such/thing")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["status"] == 404


def test_unknown_fhir_route_is_an_operation_outcome(client) -> None:  # type: ignore[no-untyped-def]
    response = client.get("/fhir/NoSuchType/1")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/fhir+json")
    body = response.json()
    assert body["resourceType"] == "OperationOutcome" and body["issue"][0]["code"] == "not-found"


def test_wrong_method_is_405(client) -> None:  # type: ignore[no-untyped-def]
    response = client.delete("/healthz")
    assert response.status_code == 405
    assert "DELETE" in response.json()["detail"]


def test_fhir_wrong_method_is_not_supported(client) -> None:  # type: ignore[no-untyped-def]
    response = client.post("/fhir/metadata", json={})
    assert response.status_code == 405
    assert response.json()["issue"][0]["code"] == "not-supported"


def test_malformed_json_is_400(client, session) -> None:  # type: ignore[no-untyped-def]
    admin = make_key(session, "admin")
    response = client.post(
        "/api/v1/admin/keys",
        headers={**bearer(admin), "content-type": "application/json"},
        content=b'{"role": "analyst",',
    )
    assert response.status_code == 400
    assert "not valid JSON" in response.json()["detail"]


def test_wrong_media_type_is_415(client, session) -> None:  # type: ignore[no-untyped-def]
    admin = make_key(session, "admin")
    response = client.post(
        "/api/v1/admin/keys", headers={**bearer(admin), "content-type": "application/xml"}, content=b"<key/>"
    )
    assert response.status_code == 415
    assert "application/json" in response.json()["detail"]


def test_body_over_the_limit_is_413_and_stores_nothing(client, session) -> None:  # type: ignore[no-untyped-def]
    from signpost.auth import service

    admin = make_key(session, "admin")
    before = len(service.list_keys(session=session))
    big = {"role": "analyst", "name": "x" * (1024 * 1024 + 10)}
    response = client.post("/api/v1/admin/keys", headers=bearer(admin), json=big)
    assert response.status_code == 413
    assert "limit" in response.json()["detail"]
    assert len(service.list_keys(session=session)) == before


def test_fhir_body_over_the_limit_is_an_operation_outcome(client) -> None:  # type: ignore[no-untyped-def]
    response = client.post(
        "/fhir/metadata", content=b"x" * (1024 * 1024 + 1), headers={"content-type": "application/fhir+json"}
    )
    assert response.status_code == 413
    assert response.json()["issue"][0]["code"] == "too-long"


def test_validation_error_is_422_naming_the_field(client, session) -> None:  # type: ignore[no-untyped-def]
    admin = make_key(session, "admin")
    response = client.post("/api/v1/admin/keys", headers=bearer(admin), json={"name": "x"})
    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"] == "role"
