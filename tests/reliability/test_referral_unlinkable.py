"""A referral cannot be joined to an anonymised event: no shared column, no shared key, no time finer than a day."""

from sqlalchemy import Date, DateTime, inspect, text

from tests.factories import bearer
from tests.referrals.factories import make_provider, prescriber_key, refer


def _columns(session, table: str) -> dict[str, object]:  # type: ignore[no-untyped-def]
    return {c["name"]: c["type"] for c in inspect(session.connection()).get_columns(table)}


def test_the_referral_table_shares_no_key_or_timestamp_with_the_events(session) -> None:  # type: ignore[no-untyped-def]
    referral = _columns(session, "referral")
    assert not {"submission_id", "key_hmac", "created_at", "event_id", "occurred_on"} & set(referral)
    # The only instant is the provider's last move, which no event records; creation is a date.
    instants = {name for name, kind in referral.items() if isinstance(kind, DateTime) and not isinstance(kind, Date)}
    assert instants == {"changed_at"}
    outcome = _columns(session, "referral_outcome")
    assert not {name for name, kind in outcome.items() if isinstance(kind, DateTime)}


def test_a_referral_made_beside_a_signposting_holds_nothing_that_matches_it(client, session) -> None:  # type: ignore[no-untyped-def]
    provider = make_provider(session)
    key = prescriber_key(session)
    recorded = client.post(
        "/api/v1/signposts",
        headers={**bearer(key), "Idempotency-Key": "same-person"},
        json={"services": [provider.service.id], "needs": ["debt-priority"], "kind": "referred"},
    )
    assert recorded.status_code == 201, recorded.text
    made = refer(client, key, provider.service.id)
    row = session.execute(text("SELECT * FROM referral WHERE id = :id"), {"id": made["task_id"]}).mappings().one()
    submission = session.execute(text("SELECT * FROM event_submission ORDER BY id DESC")).mappings().first()
    event = session.execute(text("SELECT * FROM signpost_event ORDER BY id DESC")).mappings().first()
    # The referral's key is random text, not a number that counts up alongside the events' ids.
    assert not row["id"].isdigit() and len(row["id"]) == 32
    assert row["changed_at"] is None and len(str(row["created_on"])) == len("2026-12-04")  # a day, no time
    # record_key is a random byte drawn on its own for each row (the seed of a cell's noise, never a join key), so a
    # small number like 1 may match an event's id by chance; every other value must not.
    values = {name: v for name, v in row.items() if v is not None and name != "record_key"}
    shared = {str(v) for v in values.values()} & {
        str(v) for v in [*submission.values(), event["id"], event["submission_id"]] if v is not None
    }
    assert not shared - {str(provider.service.id)}, shared
