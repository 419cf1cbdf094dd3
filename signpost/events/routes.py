"""Recording signposts and referrals (social prescribers)."""

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Response

from signpost.auth import Caller, Role, allow
from signpost.config import SettingsDep
from signpost.db import SessionDep
from signpost.events import prescriber
from signpost.events.schemas import (
    SignpostBatch,
    SignpostBatchRecorded,
    SignpostCreate,
    SignpostItemRecorded,
    SignpostRecorded,
)

router = APIRouter(prefix="/api/v1/signposts", tags=["events"])
PrescriberDep = Annotated[Caller, Depends(allow(Role.prescriber))]


@router.post("", status_code=201, response_model=SignpostRecorded, operation_id="record_signpost")
def record_signpost(
    body: SignpostCreate,
    response: Response,
    session: SessionDep,
    settings: SettingsDep,
    actor: PrescriberDep,
    idempotency_key: Annotated[str | None, Header(max_length=200)] = None,
) -> SignpostRecorded:
    """Record that someone was signposted or referred; a retry with the same Idempotency-Key counts once."""
    count, replayed = prescriber.record_signpost(
        session=session,
        data=body,
        idempotency_key=idempotency_key or uuid.uuid4().hex,
        scope=f"prescriber-key:{actor.key_id}",
        secret_key=settings.secret_key,
    )
    # A retry answers exactly as the first call did; only this header tells them apart.
    response.headers["Idempotent-Replayed"] = "true" if replayed else "false"
    return SignpostRecorded(recorded=count, needs=list(dict.fromkeys(body.needs)))


@router.post("/batch", status_code=201, response_model=SignpostBatchRecorded, operation_id="record_signposts")
def record_signposts(
    body: SignpostBatch, session: SessionDep, settings: SettingsDep, actor: PrescriberDep
) -> SignpostBatchRecorded:
    """Record up to 1,000 signposts at once, all or none; each item's idempotency_key makes its retry count once."""
    outcomes = prescriber.record_signposts(
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
