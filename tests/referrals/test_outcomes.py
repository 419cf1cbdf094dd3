"""Outcome counts: the roll-up made as referrals move, published under the suppression policy, kept after purge."""

from datetime import date, timedelta

from sqlalchemy import select, text
from sqlmodel import col

from signpost.indicators.service import month_end
from signpost.indicators.suppression import CELL_KEYS, SuppressionPolicy
from signpost.referrals import report
from signpost.referrals import service as referrals
from signpost.referrals.models import Referral
from tests.factories import bearer, make_key
from tests.referrals.factories import make_provider, prescriber_key, refer
from tests.referrals.test_task_api import put

TODAY = date.today()


def _report(client, session, **params):  # type: ignore[no-untyped-def]
    response = client.get(
        "/api/v1/indicators/referral-outcomes",
        params={"start": TODAY.replace(day=1).isoformat(), "end": month_end(TODAY).isoformat(), **params},
        headers=bearer(make_key(session, "analyst")),
    )
    assert response.status_code == 200, response.text
    return response.json()


def test_the_funnel_counts_made_accepted_declined_and_completed_within_60_days(client, session) -> None:  # type: ignore[no-untyped-def]
    provider = make_provider(session)
    key = prescriber_key(session)
    made = [refer(client, key, provider.service.id) for _ in range(30)]
    for m in made[:20]:
        assert put(client, provider, m["task_id"], "accepted").status_code == 200
    for m in made[:12]:
        assert put(client, provider, m["task_id"], "completed").status_code == 200
    for m in made[20:30]:
        assert put(client, provider, m["task_id"], "rejected", reason="at-capacity").status_code == 200
    found = report.outcome_report(
        session=session, start=TODAY, end=TODAY, group_by="service", policy=SuppressionPolicy("none")
    )
    row = next(r for r in found["rows"] if r["group"]["service"] == provider.service.id)
    assert (row["made"], row["accepted"], row["completed"], row["completed_within_60_days"]) == (30, 20, 12, 12)
    assert row["declined"]["at-capacity"] == 10
    assert row["mean_days_to_accept"] == 0.0


def test_published_outcomes_pass_the_nhs_rule_with_each_cells_own_key(client, session) -> None:  # type: ignore[no-untyped-def]
    provider = make_provider(session)
    key = prescriber_key(session)
    made = [refer(client, key, provider.service.id) for _ in range(12)]
    for m in made[:3]:
        put(client, provider, m["task_id"], "accepted")
    found = _report(client, session, group_by="service")
    row = next(r for r in found["rows"] if r["group"]["service"] == provider.service.id)
    # Each count is published with the key sum of the referrals it counts, as every other count is.
    ids = [m["task_id"] for m in made]
    keys = dict(session.execute(select(Referral.id, Referral.record_key).where(col(Referral.id).in_(ids))).all())
    made_key = sum(keys.values()) % CELL_KEYS
    accepted_key = sum(keys[i] for i in ids[:3]) % CELL_KEYS
    nhs = SuppressionPolicy("nhs")
    assert row["made"] == nhs.publish(12, made_key) and row["made"] in (10, 15)  # 12 perturbed, then rounded
    assert row["accepted"] is None  # 3 is suppressed whatever its noise
    assert nhs.publish(3, accepted_key) is None
    assert row["mean_days_to_accept"] is None  # and so is its mean
    assert found["suppression"]["policy"] == "nhs"
    assert found["suppression"]["method"] == "cell-key-perturbation+nhs-small-number-rule"


def test_each_outcome_cell_keeps_the_key_sum_of_the_referrals_it_counts(client, session) -> None:  # type: ignore[no-untyped-def]
    provider = make_provider(session)
    key = prescriber_key(session)
    made = [refer(client, key, provider.service.id) for _ in range(9)]
    for m in made[:5]:
        put(client, provider, m["task_id"], "accepted")
    for m in made[5:7]:
        put(client, provider, m["task_id"], "rejected", reason="at-capacity")
    ids = [m["task_id"] for m in made]
    keys = dict(session.execute(select(Referral.id, Referral.record_key).where(col(Referral.id).in_(ids))).all())
    assert all(0 <= k < CELL_KEYS for k in keys.values())
    assert len(set(keys.values())) > 1  # drawn per referral, not one constant
    cells = dict(
        session.execute(
            text("SELECT measure, cell_key FROM referral_outcome WHERE service_id = :sid"),
            {"sid": provider.service.id},
        ).all()
    )
    assert cells["made"] == sum(keys.values()) % CELL_KEYS
    assert cells["accepted"] == sum(keys[i] for i in ids[:5]) % CELL_KEYS
    assert cells["declined-at-capacity"] == sum(keys[i] for i in ids[5:7]) % CELL_KEYS


