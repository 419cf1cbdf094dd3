"""`$signpost`: validate, assess, place, route, count once, and answer with a collection Bundle."""

import base64
import hashlib
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from itertools import count
from typing import Any

from psycopg_pool import AsyncConnectionPool
from sqlmodel import Session

from signpost import events
from signpost.auth import Caller
from signpost.config import Settings
from signpost.errors import Problem
from signpost.geography import service as geography
from signpost.routing import leaflet
from signpost.routing.service import Match, Offer, route
from signpost.template import conformance
from signpost.template.extract import observations, response_reference
from signpost.template.needs import Assessment, assess
from signpost.template.validation import validate

FLAG_CATEGORY = "http://terminology.hl7.org/CodeSystem/flag-category"
REASON_EXTENSION = f"{conformance.BASE}/StructureDefinition/match-reason"
# Fixed namespace so that a retry (same HMAC key) gets the same resource ids back.
ID_NAMESPACE = uuid.UUID("6f1c2a52-2f43-4c1e-9a57-6d8f3d0b7a11")


@dataclass
class Submission:
    """What arrived: the response and, in memory only, the patient's postcode and birth date."""

    response: dict[str, Any]
    postcode: str | None = None
    birth_date: str | None = None
    warnings: list[dict[str, Any]] = field(default_factory=list)


def _warning(code: str, text: str, expression: str | None = None) -> dict[str, Any]:
    found: dict[str, Any] = {"severity": "warning", "code": code, "diagnostics": text}
    if expression:
        found["expression"] = [expression]
    return found


def unwrap(body: Any, *, names: tuple[str, ...] = ("response", "questionnaire-response")) -> Submission:
    """The QuestionnaireResponse, from the body itself or from Parameters; postcode and birth date beside it."""
    if not isinstance(body, dict):
        raise Problem(400, "The body must be a FHIR resource (a JSON object).")
    if body.get("resourceType") == "Parameters":
        submission = Submission(response={})
        for parameter in body.get("parameter") or []:
            if not isinstance(parameter, dict):
                continue
            name = parameter.get("name")
            if name in names and isinstance(parameter.get("resource"), dict):
                submission.response = parameter["resource"]
            elif name == "postcode":
                submission.postcode = parameter.get("valueString")
            elif name == "birthDate":
                submission.birth_date = parameter.get("valueDate") or parameter.get("valueString")
        if not submission.response:
            raise Problem(
                400,
                f"Parameters must carry the QuestionnaireResponse as parameter '{names[0]}'.",
                errors=[{"loc": "Parameters.parameter", "message": "response missing"}],
            )
    else:
        submission = Submission(response=body)
    _from_contained_patient(submission)
    return submission


def _from_contained_patient(submission: Submission) -> None:
    response = submission.response
    reference = (
        (response.get("subject") or {}).get("reference", "") if isinstance(response.get("subject"), dict) else ""
    )
    if not isinstance(reference, str) or not reference.startswith("#"):
        return
    for contained in response.get("contained") or []:
        if (
            isinstance(contained, dict)
            and contained.get("resourceType") == "Patient"
            and contained.get("id") == reference[1:]
        ):
            addresses = contained.get("address") or []
            if submission.postcode is None and addresses and isinstance(addresses[0], dict):
                submission.postcode = addresses[0].get("postalCode")
            if submission.birth_date is None:
                submission.birth_date = contained.get("birthDate")


def checked_assessment(response: dict[str, Any]) -> tuple[dict[str, Any], Assessment]:
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


def _place(session: Session, submission: Submission, settings: Settings) -> geography.Place | None:
    if not submission.postcode:
        submission.warnings.append(
            _warning("incomplete", "No postcode was given: ward and deprivation are counted as unknown.")
        )
        return None
    try:
        place = geography.resolve(session, submission.postcode, settings=settings)
    except geography.InvalidPostcode:
        submission.warnings.append(
            _warning(
                "value",
                "The postcode is not a UK postcode: ward and deprivation are counted as unknown.",
                "Parameters.parameter.where(name='postcode')",
            )
        )
        return None
    if not place.known:
        submission.warnings.append(
            _warning(
                "not-found",
                "The postcode is not in the loaded area: ward and deprivation are counted as unknown.",
                "Parameters.parameter.where(name='postcode')",
            )
        )
    return place


