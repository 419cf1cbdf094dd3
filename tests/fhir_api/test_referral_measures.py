"""The referral outcome Measures: evaluated from the outcome roll-up through the same publication as every count."""

from datetime import date, timedelta

from fhir.resources.R4B.measure import Measure
from fhir.resources.R4B.measurereport import MeasureReport
from sqlalchemy import select
from sqlmodel import Session, col

from signpost.indicators.measures import load_measures, shipped_measures
from signpost.indicators.suppression import CELL_KEYS, SuppressionPolicy
from signpost.referrals import service as referrals
from signpost.referrals.models import Referral
from tests.factories import bearer, make_key
from tests.fhir_api.test_measure import MASKED
from tests.referrals.factories import make_provider

MARCH = date(2017, 3, 6)
REFERRAL_MEASURES = [
    "referral-made",
    "referral-accepted",
    "referral-declined",
    "referral-completed-60",
    "referral-time-to-acceptance",
]


def _make(session: Session, service_id: str, n: int, **fields: object) -> list[Referral]:
    made = []
    for _ in range(n):
        data = referrals.NewReferral(
            service_id=service_id,
            organization_id="measure-org",
            need_code=str(fields.get("need", "debt-priority")),
            category_code="debt",
            ward_code="E05012647",
            ward_vintage=2021,
            imd_decile=int(fields.get("decile", 2)),  # type: ignore[call-overload]
            imd_year=2019,
            practice_ods=None,
            referrer="key:1",
            source="api",
        )
        made.append(referrals.create(session=session, secret_key="k", data=data, on=MARCH)[0])
    return made


def _plant(session: Session) -> tuple[str, list[Referral]]:
    """22 referrals made in March 2017: 14 accepted (3 days later), 9 of those completed in 20 days, 4 declined."""
    provider = make_provider(session)
    made = _make(session, provider.service.id, 22)
    for r in made[:14]:
        referrals.move(session=session, referral=r, status="accepted", reason=None, on=MARCH + timedelta(days=3))
    for r in made[:9]:
        referrals.move(session=session, referral=r, status="completed", reason=None, on=MARCH + timedelta(days=20))
    for r in made[14:18]:
        referrals.move(session=session, referral=r, status="rejected", reason="at-capacity", on=MARCH)
    session.flush()
    return provider.service.id, made


def _evaluate(client, session: Session, measure: str, start: str = "2017-03", end: str = "2017-03"):  # type: ignore[no-untyped-def]
    return client.get(
        f"/fhir/Measure/{measure}/$evaluate-measure",
        params={"periodStart": start, "periodEnd": end},
        headers=bearer(make_key(session, "analyst")),
    )


def _key(session: Session, referrals_counted: list[Referral]) -> int:
    ids = [r.id for r in referrals_counted]
    keys = session.execute(select(Referral.record_key).where(col(Referral.id).in_(ids))).scalars()
    return sum(keys) % CELL_KEYS


def test_the_referral_measures_are_valid_r4_and_served_but_not_evaluated_as_events() -> None:
    for measure_id in REFERRAL_MEASURES:
        measure = shipped_measures()[measure_id]
        Measure.model_validate(measure)
        for stratifier in measure["group"][0]["stratifier"]:
            assert ("code" in stratifier) != ("component" in stratifier)  # mea-1
        assert measure_id not in load_measures()  # the events' evaluator (and push) never read them


def test_each_measure_publishes_its_counts_with_the_key_sum_of_the_referrals_it_counts(client, session) -> None:  # type: ignore[no-untyped-def]
    service_id, made = _plant(session)
    nhs = SuppressionPolicy("nhs")
    expected = {
        "referral-made": (22, made),
        "referral-accepted": (14, made[:14]),
        "referral-completed-60": (9, made[:9]),
        "referral-declined": (4, made[14:18]),
    }
    for measure_id, (n, counted) in expected.items():
        response = _evaluate(client, session, measure_id)
        assert response.status_code == 200, response.text
        found = response.json()
        MeasureReport.model_validate(found)
        group = found["group"][0]
        published = nhs.publish(n, _key(session, counted))
        if published is None:
            assert group["population"][0]["extension"] == [MASKED] and "count" not in group["population"][0]
        else:
            assert group["population"][0]["count"] == published
        by_code = {s["code"][0]["text"]: s["stratum"] for s in group["stratifier"]}
        service_stratum = next(s for s in by_code["service"] if s["value"]["coding"][0]["code"] == service_id)
        assert service_stratum["population"][0].get("count") == published
        assert [s["value"]["text"] for s in by_code["month"]] == ["2017-03"]
        assert {
            "url": "https://signpost.example.org/fhir/StructureDefinition/disclosure-method",
            "valueCode": "cell-key-perturbation+nhs-small-number-rule",
        } in found["extension"]
    declined = _evaluate(client, session, "referral-declined").json()
    reasons = {
        s["value"]["coding"][0]["code"]: s["population"][0]
        for s in next(x for x in declined["group"][0]["stratifier"] if x["code"][0]["text"] == "reason")["stratum"]
    }
    assert set(reasons) == {"at-capacity", "not-eligible", "could-not-contact", "other"}
    assert reasons["at-capacity"] == {"code": reasons["at-capacity"]["code"], "extension": [MASKED]}  # 4: suppressed
    assert reasons["other"]["count"] == 0


