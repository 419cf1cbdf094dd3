"""The FHIR shape of signposting: a QuestionnaireResponse (or Parameters) in, a collection Bundle out."""

import base64
import hashlib
import uuid
from collections.abc import Iterator
from itertools import count
from typing import Any

from signpost.errors import Problem
from signpost.flows.signposting import Notice, Signposted, Submission
from signpost.routing import Match, Offer, leaflet
from signpost.template import conformance
from signpost.template.extract import observations, response_reference

FLAG_CATEGORY = "http://terminology.hl7.org/CodeSystem/flag-category"
REASON_EXTENSION = f"{conformance.BASE}/StructureDefinition/match-reason"
# Fixed namespace so that a retry (same HMAC key) gets the same resource ids back.
ID_NAMESPACE = uuid.UUID("6f1c2a52-2f43-4c1e-9a57-6d8f3d0b7a11")


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


def _issue(notice: Notice) -> dict[str, Any]:
    found: dict[str, Any] = {"severity": "warning", "code": notice.code, "diagnostics": notice.text}
    if notice.expression:
        found["expression"] = [notice.expression]
    return found


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


def bundle(done: Signposted, *, base: str) -> dict[str, Any]:
    """`$signpost`'s answer: services with reasons, draft requests, flags, observations, leaflet, SMS, warnings."""
    response, assessment, offers, now = done.response, done.assessment, done.offers, done.now
    new_id = _resource_ids(done.key).__next__

    # The response's own time, so that a retry is answered with the same resources.
    authored = str(response.get("authored") or "")
    when = authored if "T" in authored else now.isoformat(timespec="seconds")
    entries: list[dict[str, Any]] = []
    services_done: set[str] = set()
    subject = response.get("subject") if isinstance(response.get("subject"), dict) else None
    if not subject or str(subject.get("reference", "")).startswith("#"):
        subject = {"display": "The patient"}

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
    content = done.leaflet
    if content is not None:
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
    if done.sms:
        sms = {
            "resourceType": "Communication",
            "id": new_id(),
            "status": "preparation",
            "category": [{"text": "SMS to the patient"}],
            "payload": [{"contentString": done.sms}],
        }
        entries.append({"fullUrl": f"urn:uuid:{sms['id']}", "resource": sms})
    warnings = need_issues(offers) + [_issue(notice) for notice in done.notices]
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
        yield prefix + (_COUNTERS[number] if number < len(_COUNTERS) else f"{number:08x}")


# The counters an answer's ids end in, written once: formatting each cost more than the rest of making the id.
_COUNTERS = [f"{number:08x}" for number in range(256)]


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()