def _age(submission: Submission, today: date) -> tuple[int | None, str]:
    if not submission.birth_date:
        return None, "unknown"
    try:
        born = date.fromisoformat(str(submission.birth_date)[:10])
    except ValueError:
        born = None
    if born is None or born > today:
        submission.warnings.append(_warning("value", "The birth date is not a usable date: age is counted as unknown."))
        return None, "unknown"
    years = today.year - born.year - ((today.month, today.day) < (born.month, born.day))
    return years, geography.age_band(born, today)


def _idempotency(
    response: dict[str, Any], header: str | None, caller: Caller, settings: Settings, warnings: list[dict[str, Any]]
) -> str:
    given = response.get("identifier")
    identifier: dict[str, Any] = given if isinstance(given, dict) else {}
    if identifier.get("value"):
        raw = f"identifier:{identifier.get('system', '')}|{identifier['value']}"
    elif header and header.strip():
        raw = f"header:{header.strip()}"
    else:
        warnings.append(
            _warning(
                "incomplete",
                "The response has no identifier and no Idempotency-Key was sent: a retry would be counted again.",
            )
        )
        raw = f"random:{uuid.uuid4()}"
    scope = f"template:{caller.practice_ods or caller.key_id}"
    return events.key_hmac(settings.secret_key, scope, raw)


def _healthcare_service(service: Match) -> dict[str, Any]:
    """The offered service as the answer shows it (routing read its contact details with the rest)."""
    telecom = []
    if service.phone:
        telecom.append({"system": "phone", "value": service.phone})
    if service.url:
        telecom.append({"system": "url", "value": service.url})
    resource: dict[str, Any] = {
        "resourceType": "HealthcareService",
        "id": service.service_id,
        "active": True,
        "name": service.name,
        "extension": [{"url": REASON_EXTENSION, "valueString": r} for r in service.reasons],
    }
    if service.description:
        resource["comment"] = service.description[:1000]
    if telecom:
        resource["telecom"] = telecom
    return resource


@dataclass
class Signposted:
    """`$signpost`'s answer, and the events to count once under `key`."""

    answer: dict[str, Any]
    key: str
    events: list[events.NewEvent]
    # The domain objects the answer was shaped from, for the web page to render the same thing.
    assessment: Assessment | None = None
    offers: list[Offer] = field(default_factory=list)
    warnings: list[dict[str, Any]] = field(default_factory=list)

    def record(self, session: Session) -> None:
        """Store the events through `session`; the caller commits. (Done last, so that the commit follows at once:
        a writer holds SQLite's lock for the insert alone, not while the answer is built.)"""
        if self.events:
            events.store.record(session, key=self.key, source="template", events=self.events)

    async def record_now(self, pool: AsyncConnectionPool) -> None:
        """Store the events through `pool` (PostgreSQL): committed by the time this returns."""
        if self.events:
            await events.store.record_now(pool, key=self.key, source="template", events=self.events)


def prepare(
    *,
    session: Session,
    body: Any,
    caller: Caller,
    settings: Settings,
    idempotency_key: str | None,
    base: str,
    now: datetime | None = None,
) -> Signposted:
    """Everything `$signpost` does but its write (`Signposted.record`): the database is only read. Raises Problem
    (nothing stored) on bad input."""
    now = now or datetime.now(UTC)
    submission = unwrap(body)
    response, assessment = checked_assessment(submission.response)
    today = now.date()
    place = _place(session, submission, settings)
    age, band = _age(submission, today)
    key = _idempotency(response, idempotency_key, caller, settings, submission.warnings)
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
        submission.warnings.append(
            _warning(
                "informational",
                "The patient did not agree to be signposted: no services are offered, no leaflet or text message is "
                "made, and nothing is counted (not even that needs were found).",
            )
        )
    practice = settings.practice_names.get(caller.practice_ods or "", "your GP practice")
    answer = _bundle(response, assessment, offers, submission.warnings, key, base, now, practice)
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
    return Signposted(answer, key, new_events, assessment, offers, submission.warnings)


