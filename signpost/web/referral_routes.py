"""Referral pages: make one (GP result, service page), a referrer's list, the provider's page, the outcome funnel."""

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, Response
from sqlmodel import Session, col, select

from signpost.auth.models import Role
from signpost.auth.users import Viewer
from signpost.config import Settings
from signpost.db import SessionDep
from signpost.directory import capacity as directory_capacity
from signpost.directory.models import Service
from signpost.errors import Problem
from signpost.flows import prescribing
from signpost.referrals import notices, report
from signpost.referrals import service as referrals
from signpost.referrals.models import Referral
from signpost.web import charts, deps, render
from signpost.web.deps import AnalystViewer, CsrfChecked, SettingsDep

router = APIRouter(include_in_schema=False, tags=["web"])
FormStr = Annotated[str, Form()]
ReferrerViewer = Annotated[Viewer, Depends(deps.page(Role.clinician, Role.prescriber))]
ProviderViewer = Annotated[Viewer, Depends(deps.page(Role.provider))]
DECILES: list[Any] = [*range(1, 11), "unknown"]


def _service_names(session: Session, ids: list[str]) -> dict[str, str]:
    if not ids:
        return {}
    rows = session.exec(select(Service.id, Service.name).where(col(Service.id).in_(ids)))
    return dict(rows.all())


@router.post("/referrals/new", response_class=HTMLResponse, operation_id="web_make_referral")
def make_referral(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    viewer: ReferrerViewer,
    _csrf: CsrfChecked,
    service: FormStr = "",
    need: FormStr = "",
    postcode: FormStr = "",
) -> HTMLResponse:
    """Make a referral and show its token once, on a slip the person takes to the service."""
    try:
        issued = prescribing.make_referral(
            session=session,
            settings=settings,
            actor=viewer.actor,
            service_id=service,
            need_code=need,
            postcode=postcode or None,
            source="template" if viewer.actor.role is Role.clinician else "prescriber",
        )
    except Problem as problem:
        session.rollback()
        raise deps.as_page_problem(problem) from None
    session.commit()  # before the e-mail to the provider: it must never announce a referral that was not stored
    notices.notify_new(session=session, settings=settings, referral=issued.referral, service_name=issued.service_name)
    record = session.get(Service, issued.referral.service_id)
    phones = []
    if record is not None:
        from signpost.directory.models import Phone

        phones = [p.number for p in session.exec(select(Phone).where(Phone.service_id == record.id)).all()]
    return render.page(
        request,
        settings,
        "referrals/issued.html",
        status=201,
        token=issued.token,
        service_name=issued.service_name,
        phones=phones,
        url=record.url if record is not None else None,
    )


@router.get("/referrals", response_class=HTMLResponse, operation_id="web_my_referrals")
def my_referrals(request: Request, session: SessionDep, settings: SettingsDep, viewer: ReferrerViewer) -> HTMLResponse:
    """Your referrals (a clinician: the practice's) by token and status, late replies marked."""
    actor = viewer.actor
    rows = referrals.for_referrer(session=session, referrer=notices.referrer_of(actor), practice_ods=actor.practice_ods)
    on = referrals.today()
    names = _service_names(session, list({r.service_id for r in rows}))
    listed = [
        {
            "hint": r.token_hint,
            "service": names.get(r.service_id, "A service no longer listed"),
            "status": referrals.STATUS_LABELS.get(r.status, r.status),
            "reason": referrals.REASON_LABELS.get(r.status_reason or "", ""),
            "made": r.created_on,
            "overdue": referrals.is_overdue(r, on=on, working_days=settings.referral_reply_working_days),
        }
        for r in rows
    ]
    return render.page(
        request,
        settings,
        "referrals/list.html",
        referrals=listed,
        working_days=settings.referral_reply_working_days,
        overdue=sum(1 for r in listed if r["overdue"]),
    )


# --- the provider's page ------------------------------------------------------------------------------------------


def _owned_services(session: Session, organization_id: str) -> list[Service]:
    query = select(Service).where(Service.organization_id == organization_id).order_by(Service.name)
    return list(session.exec(query).all())


def _provider_page(
    request: Request, session: Session, settings: Settings, viewer: Viewer, *, status: int = 200, **extra: Any
) -> HTMLResponse:
    organization_id = viewer.actor.organization_id or ""
    services = _owned_services(session, organization_id)
    stated = directory_capacity.capacities(session=session, service_ids=[s.id for s in services])
    names = {s.id: s.name for s in services}
    query = (
        select(Referral)
        .where(Referral.organization_id == organization_id, col(Referral.closed_on).is_(None))
        .order_by(col(Referral.created_on).desc())
        .limit(200)
    )
    open_referrals = [
        {
            "id": r.id,
            "hint": r.token_hint,
            "service": names.get(r.service_id, r.service_id),
            "status": referrals.STATUS_LABELS.get(r.status, r.status),
            "made": r.created_on,
        }
        for r in session.exec(query).all()
    ]
    return render.page(
        request,
        settings,
        "referrals/provider.html",
        status=status,
        services=[{"id": s.id, "name": s.name, "capacity": stated.get(s.id)} for s in services],
        open_referrals=open_referrals,
        capacity_options=[(c.value, directory_capacity.LABELS[c.value]) for c in directory_capacity.CapacityStatus],
        band_options=[(b.value, directory_capacity.LABELS[b.value]) for b in directory_capacity.WaitBand],
        **extra,
    )


@router.get("/provider", response_class=HTMLResponse, operation_id="web_provider")
def provider_home(request: Request, session: SessionDep, settings: SettingsDep, viewer: ProviderViewer) -> HTMLResponse:
    """Referrals to your organisation: look one up by its token; say whether your services take referrals."""
    return _provider_page(request, session, settings, viewer)


