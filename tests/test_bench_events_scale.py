"""`bench.events_scale` still builds its partitions and roll-ups and times the analysts' report, at a tiny size.

The benchmark ran only by hand, and a refactor of where the need→category map lives broke it unseen: this keeps it
in step with the code it measures. PostgreSQL only (the benchmark is about its partitions).
"""

import uuid

import pytest

from bench import events_scale
from signpost.config import Settings


def test_the_events_benchmark_builds_and_reports_at_a_tiny_size(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    if not settings.database_url.startswith("postgresql"):
        pytest.skip("the events benchmark is about PostgreSQL's partitions")
    monkeypatch.setenv("BENCH_POSTGRES_URL", settings.database_url.replace("postgresql+psycopg://", "postgresql://"))
    monkeypatch.setattr(events_scale, "EVENTS", 24_000)
    monkeypatch.setattr(events_scale, "WARDS", 20)
    monkeypatch.setattr(events_scale, "REPORT_RUNS", 2)
    monkeypatch.setattr(events_scale, "DATABASE", f"signpost_bench_events_{uuid.uuid4().hex[:8]}")
    monkeypatch.setattr(events_scale, "KEEP", False)
    monkeypatch.setattr(events_scale, "REUSE", False)

    built, rolling, calendar = events_scale.run({})

    assert built.name.startswith("events at scale: 24,000 events generated in PostgreSQL (29 partitions, 20 wards)")
    for report in (rolling, calendar):
        assert float(report.figures["p95 ms"]) > 0
        counted = int(report.figures["events counted"].replace(",", ""))
        assert 0 < counted < 24_000  # a year of the two, and the pending events added by the report
