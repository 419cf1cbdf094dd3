"""The CDS Hooks flow: read the record (prefetch, else the EHR), find the needs on it, route them to services."""

from dataclasses import dataclass, field
from typing import Any

from sqlmodel import Session
from starlette.concurrency import run_in_threadpool

from signpost.config import Settings
from signpost.errors import Problem
from signpost.flows import clinical_record, record_matches
from signpost.flows.clinical_record import RecordView
from signpost.routing import Offer
from signpost.smart import ehr
from signpost.template import conformance

SOCIAL_PRESCRIBING_REFERRAL = "871731000000106"


@dataclass
class Advice:
    """What the cards say: the record as read, and the services for its needs."""

    record: RecordView
    patient_id: str
    offers: list[Offer] = field(default_factory=list)


def selected_social_prescribing(context: dict[str, Any]) -> bool:
    """Whether the orders selected (order-select) include a referral to social prescribing."""
    draft = context.get("draftOrders")
    if not isinstance(draft, dict) or draft.get("resourceType") != "Bundle":
        raise Problem(400, "The order-select context needs draftOrders as a FHIR Bundle.")
    selections = context.get("selections")
    if not isinstance(selections, list) or not all(isinstance(s, str) for s in selections):
        raise Problem(400, "The order-select context needs selections as a list of references.")
    for order in ehr.entries(draft):
        reference = f"{order.get('resourceType')}/{order.get('id')}"
        if selections and reference not in selections:
            continue
        codings = (order.get("code") or {}).get("coding") or []
        if any(
            isinstance(c, dict)
            and c.get("system") == conformance.SNOMED
            and c.get("code") == SOCIAL_PRESCRIBING_REFERRAL
            for c in codings
        ):
            return True
    return False


async def advise(
    *,
    session: Session,
    settings: Settings,
    context: dict[str, Any],
    prefetch: dict[str, Any] | None,
    fhir_server: str | None,
    token: str | None,
) -> Advice:
    """The record read and its needs matched; unchecked (no services) when the EHR could not be read."""
    patient_id = clinical_record.patient_id(context)
    record = await clinical_record.gather(
        context=context, prefetch=prefetch, fhir_server=fhir_server, token=token, timeout=settings.ehr_timeout_s
    )
    offers: list[Offer] = []
    if record.checked and record.needs:
        offers = await run_in_threadpool(record_matches.offers_for, session=session, settings=settings, record=record)
    # Postcode and birth date have done their work: drop them before anything else sees the advice.
    record.postcode = record.birth_date = None
    return Advice(record=record, patient_id=patient_id, offers=offers)
