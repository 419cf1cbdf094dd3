"""FHIR Organization read and search over the directory's organisations."""

from fhir.resources.R4B.organization import Organization

from tests.directory.factories import make_service, token
from tests.factories import bearer, make_key


def test_read_is_a_valid_organization_with_charity_number(client, session) -> None:  # type: ignore[no-untyped-def]
    service = make_service(session, organization={"name": "Leeds Aid", "charity_number": "1234567"})
    body = client.get(
        f"/fhir/Organization/{service.organization_id}", headers=bearer(make_key(session, "prescriber"))
    ).json()
    Organization.model_validate(body)
    assert body["name"] == "Leeds Aid"
    assert {"system": "https://register-of-charities.charitycommission.gov.uk", "value": "1234567"} in body[
        "identifier"
    ]


def test_search_by_name_prefix(client, session) -> None:  # type: ignore[no-untyped-def]
    word = token()
    make_service(session, organization={"name": f"{word} Trust"})
    body = client.get("/fhir/Organization", params={"name": word}, headers=bearer(make_key(session, "editor"))).json()
    assert body["total"] == 1 and body["entry"][0]["resource"]["name"] == f"{word} Trust"


def test_unknown_organization_is_404(client, session) -> None:  # type: ignore[no-untyped-def]
    response = client.get("/fhir/Organization/nope", headers=bearer(make_key(session, "editor")))
    assert response.status_code == 404
