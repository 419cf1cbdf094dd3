"""Referral loop: 1,000 providers polling `Task?owner=…&_lastUpdated=gt…` once a minute, 10,000 open referrals.

A fresh database (SQLite, or PostgreSQL from SIGNPOST_BENCH_REFERRALS_DATABASE_URL, whose public schema is replaced)
with 1,000 organisations, each running one service and holding its own provider key; 10,000 open referrals spread
over them, about a third already touched by their provider in the last week. Each provider polls on a fixed schedule
(an open loop: latency is timed from when the poll was due) for SIGNPOST_BENCH_REFERRALS_SECONDS (default 30) at
the real rate (1,000 a minute), then at SIGNPOST_BENCH_REFERRALS_FACTOR (default 5) times that rate (headroom).
"""

import asyncio
import os
import random
import secrets
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

from bench.common import LoadResult, Row, print_table, server

PROVIDERS = 1_000
OPEN_REFERRALS = 10_000
SECONDS = int(os.environ.get("SIGNPOST_BENCH_REFERRALS_SECONDS", "30"))
FACTOR = int(os.environ.get("SIGNPOST_BENCH_REFERRALS_FACTOR", "5"))


def _prepare(url: str) -> list[tuple[str, str]]:
    """Seed the database; returns each provider's (organisation id, key)."""
    from sqlalchemy import insert, text
    from sqlmodel import Session

    from signpost import db
    from signpost.auth import service as keys
    from signpost.directory.models import Organization, Service
    from signpost.referrals.models import Referral

    if url.startswith("postgresql"):
        engine = db.make_engine(url)
        with engine.begin() as connection:
            connection.execute(text("DROP SCHEMA public CASCADE"))
            connection.execute(text("CREATE SCHEMA public"))
        engine.dispose()
    db.upgrade(url)
    chance = random.Random(23)
    now = datetime.now(UTC)
    today = now.date()
    providers = []
    with Session(db.make_engine(url)) as session:
        for i in range(PROVIDERS):
            session.add(Organization(id=f"org-{i:04d}", name=f"Provider {i}", last_modified=now))
        session.flush()
        for i in range(PROVIDERS):
            session.add(
                Service(
                    id=f"svc-{i:04d}", organization_id=f"org-{i:04d}", name=f"S{i}", created_at=now, last_modified=now
                )
            )
        session.flush()
        for i in range(PROVIDERS):
            _, secret = keys.create_key(session=session, role="provider", name="bench", organization_id=f"org-{i:04d}")
            providers.append((f"org-{i:04d}", secret))
        rows = []
        for _ in range(OPEN_REFERRALS):
            owner = chance.randrange(PROVIDERS)
            touched = chance.random() < 0.35
            rows.append(
                {
                    "id": secrets.token_hex(16),
                    "token_hmac": secrets.token_hex(32),
                    "token_hint": "BNCH",
                    "service_id": f"svc-{owner:04d}",
                    "organization_id": f"org-{owner:04d}",
                    "need_code": "debt-priority",
                    "referrer": "key:0",
                    "source": "api",
                    "status": "accepted" if touched else "requested",
                    "created_on": today - timedelta(days=chance.randrange(0, 40)),
                    "changed_at": now - timedelta(minutes=chance.randrange(0, 7 * 24 * 60)) if touched else None,
                }
            )
        session.execute(insert(Referral), rows)
        session.commit()
    return providers


