"""`signpost indicators push` sends a month's MeasureReports as conditional updates, retrying what can be retried."""

import json
from datetime import date

import httpx
import pytest
import respx
from sqlmodel import Session
from typer.testing import CliRunner

from signpost.config import Settings
from signpost.indicators import cli, measures
from signpost.indicators.push import PushError, push_month
from tests.events.factories import make_event, record_events

ENDPOINT = "https://indicators.example.org/fhir"
PUT_URL = f"{ENDPOINT}/MeasureReport"


def _settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"indicator_endpoint_url": ENDPOINT, "indicator_endpoint_token": "tok-123"})


def _push(session: Session, settings: Settings, **kwargs: object):  # type: ignore[no-untyped-def]
    return push_month(session=session, settings=_settings(settings), period="2021-06", sleep=lambda _s: None, **kwargs)  # type: ignore[arg-type]


@respx.mock
def test_each_measure_is_sent_as_a_conditional_update_with_the_bearer_token(session: Session, settings) -> None:  # type: ignore[no-untyped-def]
    record_events(session, [make_event(occurred_on=date(2021, 6, 2))] * 9, key="push-1")
    route = respx.put(PUT_URL).mock(return_value=httpx.Response(201))
    sent = _push(session, settings)
    assert len(sent) == len(measures.load_measures()) == route.call_count
    request = route.calls[0].request
    assert request.headers["Authorization"] == "Bearer tok-123"
    assert request.headers["Content-Type"] == "application/fhir+json"
    body = json.loads(request.content)
    identifier = body["identifier"][0]
    assert request.url.params["identifier"] == f"{identifier['system']}|{identifier['value']}"
    assert body["resourceType"] == "MeasureReport" and "id" not in body
    assert body["period"] == {"start": "2021-06-01", "end": "2021-06-30"}


@respx.mock
def test_a_repeat_sends_the_same_identifiers_so_the_server_replaces(session: Session, settings) -> None:  # type: ignore[no-untyped-def]
    route = respx.put(PUT_URL).mock(side_effect=[httpx.Response(201)] * 7 + [httpx.Response(200)] * 7)
    first = _push(session, settings)
    again = _push(session, settings)
    assert [p.identifier for p in first] == [p.identifier for p in again]
    assert {p.status for p in again} == {200}
    assert route.call_count == 2 * len(first)


@respx.mock
def test_a_5xx_is_retried_until_it_succeeds(session: Session, settings) -> None:  # type: ignore[no-untyped-def]
    waits: list[float] = []
    route = respx.put(PUT_URL).mock(side_effect=[httpx.Response(503), httpx.Response(502)] + [httpx.Response(201)] * 20)
    sent = push_month(session=session, settings=_settings(settings), period="2021-06", sleep=waits.append)
    assert len(sent) == len(measures.load_measures())
    assert waits == [0.5, 1.0]  # exponential backoff
    assert route.call_count == len(sent) + 2


@respx.mock
def test_timeouts_are_retried_then_reported(session: Session, settings) -> None:  # type: ignore[no-untyped-def]
    respx.put(PUT_URL).mock(side_effect=httpx.ReadTimeout("slow"))
    with pytest.raises(PushError, match="timed out .* after 4 attempts"):
        _push(session, settings)


@respx.mock
def test_a_401_stops_at_once_with_a_clear_message(session: Session, settings) -> None:  # type: ignore[no-untyped-def]
    outcome = {
        "resourceType": "OperationOutcome",
        "issue": [{"severity": "error", "code": "login", "diagnostics": "bad token"}],
    }
    route = respx.put(PUT_URL).mock(return_value=httpx.Response(401, json=outcome))
    with pytest.raises(PushError, match="refused .* with 401: bad token"):
        _push(session, settings)
    assert route.call_count == 1


@respx.mock
def test_the_command_exits_non_zero_with_the_message_on_4xx(monkeypatch, settings) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(cli, "get_settings", lambda: _settings(settings))
    respx.put(PUT_URL).mock(return_value=httpx.Response(401))
    result = CliRunner().invoke(cli.app, ["push", "--period", "2021-06"])
    assert result.exit_code == 2
    assert "401" in result.output


def test_the_command_refuses_a_period_that_is_not_a_month(monkeypatch, settings) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(cli, "get_settings", lambda: _settings(settings))
    result = CliRunner().invoke(cli.app, ["push", "--period", "October"])
    assert result.exit_code == 2 and "YYYY-MM" in result.output


def test_rebuild_command_reports_the_events_counted(engine) -> None:  # type: ignore[no-untyped-def]
    result = CliRunner().invoke(cli.app, ["rebuild"])
    assert result.exit_code == 0 and "Rebuilt the roll-ups" in result.output
