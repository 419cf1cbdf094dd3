"""E-mail to providers through a real SMTP server (aiosmtpd on loopback): new and late referrals, never the need."""

import socket
from collections.abc import Iterator
from datetime import date, timedelta

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import text

from signpost.config import request_settings
from signpost.events import vocabulary
from signpost.referrals import notices
from tests.referrals.factories import make_provider, prescriber_key, refer


class Sink:
    def __init__(self) -> None:
        self.messages: list[tuple[list[str], str]] = []

    async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]  # noqa: N802
        self.messages.append((list(envelope.rcpt_tos), envelope.content.decode("utf-8", "replace")))
        return "250 OK"


@pytest.fixture
def sink() -> Iterator[tuple[Sink, int]]:
    handler = Sink()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield handler, port
    finally:
        controller.stop()


@pytest.fixture
def mailing(app, settings, sink):  # type: ignore[no-untyped-def]
    handler, port = sink
    configured = settings.model_copy(update={"smtp_host": "127.0.0.1", "smtp_port": port})
    app.dependency_overrides[request_settings] = lambda: configured
    return handler, configured


def _provider(session):  # type: ignore[no-untyped-def]
    return make_provider(session, organization={"name": "Advice Centre", "email": "intake@advice.example.org"})


def test_a_new_referral_emails_the_provider_without_naming_the_need(client, session, mailing) -> None:  # type: ignore[no-untyped-def]
    handler, _ = mailing
    provider = _provider(session)
    made = refer(client, prescriber_key(session), provider.service.id, need="domestic-abuse")
    assert len(handler.messages) == 1
    recipients, message = handler.messages[0]
    assert recipients == ["intake@advice.example.org"]
    assert provider.service.name in message and made["token"][:4] in message
    assert made["token"] not in message  # the whole token goes only to the person
    lowered = message.lower()
    assert "domestic" not in lowered and "abuse" not in lowered
    for code in vocabulary.need_codes():
        assert code not in lowered


def test_no_email_is_sent_when_smtp_is_not_configured(client, session, sink) -> None:  # type: ignore[no-untyped-def]
    handler, _ = sink
    refer(client, prescriber_key(session), _provider(session).service.id)
    assert handler.messages == []


def test_late_referrals_are_counted_in_one_reminder_per_provider(client, session, mailing) -> None:  # type: ignore[no-untyped-def]
    handler, configured = mailing
    provider = _provider(session)
    key = prescriber_key(session)
    late = [refer(client, key, provider.service.id) for _ in range(2)]
    handler.messages.clear()
    session.execute(
        text("UPDATE referral SET created_on = :day WHERE id IN (:a, :b)"),
        {"day": date.today() - timedelta(days=14), "a": late[0]["task_id"], "b": late[1]["task_id"]},
    )
    sent = notices.remind_late(session=session, settings=configured)
    mine = [m for rcpt, m in handler.messages if rcpt == ["intake@advice.example.org"]]
    assert sent >= 1 and len(mine) == 1
    assert "2 referrals" in mine[0]
