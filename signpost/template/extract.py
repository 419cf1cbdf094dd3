"""SDC observation-based extraction: one coded Observation per need, each derivedFrom the response."""

import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from signpost.template import conformance
from signpost.template.needs import Assessment

SOCIAL_HISTORY = {
    "system": "http://terminology.hl7.org/CodeSystem/observation-category",
    "code": "social-history",
    "display": "Social History",
}


def response_reference(response: dict[str, Any]) -> dict[str, Any]:
    """How an Observation points back at the response, copying nothing the response does not carry."""
    if response.get("id"):
        return {"reference": f"QuestionnaireResponse/{response['id']}"}
    if isinstance(response.get("identifier"), dict):
        return {"type": "QuestionnaireResponse", "identifier": response["identifier"]}
    return {"type": "QuestionnaireResponse", "display": "The submitted social determinants template"}


def _random_id() -> str:
    return str(uuid.uuid4())


def observations(
    response: dict[str, Any], assessment: Assessment, new_id: Callable[[], str] = _random_id
) -> list[dict[str, Any]]:
    """The Observations for the record: the need coded (and its verified SNOMED CT equivalent), no subject; each
    with an id from `new_id`. Urgency is not a result interpretation: it travels as ServiceRequest.priority and a
    Flag."""
    snomed = conformance.concept_map_targets(conformance.NEED_TO_SNOMED_MAP)
    when = response.get("authored") or datetime.now(UTC).isoformat(timespec="seconds")
    derived_from = [response_reference(response)]
    result = []
    for need in assessment.needs:
        codings = [need.coding] + [
            {"system": conformance.SNOMED, "code": t["code"], "display": t.get("display", "")}
            for t in snomed.get(need.code, [])
            if t.get("equivalence") == "equivalent"
        ]
        observation: dict[str, Any] = {
            "resourceType": "Observation",
            "id": new_id(),
            "status": "final",
            "category": [{"coding": [SOCIAL_HISTORY]}],
            "code": {"coding": codings, "text": need.display},
            "effectiveDateTime": when,
            "valueBoolean": True,
            "derivedFrom": derived_from,
        }
        result.append(observation)
    return result


def bundle(items: list[dict[str, Any]]) -> dict[str, Any]:
    """A collection Bundle of resources, each with a urn:uuid fullUrl."""
    return {
        "resourceType": "Bundle",
        "id": str(uuid.uuid4()),
        "type": "collection",
        "timestamp": datetime.now(UTC).isoformat(timespec="seconds"),
        "entry": [{"fullUrl": f"urn:uuid:{r['id']}", "resource": r} for r in items],
    }
