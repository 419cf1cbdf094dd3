"""What a patient's record in the EHR says about social needs, read from a CDS Hooks prefetch or from the EHR's FHIR
server: the needs on record, when the template was last asked, and (in memory only) postcode and birth date."""

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import quote

from signpost.errors import Problem
from signpost.smart import ehr
from signpost.template import conformance
from signpost.template.needs import Need, assess
from signpost.template.validation import validate

FHIR_ID = re.compile(r"^[A-Za-z0-9\-.]{1,64}$")
ASKED_WITHIN = timedelta(days=365)
# What the services ask the EHR to send with each call; the keys name the same reads done when a value is missing.
PREFETCH = {
    "patient": "Patient/{{context.patientId}}",
    "conditions": "Condition?patient={{context.patientId}}",
    "observations": "Observation?patient={{context.patientId}}&category=social-history",
    "responses": (
        "QuestionnaireResponse?patient={{context.patientId}}&questionnaire="
        + conformance.QUESTIONNAIRE_URL
        + "&_sort=-authored&_count=1"
    ),
}
INACTIVE = {"inactive", "resolved", "remission"}
NOT_TRUE = {"refuted", "entered-in-error"}


@dataclass
class RecordView:
    """The parts of a record the cards need. Postcode and birth date live only as long as this object."""

    checked: bool = True
    needs: list[Need] = field(default_factory=list)
    last_asked: date | None = None
    postcode: str | None = None
    birth_date: str | None = None

    @property
    def asked_recently(self) -> bool:
        return self.last_asked is not None and datetime.now(UTC).date() - self.last_asked <= ASKED_WITHIN


def patient_id(context: dict[str, Any]) -> str:
    """The context's patientId, checked to be a FHIR id (it is put into the EHR's URLs)."""
    found = context.get("patientId")
    if not isinstance(found, str) or not FHIR_ID.match(found):
        raise Problem(400, "The hook context needs a patientId that is a FHIR resource id.")
    return found


def _query(template: str, patient: str) -> str:
    return template.replace("{{context.patientId}}", quote(patient, safe=""))


async def gather(
    *,
    context: dict[str, Any],
    prefetch: dict[str, Any] | None,
    fhir_server: str | None,
    token: str | None,
    timeout: float,
) -> RecordView:
    """Read what the prefetch holds, fetch what it lacks from `fhir_server`; unchecked if the EHR cannot answer."""
    patient = patient_id(context)
    given = prefetch or {}
    found: dict[str, Any] = {}
    for key, template in PREFETCH.items():
        value = given.get(key)
        if isinstance(value, dict) and value.get("resourceType") not in (None, "OperationOutcome"):
            found[key] = value
            continue
        # Absent or null: the EHR did not prefetch it, so the service reads it itself, as the specification allows.
        if not fhir_server or not token:
            return RecordView(checked=False)
        try:
            query = _query(template, patient)
            if key == "patient":
                found[key] = await ehr.read(base=fhir_server, path=query, token=token, timeout=timeout)
            else:
                found[key] = {
                    "resourceType": "Bundle",
                    "entry": [
                        {"resource": r}
                        for r in await ehr.search(base=fhir_server, query=query, token=token, timeout=timeout)
                    ],
                }
        except ehr.EhrUnavailable:
            return RecordView(checked=False)
    return read_record(found)


def _when(value: Any) -> date | None:
    if not isinstance(value, str) or len(value) < 10:
        return None
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        return None


def _snomed_needs() -> dict[str, str]:
    """SNOMED CT code → need: the first need the ConceptMap maps to it (a wider code reads as its first need)."""
    found: dict[str, str] = {}
    for need, targets in conformance.concept_map_targets(conformance.NEED_TO_SNOMED_MAP).items():
        for target in targets:
            found.setdefault(target["code"], need)
    return found


def _need_codes(concept: Any) -> list[str]:
    concepts = conformance.need_concepts()
    snomed = _snomed_needs()
    found = []
    for coding in (concept or {}).get("coding") or [] if isinstance(concept, dict) else []:
        if not isinstance(coding, dict):
            continue
        system, code = coding.get("system"), coding.get("code")
        if system == conformance.NEED_SYSTEM and code in concepts:
            found.append(code)
        elif system == conformance.SNOMED and code in snomed:
            found.append(snomed[code])
    return found


def _status(concept: Any) -> set[str]:
    codings = (concept or {}).get("coding") or [] if isinstance(concept, dict) else []
    return {str(c.get("code")) for c in codings if isinstance(c, dict)}


def read_record(found: dict[str, Any]) -> RecordView:
    """Needs and last-asked date from the patient, conditions, observations and last template response."""
    today = datetime.now(UTC).date()
    view = RecordView()
    patient = found.get("patient") or {}
    view.birth_date = patient.get("birthDate") if isinstance(patient.get("birthDate"), str) else None
    for address in patient.get("address") or []:
        if isinstance(address, dict) and isinstance(address.get("postalCode"), str) and address.get("use") != "old":
            view.postcode = address["postalCode"]
            break
    codes: list[str] = []
    asked: list[date] = []
    for condition in ehr.entries(found.get("conditions") or {}):
        if (
            _status(condition.get("clinicalStatus")) & INACTIVE
            or _status(condition.get("verificationStatus")) & NOT_TRUE
        ):
            continue
        codes += _need_codes(condition.get("code"))
    for observation in ehr.entries(found.get("observations") or {}):
        if observation.get("status") in ("entered-in-error", "cancelled", "preliminary"):
            continue
        needs = _need_codes(observation.get("code"))
        when = _when(observation.get("effectiveDateTime") or observation.get("issued"))
        if needs and when:
            asked.append(when)
        if needs and observation.get("valueBoolean") is not False and when and today - when <= ASKED_WITHIN:
            codes += needs
    responses = [
        r for r in ehr.entries(found.get("responses") or {}) if r.get("resourceType") == "QuestionnaireResponse"
    ]
    responses.sort(key=lambda r: str(r.get("authored") or ""), reverse=True)
    if responses and (when := _when(responses[0].get("authored"))):
        asked.append(when)
        checked, _ = validate(responses[0])
        if checked is not None and today - when <= ASKED_WITHIN:
            codes += [n.code for n in assess(checked).needs]
    concepts = conformance.need_concepts()
    order = list(concepts)
    view.needs = [
        Need(code, concepts[code]["display"], sensitive=conformance.is_sensitive(code))
        for code in sorted(set(codes), key=order.index)
    ]
    view.last_asked = max(asked) if asked else None
    return view
