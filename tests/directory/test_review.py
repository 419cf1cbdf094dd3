"""Review queue: never verified, overdue by review_months, failed links; oldest first."""

from datetime import date

from signpost.directory import service as directory
from signpost.directory.models import LinkCheck
from tests.directory.factories import make_service
from tests.factories import bearer, make_key


def _verify(session, service, on: date) -> None:  # type: ignore[no-untyped-def]
    directory.verify_service(
        session=session, service_id=service.id, actor="t", expected_version=service.version, assured_date=on
    )


def test_queue_lists_overdue_before_recent_and_skips_fresh(session) -> None:  # type: ignore[no-untyped-def]
    old = make_service(session)
    _verify(session, old, date(2024, 1, 10))
    fresh = make_service(session)
    _verify(session, fresh, date(2026, 10, 1))
    items, _ = directory.review_queue(session=session, review_months=12, today=date(2026, 11, 28), limit=10000)
    ids = [i.service.id for i in items]
    assert old.id in ids and fresh.id not in ids
    reasons = next(i.reasons for i in items if i.service.id == old.id)
    assert reasons == ["review due since 2025-01-10 (last checked 2024-01-10)"]


def test_never_verified_comes_before_verified(session) -> None:  # type: ignore[no-untyped-def]
    overdue = make_service(session)
    _verify(session, overdue, date(2020, 1, 1))
    never = make_service(session)
    items, _ = directory.review_queue(session=session, review_months=12, today=date(2026, 11, 28), limit=10000)
    ids = [i.service.id for i in items]
    assert ids.index(never.id) < ids.index(overdue.id)


def test_failed_link_puts_a_fresh_service_in_the_queue(session) -> None:  # type: ignore[no-untyped-def]
    service = make_service(session, url="https://broken.example.org/zq")
    _verify(session, service, date(2026, 11, 1))
    session.add(LinkCheck(url=service.url, checked_at=directory.now(), status=404, ok=False))
    session.flush()
    items, _ = directory.review_queue(session=session, review_months=12, today=date(2026, 11, 28), limit=10000)
    item = next(i for i in items if i.service.id == service.id)
    assert "website link failed" in item.reasons[0] and "HTTP 404" in item.reasons[0]


def test_review_months_setting_changes_what_is_due(session) -> None:  # type: ignore[no-untyped-def]
    service = make_service(session)
    _verify(session, service, date(2026, 3, 1))
    due_at_6, _ = directory.review_queue(session=session, review_months=6, today=date(2026, 11, 28), limit=10000)
    due_at_12, _ = directory.review_queue(session=session, review_months=12, today=date(2026, 11, 28), limit=10000)
    assert service.id in [i.service.id for i in due_at_6]
    assert service.id not in [i.service.id for i in due_at_12]


def test_review_queue_is_for_editors(client, session) -> None:  # type: ignore[no-untyped-def]
    assert client.get("/api/v1/directory/review-queue", headers=bearer(make_key(session, "editor"))).status_code == 200
    assert (
        client.get("/api/v1/directory/review-queue", headers=bearer(make_key(session, "clinician"))).status_code == 403
    )