def test_time_to_acceptance_is_shown_only_beside_a_published_count_of_the_same_cells(client, session) -> None:  # type: ignore[no-untyped-def]
    service_id, made = _plant(session)
    # A need with 3 acceptances, 10 days each: its count is suppressed, so its mean (10, which would move the
    # published mean) must not be shown either.
    for r in _make(session, service_id, 3, need="homeless", decile=9):
        referrals.move(session=session, referral=r, status="accepted", reason=None, on=MARCH + timedelta(days=10))
    found = _evaluate(client, session, "referral-time-to-acceptance", "2017-03-01", "2017-03-31T23:59:59Z").json()
    MeasureReport.model_validate(found)
    group = found["group"][0]
    homeless = (
        session.execute(select(Referral).where(Referral.need_code == "homeless", Referral.service_id == service_id))
        .scalars()
        .all()
    )
    published = SuppressionPolicy("nhs").publish(17, _key(session, made[:14] + list(homeless)))
    assert published is not None  # 17 is never suppressed (±2 noise)
    assert group["population"][0]["count"] == published
    mean = round((14 * 3 + 3 * 10) / 17, 1)
    assert group["measureScore"] == {"value": mean, "system": "http://unitsofmeasure.org", "code": "d", "unit": "days"}
    scored = 0
    for stratifier in group["stratifier"]:
        for stratum in stratifier["stratum"]:
            if "count" not in stratum["population"][0] or stratum["population"][0]["count"] == 0:
                assert "measureScore" not in stratum, stratum
            else:
                scored += 1
                assert stratum["measureScore"]["value"] in (3.0, mean), stratum
    need = next(s for s in group["stratifier"] if s["code"][0]["text"] == "need")["stratum"]
    assert [s["value"]["text"] for s in need] == ["debt-priority", "homeless"]
    assert need[0]["measureScore"]["value"] == 3.0  # the debt referrals' own mean, from their own cells
    assert need[1]["population"][0] == {"code": need[1]["population"][0]["code"], "extension": [MASKED]}
    assert "measureScore" not in need[1]  # 3 accepted: suppressed, and so is their mean
    assert scored >= 5  # month, need, category, service, ward and decile each have a published stratum


def test_post_and_whole_months_as_for_every_measure(client, session) -> None:  # type: ignore[no-untyped-def]
    _plant(session)
    body = {
        "resourceType": "Parameters",
        "parameter": [{"name": "periodStart", "valueDate": "2017"}, {"name": "periodEnd", "valueDate": "2017"}],
    }
    analyst = bearer(make_key(session, "analyst"))
    posted = client.post(
        "/fhir/Measure/referral-made/$evaluate-measure",
        content=__import__("json").dumps(body),
        headers={**analyst, "Content-Type": "application/fhir+json"},
    )
    assert posted.status_code == 200, posted.text
    assert (
        len(next(s for s in posted.json()["group"][0]["stratifier"] if s["code"][0]["text"] == "month")["stratum"])
        == 12
    )
    refused = _evaluate(client, session, "referral-made", "2017-03-02", "2017-03-31")
    assert refused.status_code == 422
    outcome = refused.json()
    assert outcome["resourceType"] == "OperationOutcome"
    assert "whole months" in outcome["issue"][0]["diagnostics"]
    prescriber = client.get(
        "/fhir/Measure/referral-made/$evaluate-measure",
        params={"periodStart": "2017-03", "periodEnd": "2017-03"},
        headers=bearer(make_key(session, "prescriber")),
    )
    assert prescriber.status_code == 403
