"""CDS Hooks cards from what the flows found: the template not asked, the services for each need, a check that
could not be made."""

import uuid
from typing import Any

from signpost.flows.cds_advice import Advice
from signpost.routing import Match, Offer
from signpost.template import conformance

SUMMARY_MAX = 139  # the specification: "<140 characters"
SOCIAL_PRESCRIBING = {
    "system": conformance.SNOMED,
    "code": "871731000000106",
    "display": "Referral to social prescribing service",
}

REASON_SYSTEM = f"{conformance.BASE}/CodeSystem/cds-override-reason"
# Offered with every card; feedback may name one of them, and only its code is counted.
OVERRIDE_REASONS = [
    {"system": REASON_SYSTEM, "code": "already-addressed", "display": "Already being addressed"},
    {"system": REASON_SYSTEM, "code": "patient-declined", "display": "Patient declined"},
    {"system": REASON_SYSTEM, "code": "not-relevant", "display": "Not relevant now"},
]


def _summary(text: str) -> str:
    return text if len(text) <= SUMMARY_MAX else text[: SUMMARY_MAX - 1].rstrip() + "…"


def _source(base: str) -> dict[str, Any]:
    return {"label": "Signpost", "url": base + "/"}


def _launch_link(base: str) -> dict[str, Any]:
    # A SMART link: the EHR opens it with iss and launch added (SMART App Launch, EHR launch).
    return {"label": "Complete the social needs template in Signpost", "url": f"{base}/smart/launch", "type": "smart"}


def _card(base: str, summary: str, detail: str, indicator: str = "info", **more: Any) -> dict[str, Any]:
    card: dict[str, Any] = {
        "uuid": str(uuid.uuid4()),
        "summary": _summary(summary),
        "detail": detail,
        "indicator": indicator,
        "source": _source(base),
        "overrideReasons": OVERRIDE_REASONS,
    }
    card.update(more)
    return card


def not_asked(*, base: str) -> dict[str, Any]:
    """The template has not been completed (nor any social need recorded) in the last 12 months."""
    return _card(
        base,
        "Social needs not asked in the last 12 months",
        "Housing, money, food, work, caring and isolation affect this patient's health. The social needs template "
        "takes about two minutes and matches the answers to local services.",
        links=[_launch_link(base)],
    )


def unchecked(*, base: str) -> dict[str, Any]:
    """The EHR's record could not be read: say so, rather than say nothing."""
    return _card(
        base,
        "Signpost could not check this record for social needs",
        "The clinical system did not send the record and could not be reached for it (it timed out or answered "
        "with an error). Nothing has been checked; the template can still be completed.",
        "warning",
        links=[_launch_link(base)],
    )


def _service_line(match: Match) -> str:
    contact = f" (phone {match.phone})" if match.phone else ""
    return f"- **{match.name}**{contact}: " + "; ".join(match.reasons)


def _performer(base: str, match: Match) -> dict[str, Any]:
    return {"reference": f"{base}/fhir/HealthcareService/{match.service_id}", "display": match.name}


def draft_request(*, base: str, offer: Offer, match: Match, patient_id: str) -> dict[str, Any]:
    """The draft ServiceRequest a suggestion creates in the EHR: the patient, the need, the service."""
    return {
        "resourceType": "ServiceRequest",
        "status": "draft",
        "intent": "proposal",
        "priority": "urgent" if offer.need.urgent else "routine",
        "code": {"coding": [SOCIAL_PRESCRIBING], "text": f"Signpost to {match.name}"},
        "subject": {"reference": f"Patient/{patient_id}"},
        "reasonCode": [{"coding": [offer.need.coding], "text": offer.need.display}],
        "performer": [_performer(base, match)],
        "note": [{"text": "; ".join(match.reasons)}],
    }


def _links(base: str, matches: list[Match]) -> list[dict[str, Any]]:
    links = [
        {"label": f"{m.name}: website"[:100], "url": m.url, "type": "absolute"}
        for m in matches
        if m.url and m.url.startswith(("https://", "http://"))
    ]
    return [*links, _launch_link(base)]


def need_card(*, base: str, offer: Offer, patient_id: str) -> dict[str, Any]:
    """One need on record and its top matched services, with a suggestion that drafts a referral to the first."""
    need = offer.need.display
    if not offer.matches:
        return _card(
            base,
            f"{need}: no matching local service listed",
            f"The record notes *{need.lower()}*. The directory has no active service for it that fits this patient.",
            "warning" if offer.need.urgent else "info",
            links=[_launch_link(base)],
        )
    top = offer.matches[0]
    count = len(offer.matches)
    card = _card(
        base,
        f"{need}: {count} local service{'s' if count != 1 else ''} can help, first {top.name}",
        f"The record notes *{need.lower()}*. Matched services:\n\n" + "\n".join(map(_service_line, offer.matches)),
        "warning" if offer.need.urgent else "info",
        links=_links(base, offer.matches),
        suggestions=[
            {
                "label": f"Draft a referral to {top.name}"[:140],
                "uuid": str(uuid.uuid4()),
                "isRecommended": False,
                "actions": [
                    {
                        "type": "create",
                        "description": f"A draft ServiceRequest to {top.name} for {need.lower()}",
                        "resource": draft_request(base=base, offer=offer, match=top, patient_id=patient_id),
                    }
                ],
            }
        ],
        selectionBehavior="at-most-one",
    )
    return card


def referral_card(*, base: str, offers: list[Offer]) -> dict[str, Any]:
    """For a social prescribing referral being ordered: the services matched to the needs on record."""
    if not offers:
        return _card(
            base,
            "No social needs on record: complete the template to match services",
            "This referral to social prescribing has no recorded social need behind it. The template finds the "
            "needs and matches local services in about two minutes.",
            links=[_launch_link(base)],
        )
    lines = []
    for offer in offers:
        lines.append(f"**{offer.need.display}**")
        lines += [_service_line(m) for m in offer.matches] or ["- No matching local service listed"]
    names = ", ".join(o.need.display.lower() for o in offers)
    return _card(
        base,
        f"Local services for the needs on record: {names}",
        "\n".join(lines),
        links=_links(base, [m for o in offers for m in o.matches]),
    )


def for_advice(advice: Advice, *, hook: str, base: str) -> list[dict[str, Any]]:
    """The cards for one call: unchecked, or (patient-view) not asked and one per need, or (order-select) one."""
    if not advice.record.checked:
        return [unchecked(base=base)]
    if hook == "order-select":
        return [referral_card(base=base, offers=advice.offers)]
    found = [] if advice.record.asked_recently else [not_asked(base=base)]
    found += [need_card(base=base, offer=offer, patient_id=advice.patient_id) for offer in advice.offers]
    return found