def test_outcome_reports_take_whole_months_only(client, session) -> None:  # type: ignore[no-untyped-def]
    analyst = bearer(make_key(session, "analyst"))
    for start, end in (("2026-03-02", "2026-03-31"), ("2026-01-01", "2026-03-30")):
        response = client.get(
            "/api/v1/indicators/referral-outcomes", params={"start": start, "end": end}, headers=analyst
        )
        assert response.status_code == 422
        assert "whole months" in response.json()["detail"]
        assert response.json()["errors"][0]["loc"] in ("start", "end")


def test_an_unknown_grouping_is_a_422(client, session) -> None:  # type: ignore[no-untyped-def]
    response = client.get(
        "/api/v1/indicators/referral-outcomes",
        params={"start": "2026-01-01", "end": "2026-01-31", "group_by": "postcode"},
        headers=bearer(make_key(session, "analyst")),
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"] == "group_by"


def test_purging_closed_referrals_keeps_their_counts(client, session) -> None:  # type: ignore[no-untyped-def]
    provider = make_provider(session)
    key = prescriber_key(session)
    made = [refer(client, key, provider.service.id) for _ in range(10)]
    for m in made:
        put(client, provider, m["task_id"], "rejected", reason="not-eligible")
    open_one = refer(client, key, provider.service.id)
    before = report.outcome_report(
        session=session, start=TODAY, end=TODAY, group_by="service", policy=SuppressionPolicy("none")
    )
    # Closed seven months ago, as far as retention can tell.
    session.execute(
        text("UPDATE referral SET closed_on = :day WHERE service_id = :sid AND closed_on IS NOT NULL"),
        {"day": TODAY - timedelta(days=215), "sid": provider.service.id},
    )
    deleted = referrals.purge(session=session, on=TODAY, months=6)
    assert deleted >= 10
    left = session.execute(text("SELECT id FROM referral WHERE service_id = :sid"), {"sid": provider.service.id}).all()
    assert [r.id for r in left] == [open_one["task_id"]]
    after = report.outcome_report(
        session=session, start=TODAY, end=TODAY, group_by="service", policy=SuppressionPolicy("none")
    )
    assert before["rows"] == after["rows"]


def test_a_referral_closed_within_the_period_is_kept(session) -> None:  # type: ignore[no-untyped-def]
    provider = make_provider(session)
    session.add(
        Referral(
            id="k" * 32,
            token_hmac="h" * 64,
            token_hint="ABCD",
            service_id=provider.service.id,
            organization_id=provider.service.organization_id,
            need_code="debt-priority",
            referrer="key:1",
            source="api",
            status="completed",
            created_on=TODAY - timedelta(days=200),
            closed_on=TODAY - timedelta(days=150),
        )
    )
    session.flush()
    referrals.purge(session=session, on=TODAY, months=6)
    assert session.get(Referral, "k" * 32) is not None


def test_reply_times_are_shown_only_from_five_accepted_referrals(client, session) -> None:  # type: ignore[no-untyped-def]
    provider = make_provider(session)
    key = prescriber_key(session)
    made = [refer(client, key, provider.service.id) for _ in range(5)]
    for m in made[:4]:
        put(client, provider, m["task_id"], "accepted")
    assert referrals.reply_times(session=session, service_ids=[provider.service.id], on=TODAY) == {}
    put(client, provider, made[4]["task_id"], "accepted")
    found = referrals.reply_times(session=session, service_ids=[provider.service.id], on=TODAY)
    assert found[provider.service.id].referrals == 5
    assert found[provider.service.id].median_days == 0.0


def test_working_days_skip_weekends() -> None:
    friday = date(2026, 12, 4)
    assert referrals.working_days_between(friday, friday + timedelta(days=3)) == 1  # to Monday
    assert referrals.working_days_between(friday, friday + timedelta(days=7)) == 5
