"""FHIR Measure: read, search, and `$evaluate-measure` by GET or POST (summary MeasureReports, suppressed)."""

import re
from datetime import date
from typing import Annotated, Any

from dateutil.relativedelta import relativedelta
from fastapi import Depends, Request, Response
from starlette.concurrency import run_in_threadpool

from signpost.auth import Caller, Public, Role, allow
from signpost.config import Settings, SettingsDep
from signpost.db import SessionDep
from signpost.errors import Problem
from signpost.fhir_api import referral_measure, search
from signpost.fhir_api.bundle import shipped_searchset
from signpost.fhir_api.io import FhirResponse, content_tag, read_json_body, read_response
from signpost.fhir_api.parameters import operation_inputs
from signpost.fhir_api.routes import fhir_router
from signpost.indicators import measures, service
from signpost.indicators.suppression import policy_for

router = fhir_router(["fhir", "indicators"])
AnalystDep = Annotated[Caller, Depends(allow(Role.analyst, Role.admin))]
EVALUATE = {"x-fhir-operation-definition": "http://hl7.org/fhir/OperationDefinition/Measure-evaluate-measure"}
INPUTS = {"periodStart": "date", "periodEnd": "date", "reportType": "code"}
# FHIR date and dateTime: year, year-month, date, or date and time (R4 2.24.0.1); only the date part counts here.
FHIR_DATE = re.compile(r"^(\d{4})(-(\d{2})(-(\d{2})(T[0-9:.]+(Z|[+-]\d{2}:\d{2})?)?)?)?$")


def _measure(measure_id: str) -> dict[str, Any]:
    found = measures.shipped_measures().get(measure_id)
    if found is None:
        raise Problem(404, f"There is no Measure '{measure_id}'.")
    return found


def _bad(name: str, message: str) -> Problem:
    return Problem(400, f"{name}: {message}", errors=[{"loc": name, "message": message}])


def period_bound(name: str, value: str | None, *, end: bool) -> date:
    """A FHIR date of any precision as the first (start) or last (end) day it covers."""
    if not value:
        raise _bad(name, "is required (a FHIR date: 2026, 2026-03 or 2026-03-04)")
    match = FHIR_DATE.match(value.strip())
    if not match:
        raise _bad(name, f"{value!r} is not a FHIR date (2026, 2026-03 or 2026-03-04)")
    year, month, day = int(match.group(1)), match.group(3), match.group(5)
    try:
        if month is None:
            return date(year, 12, 31) if end else date(year, 1, 1)
        if day is None:
            first = date(year, int(month), 1)
            if not end:
                return first
            last: date = first + relativedelta(day=31)  # a day past the month's end is its end
            return last
        return date(year, int(month), int(day))
    except ValueError:
        raise _bad(name, f"{value!r} is not a real date") from None


def _evaluate(*, session: Any, settings: Settings, measure_id: str, inputs: dict[str, str]) -> dict[str, Any]:
    measure = _measure(measure_id)
    report_type = inputs.get("reportType", "population")
    if report_type != "population":
        # Events are anonymous: there is no subject to report on, only the population.
        raise _bad("reportType", f"{report_type!r} is not available; this service reports 'population' only")
    start = period_bound("periodStart", inputs.get("periodStart"), end=False)
    end = period_bound("periodEnd", inputs.get("periodEnd"), end=True)
    service.check_period(start, end, max_months=settings.report_max_months, names=("periodStart", "periodEnd"))
    # A MeasureReport is for publishing: never unsuppressed.
    policy = policy_for(
        name=settings.suppression_policy, threshold=settings.suppression_threshold, admin=False, export=True
    )
    if referral_measure.is_referral_measure(measure):
        return referral_measure.evaluate(session=session, measure=measure, start=start, end=end, policy=policy)
    return measures.evaluate(session=session, measure=measure, start=start, end=end, policy=policy)


@router.get(
    "/Measure",
    operation_id="search_measures",
    dependencies=[Public],
    openapi_extra=search.route_extra(search.CONFORMANCE_PARAMS),
)
def search_measures(request: Request) -> FhirResponse:
    """Search the referral indicators (Measures) by _id, url, version and status."""
    return FhirResponse(shipped_searchset(request, list(measures.shipped_measures().values())))


@router.get("/Measure/{measure_id}", operation_id="read_measure", dependencies=[Public])
def read_measure(measure_id: str, request: Request) -> Response:
    """Read one referral indicator (Measure), tied to its Marmot principle."""
    resource = _measure(measure_id)
    return read_response(request, resource, etag=content_tag(resource))


@router.get(
    "/Measure/{measure_id}/$evaluate-measure",
    operation_id="evaluate_measure",
    openapi_extra={
        **EVALUATE,
        "parameters": [
            {"name": n, "in": "query", "required": n != "reportType", "schema": {"type": "string"}} for n in INPUTS
        ],
    },
)
def evaluate_measure(
    measure_id: str, request: Request, session: SessionDep, settings: SettingsDep, _actor: AnalystDep
) -> FhirResponse:
    """A summary MeasureReport stratified by ward, IMD decile and need, small numbers suppressed."""
    inputs = {name: value for name, value in request.query_params.items() if name in INPUTS}
    return FhirResponse(_evaluate(session=session, settings=settings, measure_id=measure_id, inputs=inputs))


@router.post(
    "/Measure/{measure_id}/$evaluate-measure",
    operation_id="evaluate_measure_post",
    openapi_extra={
        **EVALUATE,
        "requestBody": {"required": True, "content": {"application/fhir+json": {"schema": {"type": "object"}}}},
    },
)
async def evaluate_measure_post(
    measure_id: str, request: Request, session: SessionDep, settings: SettingsDep, _actor: AnalystDep
) -> FhirResponse:
    """$evaluate-measure with its inputs in a Parameters body (periodStart, periodEnd, reportType)."""
    inputs = operation_inputs(await read_json_body(request), names=INPUTS)
    # The report's queries run in a worker thread: only reading the body needs the event loop.
    report = await run_in_threadpool(
        _evaluate, session=session, settings=settings, measure_id=measure_id, inputs=inputs
    )
    return FhirResponse(report)
