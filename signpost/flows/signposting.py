"""Signposting: validate → assess → place → route → record, for `$signpost`, the template page and the SMART page.

The flow returns domain objects (`Signposted`); `fhir_api.signposting` shapes them as the FHIR answer and the web
pages render them. It also decides how the events are stored (see `signpost`).
"""

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import partial
from typing import Any

from sqlmodel import Session

from signpost import db, events
from signpost.auth import Caller
from signpost.config import Settings
from signpost.errors import Problem
from signpost.geography import service as geography
from signpost.routing import Offer, leaflet, route
from signpost.routing.leaflet import Leaflet
from signpost.template.needs import Assessment, assess
from signpost.template.validation import validate

# Where a postcode problem lies in the `$signpost` request (the page shows the text alone).
POSTCODE_PARAMETER = "Parameters.parameter.where(name='postcode')"


@dataclass
class Submission:
    """What arrived: the response and, in memory only, the patient's postcode and birth date."""

    response: dict[str, Any]
    postcode: str | None = None
    birth_date: str | None = None


@dataclass(frozen=True)
class Notice:
    """Something the clinician should know about the answer (an OperationOutcome warning in FHIR)."""

    code: str  # an OperationOutcome issue type: incomplete, value, not-found, informational
    text: str
    expression: str | None = None


@dataclass
class Signposted:
    """What signposting found for one submission, and what it counts once under `key`."""

    response: dict[str, Any]  # the response as validated
    assessment: Assessment
    offers: list[Offer]
    notices: list[Notice]
    key: str
    events: list[events.NewEvent]
    now: datetime
    practice: str
    leaflet: Leaflet | None = None
    sms: str | None = None  # the text message to send, when there is one and the patient has a phone


def assessed(response: dict[str, Any]) -> tuple[dict[str, Any], Assessment]:
    """Validate against the template (400 for structure, 422 for the template's rules) and assess."""
    checked, issues = validate(response)
    if checked is None:
        status = (
            400
            if all(i["code"] == "structure" for i in issues) and issues[0]["expression"] == ["QuestionnaireResponse"]
            else 422
        )
        raise Problem(status, "The QuestionnaireResponse does not fit the template.", issues=issues)
    return checked.response, assess(checked)


async def signpost(
    *,
    session: Session,
    recorder: events.Recorder | None,
    submission: Submission,
    caller: Caller,
    settings: Settings,
    idempotency_key: str | None,
) -> Signposted:
    """Signpost one submission and count it once: committed by the time this returns. Raises Problem (nothing
    stored) on bad input. `recorder`: the app's (None outside its lifespan)."""
    # Partials, not nested functions: compiled (signpost.native), a nested function and the frame it closes over
    # refer to each other, and that cycle kept the request's session and response for the collector to find.
    prepare = partial(
        signposted,
        session=session,
        submission=submission,
        caller=caller,
        settings=settings,
        idempotency_key=idempotency_key,
    )
    # With an online postcode resolver, an unknown postcode is looked up over the network: that may not block the loop.
    may_block = bool(settings.postcode_resolver_url)
    if recorder is None or not recorder.reaches(session):  # no app running, or a session on one connection (tests)
        return await db.run_and_commit(session, partial(_recorded, session, prepare), may_block=may_block)
    # The reads on the event loop where they wait for nothing; the events written with other requests' (group commit).
    done = await db.run_reads(session, prepare, may_block=may_block)
    if done.events:
        await recorder.record(key=done.key, source="template", events=done.events)
    return done


def _recorded(session: Session, prepare: Callable[[], Signposted]) -> Signposted:
    done = prepare()
    record(session=session, done=done)
    return done


def record(*, session: Session, done: Signposted) -> None:
    """Store the events through `session`; the caller commits at once (SQLite: the writer's lock is held meanwhile)."""
    if done.events:
        events.record(session=session, key=done.key, source="template", events=done.events)


