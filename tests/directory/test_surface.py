"""The service-layer surface routing calls: search_services with a ServiceQuery, to_healthcare_service."""

from signpost.directory import service as directory
from tests.directory.factories import make_service, token


def test_search_services_is_reachable_from_the_service_module(session) -> None:  # type: ignore[no-untyped-def]
    word = token()
    held = make_service(session, name=f"{word} advice", categories=["debt"])
    page = directory.search_services(session=session, query=directory.ServiceQuery(text=word, categories=["debt"]))
    assert [hit.service.id for hit in page.hits] == [held.id]
    assert page.hits[0].reasons and page.hits[0].distance_km is None


def test_to_healthcare_service_maps_a_held_service(session) -> None:  # type: ignore[no-untyped-def]
    held = make_service(session)
    resource = directory.to_healthcare_service(held)
    assert resource["resourceType"] == "HealthcareService" and resource["id"] == held.id