def need_issues(offers: list[Offer]) -> list[dict[str, Any]]:
    """One OperationOutcome issue per need that has no full fit (saying why and what to do instead), and the Act now
    statements of urgent needs; each names its need in `details`."""
    found = []
    for offer in offers:
        details = {"coding": [offer.need.coding], "text": offer.need.display}
        if offer.call_999:
            found.append(
                {
                    "severity": "warning",
                    "code": "informational",
                    "details": details,
                    "diagnostics": f"Act now ({offer.need.display}): if the patient is in danger now, call 999.",
                }
            )
        if offer.act_now_note:
            found.append(
                {"severity": "warning", "code": "not-found", "details": details, "diagnostics": offer.act_now_note}
            )
        if offer.note:
            found.append(
                {
                    "severity": "warning",
                    "code": "not-found" if not offer.matches else "informational",
                    "details": details,
                    "diagnostics": offer.note,
                }
            )
    return found


def _service_request(
    *, request_id: str, offer: Offer, match: Match, priority: str, subject: dict[str, Any], when: str
) -> dict[str, Any]:
    note = "; ".join(match.reasons + match.misses)
    return {
        "resourceType": "ServiceRequest",
        "id": request_id,
        "status": "draft",
        "intent": "proposal",
        "priority": priority,
        "code": {"text": f"Signpost to {match.name}"},
        "subject": subject,
        "reasonCode": [{"coding": [offer.need.coding], "text": offer.need.display}],
        "performer": [{"reference": f"HealthcareService/{match.service_id}", "display": match.name}],
        "note": [{"text": note}],
        "authoredOn": when,
    }


def _flag(flag_id: str, offer: Offer, subject: dict[str, Any], when: str) -> dict[str, Any]:
    """An urgent need, flagged for the record: a safety flag for a risk of harm, a clinical one otherwise."""
    kind = ("safety", "Safety") if offer.call_999 else ("clinical", "Clinical")
    return {
        "resourceType": "Flag",
        "id": flag_id,
        "status": "active",
        "category": [
            {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/flag-category",
                        "code": kind[0],
                        "display": kind[1],
                    }
                ]
            }
        ],
        "code": {"coding": [offer.need.coding], "text": f"Urgent: {offer.need.display}"},
        "subject": subject,
        "period": {"start": when},
    }


