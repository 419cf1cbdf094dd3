"""Health, readiness, metrics, logs and security headers."""

import json
import logging


def test_healthz(client) -> None:  # type: ignore[no-untyped-def]
    assert client.get("/healthz").json() == {"status": "ok"}


def test_readyz_reports_migrations_at_head(client) -> None:  # type: ignore[no-untyped-def]
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json()["status"] == "ready"


def test_metrics_count_requests_by_route_template(client) -> None:  # type: ignore[no-untyped-def]
    client.get("/healthz")
    client.get("/fhir/NoSuchType/123456")
    text = client.get("/metrics").text
    assert 'signpost_requests_total{method="GET",route="/healthz",status="200"}' in text
    assert "123456" not in text
    assert "signpost_request_duration_seconds_bucket" in text


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
    assert record["request_id"] == "req-1" and record["route"] == "/fhir/metadata" and record["status"] == 405
    assert "LS1" not in lines[-1] and "Jane" not in lines[-1]


def test_security_headers_on_every_answer(client) -> None:  # type: ignore[no-untyped-def]
    response = client.get("/healthz")
    assert response.headers["x-content-type-options"] == "nosniff"
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    assert "access-control-allow-origin" not in response.headers
