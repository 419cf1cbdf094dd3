"""The Open Referral UK 3.0 read API under /openreferral: public, CORS open (see ops.headers)."""

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from fastapi.responses import ORJSONResponse

from signpost.auth import Public
from signpost.config import SettingsDep
from signpost.db import SessionDep
from signpost.openreferral import service as oruk
from signpost.openreferral.schemas import ApiInfo, Page

router = APIRouter(prefix="/openreferral", tags=["openreferral"], dependencies=[Public])


async def service_filters(
    search: Annotated[str | None, Query(description="Full-text search (ORUK 3.0).")] = None,
    text: Annotated[str | None, Query(description="Full-text search (ORUK 1.0 name for `search`).")] = None,
    taxonomy_term_id: Annotated[str | None, Query(description="Only services with this taxonomy term.")] = None,
    taxonomy_id: Annotated[str | None, Query(description="Only services with a term of this taxonomy.")] = None,
    minimum_age: Annotated[int | None, Query(ge=0, le=130, description="Youngest age the service must accept.")] = None,
    maximum_age: Annotated[int | None, Query(ge=0, le=130, description="Oldest age the service must accept.")] = None,
    day: Annotated[str | None, Query(description="Open on this day (MO..SU or Monday..Sunday).")] = None,
    start_time: Annotated[str | None, Query(description="Opening at or after this time (HH:MM).")] = None,
    end_time: Annotated[str | None, Query(description="Closing at or before this time (HH:MM).")] = None,
    modified_after: Annotated[str | None, Query(description="Changed on or after this date-time.")] = None,
) -> oruk.ServiceFilters:
    """The ORUK 3.0 service filters, read from the query."""
    return oruk.ServiceFilters(
        text=search or text,
        taxonomy_term_id=taxonomy_term_id,
        taxonomy_id=taxonomy_id,
        minimum_age=minimum_age,
        maximum_age=maximum_age,
        day=day,
        start_time=start_time,
        end_time=end_time,
        modified_after=modified_after,
    )


FiltersDep = Annotated[oruk.ServiceFilters, Depends(service_filters)]

PageQ = Annotated[int, Query(description="Page number, from 1.")]
PerPageQ = Annotated[int, Query(description=f"Results per page, 1 to {oruk.MAX_PER_PAGE}.")]


@router.get("/", operation_id="oruk_api_info", response_model=ApiInfo)
def api_info(settings: SettingsDep) -> dict[str, Any]:
    """Which HSDS version and profile this API follows."""
    # The configured public base, never the request's Host header (which a client chooses).
    base = settings.public_base_url.rstrip("/")
    return {
        "version": oruk.ORUK_VERSION,
        "profile": oruk.ORUK_PROFILE,
        "openapi_url": f"{base}/openapi.json",
    }


# The read routes write their answer to JSON in their own thread (a response, not a dict): a dict returned through
# the response model was checked against it in a second trip to a worker thread, queued behind every other
# request's (bench/README.md, "Soak"). The models still describe the answers in the OpenAPI document.
@router.get("/services", operation_id="oruk_list_services", response_model=Page)
def list_services(session: SessionDep, filters: FiltersDep, page: PageQ = 1, per_page: PerPageQ = 50) -> ORJSONResponse:
    """A page of services with their one-to-one fields and organisation."""
    return ORJSONResponse(oruk.list_services(session=session, filters=filters, page=page, per_page=per_page))


@router.get("/services/{service_id}", operation_id="oruk_get_service", response_model=dict[str, Any])
def get_service(service_id: str, session: SessionDep) -> ORJSONResponse:
    """One service, fully nested."""
    return ORJSONResponse(oruk.get_service(session=session, service_id=service_id))


@router.get("/taxonomies", operation_id="oruk_list_taxonomies", response_model=Page)
def list_taxonomies(session: SessionDep, page: PageQ = 1, per_page: PerPageQ = 50) -> ORJSONResponse:
    """The taxonomies the directory's terms come from."""
    return ORJSONResponse(oruk.list_taxonomies(session=session, page=page, per_page=per_page))


@router.get("/taxonomy_terms", operation_id="oruk_list_taxonomy_terms", response_model=Page)
def list_taxonomy_terms(
    session: SessionDep,
    taxonomy_id: Annotated[str | None, Query(description="Only terms of this taxonomy.")] = None,
    page: PageQ = 1,
    per_page: PerPageQ = 50,
) -> ORJSONResponse:
    """A page of taxonomy terms."""
    return ORJSONResponse(
        oruk.list_taxonomy_terms(session=session, taxonomy_id=taxonomy_id, page=page, per_page=per_page)
    )


@router.get("/organizations", operation_id="oruk_list_organizations", response_model=Page)
def list_organizations(session: SessionDep, page: PageQ = 1, per_page: PerPageQ = 50) -> ORJSONResponse:
    """A page of organisations."""
    return ORJSONResponse(oruk.list_organizations(session=session, page=page, per_page=per_page))


@router.get("/service_at_locations", operation_id="oruk_list_service_at_locations", response_model=Page)
def list_service_at_locations(
    session: SessionDep,
    filters: FiltersDep,
    postcode: Annotated[str | None, Query(description="Measure distances from this UK postcode.")] = None,
    proximity: Annotated[float | None, Query(description="Only within this many metres of the postcode.")] = None,
    page: PageQ = 1,
    per_page: PerPageQ = 50,
) -> ORJSONResponse:
    """Services at their locations; nearest first when a postcode is given."""
    return ORJSONResponse(
        oruk.list_service_at_locations(
            session=session, postcode=postcode, proximity=proximity, page=page, per_page=per_page, filters=filters
        )
    )
