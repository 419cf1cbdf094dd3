"""Indicators: ingest (bulk and through the API), a 12-month ward × decile × need report, DuckDB on raw events.

Synthetic events over two years, seeded, with a realistic skew (more in IMD decile 1, via the real Leeds
LSOA → ward → decile table when ../shared/data is present). Sizes: SIGNPOST_BENCH_INDICATOR_EVENTS
(default 1,000,000; the issue's full size is 10,000,000), SIGNPOST_BENCH_DATABASE_URL (default a fresh SQLite
file; a PostgreSQL URL works too, and its schema is dropped and rebuilt), SIGNPOST_BENCH_API_SECONDS (per API
form), SIGNPOST_BENCH_BATCH_ITEMS (signposts per batch upload, default 100), SIGNPOST_BENCH_ORDER (random
or chronological days for the bulk load).
"""

import asyncio
import csv
import itertools
import json
import os
import random
import statistics
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from bench.common import ROOT, Row, load, server

EVENTS = int(os.environ.get("SIGNPOST_BENCH_INDICATOR_EVENTS", "1000000"))
BATCH = 10_000
API_SECONDS = int(os.environ.get("SIGNPOST_BENCH_API_SECONDS", "10"))
BATCH_ITEMS = int(os.environ.get("SIGNPOST_BENCH_BATCH_ITEMS", "100"))
REPORT_REQUESTS = 30
# "random" (each event on a random day: the worst case for the roll-up indexes) or "chronological" (events
# arrive day by day, as they do in service: the same days, evenly spread, in order).
CHRONOLOGICAL = os.environ.get("SIGNPOST_BENCH_ORDER", "random") == "chronological"
GEO = ROOT.parent / "shared" / "data" / "geo"
END = date(2026, 10, 31)
DAYS = 730
FIRST = END - timedelta(days=DAYS - 1)
REPORT = {"start": "2025-11-01", "end": "2026-10-31", "group_by": "ward,imd_decile,need"}


def _areas() -> list[tuple[str, int, float]]:
    """(ward code, IMD decile, weight): real Leeds LSOAs when available, weighted towards decile 1."""
    lsoas, wards = GEO / "leeds_LSOA11_WD18_IMD2019_decile.csv", GEO / "leeds_ward_codes.csv"
    skew = {d: 2.2 - 0.15 * (d - 1) for d in range(1, 11)}  # decile 1 about 3x decile 10 per LSOA
    if lsoas.exists() and wards.exists():
        to_2021 = {r["WD18CD"]: r["WD21CD"] for r in csv.DictReader(wards.open())}
        return [
            (to_2021.get(r["WD18CD"], r["WD18CD"]), int(r["IMD2019_decile"]), skew[int(r["IMD2019_decile"])])
            for r in csv.DictReader(lsoas.open())
        ]
    return [(f"E0500{i:04d}", 1 + i % 10, skew[1 + i % 10]) for i in range(33 * 14)]


