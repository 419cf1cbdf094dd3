"""FHIR Task and ServiceRequest for the referral loop, in the Gravity SDOH Clinical Care shape.

A referral is a ServiceRequest (what was asked) and a Task (who must act, and how far they have got). Departures
from the IG, because Signpost holds no personal data: there is no `Task.for` and the ServiceRequest's `subject`
is a display-only reference; `authoredOn` is a date; a Task its owner has not yet touched carries the start of
its creation day as `meta.lastUpdated`. Only the owning organisation's provider key may move a Task.
"""

import re
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any

from fastapi import Depends, Request, Response
from pydantic import ValidationError

from signpost.auth import Caller, Role, allow
from signpost.config import Settings, SettingsDep
from signpost.db import SessionDep
from signpost.errors import Problem
from signpost.fhir_api import search
from signpost.fhir_api.bundle import searchset
from signpost.fhir_api.io import FhirResponse, content_tag, read_json_body, read_response
from signpost.fhir_api.routes import fhir_router
from signpost.fhir_api.search import Param, Search
from signpost.referrals import notices, store
from signpost.referrals import service as referrals
from signpost.referrals.models import Referral

router = fhir_router(["fhir", "referrals"])
ProviderDep = Annotated[Caller, Depends(allow(Role.provider))]
ReaderDep = Annotated[Caller, Depends(allow(Role.provider, Role.clinician, Role.prescriber))]

CANONICAL = "https://signpost.example.org/fhir"
REASON_SYSTEM = f"{CANONICAL}/CodeSystem/referral-status-reason"
NEED_SYSTEM = f"{CANONICAL}/CodeSystem/social-need"
ODS_SYSTEM = "https://fhir.nhs.uk/Id/ods-organization-code"
TASK_CODE_SYSTEM = "http://hl7.org/fhir/CodeSystem/task-code"
_SEARCH_DATE = re.compile(r"^(gt|ge|lt|le)(\d{4}-\d{2}-\d{2})(T.+)?$")
# What the ServiceRequest's status says while its Task is at each status.
_REQUEST_STATUS = {"completed": "completed", "rejected": "revoked", "failed": "revoked", "cancelled": "revoked"}


def _last_updated(referral: Referral) -> str:
    if referral.changed_at is not None:
        return referral.changed_at.astimezone(UTC).isoformat(timespec="microseconds")
    return datetime(
        referral.created_on.year, referral.created_on.month, referral.created_on.day, tzinfo=UTC
    ).isoformat()


def _requester(referral: Referral) -> dict[str, Any]:
    if referral.practice_ods:
        return {"identifier": {"system": ODS_SYSTEM, "value": referral.practice_ods}}
    return {"display": "Social prescriber"}


def to_task(referral: Referral) -> dict[str, Any]:
    """A referral as a Gravity-shaped Task (focus, owner, status, statusReason, output)."""
    task: dict[str, Any] = {
        "resourceType": "Task",
        "id": referral.id,
        "meta": {"lastUpdated": _last_updated(referral)},
        "status": referral.status,
        "intent": "order",
        "code": {"coding": [{"system": TASK_CODE_SYSTEM, "code": "fulfill"}]},
        "focus": {"reference": f"ServiceRequest/{referral.id}"},
        "authoredOn": referral.created_on.isoformat(),
        "requester": _requester(referral),
        "owner": {"reference": f"Organization/{referral.organization_id}"},
    }
    if referral.status_reason:
        label = referrals.REASON_LABELS.get(referral.status_reason, referral.status_reason)
        task["statusReason"] = {"coding": [{"system": REASON_SYSTEM, "code": referral.status_reason, "display": label}]}
    if referral.accepted_on:
        task["executionPeriod"] = {"start": referral.accepted_on.isoformat()}
        if referral.closed_on:
            task["executionPeriod"]["end"] = referral.closed_on.isoformat()
    if referral.status in ("completed", "failed"):
        outcome = "completed" if referral.status == "completed" else referral.status_reason or "failed"
        task["output"] = [
            {
                "type": {"text": "Referral outcome"},
                "valueCodeableConcept": {"coding": [{"system": REASON_SYSTEM, "code": outcome}]},
            }
        ]
    return task


