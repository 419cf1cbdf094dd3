"""Analytics pages (analysts): counts by IMD decile, month, need and ward × need, suppressed and labelled,
with a CSV of exactly what is shown."""

from datetime import date
from typing import Any

from dateutil.relativedelta import relativedelta
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from signpost.config import Settings
from signpost.db import SessionDep
from signpost.errors import Problem
from signpost.indicators import service as indicators
from signpost.indicators.suppression import SuppressionPolicy, policy_for
from signpost.template import conformance
from signpost.web import charts, render
from signpost.web.deps import AnalystViewer, SettingsDep

router = APIRouter(include_in_schema=False, tags=["web"])
GROUP_LABELS = {
    "month": "Month",
    "need": "Need",
    "category": "Service category",
    "ward": "Ward",
    "imd_decile": "IMD decile (1 = most deprived)",
    "age_band": "Age band",
    "practice": "Practice",
    "source": "Source",
    "kind": "Signposted or referred",
}
KINDS = [("signposted", "Signposted"), ("referred", "Referred")]
SOURCES = [("template", "Template (GP practice)"), ("prescriber", "Social prescriber")]


def _period(params: dict[str, str], settings: Settings) -> tuple[date, date, dict[str, str]]:
    today = date.today()
    default_start = today.replace(day=1) - relativedelta(months=11)
    errors: dict[str, str] = {}
    dates = {}
    # Reports cover whole months: by default the last twelve, this one included.
    for name, default in (("start", default_start), ("end", indicators.month_end(today))):
        try:
            dates[name] = date.fromisoformat(params[name]) if params.get(name) else default
        except ValueError:
            errors[name] = f"Enter the {'first' if name == 'start' else 'last'} day as year-month-day, like 2026-01-31"
            dates[name] = default
    if not errors:
        try:
            indicators.check_period(dates["start"], dates["end"], max_months=settings.report_max_months)
        except Problem as problem:
            for error in problem.errors or [{"loc": "start", "message": problem.detail}]:
                errors[str(error.get("loc", "start"))] = problem.detail
    return dates["start"], dates["end"], errors


def _policy(settings: Settings) -> SuppressionPolicy:
    # The page uses the export policy, so the CSV holds exactly the figures shown.
    return policy_for(
        name=settings.suppression_policy, threshold=settings.suppression_threshold, admin=False, export=True
    )


def _filters(params: dict[str, str]) -> dict[str, str]:
    return {
        "kind": params.get("kind", "") if params.get("kind") in dict(KINDS) else "",
        "source": params.get("source", "") if params.get("source") in dict(SOURCES) else "",
    }


def _label(group: str, value: Any, need_names: dict[str, str], row: dict[str, Any]) -> str:
    if value == indicators.UNKNOWN:
        return "Unknown"
    if group == "need":
        return need_names.get(str(value), str(value))
    if group == "ward":
        return str(row.get("ward_name") or value)
    if group == "imd_decile":
        return f"Decile {value}"
    if group == "month":
        return date.fromisoformat(f"{value}-01").strftime("%b %y")
    return str(value)


@router.get("/analytics", response_class=HTMLResponse, operation_id="web_analytics")
def analytics(request: Request, session: SessionDep, settings: SettingsDep, viewer: AnalystViewer) -> HTMLResponse:
    """Signposting counts for a period: charts, a ward × need table and a table grouped as chosen."""
    params = {k: v.strip() for k, v in request.query_params.items()}
    start, end, errors = _period(params, settings)
    group = params.get("group_by") or ""
    group = group if group in GROUP_LABELS else "imd_decile"
    form = {
        "start": params.get("start") or start.isoformat(),
        "end": params.get("end") or end.isoformat(),
        "group_by": group,
        **_filters(params),
    }
    if errors:
        return render.page(
            request,
            settings,
            "analytics.html",
            status=422,
            errors=errors,
            form=form,
            views=None,
            groups=list(GROUP_LABELS.items()),
            kinds=KINDS,
            sources=SOURCES,
        )
    policy = _policy(settings)
    need_names = {code: c.get("display", code) for code, c in conformance.need_concepts().items()}
    filters = _filters(params)

    def published(groups: list[str]) -> dict[str, Any]:
        return indicators.report(session=session, start=start, end=end, group_by=groups, policy=policy, filters=filters)

    def points(report: dict[str, Any], group: str) -> list[charts.Point]:
        return [charts.Point(_label(group, r[group], need_names, r), r["count"]) for r in report["rows"]]

    by_decile, by_month, by_need = published(["imd_decile"]), published(["month"]), published(["need"])
    custom = published([group])
    grid = published(["ward", "need"])
    needs_shown = [n for n in need_names if any(r["need"] == n and r["count"] != 0 for r in grid["rows"])]
    wards: dict[str, dict[str, Any]] = {}
    for row in grid["rows"]:
        ward = wards.setdefault(row["ward"], {"name": _label("ward", row["ward"], need_names, row), "cells": {}})
        ward["cells"][row["need"]] = row["count"]
    top = max([r["count"] or 0 for r in grid["rows"]] or [0])
    views = {
        "decile": {
            "svg": charts.bars("Signposts by IMD decile", points(by_decile, "imd_decile"), chart_id="c-decile"),
            "report": by_decile,
            "group": "imd_decile",
        },
        "month": {
            "svg": charts.line("Signposts by month", points(by_month, "month"), chart_id="c-month"),
            "report": by_month,
            "group": "month",
        },
        "need": {
            "svg": charts.bars("Signposts by need", points(by_need, "need"), chart_id="c-need", left=300),
            "report": by_need,
            "group": "need",
        },
    }
    query = "&".join(
        f"{k}={v}" for k, v in {"start": start.isoformat(), "end": end.isoformat(), **filters}.items() if v
    )
    return render.page(
        request,
        settings,
        "analytics.html",
        form=form,
        views=views,
        groups=list(GROUP_LABELS.items()),
        kinds=KINDS,
        sources=SOURCES,
        query=query,
        custom=custom,
        group=group,
        group_label=GROUP_LABELS[group],
        custom_rows=[(_label(group, r[group], need_names, r), r["count"]) for r in custom["rows"]],
        grid=grid,
        grid_needs=[(n, need_names[n]) for n in needs_shown],
        grid_wards=wards,
        shade=lambda v: charts.shade(v, top),
        summary=by_month,
        need_names=need_names,
    )


@router.get("/analytics/csv", operation_id="web_analytics_csv")
def analytics_csv(request: Request, session: SessionDep, settings: SettingsDep, viewer: AnalystViewer) -> Response:
    """The CSV of one view on the analytics page: the same figures, suppression and terms."""
    params = {k: v.strip() for k, v in request.query_params.items()}
    start, end, errors = _period(params, settings)
    if errors:
        raise Problem(422, "; ".join(errors.values()), errors=[{"loc": k, "message": v} for k, v in errors.items()])
    groups = indicators.parse_group_by(params.get("group_by") or "imd_decile")
    published = indicators.report(
        session=session, start=start, end=end, group_by=groups, policy=_policy(settings), filters=_filters(params)
    )
    filename = f"signpost-{'-'.join(groups)}-{start}-{end}.csv"
    return Response(
        indicators.to_csv(published),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