def synthetic_events(n: int, seed: int = 20261128, chunk: int = BATCH) -> Iterator[list[Any]]:
    """The n events in chunks (seeded, so every run loads the same), never all in memory at once."""
    from signpost.events import NewEvent, vocabulary
    from signpost.geography import AGE_BANDS
    from signpost.template import conformance

    rng = random.Random(seed)
    areas = _areas()
    area_weights = list(itertools.accumulate(a[2] for a in areas))
    needs = list(vocabulary.need_codes())
    need_weights = list(itertools.accumulate(1 / (i + 1) ** 0.7 for i in range(len(needs))))
    categories = conformance.need_categories()
    bands = [*AGE_BANDS, "unknown"]
    practices = [f"B86{i:03d}" for i in range(90)]
    for done in range(0, n, chunk):
        size = min(chunk, n - done)
        area_pick = rng.choices(areas, cum_weights=area_weights, k=size)
        need_pick = rng.choices(needs, cum_weights=need_weights, k=size)
        found = []
        for i in range(size):
            ward, decile, _ = area_pick[i]
            unknown = rng.random() < 0.08  # postcode missing or outside the area
            need = need_pick[i]
            found.append(
                NewEvent(
                    occurred_on=FIRST + timedelta(days=(done + i) * DAYS // n)
                    if CHRONOLOGICAL
                    else END - timedelta(days=rng.randrange(DAYS)),
                    kind="referred" if rng.random() < 0.3 else "signposted",
                    source="prescriber" if rng.random() < 0.4 else "template",
                    need_code=need,
                    category_code=(categories.get(need) or (None,))[0],
                    ward_code=None if unknown else ward,
                    ward_vintage=None if unknown else 2021,
                    imd_decile=None if unknown else decile,
                    imd_year=None if unknown else 2019,
                    age_band=rng.choice(bands),
                    practice_ods=rng.choice(practices),
                )
            )
        yield found


def _database() -> str:
    from sqlalchemy import text

    from signpost import db

    url = os.environ.get("SIGNPOST_BENCH_DATABASE_URL")
    if url and url.startswith("postgres"):
        engine = db.make_engine(url)
        with engine.begin() as connection:
            connection.execute(text("DROP SCHEMA public CASCADE"))
            connection.execute(text("CREATE SCHEMA public"))
        engine.dispose()
        return url
    return url or f"sqlite:///{tempfile.mkdtemp(prefix='signpost-bench-ind-')}/bench.db"


def _prepare_keys_and_service(engine: Any) -> tuple[str, str, str]:
    from sqlmodel import Session

    from signpost.auth import service as auth
    from signpost.directory.models import Organization, Service

    now = datetime.now(UTC)
    with Session(engine) as session:
        organisation = Organization(name="Bench Advice Trust", last_modified=now)
        session.add(organisation)
        session.flush()
        service = Service(organization_id=organisation.id, name="Bench Advice", created_at=now, last_modified=now)
        session.add(service)
        _, prescriber = auth.create_key(session=session, role="prescriber", name="bench prescriber")
        _, analyst = auth.create_key(session=session, role="analyst", name="bench analyst")
        session.commit()
        return prescriber, analyst, service.id


def _bulk_ingest(engine: Any, chunks: Iterator[list[Any]]) -> tuple[float, float]:
    """(seconds recording, seconds generating): one submission, folded into the roll-ups and committed, per chunk of
    BATCH events."""
    from sqlmodel import Session

    from signpost import events
    from signpost.indicators import rollup

    recording = generating = 0.0
    with Session(engine) as session:
        started = time.perf_counter()
        for i, chunk in enumerate(chunks):
            ready = time.perf_counter()
            generating += ready - started
            key = events.key_hmac("bench", "bulk", str(i))
            events.record(session=session, key=key, source="template", events=chunk)
            rollup.fold(session)  # counted at once, as the bulk figure is for keeping the roll-ups current
            session.commit()
            started = time.perf_counter()
            recording += started - ready
    return recording, generating


def _batch_body(service_id: str, request: int, rng: random.Random) -> bytes:
    """BATCH_ITEMS signposts of 2 needs each, every one with its own key, postcode and birth date."""
    items = [
        {
            "services": [service_id],
            "needs": rng.sample(["homeless", "debt-priority", "food-insecurity", "isolation", "carer"], 2),
            "kind": rng.choice(["signposted", "referred"]),
            "occurred_on": (END - timedelta(days=rng.randrange(28))).isoformat(),
            "postcode": f"LS{rng.randrange(1, 29)} {rng.randrange(10)}{rng.choice('ABDEFGHJLNPQRSTUWXYZ')}"
            f"{rng.choice('ABDEFGHJLNPQRSTUWXYZ')}",
            "birth_date": date(1930 + rng.randrange(90), 1 + rng.randrange(12), 1 + rng.randrange(28)).isoformat(),
            "idempotency_key": f"bench-{request}-{i}",
        }
        for i in range(BATCH_ITEMS)
    ]
    return json.dumps({"signposts": items}).encode()


async def _batch_load(url: str, headers: dict[str, str], service_id: str, connections: int) -> dict[str, Any]:
    """Upload distinct batches at a fixed concurrency for API_SECONDS; events counted from the answers."""
    import httpx

    rng = random.Random(7)
    bodies = (_batch_body(service_id, i, rng) for i in itertools.count())
    latencies: list[float] = []
    recorded = errors = 0
    stop = time.monotonic() + API_SECONDS
    async with httpx.AsyncClient(timeout=60, headers=headers) as client:

        async def worker() -> None:
            nonlocal recorded, errors
            while time.monotonic() < stop:
                body = next(bodies)
                started = time.perf_counter()
                response = await client.post(url, content=body)
                latencies.append((time.perf_counter() - started) * 1000)
                if response.status_code == 201:
                    recorded += response.json()["recorded"]
                else:
                    errors += 1

        started = time.monotonic()
        await asyncio.gather(*(worker() for _ in range(connections)))
        elapsed = time.monotonic() - started
    ordered = sorted(latencies) or [0.0]
    return {
        "req/s": f"{len(latencies) / elapsed:,.1f}",
        "p50 ms": f"{statistics.median(ordered):.1f}",
        "p95 ms": f"{ordered[int(0.95 * (len(ordered) - 1))]:.1f}",
        "errors": str(errors),
        "events/s": f"{recorded / elapsed:,.0f}",
    }


def _duckdb(engine: Any) -> tuple[float, float, int]:
    """(export seconds, median query ms, rows) for the same 12-month ward × decile × need count on Parquet."""
    import duckdb
    import pyarrow as pa
    import pyarrow.parquet as pq
    from sqlalchemy import select

    from signpost.events.models import SignpostEvent

    path = Path(tempfile.mkdtemp(prefix="signpost-bench-parquet-")) / "events.parquet"
    started = time.perf_counter()
    columns = ["occurred_on", "kind", "source", "need_code", "ward_code", "imd_decile", "age_band", "practice_ods"]
    schema = pa.schema(
        [(c, pa.date32() if c == "occurred_on" else pa.int64() if c == "imd_decile" else pa.string()) for c in columns]
    )
    table = SignpostEvent.__table__  # type: ignore[attr-defined]
    writer = pq.ParquetWriter(str(path), schema)
    with engine.connect() as connection:
        result = connection.execution_options(stream_results=True, yield_per=200_000).execute(
            select(*(table.c[c] for c in columns))
        )
        for chunk in result.partitions():
            by_column = zip(*chunk, strict=True)
            arrays = [pa.array(values, type=field.type) for values, field in zip(by_column, schema, strict=True)]
            writer.write_table(pa.Table.from_arrays(arrays, schema=schema))
    writer.close()
    exported = time.perf_counter() - started
    query = (
        f"SELECT ward_code, imd_decile, need_code, count(*) FROM '{path}' "
        f"WHERE occurred_on BETWEEN DATE '{REPORT['start']}' AND DATE '{REPORT['end']}' GROUP BY ALL"
    )
    connection = duckdb.connect()
    timings, rows = [], 0
    for _ in range(6):
        started = time.perf_counter()
        rows = len(connection.execute(query).fetchall())
        timings.append((time.perf_counter() - started) * 1000)
    return exported, statistics.median(timings[1:]), rows


def _folded(engine: Any) -> tuple[int, float]:
    """(submissions pending now, seconds until the server has folded them all)."""
    from sqlmodel import Session, func, select

    from signpost.indicators.models import IndicatorPending

    started = time.perf_counter()
    backlog = None
    while True:
        with Session(engine) as session:
            pending = session.exec(select(func.count()).select_from(IndicatorPending)).one()
        backlog = pending if backlog is None else backlog
        if not pending:
            return backlog, time.perf_counter() - started
        time.sleep(0.2)


def _report_timings(base: str, analyst: str) -> tuple[list[float], int]:
    """Milliseconds per request (after one warm-up) and the rows of the report, through HTTP."""
    with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {analyst}"}, timeout=60) as client:
        first = client.get("/api/v1/indicators/counts", params=REPORT)
        first.raise_for_status()
        timings = []
        for _ in range(REPORT_REQUESTS):
            started = time.perf_counter()
            client.get("/api/v1/indicators/counts", params=REPORT).raise_for_status()
            timings.append((time.perf_counter() - started) * 1000)
    return sorted(timings), len(first.json()["rows"])


def run(context: dict) -> list[Row]:  # type: ignore[type-arg]
    from signpost import db

    url = _database()
    dialect = "PostgreSQL" if url.startswith("postgres") else "SQLite"
    db.upgrade(url)
    engine = db.make_engine(url)
    prescriber, analyst, service_id = _prepare_keys_and_service(engine)
    bulk_s, generate_s = _bulk_ingest(engine, synthetic_events(EVENTS))
    if dialect == "PostgreSQL":
        # What autovacuum does soon after a bulk load: planner statistics and the visibility map.
        with engine.connect() as connection:
            connection.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql("VACUUM ANALYZE")
    rows = [
        Row(
            f"indicators bulk ingest ({EVENTS:,} events, {dialect}, {'chronological' if CHRONOLOGICAL else 'random'}"
            " days, roll-ups kept current)",
            {"events/s": f"{EVENTS / bulk_s:,.0f}", "seconds": f"{bulk_s:.1f}", "generate s": f"{generate_s:.1f}"},
        )
    ]

    env = {"SIGNPOST_DATABASE_URL": url, "SIGNPOST_SECRET_KEY": "bench-secret"}
    body = {"services": [service_id], "needs": ["homeless", "debt-priority"], "kind": "referred"}
    auth = {"Authorization": f"Bearer {prescriber}", "Content-Type": "application/json"}
    with server("signpost.app:create_app", env=env) as base:
        # No Idempotency-Key: every request is a new submission (the server makes a key per request).
        result = load(
            base + "/api/v1/signposts",
            method="POST",
            body=json.dumps(body).encode(),
            headers=auth,
            connections=16,
            seconds=API_SECONDS,
        )
        rows.append(
            Row(
                "indicators API ingest, single (POST /api/v1/signposts, 2 needs each, 16 connections)",
                {**result.figures(), "events/s": f"{2 * result.rps:,.0f}"},
                "> 2,000 events/s",
            )
        )
        batch = asyncio.run(_batch_load(base + "/api/v1/signposts/batch", auth, service_id, connections=4))
        rows.append(
            Row(
                f"indicators API ingest, batch (POST /api/v1/signposts/batch, {BATCH_ITEMS} items × 2 needs"
                ", postcode and birth date each, 4 connections)",
                batch,
                "> 2,000 events/s",
            )
        )
        # The ingest leaves submissions for the server to fold (a batch upload records faster than it folds): the
        # report is timed once they are folded, as reports mostly run, and the wait is a figure of its own.
        backlog, drained = _folded(engine)
        timings, report_rows = _report_timings(base, analyst)
    p95 = timings[int(0.95 * (len(timings) - 1))]
    rows.append(
        Row(
            f"indicators 12-month ward × decile × need report over HTTP ({dialect} roll-up)",
            {
                "p50 ms": f"{statistics.median(timings):.1f}",
                "p95 ms": f"{p95:.1f}",
                "rows": str(report_rows),
                "seconds": f"{drained:.1f} to fold the ingest's last {backlog:,} submissions first",
            },
            "< 200 ms, ≤ DuckDB",
        )
    )
    exported, duck_ms, duck_rows = _duckdb(engine)
    rows.append(
        Row(
            "indicators same aggregation, DuckDB over raw events in Parquet",
            {"p50 ms": f"{duck_ms:.1f}", "rows": str(duck_rows), "export s": f"{exported:.1f}"},
        )
    )
    engine.dispose()
    return rows


if __name__ == "__main__":
    from bench.common import print_table

    print_table(run({}))
