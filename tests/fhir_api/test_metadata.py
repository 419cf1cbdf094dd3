"""`/fhir/metadata`: a valid CapabilityStatement describing only what exists."""

from fhir.resources.R4B.capabilitystatement import CapabilityStatement


def test_metadata_is_a_valid_r4_capability_statement(client) -> None:  # type: ignore[no-untyped-def]
    response = client.get("/fhir/metadata")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/fhir+json")
    body = response.json()
    statement = CapabilityStatement.model_validate(body)
    assert statement.fhirVersion == "4.0.1"
    assert "application/fhir+json" in body["format"]


def test_metadata_claims_only_routes_that_exist(client, app) -> None:  # type: ignore[no-untyped-def]
    from fastapi.routing import APIRoute

    body = client.get("/fhir/metadata").json()
    paths = {r.path for r in app.routes if isinstance(r, APIRoute)}
    for resource in body["rest"][0]["resource"]:
        kinds = {i["code"] for i in resource.get("interaction", [])}
        if "read" in kinds:
            assert any(p.startswith(f"/fhir/{resource['type']}/{{") for p in paths)
        if "search-type" in kinds:
            assert f"/fhir/{resource['type']}" in paths
        for operation in resource.get("operation", []):
            assert any(p.endswith(f"/${operation['name']}") for p in paths)


def test_format_json_is_honoured(client) -> None:  # type: ignore[no-untyped-def]
    assert client.get("/fhir/metadata?_format=json").status_code == 200
    assert client.get("/fhir/metadata?_format=application/fhir%2Bjson").status_code == 200


def test_format_xml_is_406_with_an_outcome(client) -> None:  # type: ignore[no-untyped-def]
    response = client.get("/fhir/metadata?_format=xml")
    assert response.status_code == 406
    assert response.json()["resourceType"] == "OperationOutcome"


def test_accept_xml_only_is_406(client) -> None:  # type: ignore[no-untyped-def]
    response = client.get("/fhir/metadata", headers={"accept": "application/fhir+xml"})
    assert response.status_code == 406
