"""Writing the completed template back to the EHR that launched it, as far as the granted scopes allow: the
QuestionnaireResponse, then the Observations `$extract` gives, then `$signpost`'s draft ServiceRequests."""

import copy
from dataclasses import dataclass, field
from typing import Any

from signpost.smart import ehr
from signpost.smart.launch import may_write
from signpost.smart.sessions import Launch

ORDER = ("QuestionnaireResponse", "Observation", "ServiceRequest")


@dataclass
class WriteBack:
    """What reached the record, what the scopes did not allow, and what the EHR refused (by resource type)."""

    written: dict[str, int] = field(default_factory=dict)
    not_permitted: list[str] = field(default_factory=list)
    failed: dict[str, int] = field(default_factory=dict)


def _for_record(resource: dict[str, Any], patient: dict[str, str], fhir_base: str) -> dict[str, Any]:
    found = copy.deepcopy(resource)
    found.pop("id", None)  # the EHR assigns its own
    found.pop("contained", None)
    found["subject"] = patient
    for performer in found.get("performer") or []:
        reference = performer.get("reference", "")
        if reference.startswith("HealthcareService/"):
            # The service lives in Signpost's directory, not in the EHR: point at it absolutely.
            performer["reference"] = f"{fhir_base}/{reference}"
    return found


async def write_back(
    *, launch: Launch, response: dict[str, Any], bundle: dict[str, Any], fhir_base: str, timeout: float
) -> WriteBack:
    """Create the resources in the EHR, one by one, in `ORDER`; a refusal of one is counted, never raised."""
    patient = {"reference": f"Patient/{launch.patient_id}"}
    resources = {kind: [] for kind in ORDER}  # type: dict[str, list[dict[str, Any]]]
    resources["QuestionnaireResponse"].append(_for_record(response, patient, fhir_base))
    for resource in ehr.entries(bundle):
        if resource.get("resourceType") in ("Observation", "ServiceRequest"):
            resources[resource["resourceType"]].append(_for_record(resource, patient, fhir_base))
    done = WriteBack()
    response_reference: dict[str, str] | None = None
    for kind in ORDER:
        if not resources[kind]:
            continue
        if not may_write(launch.scopes, kind):
            done.not_permitted.append(kind)
            continue
        for resource in resources[kind]:
            if kind == "Observation" and response_reference:
                resource["derivedFrom"] = [response_reference]
            try:
                created = await ehr.create(
                    base=launch.issuer, resource=resource, token=launch.access_token, timeout=timeout
                )
            except ehr.EhrUnavailable:
                done.failed[kind] = done.failed.get(kind, 0) + 1
                continue
            done.written[kind] = done.written.get(kind, 0) + 1
            if kind == "QuestionnaireResponse" and created.get("id"):
                response_reference = {"reference": f"QuestionnaireResponse/{created['id']}"}
    return done
