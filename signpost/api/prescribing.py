"""Prescribing over the API: record signposts, make a referral (see `flows.prescribing`)."""

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Request, Response

from signpost.auth import Caller, Role, allow
from signpost.config import SettingsDep
from signpost.db import SessionDep
from signpost.events.schemas import (
    SignpostBatch,
    SignpostBatchRecorded,
    SignpostCreate,
    SignpostItemRecorded,
    SignpostRecorded,
)
from signpost.flows import prescribing
from signpost.referrals import notices
from signpost.referrals.schemas import ReferralCreate, ReferralIssued

signposts = APIRouter(prefix="/api/v1/signposts", tags=["events"])
referrals = APIRouter(tags=["referrals"])
PrescriberDep = Annotated[Caller, Depends(allow(Role.prescriber))]
ReferrerDep = Annotated[Caller, Depends(allow(Role.clinician, Role.prescriber))]


@signposts.post("", status_code=201, response_model=SignpostRecorded, operation_id="record_signpost")
async def record_signpost(
    body: SignpostCreate,
    request: Request,
    response: Response,
    session: SessionDep,
    settings: SettingsDep,
    actor: PrescriberDep,
    idempotency_key: Annotated[str | None, Header(max_length=200)] = None,
) -> SignpostRecorded:
    """Record that someone was signposted or referred; a retry with the same Idempotency-Key counts once."""
    count, replayed = await prescribing.signpost(
        session=session,
        recorder=request.app.state.recorder,
        data=body,
        idempotency_key=idempotency_key or uuid.uuid4().hex,
        scope=f"prescriber-key:{actor.key_id}",
        secret_key=settings.secret_key,
    )
    # A retry answers exactly as the first call did; only this header tells them apart.
    response.headers["Idempotent-Replayed"] = "true" if replayed else "false"
    return SignpostRecorded(recorded=count, needs=list(dict.fromkeys(body.needs)))


@signposts.post("/batch", status_code=201, response_model=SignpostBatchRecorded, operation_id="record_signposts")
def record_signposts(
    body: SignpostBatch, session: SessionDep, settings: SettingsDep, actor: PrescriberDep
) -> SignpostBatchRecorded:
    """Record up to 1,000 signposts at once, all or none; each item's idempotency_key makes its retry count once."""
    outcomes = prescribing.record_signposts(
        session=session,
        items=body.signposts,
        scope=f"prescriber-key:{actor.key_id}",
        secret_key=settings.secret_key,
    )
    results = [
        SignpostItemRecorded(recorded=count, needs=list(dict.fromkeys(item.needs)), replayed=replayed)
        for item, (count, replayed) in zip(body.signposts, outcomes, strict=True)
    ]
    return SignpostBatchRecorded(
        recorded=sum(r.recorded for r in results if not r.replayed),
        replayed=sum(r.replayed for r in results),
        results=results,
    )


@referrals.post("/api/v1/referrals", status_code=201, response_model=ReferralIssued, operation_id="make_referral")
def make_referral(
    body: ReferralCreate, session: SessionDep, settings: SettingsDep, actor: ReferrerDep
) -> ReferralIssued:
    """Refer to a service for a need: returns the token for the person, shown this once only."""
    issued = prescribing.make_referral(
        session=session,
        settings=settings,
        actor=actor,
        service_id=body.service,
        need_code=body.need,
        postcode=body.postcode,
        source="api",
    )
    session.commit()
    notices.notify_new(session=session, settings=settings, referral=issued.referral, service_name=issued.service_name)
    r = issued.referral
    return ReferralIssued(
        token=issued.token, task_id=r.id, service=r.service_id, status=r.status, created_on=r.created_on
    )
