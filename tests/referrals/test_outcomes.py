"""Outcome counts: the roll-up made as referrals move, published under the suppression policy, kept after purge."""

from datetime import date, timedelta

from sqlalchemy import text

from signpost.indicators.suppression import SuppressionPolicy
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
        params={"start": TODAY.replace(day=1).isoformat(), "end": TODAY.isoformat(), **params},
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


def test_published_outcomes_pass_the_nhs_rule(client, session) -> None:  # type: ignore[no-untyped-def]
    provider = make_provider(session)
    key = prescriber_key(session)
    made = [refer(client, key, provider.service.id) for _ in range(12)]
    for m in made[:3]:
        put(client, provider, m["task_id"], "accepted")
    found = _report(client, session, group_by="service")
    row = next(r for r in found["rows"] if r["group"]["service"] == provider.service.id)
    assert row["made"] == 10  # 12 rounded to the nearest 5
    assert row["accepted"] is None  # 3 is suppressed
    assert row["mean_days_to_accept"] is None  # and so is its mean
    assert found["suppression"]["policy"] == "nhs"


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
