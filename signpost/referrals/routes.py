"""Referrals over the API: follow one's own, provider keys, a service's capacity (making one: `api.prescribing`)."""

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query

from signpost.auth import Caller, Role, allow
from signpost.auth import service as keys
from signpost.config import SettingsDep
from signpost.db import SessionDep
from signpost.directory import capacity as directory_capacity
from signpost.directory.models import Organization, Service
from signpost.errors import Problem
from signpost.indicators import service as indicators
from signpost.indicators.suppression import policy_for
from signpost.referrals import notices, report
from signpost.referrals import service as referrals
from signpost.referrals.schemas import (
    CapacityIn,
    CapacityOut,
    ProviderKeyCreate,
    ProviderKeyIssued,
    ReferralListed,
)

router = APIRouter(tags=["referrals"])
ReferrerDep = Annotated[Caller, Depends(allow(Role.clinician, Role.prescriber))]
EditorDep = Annotated[Caller, Depends(allow(Role.editor))]
CapacitySetterDep = Annotated[Caller, Depends(allow(Role.provider, Role.editor))]
AnalystDep = Annotated[Caller, Depends(allow(Role.analyst, Role.admin))]


@router.get("/api/v1/referrals", response_model=list[ReferralListed], operation_id="list_my_referrals")
def list_my_referrals(session: SessionDep, settings: SettingsDep, actor: ReferrerDep) -> list[ReferralListed]:
    """Your referrals (a clinician: the practice's), newest first; `overdue` marks those not answered in time."""
    on = referrals.today()
    rows = referrals.for_referrer(session=session, referrer=notices.referrer_of(actor), practice_ods=actor.practice_ods)
    return [
        ReferralListed(
            token_hint=r.token_hint,
            task_id=r.id,
            service=r.service_id,
            need=r.need_code,
            status=r.status,
            status_reason=r.status_reason,
            created_on=r.created_on,
            overdue=referrals.is_overdue(r, on=on, working_days=settings.referral_reply_working_days),
        )
        for r in rows
    ]


@router.post(
    "/api/v1/directory/organizations/{organization_id}/provider-keys",
    status_code=201,
    response_model=ProviderKeyIssued,
    operation_id="create_provider_key",
)
def create_provider_key(
    organization_id: str, body: ProviderKeyCreate, session: SessionDep, actor: EditorDep
) -> ProviderKeyIssued:
    """Issue an organisation its provider key (shown once): it answers referrals and sets capacity with it."""
    organization = session.get(Organization, organization_id)
    if organization is None:
        raise Problem(404, f"There is no organisation {organization_id!r}.")
    record, secret = keys.create_key(
        session=session, role=Role.provider.value, name=body.name, organization_id=organization.id
    )
    return ProviderKeyIssued(id=record.id or 0, organization=organization.id, name=record.name, key=secret)


@router.post("/api/v1/provider-keys/{key_id}/revoke", status_code=204, operation_id="revoke_provider_key")
def revoke_provider_key(key_id: int, session: SessionDep, actor: EditorDep) -> None:
    """Revoke a provider key at once (an editor may revoke provider keys only)."""
    record = session.get(keys.ApiKey, key_id)
    if record is None or record.role != Role.provider.value:
        raise Problem(404, f"There is no provider key {key_id}.")
    keys.revoke_key(session=session, key_id=key_id)


@router.put("/api/v1/directory/services/{service_id}/capacity", response_model=CapacityOut, operation_id="set_capacity")
def set_capacity(service_id: str, body: CapacityIn, session: SessionDep, actor: CapacitySetterDep) -> CapacityOut:
    """State whether a service is taking referrals (a waiting list says how long); its provider or an editor."""
    if actor.role is Role.provider:
        service = session.get(Service, service_id)
        if service is None or service.organization_id != actor.organization_id:
            raise Problem(404, f"Your organisation runs no service {service_id!r}.")
    stated = directory_capacity.set_capacity(
        session=session, service_id=service_id, status=body.status, wait_band=body.wait_band, by=actor.role.value
    )
    return CapacityOut(
        service=service_id, status=stated.status, wait_band=stated.wait_band, set_on=stated.set_on, label=stated.label
    )


@router.get("/api/v1/indicators/referral-outcomes", operation_id="referral_outcomes")
def referral_outcomes(
    session: SessionDep,
    settings: SettingsDep,
    actor: AnalystDep,
    start: Annotated[date, Query(description="First day of the period (counted by whole months)")],
    end: Annotated[date, Query(description="Last day of the period (inclusive)")],
    group_by: Annotated[str, Query(description="One of: " + ", ".join(report.GROUPINGS))] = "",
) -> dict[str, Any]:
    """Referrals made, accepted, declined by reason, completed within 60 days and time to accept, suppressed."""
    grouping = report.parse_group_by(group_by)
    indicators.check_period(start, end, max_months=settings.report_max_months)
    policy = policy_for(
        name=settings.suppression_policy,
        threshold=settings.suppression_threshold,
        admin=actor.role == Role.admin,
        export=False,
    )
    return report.outcome_report(session=session, start=start, end=end, group_by=grouping, policy=policy)
