"""Directory search at scale: a seeded synthetic directory, a search mix through HTTP on SQLite and PostgreSQL.

Figures: p50/p95 per kind of search (text; category and age; postcode within 5 km; all combined), beside the bare
SQL full-text query in the same run, the seeding time, and the server's RSS.
Size: BENCH_DIRECTORY_SERVICES (default 50,000); requests per kind: BENCH_DIRECTORY_REQUESTS (default 200);
PostgreSQL: BENCH_PG_URL (default postgresql://postgres@127.0.0.1:5432/signpost_dir_bench; skipped if unreachable).
"""

import os
import random
import statistics
import tempfile
import time
import uuid
from datetime import UTC, datetime
from datetime import time as dtime
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import insert, text
from sqlmodel import Session, select

from bench.common import Row, pid_rss_mb, server
from signpost import db
from signpost.directory import fulltext, starter
from signpost.directory.models import (
    CostOption,
    Location,
    Organization,
    Schedule,
    Service,
    ServiceArea,
    ServiceAtLocation,
    ServiceSearch,
    ServiceTaxonomy,
    TaxonomyTerm,
)

SIZE = int(os.environ.get("BENCH_DIRECTORY_SERVICES", "50000"))
REQUESTS = int(os.environ.get("BENCH_DIRECTORY_REQUESTS", "200"))
PG_URL = os.environ.get("BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/signpost_dir_bench")
CENTRE = (53.7997, -1.5492)  # central Leeds
_VOCABULARY = (
    "advice debt housing money benefits energy food bank carers support group tenancy rent arrears employment "
    "training legal immigration family children language interpreting digital skills loneliness befriending "
    "community centre helpline welfare rights homeless hostel refuge abuse"
)
WORDS = _VOCABULARY.split()
TEXT_QUERIES = ["debt advice", "housing", "food bank", "carers support", "welfare rights", "energy", "befriending"]


