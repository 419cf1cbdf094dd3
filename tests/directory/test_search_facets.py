"""The search facets (`service_facet`): database triggers keep them equal to what the directory's tables say."""

from sqlmodel import delete, select

from signpost.directory import fulltext, importer
from signpost.directory import service as directory
from signpost.directory.models import (
    ServiceFacet,
    ServiceFacetCategory,
    ServiceSearch,
    ServiceStatus,
    ServiceTaxonomy,
)
from signpost.directory.schemas import ServicePatch
from signpost.directory.search import ServiceQuery, search_services
from tests.directory.factories import make_service, token
from tests.openreferral.factories import oruk_service


def _facets(session) -> list[tuple]:  # type: ignore[no-untyped-def]
    rows = session.exec(select(ServiceFacet).order_by(ServiceFacet.id)).all()
    return [tuple(sorted(row.model_dump().items())) for row in rows]


def test_free_filter_follows_a_changed_price(session) -> None:  # type: ignore[no-untyped-def]
    word = token()
    service = make_service(session, name=f"{word} clinic", cost_options=[{"option": "Free", "amount": 0}])
    assert search_services(session=session, query=ServiceQuery(text=word, free=True)).total == 1
    patch = ServicePatch.model_validate({"cost_options": [{"option": "Fee", "amount": 10}]})
    directory.update_service(
        session=session, service_id=service.id, data=patch, actor="t", expected_version=service.version
    )
    assert search_services(session=session, query=ServiceQuery(text=word, free=True)).total == 0


def test_category_and_place_filters_follow_an_edit(session) -> None:  # type: ignore[no-untyped-def]
    word = token()
    service = make_service(session, name=f"{word} hub", categories=["debt"], delivery_modes=["in_person"])
    patch = ServicePatch.model_validate(
        {"categories": ["food"], "locations": [{"name": "Hub", "latitude": 53.80, "longitude": -1.55}]}
    )
    directory.update_service(
        session=session, service_id=service.id, data=patch, actor="t", expected_version=service.version
    )
    assert search_services(session=session, query=ServiceQuery(text=word, categories=["debt"])).total == 0
    assert search_services(session=session, query=ServiceQuery(text=word, categories=["food"])).total == 1
    facet = session.exec(select(ServiceFacet).where(ServiceFacet.service_id == service.id)).one()
    assert facet.premises and facet.min_latitude == 53.80 and facet.max_longitude == -1.55


def test_facets_kept_by_triggers_equal_a_rebuild(session) -> None:  # type: ignore[no-untyped-def]
    word = token()
    kept = make_service(session, name=f"{word} a", cost_options=[{"amount": 0}], minimum_age=18)
    moved = make_service(session, name=f"{word} b", locations=[{"name": "B", "latitude": 53.7, "longitude": -1.5}])
    closed = make_service(session, name=f"{word} c", categories=["food", "debt"])
    gone = make_service(session, name=f"{word} d")
    patch = ServicePatch.model_validate(
        {
            "locations": [
                {"name": "B1", "latitude": 53.81, "longitude": -1.52},
                {"name": "B2", "location_type": "virtual"},
            ]
        }
    )
    directory.update_service(
        session=session, service_id=moved.id, data=patch, actor="t", expected_version=moved.version
    )
    patch = ServicePatch.model_validate({"maximum_age": 64, "cost_options": [{"amount": 0}, {"amount": 5}]})
    directory.update_service(session=session, service_id=kept.id, data=patch, actor="t", expected_version=kept.version)
    directory.change_status(
        session=session, service_id=closed.id, status=ServiceStatus.inactive, actor="t", expected_version=closed.version
    )
    directory.retire_service(session=session, service_id=gone.id, actor="t", expected_version=gone.version)
    session.flush()
    kept_by_triggers = _facets(session)
    fulltext.rebuild_facets(session.connection())
    session.expire_all()
    assert _facets(session) == kept_by_triggers


def test_category_links_follow_edits_imports_and_a_removed_search_row(session) -> None:  # type: ignore[no-untyped-def]
    word = token()
    edited = make_service(session, name=f"{word} a", categories=["debt"])
    split = make_service(session, name=f"{word} b", categories=["food", "housing"])
    dropped = make_service(session, name=f"{word} c", categories=["debt", "food"])
    for service, categories in ((edited, ["food", "carers"]), (split, ["housing"])):
        patch = ServicePatch.model_validate({"categories": categories})
        directory.update_service(
            session=session, service_id=service.id, data=patch, actor="t", expected_version=service.version
        )
    report = importer.ImportReport(source="test", format="oruk3")
    importer.import_records(session=session, records=[oruk_service(name=f"{word} d")], report=report, actor="t")
    session.execute(delete(ServiceSearch).where(ServiceSearch.service_id == dropped.id))
    session.flush()

    links = set(
        session.exec(
            select(ServiceFacet.service_id, ServiceFacetCategory.taxonomy_term_id).join(
                ServiceFacetCategory, ServiceFacetCategory.facet_id == ServiceFacet.id
            )
        ).all()
    )
    terms = set(
        session.exec(
            select(ServiceTaxonomy.service_id, ServiceTaxonomy.taxonomy_term_id).join(
                ServiceFacet, ServiceFacet.service_id == ServiceTaxonomy.service_id
            )
        ).all()
    )
    assert links == terms
    assert {sid for sid, _ in links} >= {edited.id, split.id, report.created[0]}
    assert dropped.id not in {sid for sid, _ in links}
    found = search_services(session=session, query=ServiceQuery(text=word, categories=["food"])).hits
    assert [hit.service.id for hit in found] == [edited.id]
    by_category = search_services(session=session, query=ServiceQuery(categories=["carers"])).hits
    assert edited.id in [hit.service.id for hit in by_category]
