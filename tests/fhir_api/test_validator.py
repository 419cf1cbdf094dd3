"""Every shipped FHIR file and one answer of every kind the server gives, checked by Medplum's R4 validator.

fhir.resources checks structure only; Medplum also evaluates each StructureDefinition's FHIRPath invariants
(mea-1, ext-1, bdl-*, …), so a resource that parses can still fail here. To check a new kind of answer, add a
`Probe` to PROBES (the helpers who add FHIR output after the merge: ServiceRequest priorities, Tasks, …).
"""

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from signpost.auth import service as auth_keys
from signpost.config import ROOT
from signpost.directory import capacity
from signpost.referrals import service as referrals
from tests.directory.factories import make_service
from tests.events.factories import make_event, record_events
from tests.factories import bearer, load_test_geography, make_key
from tests.fhir_api import medplum
from tests.referrals.factories import prescriber_key, refer
from tests.template.builders import ans, make_response, need

FHIR_DIR = Path(ROOT) / "fhir"
OWN_EXTENSIONS = "https://signpost.example.org/fhir/StructureDefinition/"


@dataclass(frozen=True)
class Probe:
    """One request whose answer must be valid FHIR: `path` may name `{service}`, `{organization}`, `{location}`."""

    name: str
    method: str
    path: str
    role: str | None = None
    status: int = 200
    params: dict[str, str] = field(default_factory=dict)
    body: Callable[[], dict[str, Any]] | None = None
    headers: dict[str, str] = field(default_factory=dict)


def _qr() -> dict[str, Any]:
    return make_response({"food-worried": [ans("often-true")], "food-today": [False]}, identifier={"value": "val-1"})


def _urgent_qr() -> dict[str, Any]:
    answers = {
        "housing": [need("homeless")],
        "homeless-tonight": [True],
        "domestic-abuse": [True],
        "at-risk-now": [True],
        "food-ran-out": [ans("often-true")],
        "food-today": [True],
        "access": [ans("phone-only")],
    }
    return make_response(answers, identifier={"value": "val-urgent"})


def _no_qr() -> dict[str, Any]:
    return make_response({"isolation": [True], "consent": [False]}, identifier={"value": "val-no"})


def make_provider_key(session: Session, service: Any) -> str:
    """A provider key for the organisation that runs `service`."""
    _, secret = auth_keys.create_key(
        session=session, role="provider", name="intake", organization_id=service.organization_id
    )
    session.flush()
    return secret


def _parameters(**values: str) -> Callable[[], dict[str, Any]]:
    kinds = {"url": "valueUri", "periodStart": "valueDate", "periodEnd": "valueDate", "reportType": "valueCode"}
    return lambda: {
        "resourceType": "Parameters",
        "parameter": [{"name": k, kinds[k]: v} for k, v in values.items()],
    }


