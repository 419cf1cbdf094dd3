"""Indicator reports for analysts: JSON or CSV, suppressed before they leave."""

from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query
from fastapi.responses import JSONResponse, Response

from signpost.auth import Caller, Role, allow
from signpost.config import SettingsDep
from signpost.db import SessionDep
from signpost.indicators import service
from signpost.indicators.suppression import policy_for

router = APIRouter(prefix="/api/v1/indicators", tags=["indicators"])
AnalystDep = Annotated[Caller, Depends(allow(Role.analyst, Role.admin))]


@router.get(
    "/counts",
    operation_id="indicator_counts",
    responses={200: {"content": {"application/json": {}, "text/csv": {}}}},
)
def indicator_counts(
    session: SessionDep,
    settings: SettingsDep,
    actor: AnalystDep,
    start: Annotated[date, Query(description="First day of the period")],
    end: Annotated[date, Query(description="Last day of the period (inclusive)")],
    group_by: Annotated[
        str,
        Query(description="Comma-separated: " + ", ".join(service.GROUPINGS)),
    ] = "",
    kind: Annotated[Literal["signposted", "referred"] | None, Query(description="Only this kind")] = None,
    source: Annotated[Literal["template", "prescriber"] | None, Query(description="Only this source")] = None,
    format: Annotated[Literal["json", "csv"], Query(description="json or csv")] = "json",
) -> Response:
    """Counts of signposts and referrals for a period, grouped as asked, with small numbers suppressed."""
    groups = service.parse_group_by(group_by)
    service.check_period(start, end, max_months=settings.report_max_months)
    policy = policy_for(
        name=settings.suppression_policy,
        threshold=settings.suppression_threshold,
        admin=actor.role == Role.admin,
        export=format == "csv",
    )
    published = service.report(
        session=session,
        start=start,
        end=end,
        group_by=groups,
        policy=policy,
        filters={"kind": kind or "", "source": source or ""},
    )
    if format == "csv":
        filename = f"signpost-counts-{start}-{end}.csv"
        return Response(
            service.to_csv(published),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{filename}"'},
        )
    return JSONResponse(published)
