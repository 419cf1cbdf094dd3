"""FHIR Measure: read, search, and `$evaluate-measure` (summary MeasureReports, suppressed)."""

from datetime import date
from typing import Annotated

from fastapi import Depends, Query, Request

from signpost.auth import Caller, Public, Role, allow
from signpost.config import SettingsDep
from signpost.db import SessionDep
from signpost.errors import Problem
from signpost.fhir_api.bundle import fhir_base, searchset
from signpost.fhir_api.io import FhirResponse, page_size
from signpost.fhir_api.routes import fhir_router
from signpost.indicators import measures, service
from signpost.indicators.suppression import policy_for

router = fhir_router(["fhir", "indicators"])
AnalystDep = Annotated[Caller, Depends(allow(Role.analyst, Role.admin))]


def _measure(measure_id: str) -> dict:  # type: ignore[type-arg]
    found = measures.load_measures().get(measure_id)
    if found is None:
        raise Problem(404, f"There is no Measure '{measure_id}'.")
    return found


@router.get("/Measure", operation_id="search_measures", dependencies=[Public])
def search_measures(
    request: Request,
    url: Annotated[str | None, Query(description="The Measure's canonical URL")] = None,
    status: Annotated[str | None, Query(description="active, draft or retired")] = None,
    count: Annotated[int | None, Query(alias="_count")] = None,
    offset: Annotated[int, Query(alias="_offset", ge=0)] = 0,
) -> FhirResponse:
    """Search the referral indicators (Measures)."""
    found = [
        m
        for m in measures.load_measures().values()
        if (url is None or m["url"] == url) and (status is None or m["status"] == status)
    ]
    size = page_size(count)
    return FhirResponse(
        searchset(
            request,
            resources=found[offset : offset + size],
            total=len(found),
            offset=offset,
            count=size,
            base=fhir_base(request),
        )
    )


@router.get("/Measure/{measure_id}", operation_id="read_measure", dependencies=[Public])
def read_measure(measure_id: str) -> FhirResponse:
    """Read one referral indicator (Measure), tied to its Marmot principle."""
    return FhirResponse(_measure(measure_id))


@router.get("/Measure/{measure_id}/$evaluate-measure", operation_id="evaluate_measure")
def evaluate_measure(
    measure_id: str,
    session: SessionDep,
    settings: SettingsDep,
    _actor: AnalystDep,
    period_start: Annotated[date, Query(alias="periodStart", description="First day of the period")],
    period_end: Annotated[date, Query(alias="periodEnd", description="Last day of the period (inclusive)")],
) -> FhirResponse:
    """A summary MeasureReport stratified by ward, IMD decile and need, small numbers suppressed."""
    measure = _measure(measure_id)
    service.check_period(
        period_start, period_end, max_months=settings.report_max_months, names=("periodStart", "periodEnd")
    )
    # A MeasureReport is for publishing: never unsuppressed.
    policy = policy_for(
        name=settings.suppression_policy, threshold=settings.suppression_threshold, admin=False, export=True
    )
    return FhirResponse(
        measures.evaluate(session=session, measure=measure, start=period_start, end=period_end, policy=policy)
    )