@router.post("/provider/lookup", response_class=HTMLResponse, operation_id="web_provider_lookup")
def provider_lookup(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    viewer: ProviderViewer,
    _csrf: CsrfChecked,
    token: FormStr = "",
) -> Response:
    """Find the referral a person's token names (only one made to your organisation)."""
    try:
        found = referrals.find_by_token(
            session=session,
            secret_key=settings.secret_key,
            token=token,
            organization_id=viewer.actor.organization_id or "",
        )
    except Problem as problem:
        return _provider_page(
            request, session, settings, viewer, status=problem.status, errors={"token": problem.detail}
        )
    return render.redirect(f"/provider/referrals/{found.id}")


def _owned(session: Session, viewer: Viewer, task_id: str) -> Referral:
    try:
        return referrals.visible(
            session=session, task_id=task_id, organization_id=viewer.actor.organization_id or "", referrer=None
        )
    except Problem as problem:
        raise deps.as_page_problem(problem) from None


def _referral_page(
    request: Request, session: Session, settings: Settings, referral: Referral, *, status: int = 200, **extra: Any
) -> HTMLResponse:
    service = session.get(Service, referral.service_id)
    moves = sorted(referrals.MOVES.get(referral.status, ()), key=list(referrals.STATUS_LABELS).index)
    return render.page(
        request,
        settings,
        "referrals/referral.html",
        status=status,
        referral=referral,
        service_name=service.name if service else referral.service_id,
        status_label=referrals.STATUS_LABELS.get(referral.status, referral.status),
        reason_label=referrals.REASON_LABELS.get(referral.status_reason or "", ""),
        moves=[(m, referrals.STATUS_LABELS[m], sorted(referrals.REASONS.get(m, ()))) for m in moves],
        reason_labels=referrals.REASON_LABELS,
        **extra,
    )


@router.get("/provider/referrals/{task_id}", response_class=HTMLResponse, operation_id="web_provider_referral")
def provider_referral(
    task_id: str, request: Request, session: SessionDep, settings: SettingsDep, viewer: ProviderViewer
) -> HTMLResponse:
    """One referral to your organisation, and what you can say about it next."""
    return _referral_page(request, session, settings, _owned(session, viewer, task_id))


@router.post("/provider/referrals/{task_id}/status", response_class=HTMLResponse, operation_id="web_provider_move")
def provider_move(
    task_id: str,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    viewer: ProviderViewer,
    _csrf: CsrfChecked,
    status: FormStr = "",
    reason: FormStr = "",
) -> Response:
    """Mark a referral received, accepted, declined (with a reason), completed or did not attend."""
    referral = _owned(session, viewer, task_id)
    try:
        referrals.move(session=session, referral=referral, status=status, reason=reason or None, on=referrals.today())
    except Problem as problem:
        session.rollback()
        return _referral_page(
            request,
            session,
            settings,
            _owned(session, viewer, task_id),
            status=problem.status,
            errors={"status": problem.detail},
        )
    return render.redirect(f"/provider/referrals/{task_id}")


@router.post("/provider/capacity", response_class=HTMLResponse, operation_id="web_provider_capacity")
def provider_capacity(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    viewer: ProviderViewer,
    _csrf: CsrfChecked,
    service: FormStr = "",
    capacity: FormStr = "",
    wait_band: FormStr = "",
) -> Response:
    """Say whether one of your services is taking referrals, and if it has a waiting list, how long."""
    owned = {s.id for s in _owned_services(session, viewer.actor.organization_id or "")}
    if service not in owned:
        raise deps.PageProblem(404, "Your organisation runs no such service.")
    try:
        directory_capacity.set_capacity(
            session=session, service_id=service, status=capacity, wait_band=wait_band or None, by="provider"
        )
    except Problem as problem:
        session.rollback()
        errors = {f"capacity-{service}": problem.detail}
        return _provider_page(request, session, settings, viewer, status=problem.status, errors=errors)
    return render.redirect("/provider")


# --- analysts: the outcome funnel ---------------------------------------------------------------------------------


@router.get("/analytics/referrals", response_class=HTMLResponse, operation_id="web_analytics_referrals")
def analytics_referrals(
    request: Request, session: SessionDep, settings: SettingsDep, viewer: AnalystViewer
) -> HTMLResponse:
    """Referral outcomes by IMD decile: made, accepted, completed within 60 days (suppressed as published)."""
    from signpost.web.analytics_routes import _period, _policy

    start, end, errors = _period(dict(request.query_params), settings)
    published = report.outcome_report(
        session=session, start=start, end=end, group_by="decile", policy=_policy(settings)
    )
    by_decile = {row["group"]["decile"]: row for row in published["rows"]}
    points = []
    for decile in DECILES:
        row = by_decile.get(decile, {})
        label = f"Decile {decile}" if decile != "unknown" else "Unknown"
        points += [
            charts.Point(f"{label}: made", row.get("made", 0)),
            charts.Point(f"{label}: accepted", row.get("accepted", 0)),
            charts.Point(f"{label}: done in 60 days", row.get("completed_within_60_days", 0)),
        ]
    chart = charts.bars("Referral funnel by IMD decile (1 = most deprived)", points, chart_id="funnel", left=230)
    return render.page(
        request,
        settings,
        "referrals/analytics.html",
        report=published,
        rows=[(d, by_decile.get(d)) for d in DECILES],
        chart=chart,
        start=start,
        end=end,
        errors=errors,
    )