def _bundle(
    response: dict[str, Any],
    assessment: Assessment,
    offers: list[Offer],
    warnings: list[dict[str, Any]],
    key: str,
    base: str,
    now: datetime,
    practice: str,
) -> dict[str, Any]:
    ids = _resource_ids(key)

    def new_id() -> str:
        return next(ids)

    # The response's own time, so that a retry is answered with the same resources.
    authored = str(response.get("authored") or "")
    when = authored if "T" in authored else now.isoformat(timespec="seconds")
    entries: list[dict[str, Any]] = []
    services_done: set[str] = set()
    subject = response.get("subject") if isinstance(response.get("subject"), dict) else None
    if not subject or str(subject.get("reference", "")).startswith("#"):
        subject = {"display": "The patient"}
    if any(o.need.sensitive for o in offers):
        warnings.append(
            _warning(
                "informational",
                "Sensitive needs are left out of the leaflet and the SMS: give those services in person.",
            )
        )
    warnings[:0] = need_issues(offers)

    def add_service(match: Match) -> None:
        if match.service_id not in services_done:
            services_done.add(match.service_id)
            entries.append(
                {"fullUrl": f"{base}/HealthcareService/{match.service_id}", "resource": _healthcare_service(match)}
            )

    # Act now first: the urgent needs' flags and their 24-hour and same-day services, whatever the preferences.
    for offer in offers:
        if not offer.need.urgent:
            continue
        flag = _flag(new_id(), offer, subject, when)
        entries.append({"fullUrl": f"urn:uuid:{flag['id']}", "resource": flag})
        for match in offer.act_now:
            add_service(match)
            request = _service_request(
                request_id=new_id(), offer=offer, match=match, priority="asap", subject=subject, when=when
            )
            entries.append({"fullUrl": f"urn:uuid:{request['id']}", "resource": request})
    for offer in offers:
        for match in offer.matches:
            add_service(match)
            request = _service_request(
                request_id=new_id(),
                offer=offer,
                match=match,
                priority="urgent" if offer.need.urgent else "routine",
                subject=subject,
                when=when,
            )
            entries.append({"fullUrl": f"urn:uuid:{request['id']}", "resource": request})
    for observation in observations(response, assessment, new_id):
        entries.append({"fullUrl": f"urn:uuid:{observation['id']}", "resource": observation})
    if offers:
        content = leaflet.build(offers, practice=practice, on=now.date())
        document = {
            "resourceType": "DocumentReference",
            "id": new_id(),
            "status": "current",
            "type": {"text": "Patient leaflet: local services"},
            "description": leaflet.TITLE,
            "date": when,
            "content": [
                {
                    "attachment": {
                        "contentType": "text/plain; charset=utf-8",
                        "language": "en",
                        "data": _b64(leaflet.text(content)),
                        "title": "Leaflet (text)",
                    }
                },
                {
                    "attachment": {
                        "contentType": "text/html; charset=utf-8",
                        "language": "en",
                        "data": _b64(leaflet.html_page(content)),
                        "title": "Leaflet (HTML)",
                    }
                },
            ],
            "context": {"related": [response_reference(response)]},
        }
        entries.append({"fullUrl": f"urn:uuid:{document['id']}", "resource": document})
    message = leaflet.sms(offers)
    if message and not assessment.preferences.no_phone:
        sms = {
            "resourceType": "Communication",
            "id": new_id(),
            "status": "preparation",
            "category": [{"text": "SMS to the patient"}],
            "payload": [{"contentString": message}],
        }
        entries.append({"fullUrl": f"urn:uuid:{sms['id']}", "resource": sms})
    elif offers:
        warnings.append(
            _warning(
                "informational",
                "No text message: the patient has no phone."
                if assessment.preferences.no_phone
                else "No text message: there is no service with a phone number or website to send.",
            )
        )
    outcome = {
        "resourceType": "OperationOutcome",
        "id": new_id(),
        "issue": warnings
        or [
            {
                "severity": "information",
                "code": "informational",
                "diagnostics": f"{len(assessment.needs)} need(s) found.",
            }
        ],
    }
    entries.append({"fullUrl": f"urn:uuid:{outcome['id']}", "resource": outcome})
    return {
        "resourceType": "Bundle",
        "id": new_id(),
        "type": "collection",
        "timestamp": now.isoformat(timespec="seconds"),
        "entry": entries,
    }


def _resource_ids(key: str) -> Iterator[str]:
    """Ids for the resources of one answer: the same for a retry (the same key), different between submissions."""
    # In the form of a uuid5: a hash of the key names the answer and a counter its resources (computing a uuid5 for
    # each resource took a twentieth of the request).
    digest = hashlib.sha1(ID_NAMESPACE.bytes + key.encode()).hexdigest()
    variant = "89ab"[int(digest[16], 16) & 3]
    prefix = f"{digest[:8]}-{digest[8:12]}-5{digest[13:16]}-{variant}{digest[17:20]}-{digest[20:24]}"
    for number in count():
        yield f"{prefix}{number:08x}"


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()