def to_service_request(referral: Referral) -> dict[str, Any]:
    """The referral as the ServiceRequest its Task fulfils: the need, the service, no patient."""
    return {
        "resourceType": "ServiceRequest",
        "id": referral.id,
        "status": _REQUEST_STATUS.get(referral.status, "active"),
        "intent": "order",
        "code": {"coding": [{"system": NEED_SYSTEM, "code": referral.need_code}]},
        "subject": {"display": "Not recorded: the person holds the referral token"},
        "authoredOn": referral.created_on.isoformat(),
        "requester": _requester(referral),
        "performer": [{"reference": f"HealthcareService/{referral.service_id}"}],
    }


def _scope(caller: Caller) -> tuple[str | None, str | None]:
    """(owner organisation, referrer) that bound what a caller may see."""
    if caller.role is Role.provider:
        return caller.organization_id or "", None
    return None, notices.referrer_of(caller)


def parse_last_updated(values: list[str]) -> list[tuple[str, datetime]]:
    """`_lastUpdated` with gt/ge/lt/le and a day or an instant, as (operator, instant) pairs."""
    found = []
    for value in values:
        match = _SEARCH_DATE.match(value.strip())
        if not match:
            raise Problem(
                400,
                f"_lastUpdated: {value!r} is not gt, ge, lt or le followed by a date or instant "
                "(e.g. gt2026-12-01T09:00:00Z).",
                errors=[{"loc": "_lastUpdated", "message": "unsupported value"}],
            )
        op, day_text, time_text = match.groups()
        try:
            if time_text:
                moment = datetime.fromisoformat(day_text + time_text.replace("Z", "+00:00"))
                moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
                found.append((op, moment.astimezone(UTC)))
                continue
            day = date.fromisoformat(day_text)
        except ValueError:
            raise Problem(400, f"_lastUpdated: {value!r} is not a valid date or instant.") from None
        start = datetime(day.year, day.month, day.day, tzinfo=UTC)
        # A whole day: after it is from the next midnight, up to and including it is before the next midnight.
        found.append(
            {"gt": ("ge", start + timedelta(days=1)), "ge": ("ge", start), "lt": ("lt", start)}.get(
                op, ("lt", start + timedelta(days=1))
            )
        )
    return found


def _by_token(session: Any, settings: Settings, token: str, organization_id: str | None) -> list[Referral]:
    """The one Task a provider's token names, or none (unknown and other organisations' tokens alike)."""
    if organization_id is None:
        raise Problem(403, "Only the provider a referral was made to looks it up by its token.")
    try:
        return [
            referrals.find_by_token(
                session=session, secret_key=settings.secret_key, token=token, organization_id=organization_id
            )
        ]
    except Problem as problem:
        if problem.status == 404:
            return []
        raise


PARAMS = (
    Param("status", "token", "Task status codes; a comma for any of them."),
    Param("owner", "reference", "Organization/<id> (a provider sees only its own)."),
    Param("identifier", "token", "A referral token (provider only)."),
    Param("_lastUpdated", "date", "gt, ge, lt or le with a day or an instant, e.g. gt2026-12-01T09:00:00Z."),
)


def _values(found: Search, name: str) -> list[str]:
    """Every value given for a parameter, for checking them all (repeats and commas alike)."""
    return [v for criterion in found.criteria.get(name, []) for v in criterion.values]


def _allowed(found: Search, name: str, *, normal: Callable[[str], str] = str) -> set[str] | None:
    """The values a one-valued element may take: commas are OR, a repeated parameter is AND (R4 search 3.1.1.1)."""
    criteria = found.criteria.get(name)
    if not criteria:
        return None
    return set.intersection(*({normal(v) for v in criterion.values} for criterion in criteria))


