"""A referrer's list: their own referrals (a practice's, for clinicians), the late ones marked."""

from datetime import date, timedelta

from sqlalchemy import text

from tests.factories import bearer, make_key
from tests.referrals.factories import make_provider, prescriber_key, refer
from tests.referrals.test_task_api import put


def test_a_prescriber_sees_their_own_referrals_by_token_and_status(client, session) -> None:  # type: ignore[no-untyped-def]
    provider = make_provider(session)
    mine, theirs = prescriber_key(session), prescriber_key(session)
    made = refer(client, mine, provider.service.id)
    refer(client, theirs, provider.service.id)
    put(client, provider, made["task_id"], "accepted")
    listed = client.get("/api/v1/referrals", headers=bearer(mine)).json()
    assert [(r["token_hint"], r["status"]) for r in listed] == [(made["token"][:4], "accepted")]


def test_a_practice_sees_every_clinicians_referral_from_it(client, session) -> None:  # type: ignore[no-untyped-def]
    provider = make_provider(session)
    first = make_key(session, "clinician", practice_ods="Y12345")
    second = make_key(session, "clinician", practice_ods="Y12345")
    elsewhere = make_key(session, "clinician", practice_ods="Y99999")
    ids = {refer(client, k, provider.service.id)["task_id"] for k in (first, second)}
    refer(client, elsewhere, provider.service.id)
    listed = client.get("/api/v1/referrals", headers=bearer(first)).json()
    assert {r["task_id"] for r in listed} == ids


def test_referrals_not_answered_in_time_are_marked_overdue(client, session, settings) -> None:  # type: ignore[no-untyped-def]
    provider = make_provider(session)
    key = prescriber_key(session)
    late, answered, fresh = (refer(client, key, provider.service.id) for _ in range(3))
    long_ago = date.today() - timedelta(days=14)
    session.execute(
        text("UPDATE referral SET created_on = :day WHERE id IN (:a, :b)"),
        {"day": long_ago, "a": late["task_id"], "b": answered["task_id"]},
    )
    put(client, provider, answered["task_id"], "accepted")
    listed = {r["task_id"]: r["overdue"] for r in client.get("/api/v1/referrals", headers=bearer(key)).json()}
    assert listed == {late["task_id"]: True, answered["task_id"]: False, fresh["task_id"]: False}