def _seed(url: str) -> float:
    """Build the synthetic directory; returns the seconds it took (after migrations)."""
    db.upgrade(url)
    engine = db.make_engine(url)
    rng = random.Random(42)
    started = time.perf_counter()
    with Session(engine) as session:
        starter.load_taxonomy(session=session)
        session.commit()
        terms = [(t.id, t.name) for t in session.exec(select(TaxonomyTerm)).all()]
    stamp = datetime.now(UTC)
    orgs = [
        {"id": str(uuid.UUID(int=rng.getrandbits(128))), "name": f"{rng.choice(WORDS).title()} Trust {i}",
         "last_modified": stamp}
        for i in range(max(1, SIZE // 10))
    ]  # fmt: skip
    services, search, links, sal, locations, areas, costs, schedules = [], [], [], [], [], [], [], []
    for i in range(SIZE):
        sid = str(uuid.UUID(int=rng.getrandbits(128)))
        org = orgs[i % len(orgs)]
        words = rng.sample(WORDS, 3)
        name = f"{words[0].title()} {words[1]} service {i}"
        description = " ".join(rng.choice(WORDS) for _ in range(25))
        minimum = rng.choice([None, None, 16, 18, 25, 50])
        maximum = rng.choice([None, None, 24, 64]) if minimum is None or minimum < 24 else None
        services.append(
            {"id": sid, "organization_id": org["id"], "name": name, "description": description, "status": "active",
             "minimum_age": minimum, "maximum_age": maximum, "in_person": i % 3 != 0, "by_phone": i % 2 == 0,
             "online": i % 4 == 0, "created_at": stamp, "last_modified": stamp, "version": 1}
        )  # fmt: skip
        chosen = rng.sample(terms, rng.choice([1, 1, 2]))
        for term_id, _ in chosen:
            links.append({"id": str(uuid.uuid4()), "service_id": sid, "taxonomy_term_id": term_id})
        search.append(
            {"service_id": sid, "name": name, "description": description, "organization": org["name"],
             **fulltext.taxonomy_columns(chosen)}
        )  # fmt: skip
        if i % 3 != 0:
            lid = str(uuid.uuid4())
            locations.append(
                {"id": lid, "organization_id": org["id"], "location_type": "physical", "name": f"Site {i}",
                 "latitude": CENTRE[0] + rng.uniform(-0.15, 0.15), "longitude": CENTRE[1] + rng.uniform(-0.25, 0.25),
                 "country": "GB", "last_modified": stamp}
            )  # fmt: skip
            sal.append({"id": str(uuid.uuid4()), "service_id": sid, "location_id": lid})
        scope = rng.choice(["local_authority", "local_authority", "national"])
        areas.append({"id": str(uuid.uuid4()), "service_id": sid, "scope": scope,
                      "area_code": "E08000035" if scope == "local_authority" else None})  # fmt: skip
        if i % 10 < 7:
            costs.append({"id": str(uuid.uuid4()), "service_id": sid, "amount": 0.0, "currency": "GBP"})
        if i % 2 == 0:
            for day in ("MO", "TU", "WE", "TH", "FR"):
                schedules.append({"id": str(uuid.uuid4()), "service_id": sid, "freq": "WEEKLY", "byday": day,
                                  "opens_at": dtime(9), "closes_at": dtime(17)})  # fmt: skip
    with engine.begin() as connection:
        for model, rows in (
            (Organization, orgs), (Service, services), (ServiceTaxonomy, links), (Location, locations),
            (ServiceAtLocation, sal), (ServiceArea, areas), (CostOption, costs), (Schedule, schedules),
            (ServiceSearch, search),
        ):  # fmt: skip
            for start in range(0, len(rows), 5000):
                connection.execute(insert(model), rows[start : start + 5000])  # type: ignore[arg-type]
        # The proximity searches start from this postcode (synthetic; bench database only).
        connection.execute(
            text(
                "INSERT INTO geo_postcode (postcode, local_authority, latitude, longitude) "
                "VALUES ('LS1 4AP', 'E08000035', :lat, :lon)"
            ),
            {"lat": CENTRE[0], "lon": CENTRE[1]},
        )
        if connection.dialect.name == "postgresql":
            connection.execute(text("ANALYZE"))
    seconds = time.perf_counter() - started
    engine.dispose()
    return seconds


def _key(url: str) -> str:
    from signpost.auth import service as auth

    engine = db.make_engine(url)
    with Session(engine) as session:
        _, secret = auth.create_key(session=session, role="prescriber", name="bench")
        session.commit()
    engine.dispose()
    return secret


def _bare_sql(url: str, rng: random.Random) -> list[float]:
    engine = db.make_engine(url)
    out = []
    with engine.connect() as connection:
        for _ in range(REQUESTS):
            words = fulltext.query_words(rng.choice(TEXT_QUERIES))
            started = time.perf_counter()
            if connection.dialect.name == "sqlite":
                connection.execute(
                    text(
                        "SELECT s.service_id FROM service_fts f JOIN service_search s ON s.id = f.rowid "
                        "WHERE service_fts MATCH :q ORDER BY bm25(service_fts, 10.0, 1.0, 3.0, 5.0, 0.0) LIMIT 20"
                    ),
                    {"q": fulltext.fts5_match(words)},
                ).all()
            else:
                connection.execute(
                    text(
                        "SELECT service_id FROM service_search "
                        f"WHERE {fulltext.PG_VECTOR} @@ to_tsquery('english', :q) "
                        f"ORDER BY ts_rank({fulltext.PG_VECTOR}, to_tsquery('english', :q)) DESC LIMIT 20"
                    ),
                    {"q": fulltext.pg_tsquery(words)},
                ).all()
            out.append((time.perf_counter() - started) * 1000)
    engine.dispose()
    return out


def _mix(rng: random.Random) -> dict[str, list[dict[str, Any]]]:
    categories = ["debt", "housing", "food", "welfare-benefits", "carers", "employment"]

    def one(kind: str) -> dict[str, Any]:
        if kind == "text":
            return {"text": rng.choice(TEXT_QUERIES)}
        if kind == "category+age":
            return {"category": rng.choice(categories), "age": rng.randint(16, 80)}
        if kind == "postcode 5 km":
            return {"postcode": "LS1 4AP", "radius_km": 5}
        return {"text": rng.choice(TEXT_QUERIES), "category": rng.choice(categories), "age": rng.randint(16, 80),
                "postcode": "LS1 4AP", "radius_km": 5, "free": "true"}  # fmt: skip

    kinds = ("text", "category+age", "postcode 5 km", "combined")
    return {kind: [one(kind) for _ in range(REQUESTS)] for kind in kinds}


def _pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))] if ordered else 0.0