PROBES: list[Probe] = [
    Probe("CapabilityStatement", "GET", "/fhir/metadata"),
    Probe("read HealthcareService", "GET", "/fhir/HealthcareService/{service}", "clinician"),
    Probe(
        "search HealthcareService with _include",
        "GET",
        "/fhir/HealthcareService",
        "clinician",
        params={"_id": "{service}", "_include": "HealthcareService:organization,HealthcareService:location"},
    ),
    Probe(
        "search HealthcareService _summary=count",
        "GET",
        "/fhir/HealthcareService",
        "clinician",
        params={"_summary": "count"},
    ),
    Probe(
        "search HealthcareService _elements",
        "GET",
        "/fhir/HealthcareService",
        "clinician",
        params={"_elements": "name,active"},
    ),
    Probe("HealthcareService _history", "GET", "/fhir/HealthcareService/{service}/_history", "clinician"),
    Probe("HealthcareService vread", "GET", "/fhir/HealthcareService/{service}/_history/1", "clinician"),
    Probe("read Organization", "GET", "/fhir/Organization/{organization}", "clinician"),
    Probe("search Organization", "GET", "/fhir/Organization", "clinician", params={"_count": "3"}),
    Probe("read Location", "GET", "/fhir/Location/{location}", "clinician"),
    Probe("search Location near", "GET", "/fhir/Location", "clinician", params={"near": "53.80|-1.55|20|km"}),
    Probe("search Questionnaire", "GET", "/fhir/Questionnaire"),
    Probe("read Questionnaire", "GET", "/fhir/Questionnaire/social-determinants"),
    Probe("search Measure", "GET", "/fhir/Measure"),
    Probe("search OperationDefinition", "GET", "/fhir/OperationDefinition"),
    Probe("search StructureDefinition", "GET", "/fhir/StructureDefinition"),
    Probe("read CodeSystem", "GET", "/fhir/CodeSystem/social-need"),
    Probe("ValueSet $expand", "GET", "/fhir/ValueSet/social-need/$expand"),
    Probe(
        "ValueSet $expand POST",
        "POST",
        "/fhir/ValueSet/$expand",
        body=_parameters(url="https://signpost.example.org/fhir/ValueSet/social-need"),
    ),
    Probe(
        "Measure $evaluate-measure",
        "GET",
        "/fhir/Measure/signposting-by-need/$evaluate-measure",
        "analyst",
        params={"periodStart": "2021-05", "periodEnd": "2021-05"},
    ),
    Probe(
        "Measure $evaluate-measure POST",
        "POST",
        "/fhir/Measure/housing-needs/$evaluate-measure",
        "analyst",
        body=_parameters(periodStart="2021", periodEnd="2021", reportType="population"),
    ),
    *(
        Probe(
            f"Measure {measure} $evaluate-measure",
            "GET",
            f"/fhir/Measure/{measure}/$evaluate-measure",
            "analyst",
            params={"periodStart": "2021-05", "periodEnd": "2021-05"},
        )
        for measure in ("referral-made", "referral-declined", "referral-completed-60", "referral-time-to-acceptance")
    ),
    Probe(
        "Measure referral-accepted $evaluate-measure POST",
        "POST",
        "/fhir/Measure/referral-accepted/$evaluate-measure",
        "analyst",
        body=_parameters(periodStart="2021", periodEnd="2021", reportType="population"),
    ),
    Probe("QuestionnaireResponse $validate", "POST", "/fhir/QuestionnaireResponse/$validate", "clinician", body=_qr),
    Probe("QuestionnaireResponse $extract", "POST", "/fhir/QuestionnaireResponse/$extract", "clinician", body=_qr),
    Probe("QuestionnaireResponse $signpost", "POST", "/fhir/QuestionnaireResponse/$signpost", "clinician", body=_qr),
    Probe(
        "$signpost with urgent needs (Act now: Flags, asap ServiceRequests, issues naming needs)",
        "POST",
        "/fhir/QuestionnaireResponse/$signpost",
        "clinician",
        body=_urgent_qr,
    ),
    Probe(
        "$signpost when the patient says no", "POST", "/fhir/QuestionnaireResponse/$signpost", "clinician", body=_no_qr
    ),
    Probe("read HealthcareService with its stated capacity", "GET", "/fhir/HealthcareService/{service}", "clinician"),
    Probe("read Task", "GET", "/fhir/Task/{task}", "provider"),
    Probe("search Task", "GET", "/fhir/Task", "provider", params={"owner": "Organization/{organization}"}),
    Probe("read ServiceRequest", "GET", "/fhir/ServiceRequest/{task}", "provider"),
    Probe(
        "OperationOutcome 409 (Task move)",
        "PUT",
        "/fhir/Task/{task}",
        "provider",
        status=409,
        body=lambda: {"resourceType": "Task", "id": "{task}", "status": "completed", "intent": "order"},
    ),
    Probe(
        "OperationOutcome 400 (strict)",
        "GET",
        "/fhir/HealthcareService",
        "clinician",
        status=400,
        params={"colour": "red"},
        headers={"Prefer": "handling=strict"},
    ),
    Probe(
        "OperationOutcome 400 (_count)", "GET", "/fhir/Organization", "clinician", status=400, params={"_count": "abc"}
    ),
    Probe("OperationOutcome 401", "GET", "/fhir/HealthcareService", status=401),
    Probe("OperationOutcome 404", "GET", "/fhir/Measure/no-such-measure", status=404),
    Probe(
        "OperationOutcome $validate problems",
        "POST",
        "/fhir/QuestionnaireResponse/$validate",
        "clinician",
        body=lambda: {"resourceType": "QuestionnaireResponse", "status": "completed", "item": [{"linkId": "x"}]},
    ),
]


