"""The service-capacity extension on HealthcareService (StructureDefinition-service-capacity.json in fhir/)."""

from typing import Any

from sqlmodel import Session

from signpost.directory import capacity as directory_capacity

CANONICAL = "https://signpost.example.org/fhir"
EXTENSION_URL = f"{CANONICAL}/StructureDefinition/service-capacity"
CODE_SYSTEM = f"{CANONICAL}/CodeSystem/service-capacity"


def extension(stated: directory_capacity.Capacity) -> dict[str, Any]:
    parts: list[dict[str, Any]] = [
        {"url": "status", "valueCoding": {"system": CODE_SYSTEM, "code": stated.status}},
    ]
    if stated.wait_band:
        parts.append({"url": "waitBand", "valueCoding": {"system": CODE_SYSTEM, "code": stated.wait_band}})
    parts.append({"url": "stated", "valueDate": stated.set_on.isoformat()})
    return {"url": EXTENSION_URL, "extension": parts}


def add_capacity(session: Session, resources: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each HealthcareService with its stated capacity as an extension (those with none stated are unchanged)."""
    stated = directory_capacity.capacities(session=session, service_ids=[r["id"] for r in resources])
    for resource in resources:
        if resource["id"] in stated:
            resource.setdefault("extension", []).append(extension(stated[resource["id"]]))
    return resources