def _server_pid(base: str) -> int | None:
    port = base.rsplit(":", 1)[-1]
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                cmd = (proc / "cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if b"uvicorn" in b" ".join(cmd) and port.encode() in cmd and b"bench.directory" not in b" ".join(cmd):
                return int(proc.name)
    return None


def _backend(label: str, url: str) -> list[Row]:
    seed_s = _seed(url)
    secret = _key(url)
    rng = random.Random(7)
    rows: list[Row] = []
    env = {"SIGNPOST_DATABASE_URL": url, "SIGNPOST_SECRET_KEY": "bench-secret"}
    with server("signpost.app:create_app", env=env) as base:
        headers = {"Authorization": f"Bearer {secret}"}
        with httpx.Client(base_url=base, headers=headers, timeout=30) as client:
            for _ in range(20):  # warm up caches and connections
                client.get("/api/v1/directory/search", params={"text": "advice"})
            for kind, queries in _mix(rng).items():
                latencies, errors, totals = [], 0, []
                for params in queries:
                    started = time.perf_counter()
                    response = client.get("/api/v1/directory/search", params=params)
                    latencies.append((time.perf_counter() - started) * 1000)
                    if response.status_code != 200:
                        errors += 1
                    else:
                        totals.append(response.json()["total"])
                target = "p95 < 20 ms" if kind == "combined" else ""
                rows.append(
                    Row(
                        f"directory {label} {SIZE:,}: {kind} (HTTP)",
                        {
                            "p50 ms": f"{_pct(latencies, 50):.1f}",
                            "p95 ms": f"{_pct(latencies, 95):.1f}",
                            "median hits": f"{statistics.median(totals) if totals else 0:,.0f}",
                            "errors": str(errors),
                        },
                        target,
                    )
                )
        pid = _server_pid(base)
        rss = pid_rss_mb(pid) if pid else 0.0
    bare = _bare_sql(url, random.Random(9))
    rows.append(
        Row(
            f"directory {label} {SIZE:,}: bare SQL full-text",
            {"p50 ms": f"{_pct(bare, 50):.1f}", "p95 ms": f"{_pct(bare, 95):.1f}"},
        )
    )
    rows.append(
        Row(
            f"directory {label} {SIZE:,}: seed + server",
            {"seed s": f"{seed_s:.1f}", "server RSS MB": f"{rss:.0f}"},
            "RSS < 300 MB",
        )
    )
    return rows


def _postgres_ready() -> bool:
    admin = PG_URL.rsplit("/", 1)[0] + "/postgres"
    name = PG_URL.rsplit("/", 1)[1]
    try:
        engine = db.make_engine(admin)
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        engine.dispose()
        return True
    except Exception:
        return False


def run(context: dict) -> list[Row]:  # type: ignore[type-arg]
    rows = _backend("SQLite", f"sqlite:///{tempfile.mkdtemp(prefix='signpost-bench-dir-')}/directory.db")
    if _postgres_ready():
        rows += _backend("PostgreSQL", PG_URL)
    else:
        rows.append(Row("directory PostgreSQL: skipped (not reachable at BENCH_PG_URL)"))
    return rows


if __name__ == "__main__":
    from bench.common import print_table

    print_table(run({}))