def signposted(
    *,
    session: Session,
    submission: Submission,
    caller: Caller,
    settings: Settings,
    idempotency_key: str | None,
    now: datetime | None = None,
) -> Signposted:
    """Everything signposting does but its write: the database is only read. Raises Problem on bad input."""
    now = now or datetime.now(UTC)
    notices: list[Notice] = []
    response, assessment = assessed(submission.response)
    today = now.date()
    place = _place(session, submission.postcode, settings, notices)
    age, band = _age(submission.birth_date, today, notices)
    key = _idempotency(response, idempotency_key, caller, settings, notices)
    offers: list[Offer] = []
    if assessment.consent:
        offers = route(
            session=session,
            assessment=assessment,
            place=place,
            age=age,
            per_need=settings.matches_per_need,
            local_authorities=settings.local_authorities,
            now=now,
            remember_seconds=settings.routing_cache_seconds,
        )
    elif assessment.needs:
        notices.append(
            Notice(
                "informational",
                "The patient did not agree to be signposted: no services are offered, no leaflet or text message is "
                "made, and nothing is counted (not even that needs were found).",
            )
        )
    practice = settings.practice_names.get(caller.practice_ods or "", "your GP practice")
    content, message = _handouts(assessment, offers, practice, today, notices)
    known = place is not None and place.known
    new_events = [
        events.NewEvent(
            occurred_on=today,
            kind="signposted",
            source="template",
            need_code=offer.need.code,
            category_code=offer.category_code,
            services_offered=[m.service_id for m in offer.matches],
            ward_code=place.ward_code if known and place else None,
            ward_vintage=place.ward_vintage if known and place else None,
            imd_decile=place.imd_decile if known and place else None,
            imd_year=place.imd_year if known and place else None,
            age_band=band,
            practice_ods=caller.practice_ods,
        )
        for offer in offers
    ]
    return Signposted(response, assessment, offers, notices, key, new_events, now, practice, content, message)


def _place(session: Session, postcode: str | None, settings: Settings, notices: list[Notice]) -> geography.Place | None:
    if not postcode:
        notices.append(Notice("incomplete", "No postcode was given: ward and deprivation are counted as unknown."))
        return None
    try:
        place = geography.resolve(session, postcode, settings=settings)
    except geography.InvalidPostcode:
        notices.append(
            Notice(
                "value",
                "The postcode is not a UK postcode: ward and deprivation are counted as unknown.",
                POSTCODE_PARAMETER,
            )
        )
        return None
    if not place.known:
        notices.append(
            Notice(
                "not-found",
                "The postcode is not in the loaded area: ward and deprivation are counted as unknown.",
                POSTCODE_PARAMETER,
            )
        )
    return place


def _age(birth_date: str | None, today: date, notices: list[Notice]) -> tuple[int | None, str]:
    if not birth_date:
        return None, "unknown"
    try:
        born = date.fromisoformat(str(birth_date)[:10])
    except ValueError:
        born = None
    if born is None or born > today:
        notices.append(Notice("value", "The birth date is not a usable date: age is counted as unknown."))
        return None, "unknown"
    years = today.year - born.year - ((today.month, today.day) < (born.month, born.day))
    return years, geography.age_band(born, today)


def _idempotency(
    response: dict[str, Any], header: str | None, caller: Caller, settings: Settings, notices: list[Notice]
) -> str:
    given = response.get("identifier")
    identifier: dict[str, Any] = given if isinstance(given, dict) else {}
    if identifier.get("value"):
        raw = f"identifier:{identifier.get('system', '')}|{identifier['value']}"
    elif header and header.strip():
        raw = f"header:{header.strip()}"
    else:
        notices.append(
            Notice(
                "incomplete",
                "The response has no identifier and no Idempotency-Key was sent: a retry would be counted again.",
            )
        )
        raw = f"random:{uuid.uuid4()}"
    scope = f"template:{caller.practice_ods or caller.key_id}"
    return events.key_hmac(settings.secret_key, scope, raw)


def _handouts(
    assessment: Assessment, offers: list[Offer], practice: str, today: date, notices: list[Notice]
) -> tuple[Leaflet | None, str | None]:
    """The leaflet and the text message for the patient, and what they leave out."""
    if any(o.need.sensitive for o in offers):
        notices.append(
            Notice(
                "informational",
                "Sensitive needs are left out of the leaflet and the SMS: give those services in person.",
            )
        )
    content = leaflet.build(offers, practice=practice, on=today) if offers else None
    message = leaflet.sms(offers)
    if message and not assessment.preferences.no_phone:
        return content, message
    if offers:
        notices.append(
            Notice(
                "informational",
                "No text message: the patient has no phone."
                if assessment.preferences.no_phone
                else "No text message: there is no service with a phone number or website to send.",
            )
        )
    return content, None
