"""FHIR Location read and search, `near` nearest first."""

from fhir.resources.R4B.location import Location

from signpost.directory import service as directory
from tests.directory.factories import make_service, token
from tests.factories import bearer, make_key


def test_read_is_a_valid_location_with_position(client, session) -> None:  # type: ignore[no-untyped-def]
    service = make_service(
        session, locations=[{"name": "Hub", "postal_code": "LS1 4AP", "latitude": 53.8, "longitude": -1.55}]
    )
    location = directory.service_locations(session=session, service_id=service.id)[0]
    body = client.get(f"/fhir/Location/{location.id}", headers=bearer(make_key(session, "clinician"))).json()
    Location.model_validate(body)
    assert body["address"]["postalCode"] == "LS1 4AP"
    assert body["position"] == {"latitude": 53.8, "longitude": -1.55}


def test_near_orders_nearest_first_within_the_distance(client, session) -> None:  # type: ignore[no-untyped-def]
    word = token()
    make_service(
        session,
        locations=[
            {"name": f"{word} far", "latitude": 53.83, "longitude": -1.55},
            {"name": f"{word} near", "latitude": 53.801, "longitude": -1.55},
            {"name": f"{word} away", "latitude": 55.0, "longitude": -1.55},
        ],
    )
    body = client.get(
        "/fhir/Location", params={"near": "53.8|-1.55|10|km", "name": word}, headers=bearer(make_key(session, "editor"))
    ).json()
    assert [e["resource"]["name"] for e in body["entry"]] == [f"{word} near", f"{word} far"]


def test_malformed_near_is_400(client, session) -> None:  # type: ignore[no-untyped-def]
    response = client.get("/fhir/Location", params={"near": "north"}, headers=bearer(make_key(session, "editor")))
    assert response.status_code == 400
    assert response.json()["resourceType"] == "OperationOutcome"