def _referrals(session: Session, service_id: str) -> None:
    """Referrals in May 2021 for the referral Measures: counts, masked strata and a time to acceptance."""
    made = [
        referrals.create(session=session, secret_key="validator", data=_new_referral(service_id), on=date(2021, 5, 3))[
            0
        ]
        for _ in range(14)
    ]
    for referral in made[:11]:
        referrals.move(session=session, referral=referral, status="accepted", reason=None, on=date(2021, 5, 5))
    for referral in made[:8]:
        referrals.move(session=session, referral=referral, status="completed", reason=None, on=date(2021, 5, 20))
    for referral in made[11:13]:
        referrals.move(
            session=session, referral=referral, status="rejected", reason="not-eligible", on=date(2021, 5, 4)
        )
    session.flush()


def _new_referral(service_id: str) -> referrals.NewReferral:
    return referrals.NewReferral(
        service_id=service_id,
        organization_id="validator-org",
        need_code="debt-priority",
        category_code="debt",
        ward_code="E05012647",
        ward_vintage=2021,
        imd_decile=2,
        imd_year=2019,
        practice_ods=None,
        referrer="key:1",
        source="api",
    )


def _fill(text: str, ids: dict[str, str]) -> str:
    for key, value in ids.items():
        text = text.replace("{" + key + "}", value)
    return text


def _answers(client: TestClient, session: Session) -> list[tuple[Probe, dict[str, Any]]]:
    load_test_geography(session)
    service = make_service(
        session,
        url="https://advice.example.org",
        locations=[
            {
                "name": "Advice shop",
                "address_1": "1 Briggate",
                "city": "Leeds",
                "postal_code": "LS1 6HD",
                "latitude": 53.797,
                "longitude": -1.542,
            }
        ],
        schedules=[{"byday": "MO", "opens_at": "09:00", "closes_at": "17:00"}],
        # Dated exceptions become notAvailable periods: one closed, one with special hours.
        holiday_schedules=[
            {"valid_from": "2026-12-25", "valid_to": "2026-12-26", "description": "Christmas"},
            {"valid_from": "2026-12-24", "closed": False, "opens_at": "10:00", "closes_at": "13:00"},
        ],
        categories=["food"],
    )
    location = session.exec(
        __import__("sqlmodel")
        .text("select location_id from service_at_location where service_id = :s")
        .bindparams(s=service.id)
    ).one()[0]
    record_events(session, [make_event(occurred_on=date(2021, 5, 12)) for _ in range(9)], key="validator-events")
    _referrals(session, service.id)
    capacity.set_capacity(
        session=session, service_id=service.id, status="waitlist", wait_band="1-3-months", by="editor"
    )
    keys: dict[str, str] = {"provider": make_provider_key(session, service)}
    task = refer(client, prescriber_key(session), service.id, need="food-insecurity")["task_id"]
    ids = {"service": service.id, "organization": service.organization_id, "location": location, "task": task}
    out = []
    for probe in PROBES:
        headers = {"Content-Type": "application/fhir+json", **probe.headers}
        if probe.role:
            if probe.role not in keys:
                ods = "B86001" if probe.role == "clinician" else None
                keys[probe.role] = make_key(session, probe.role, practice_ods=ods)
            headers.update(bearer(keys[probe.role]))
        params = {k: _fill(v, ids) for k, v in probe.params.items()}
        body = _fill(json.dumps(probe.body()), ids) if probe.body else None
        response = client.request(probe.method, _fill(probe.path, ids), params=params, content=body, headers=headers)
        assert response.status_code == probe.status, f"{probe.name}: {response.status_code} {response.text[:500]}"
        out.append((probe, response.json()))
    return out


def _extension_problems(resource: Any, where: str, definitions: dict[str, dict[str, Any]]) -> list[str]:
    """Extensions under the project's own namespace must have a shipped StructureDefinition, and its value type."""
    problems: list[str] = []
    if isinstance(resource, list):
        for i, item in enumerate(resource):
            problems += _extension_problems(item, f"{where}[{i}]", definitions)
    elif isinstance(resource, dict):
        url = resource.get("url")
        if (
            isinstance(url, str)
            and url.startswith(OWN_EXTENSIONS)
            and ("extension" in resource or any(k.startswith("value") for k in resource))
        ):
            definition = definitions.get(url)
            if definition is None:
                problems.append(f"{where}: {url} has no StructureDefinition in fhir/")
            else:
                elements = {e["id"]: e for e in definition["differential"]["element"]}
                value = elements.get("Extension.value[x]", {})
                wanted = {t["code"] for t in value.get("type", [])}
                used = {
                    k.removeprefix("value")[0].lower() + k.removeprefix("value")[1:]
                    for k in resource
                    if k.startswith("value")
                }
                if used and not used <= wanted:
                    problems.append(f"{where}: {url} carries {used}, its definition allows {wanted or 'no value'}")
                for inner in resource.get("extension", []):
                    if f"Extension.extension:{inner.get('url')}" not in elements:
                        problems.append(f"{where}: {url} has an undefined part {inner.get('url')}")
        for key, value in resource.items():
            problems += _extension_problems(value, f"{where}.{key}", definitions)
    return problems


