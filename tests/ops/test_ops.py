"""Health, readiness, metrics, logs and security headers."""

import json
import logging
import os
import random
import uuid

import pytest
from prometheus_client import generate_latest

from signpost.config import Settings, request_settings
from signpost.ops.middleware import new_request_id
from tests.factories import bearer, make_key


def test_healthz(client) -> None:  # type: ignore[no-untyped-def]
    assert client.get("/healthz").json() == {"status": "ok"}


def test_readyz_reports_migrations_at_head(client) -> None:  # type: ignore[no-untyped-def]
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json()["status"] == "ready"


def test_metrics_count_requests_by_route_template(client, session) -> None:  # type: ignore[no-untyped-def]
    client.get("/healthz")
    client.get("/fhir/NoSuchType/123456")
    text = client.get("/metrics", headers=bearer(make_key(session, "analyst"))).text
    assert 'signpost_requests_total{method="GET",route="/healthz",status="200"}' in text
    assert "123456" not in text
    assert "signpost_request_duration_seconds_bucket" in text


def test_metrics_agree_with_prometheus_clients_own_counter_and_histogram() -> None:
    from prometheus_client import CollectorRegistry, Counter, Histogram
    from prometheus_client.parser import text_string_to_metric_families

    from signpost.ops.metrics import BUCKETS, Metrics

    answers = [("GET", "/healthz", 200, s) for s in (0.0, 0.001, 0.005, 0.0051, 0.3, 5.0, 7.5)]
    answers += [("GET", "/healthz", 503, 0.01), ("POST", "/fhir/$signpost", 201, 0.02), ("BREW", "/", 404, 0.001)]
    ours = Metrics()
    registry = CollectorRegistry()
    requests = Counter("signpost_requests", "", ["method", "route", "status"], registry=registry)
    duration = Histogram(
        "signpost_request_duration_seconds", "", ["method", "route"], buckets=BUCKETS, registry=registry
    )
    for method, route, status, seconds in answers:
        ours.observe(method, route, status, seconds)
        method = method if method != "BREW" else "other"
        requests.labels(method, route, str(status)).inc()
        duration.labels(method, route).observe(seconds)

    def samples(text: str) -> set[tuple[str, tuple[tuple[str, str], ...], float]]:
        families = text_string_to_metric_families(text)
        return {
            (s.name, tuple(sorted(s.labels.items())), round(s.value, 9))
            for family in families
            for s in family.samples
            if not s.name.endswith("_created")
        }

    expected = samples(generate_latest(registry).decode())
    assert samples(ours.render().decode()) == expected
    assert (
        "signpost_request_duration_seconds_bucket",
        (("le", "0.005"), ("method", "GET"), ("route", "/healthz")),
        3.0,
    ) in expected


def test_access_log_is_json_without_query_or_body(client, caplog) -> None:  # type: ignore[no-untyped-def]
    from signpost.ops.logging import JsonFormatter

    caplog.set_level(logging.INFO, logger="signpost.access")
    client.post(
        "/fhir/metadata?postcode=LS1%201AB",
        content=b'{"secret": "Jane Doe"}',
        headers={"content-type": "application/fhir+json", "x-request-id": "req-1"},
    )
    lines = [JsonFormatter().format(r) for r in caplog.records if r.name == "signpost.access"]
    assert lines
    record = json.loads(lines[-1])
    assert record["request_id"] != "req-1" and record["route"] == "/fhir/metadata" and record["status"] == 405
    assert "LS1" not in lines[-1] and "Jane" not in lines[-1]


def test_security_headers_on_every_answer(client) -> None:  # type: ignore[no-untyped-def]
    response = client.get("/healthz")
    assert response.headers["x-content-type-options"] == "nosniff"
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    assert "access-control-allow-origin" not in response.headers


def _logged_request_ids(caplog) -> list[str]:  # type: ignore[no-untyped-def]
    return [r.fields["request_id"] for r in caplog.records if r.name == "signpost.access"]


@pytest.mark.parametrize(
    "sent", ["9434765919", "Jane Doe 1970-01-01", "req-1", "0" * 64, "urn:uuid:not-a-uuid-at-all-00000000000"]
)
def test_a_client_request_id_that_is_not_a_uuid_is_replaced_by_the_servers_own(client, caplog, sent: str) -> None:  # type: ignore[no-untyped-def]
    caplog.set_level(logging.INFO, logger="signpost.access")
    response = client.get("/healthz", headers={"x-request-id": sent})
    echoed = response.headers["x-request-id"]
    assert echoed != sent and uuid.UUID(echoed).version == 4
    assert _logged_request_ids(caplog)[-1] == echoed and sent not in caplog.text


def test_a_client_uuid_request_id_is_echoed_and_logged(client, caplog) -> None:  # type: ignore[no-untyped-def]
    caplog.set_level(logging.INFO, logger="signpost.access")
    sent = str(uuid.uuid4())
    response = client.get("/healthz", headers={"x-request-id": sent.upper()})
    assert response.headers["x-request-id"] == sent
    assert _logged_request_ids(caplog)[-1] == sent


def test_the_servers_own_request_ids_leave_the_shared_random_alone() -> None:
    # Tests seed and watch the module's generator (Hypothesis warns when something else moves it while it draws).
    state = random.getstate()
    try:
        random.seed(22)
        expected = random.random()
        random.seed(22)
        ids = {new_request_id() for _ in range(5)}
        assert len(ids) == 5 and random.random() == expected
    finally:
        random.setstate(state)


def test_a_forked_worker_draws_request_ids_of_its_own() -> None:
    reading, writing = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover - the child reports through the pipe and leaves at once
        os.write(writing, new_request_id().encode())
        os._exit(0)
    os.close(writing)
    os.waitpid(child, 0)
    with os.fdopen(reading) as pipe:
        from_child = pipe.read()
    assert len(from_child) == 32 and from_child != new_request_id()


def test_metrics_need_a_key(client, session) -> None:  # type: ignore[no-untyped-def]
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", headers=bearer(make_key(session, "prescriber"))).status_code == 403
    assert client.get("/metrics", headers=bearer(make_key(session, "admin"))).status_code == 200


def test_metrics_answer_the_dedicated_metrics_key(app, client, settings) -> None:  # type: ignore[no-untyped-def]
    key = "metrics-" + uuid.uuid4().hex
    app.dependency_overrides[request_settings] = lambda: settings.model_copy(update={"metrics_key": key})
    try:
        assert client.get("/metrics", headers={"authorization": f"Bearer {key}"}).status_code == 200
        assert client.get("/metrics", headers={"authorization": "Bearer wrong"}).status_code == 401
    finally:
        app.dependency_overrides[request_settings] = lambda: settings


def test_metrics_bound_to_loopback_refuse_other_clients(app, client, settings) -> None:  # type: ignore[no-untyped-def]
    app.dependency_overrides[request_settings] = lambda: settings.model_copy(update={"metrics_access": "loopback"})
    try:
        # The test client's address is "testclient", not loopback.
        answer = client.get("/metrics")
        assert answer.status_code == 403 and "loopback" in answer.json()["detail"]
    finally:
        app.dependency_overrides[request_settings] = lambda: settings
    assert Settings(metrics_access="loopback").metrics_access == "loopback"