@router.get("/Task", operation_id="search_tasks", openapi_extra=search.route_extra(PARAMS))
def search_tasks(request: Request, session: SessionDep, settings: SettingsDep, caller: ReaderDep) -> FhirResponse:
    """Search the Tasks you own (provider) or made (referrer) by status, owner, identifier and _lastUpdated."""
    found = search.parse(request, params=PARAMS)
    organization_id, referrer = _scope(caller)
    unknown = [s for s in _values(found, "status") if s not in referrals.STATUS_LABELS]
    if unknown:
        raise Problem(400, f"status: {', '.join(unknown)} is not a Task status this server uses.")
    statuses = _allowed(found, "status")
    after = parse_last_updated(_values(found, "_lastUpdated"))
    owners = _allowed(found, "owner", normal=lambda o: o.removeprefix("Organization/"))
    identifiers = _allowed(found, "identifier", normal=lambda t: t.rsplit("|", 1)[-1])
    wanted_owner = next(iter(owners)) if owners else None
    if (
        (owners is not None and len(owners) != 1)
        or statuses == set()
        or identifiers == set()
        or (wanted_owner is not None and organization_id is not None and wanted_owner != organization_id)
    ):
        # Another organisation's Tasks, or repeats that no one Task can meet (status=a&status=b): nothing.
        rows, total = [], 0
    elif identifiers:
        rows = [r for token in sorted(identifiers) for r in _by_token(session, settings, token, organization_id)]
        rows = [r for r in rows if wanted_owner is None or r.organization_id == wanted_owner]
        rows = [r for r in rows if statuses is None or r.status in statuses]
        total = len(rows)
    else:
        rows, total = store.tasks(
            session,
            organization_id=organization_id if organization_id is not None else wanted_owner,
            referrer=referrer,
            statuses=sorted(statuses or []),
            after=after,
            offset=found.offset,
            count=0 if found.summary_count else found.count,
        )
    resources = [to_task(r) for r in rows]
    return FhirResponse(searchset(request, resources=resources, total=total, search=found))


@router.get("/Task/{task_id}", operation_id="read_task")
def read_task(task_id: str, request: Request, session: SessionDep, caller: ReaderDep) -> Response:
    """Read one Task: its owner or its referrer only (ETag from its content, Last-Modified, 304)."""
    organization_id, referrer = _scope(caller)
    referral = referrals.visible(session=session, task_id=task_id, organization_id=organization_id, referrer=referrer)
    resource = to_task(referral)
    return read_response(request, resource, etag=content_tag(resource))


@router.get("/ServiceRequest/{request_id}", operation_id="read_service_request")
def read_service_request(request_id: str, request: Request, session: SessionDep, caller: ReaderDep) -> Response:
    """Read the ServiceRequest a Task fulfils: its owner or its referrer only."""
    organization_id, referrer = _scope(caller)
    referral = referrals.visible(
        session=session, task_id=request_id, organization_id=organization_id, referrer=referrer
    )
    resource = to_service_request(referral)
    return read_response(request, resource, etag=content_tag(resource))


def _requested_move(body: Any, task_id: str) -> tuple[str, str | None]:
    """The status and reason a PUT Task asks for, after checking it is a Task and the right one."""
    from fhir.resources.R4B.task import Task

    if not isinstance(body, dict) or body.get("resourceType") != "Task":
        raise Problem(400, "The body must be a Task resource.")
    if body.get("id") != task_id:
        raise Problem(400, f"The Task's id must be {task_id!r}, the id in the URL.")
    try:
        Task.model_validate(body)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise Problem(422, f"Not a valid Task: {where}: {first['msg']}.") from None
    reason = None
    for coding in (body.get("statusReason") or {}).get("coding", []):
        if coding.get("system") == REASON_SYSTEM:
            reason = coding.get("code")
    if body.get("statusReason") and reason is None:
        raise Problem(422, f"statusReason must carry a code from {REASON_SYSTEM}.")
    return body["status"], reason


@router.put("/Task/{task_id}", operation_id="update_task")
def update_task(
    task_id: str, body: Annotated[Any, Depends(read_json_body)], session: SessionDep, caller: ProviderDep
) -> FhirResponse:
    """Move a Task (its owning organisation's key only): status, and statusReason when declining or failing."""
    status, reason = _requested_move(body, task_id)
    owner = caller.organization_id or ""
    referral = referrals.visible(session=session, task_id=task_id, organization_id=owner, referrer=None)
    referrals.move(session=session, referral=referral, status=status, reason=reason, on=referrals.today())
    return FhirResponse(to_task(referral))