def _shipped() -> list[dict[str, Any]]:
    return [json.loads(p.read_text()) for p in sorted(FHIR_DIR.glob("*.json"))]


def test_every_shipped_file_and_every_kind_of_answer_is_valid_r4(
    client: TestClient, session: Session, capsys: pytest.CaptureFixture[str]
) -> None:
    medplum.require()
    answers = _answers(client, session)
    shipped = _shipped()
    resources = shipped + [body for _, body in answers]
    names = [f"fhir/{r['resourceType']}-{r['id']}.json" for r in shipped] + [p.name for p, _ in answers]
    results = medplum.validate(resources)
    errors = [f"{name}: {e}" for name, result in zip(names, results, strict=True) for e in result["errors"]]
    definitions = {r["url"]: r for r in shipped if r["resourceType"] == "StructureDefinition"}
    for name, resource in zip(names, resources, strict=True):
        errors += _extension_problems(resource, name, definitions)
    assert errors == [], "\n".join(errors)
    counts = medplum.count_by_type(resources)
    with capsys.disabled():
        print(
            f"\nMedplum {medplum.version()} validated {sum(counts.values())} resources, 0 errors: "
            + ", ".join(f"{t} {n}" for t, n in sorted(counts.items()))
        )
    # Every kind the issue names was really checked.
    for kind in (
        "CapabilityStatement",
        "Bundle",
        "MeasureReport",
        "OperationOutcome",
        "ValueSet",
        "Measure",
        "HealthcareService",
        "Organization",
        "Location",
        "Observation",
        "StructureDefinition",
    ):
        assert counts[kind] > 0, kind


def test_the_validator_finds_mea_1_when_a_stratifier_has_code_and_components() -> None:
    measure = json.loads((FHIR_DIR / "Measure-housing-needs.json").read_text())
    component = next(s for s in measure["group"][0]["stratifier"] if "component" in s)
    component["code"] = {"text": "ward-imd-decile"}
    [result] = medplum.validate([measure])
    assert any("mea-1" in e for e in result["errors"]), result


def test_the_validator_finds_a_broken_date_and_a_missing_required_element() -> None:
    report = {
        "resourceType": "MeasureReport",
        "status": "complete",
        "type": "summary",
        "measure": "https://signpost.example.org/fhir/Measure/housing-needs",
        "period": {"start": "2026-13-01"},
    }
    service = {"resourceType": "HealthcareService", "id": "x", "extension": [{"url": "u"}]}
    results = medplum.validate([report, service])
    assert results[0]["errors"], results[0]
    assert any("ext-1" in e for e in results[1]["errors"]), results[1]


def test_an_extension_without_a_structure_definition_is_reported() -> None:
    shipped = _shipped()
    definitions = {r["url"]: r for r in shipped if r["resourceType"] == "StructureDefinition"}
    resource = {
        "resourceType": "HealthcareService",
        "extension": [
            {"url": OWN_EXTENSIONS + "made-up", "valueString": "x"},
            {"url": OWN_EXTENSIONS + "match-reason", "valueInteger": 3},
        ],
    }
    problems = _extension_problems(resource, "hs", definitions)
    assert len(problems) == 2, problems


def test_every_extension_definition_is_served(client: TestClient) -> None:
    for resource in _shipped():
        if resource["resourceType"] == "StructureDefinition":
            answer = client.get(f"/fhir/StructureDefinition/{resource['id']}")
            assert answer.status_code == 200 and answer.json() == resource
            found = client.get("/fhir/StructureDefinition", params={"url": resource["url"]}).json()
            assert found["total"] == 1