async def _poll(base: str, providers: list[tuple[str, str]], rate: float, seconds: int) -> LoadResult:
    latencies: list[float] = []
    errors = 0
    limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=10) as client:

        async def one(due: float, owner: str, key: str) -> None:
            nonlocal errors
            since = (datetime.now(UTC) - timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
            try:
                response = await client.get(
                    "/fhir/Task",
                    params={"owner": f"Organization/{owner}", "_lastUpdated": f"gt{since}"},
                    headers={"Authorization": f"Bearer {key}"},
                )
                errors += response.status_code != 200
            except httpx.HTTPError:
                errors += 1
            latencies.append((time.perf_counter() - due) * 1000)

        # Each key's first request looks it up; a minute of polling asks each one once, so warm them all first.
        await asyncio.gather(*(one(time.perf_counter(), o, k) for o, k in providers[:50]))
        latencies.clear()
        started = time.perf_counter()
        pending = []
        for number in range(int(rate * seconds)):
            due = started + number / rate
            if (wait := due - time.perf_counter()) > 0:
                await asyncio.sleep(wait)
            owner, key = providers[number % len(providers)]
            pending.append(asyncio.create_task(one(due, owner, key)))
        await asyncio.gather(*pending)
        elapsed = time.perf_counter() - started
    return LoadResult(len(latencies), errors, elapsed, latencies)


def _in_process(url: str, providers: list[tuple[str, str]]) -> Row:
    """The poll's own work without HTTP: key check, search and Task shaping, once per provider (CPU time too)."""
    from sqlmodel import Session

    from signpost import db
    from signpost.auth import service as keys
    from signpost.fhir_api.task import parse_last_updated, to_task
    from signpost.referrals import store

    engine = db.make_engine(url)
    wall: list[float] = []
    cpu_started = time.process_time()
    for owner, key in providers:
        started = time.perf_counter()
        with Session(engine) as session:
            keys.authenticate(session=session, secret=key)
            since = (datetime.now(UTC) - timedelta(minutes=1)).strftime("gt%Y-%m-%dT%H:%M:%SZ")
            found, _ = store.tasks(
                session,
                organization_id=owner,
                referrer=None,
                statuses=[],
                after=parse_last_updated([since]),
                offset=0,
                count=20,
            )
            [to_task(r) for r in found]
        wall.append((time.perf_counter() - started) * 1000)
    cpu_ms = (time.process_time() - cpu_started) * 1000 / len(providers)
    engine.dispose()
    result = LoadResult(len(wall), 0, sum(wall) / 1000, wall)
    figures = {"p50 ms": f"{result.pct(50):.1f}", "p95 ms": f"{result.pct(95):.1f}", "p99 ms": f"{result.pct(99):.1f}"}
    return Row("Task poll work in-process (no HTTP), per provider", {**figures, "cpu ms": f"{cpu_ms:.2f}"})


def run(context: dict) -> list[Row]:  # type: ignore[type-arg]
    folder = Path(tempfile.mkdtemp(prefix="signpost-bench-referrals-"))
    url = os.environ.get("SIGNPOST_BENCH_REFERRALS_DATABASE_URL") or f"sqlite:///{folder / 'referrals.db'}"
    started = time.perf_counter()
    providers = _prepare(url)
    seeded = time.perf_counter() - started
    env = {"SIGNPOST_DATABASE_URL": url, "SIGNPOST_VAR_DIR": str(folder), "SIGNPOST_SECRET_KEY": "bench"}
    kind = "PostgreSQL" if url.startswith("postgresql") else "SQLite"
    rows = [_in_process(url, providers)]
    print_table(rows)
    with server("signpost.app:create_app", env=env) as base:
        for factor in sorted({1, FACTOR}):
            rate = PROVIDERS / 60 * factor
            result = asyncio.run(_poll(base, providers, rate, SECONDS))
            load = Path("/proc/loadavg").read_text().split()[0] if Path("/proc/loadavg").exists() else "?"
            figures = {**result.figures(), "seed s": f"{seeded:.1f}", "load avg": load}
            rows.append(
                Row(
                    f"Task poll over HTTP ({kind}), {PROVIDERS:,} providers, {OPEN_REFERRALS:,} open, {rate:.0f}/s",
                    figures,
                    target="p95 < 50 ms" if factor == 1 else "headroom",
                )
            )
            print_table(rows[-1:])  # as it comes: the second rate can take a while on a busy machine
    return rows


if __name__ == "__main__":
    print_table(run({}))
