"""Analysts read counts for any period and grouping, suppressed, with the terms stated."""

import csv
import io
from datetime import date

from sqlmodel import Session

from tests.events.factories import make_event, record_events
from tests.factories import bearer, load_test_geography, make_key

# A period no other test records in, since other tests' committed events may share the database.
START, END = "2021-03-01", "2021-04-30"
BEESTON, ADEL = "E05012647", "E05012841"


def _get(client, session: Session, role: str = "analyst", **params: str):  # type: ignore[no-untyped-def]
    query = {"start": START, "end": END, **params}
    return client.get("/api/v1/indicators/counts", params=query, headers=bearer(make_key(session, role)))


def _record(session: Session, n: int, **fields: object) -> None:
    record_events(
        session, [make_event(occurred_on=date(2021, 3, 10), **fields) for _ in range(n)], key=repr(fields) + str(n)
    )


def test_counts_are_suppressed_and_rounded(client, session: Session) -> None:  # type: ignore[no-untyped-def]
    # Perturbation adds -2 to +2 before rounding: 12 is published as 10 or 15, 20 always as 20, 3 never.
    _record(session, 12, need_code="homeless")
    _record(session, 20, need_code="debt")
    _record(session, 3, need_code="carer")
    rows = {r["need"]: r for r in _get(client, session, group_by="need").json()["rows"]}
    assert rows["homeless"]["count"] in (10, 15) and not rows["homeless"]["suppressed"]
    assert rows["debt"]["count"] == 20
    assert (rows["carer"]["count"], rows["carer"]["suppressed"]) == (None, True)
    assert rows["isolation"]["count"] == 0


def test_the_total_is_rounded_from_unrounded_counts(client, session: Session) -> None:  # type: ignore[no-untyped-def]
    # Both cells are suppressed, yet their total (10, perturbed to 8..12) is published as 10.
    _record(session, 5, need_code="homeless")
    _record(session, 5, need_code="carer")
    report = _get(client, session, group_by="need").json()
    assert {r["need"]: r["count"] for r in report["rows"]}["carer"] is None
    assert report["total"] == 10


def test_every_report_states_its_terms(client, session: Session) -> None:  # type: ignore[no-untyped-def]
    _record(session, 9)
    report = _get(client, session, group_by="month").json()
    assert report["suppression"]["policy"] == "nhs"
    assert report["suppression"]["method"] == "cell-key-perturbation+nhs-small-number-rule"
    assert "perturbation" in report["suppression"]["description"]
    assert report["period"] == {"start": START, "end": END}
    assert report["imd_year"] == 2019 and report["ward_vintage"]
    assert report["generated_at"]
    assert [r["month"] for r in report["rows"]] == ["2021-03", "2021-04"]


def test_grouping_by_ward_lists_all_33_wards_and_unknown(client, session: Session) -> None:  # type: ignore[no-untyped-def]
    load_test_geography(session)
    _record(session, 20, ward_code=BEESTON, ward_vintage=2021)
    _record(session, 10, ward_code=None, ward_vintage=None)
    rows = _get(client, session, group_by="ward").json()["rows"]
    assert len(rows) == 34 and rows[-1]["ward"] == "unknown"
    by_ward = {r["ward"]: r for r in rows}
    assert by_ward[BEESTON]["count"] == 20 and by_ward[BEESTON]["ward_name"]
    assert by_ward[ADEL]["count"] == 0
    assert by_ward["unknown"]["count"] == 10


def test_ward_rates_come_from_published_counts(client, session: Session) -> None:  # type: ignore[no-untyped-def]
    load_test_geography(session)
    _record(session, 20, ward_code=BEESTON, ward_vintage=2021)
    _record(session, 5, ward_code=ADEL, ward_vintage=2021)
    by_ward = {r["ward"]: r for r in _get(client, session, group_by="ward").json()["rows"]}
    from signpost.geography import service as geography

    population = {w.code: w.population for w in geography.list_wards(session)}[BEESTON]
    assert by_ward[BEESTON]["rate_per_1000"] == round(20 * 1000 / population, 2)
    assert by_ward[ADEL]["rate_per_1000"] is None


def test_grouping_by_decile_lists_one_to_ten_and_unknown(client, session: Session) -> None:  # type: ignore[no-untyped-def]
    _record(session, 10, imd_decile=1)
    rows = _get(client, session, group_by="imd_decile").json()["rows"]
    assert [r["imd_decile"] for r in rows] == [*range(1, 11), "unknown"]


def test_groupings_combine(client, session: Session) -> None:  # type: ignore[no-untyped-def]
    _record(session, 10, imd_decile=2, need_code="carer", kind="referred")
    rows = _get(client, session, group_by="imd_decile,need,kind").json()["rows"]
    (hit,) = [r for r in rows if r["count"]]
    assert (hit["imd_decile"], hit["need"], hit["kind"], hit["count"]) == (2, "carer", "referred", 10)


def test_a_part_month_period_is_refused_and_the_whole_months_named(client, session: Session) -> None:  # type: ignore[no-untyped-def]
    _record(session, 10, need_code="homeless")
    response = _get(client, session, start="2021-03-11", end="2021-03-30", group_by="need")
    assert response.status_code == 422
    problem = response.json()
    assert [e["loc"] for e in problem["errors"]] == ["start", "end"]
    assert "whole months" in problem["detail"] and "2021-03-01 to 2021-03-31" in problem["detail"]


def test_csv_carries_the_terms_and_marks_suppressed_cells(client, session: Session) -> None:  # type: ignore[no-untyped-def]
    _record(session, 3, need_code="carer")
    response = _get(client, session, group_by="need", format="csv")
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    carer = next(r for r in rows if r["need"] == "carer")
    assert carer["count"] == "suppressed" and carer["suppression_policy"] == "nhs"
    assert carer["disclosure_method"] == "cell-key-perturbation+nhs-small-number-rule"
    assert carer["period_start"] == START and carer["imd_year"] == "2019"


def test_an_unknown_grouping_is_named(client, session: Session) -> None:  # type: ignore[no-untyped-def]
    response = _get(client, session, group_by="need,postcode")
    assert response.status_code == 422 and "postcode" in response.json()["detail"]


def test_end_before_start_is_refused(client, session: Session) -> None:  # type: ignore[no-untyped-def]
    response = _get(client, session, start="2021-04-01", end="2021-03-31")
    assert response.status_code == 422 and response.json()["errors"][0]["loc"] == "end"


def test_a_period_over_the_allowed_span_is_refused(client, session: Session, settings) -> None:  # type: ignore[no-untyped-def]
    response = _get(client, session, start="2010-01-01", end="2021-03-31")
    assert response.status_code == 422
    assert str(settings.report_max_months) in response.json()["detail"]


def test_a_prescriber_cannot_read_reports(client, session: Session) -> None:  # type: ignore[no-untyped-def]
    assert _get(client, session, role="prescriber").status_code == 403
