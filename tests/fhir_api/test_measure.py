"""The referral indicators as FHIR: Measures tied to Marmot principles, and suppressed MeasureReports."""

import json
from datetime import date
from pathlib import Path

from fhir.resources.R4B.codesystem import CodeSystem
from fhir.resources.R4B.measure import Measure
from fhir.resources.R4B.measurereport import MeasureReport
from sqlmodel import Session

from signpost.config import ROOT
from tests.events.factories import make_event, record_events
from tests.factories import bearer, load_test_geography, make_key

FHIR = Path(ROOT) / "fhir"
BEESTON, CHAPEL_ALLERTON = "E05012647", "E05011390"
MASKED = {"url": "http://hl7.org/fhir/StructureDefinition/data-absent-reason", "valueCode": "masked"}


def _evaluate(client, session: Session, measure: str = "signposting-by-need", role: str = "analyst", **params: str):  # type: ignore[no-untyped-def]
    query = {"periodStart": "2021-05-01", "periodEnd": "2021-05-31", **params}
    return client.get(
        f"/fhir/Measure/{measure}/$evaluate-measure", params=query, headers=bearer(make_key(session, role))
    )


def _record(session: Session, n: int, **fields: object) -> None:
    new = [make_event(occurred_on=date(2021, 5, 12), **fields) for _ in range(n)]
    record_events(session, new, key=f"measure-{fields}-{n}")


def _stratifier(report: dict, code: str) -> list[dict]:  # type: ignore[type-arg]
    return next(s["stratum"] for s in report["group"][0]["stratifier"] if s["code"][0]["text"] == code)


def test_the_marmot_codesystem_has_the_eight_principles_as_published() -> None:
    resource = json.loads((FHIR / "CodeSystem-marmot-principle.json").read_text())
    CodeSystem.model_validate(resource)
    concepts = {c["code"]: c["display"] for c in resource["concept"]}
    assert list(concepts) == [f"MP{i}" for i in range(1, 9)]
    assert concepts["MP1"] == "Give every child the best start in life."
    assert concepts["MP7"] == "Tackle racism, discrimination and their outcomes."


def test_every_measure_is_valid_and_tied_to_a_principle() -> None:
    principles = {c["code"] for c in json.loads((FHIR / "CodeSystem-marmot-principle.json").read_text())["concept"]}
    paths = sorted(FHIR.glob("Measure-*.json"))
    assert len(paths) >= 2
    for path in paths:
        resource = json.loads(path.read_text())
        Measure.model_validate(resource)
        (topic,) = resource["topic"]
        assert topic["coding"][0]["code"] in principles
        assert path.name == f"Measure-{resource['id']}.json"


def test_measures_can_be_read_and_searched_without_a_key(client) -> None:  # type: ignore[no-untyped-def]
    read = client.get("/fhir/Measure/referrals-by-category")
    assert read.status_code == 200 and read.json()["id"] == "referrals-by-category"
    bundle = client.get("/fhir/Measure", params={"url": read.json()["url"]}).json()
    assert bundle["total"] == 1


def test_an_unknown_measure_is_a_404_outcome(client, session: Session) -> None:  # type: ignore[no-untyped-def]
    response = _evaluate(client, session, measure="no-such")
    assert response.status_code == 404 and response.json()["resourceType"] == "OperationOutcome"


def test_evaluate_gives_a_valid_summary_report_stratified_by_ward_decile_and_need(client, session: Session) -> None:  # type: ignore[no-untyped-def]
    load_test_geography(session)
    _record(session, 25, ward_code=BEESTON, ward_vintage=2021, imd_decile=1, need_code="homeless")
    _record(session, 5, ward_code=CHAPEL_ALLERTON, ward_vintage=2021, imd_decile=5, need_code="carer")
    response = _evaluate(client, session)
    assert response.status_code == 200, response.text
    report = response.json()
    MeasureReport.model_validate(report)
    assert report["type"] == "summary" and report["period"] == {"start": "2021-05-01", "end": "2021-05-31"}
    # Multiples of 5 from 10 up are published exactly: the noise (-2..+2) is rounded away.
    assert report["group"][0]["population"][0]["count"] == 30  # 25 + 5 perturbed, then rounded
    wards = {s["value"]["coding"][0]["code"]: s for s in _stratifier(report, "ward")}
    assert len(wards) == 34
    assert wards[BEESTON]["population"][0]["count"] == 25
    deciles = [s["value"]["coding"][0]["code"] for s in _stratifier(report, "imd-decile")]
    assert deciles == [*map(str, range(1, 11)), "unknown"]
    needs = {s["value"]["coding"][0]["code"]: s for s in _stratifier(report, "need")}
    assert needs["homeless"]["population"][0]["count"] == 25
    (component,) = [
        s for s in _stratifier(report, "ward-imd-decile") if s["component"][0]["value"]["coding"][0]["code"] == BEESTON
    ]
    assert component["component"][1]["value"]["coding"][0]["code"] == "1"


def test_suppressed_strata_carry_a_data_absent_reason_and_no_count(client, session: Session) -> None:  # type: ignore[no-untyped-def]
    _record(session, 3, need_code="carer")
    report = _evaluate(client, session).json()
    carer = next(s for s in _stratifier(report, "need") if s["value"]["coding"][0]["code"] == "carer")
    population = carer["population"][0]
    assert "count" not in population and population["extension"] == [MASKED]


def test_the_report_states_policy_and_vintages(client, session: Session) -> None:  # type: ignore[no-untyped-def]
    _record(session, 10)
    urls = {e["url"].rsplit("/", 1)[-1]: e for e in _evaluate(client, session).json()["extension"]}
    assert "NHS" in urls["suppression-policy"]["valueString"]
    assert urls["disclosure-method"]["valueCode"] == "cell-key-perturbation+nhs-small-number-rule"
    assert urls["imd-year"]["valueInteger"] == 2019 and urls["ward-vintage"]["valueInteger"]


def test_a_measure_counts_only_its_own_population(client, session: Session) -> None:  # type: ignore[no-untyped-def]
    _record(session, 10, kind="signposted")
    _record(session, 15, kind="referred", category_code="housing")
    report = _evaluate(client, session, measure="referrals-by-category").json()
    assert report["group"][0]["population"][0]["count"] == 15  # the 15 referrals only
    housing = next(s for s in _stratifier(report, "category") if s["value"]["coding"][0]["code"] == "housing")
    assert housing["population"][0]["count"] == 15


def test_a_period_ending_before_it_starts_is_an_outcome_naming_period_end(client, session: Session) -> None:  # type: ignore[no-untyped-def]
    response = _evaluate(client, session, periodStart="2021-06-01", periodEnd="2021-05-31")
    assert response.status_code == 422
    assert response.json()["issue"][0]["expression"] == ["periodEnd"]


def test_a_prescriber_cannot_evaluate_a_measure(client, session: Session) -> None:  # type: ignore[no-untyped-def]
    assert _evaluate(client, session, role="prescriber").status_code == 403
