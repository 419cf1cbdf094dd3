"""`$signpost` under load: a realistic 15-answer response at 32 connections, on SQLite and PostgreSQL.

Figures: requests/s as a share of the bare floor and of the project's floor, p50/p95/p99, errors, and events stored
against responses acknowledged (each request is a new submission, so each must be counted once, over all the runs);
p50/p95/p99 when requests arrive on a fixed schedule at a quarter of the bare floor's rate and at half the
throughput measured; and, in process, validating, assessing and routing one response (µs). The database holds the
Leeds geography (when ../shared/data is present), the synthetic test postcodes and the starter directory.
Time per run: BENCH_SECONDS (default 10). PostgreSQL: BENCH_SIGNPOST_PG_URL
(default postgresql://postgres@127.0.0.1:5432/signpost_tpl_bench; skipped when unreachable).
"""

import json
import os
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from sqlalchemy import create_engine, func, text
from sqlmodel import Session, select

from bench.common import Row, load, paced, server
from bench.floor import PACED, PACED_SHARE, share
from signpost import db
from signpost.config import Settings

SECONDS = int(os.environ.get("BENCH_SECONDS", "10"))
PG_URL = os.environ.get("BENCH_SIGNPOST_PG_URL", "postgresql://postgres@127.0.0.1:5432/signpost_tpl_bench")
ROOT = Path(__file__).resolve().parents[1]
SYNTHETIC_NSPL = ROOT / "tests" / "geography" / "data" / "nspl_synthetic_leeds.csv"
BASE = "https://signpost.example.org/fhir"
NEED, ANSWER = f"{BASE}/CodeSystem/social-need", f"{BASE}/CodeSystem/sdoh-answer"


def _coding(system: str, code: str) -> dict[str, Any]:
    return {"valueCoding": {"system": system, "code": code}}


def realistic_response() -> dict[str, Any]:
    """A response a GP might send: 15 answers, four needs (one urgent), postcode and birth date beside it."""
    answers: list[tuple[str, list[dict[str, Any]]]] = [
        ("housing", [_coding(NEED, "housing-conditions")]),
        ("money", [_coding(NEED, "money-essentials"), _coding(NEED, "fuel-poverty")]),
        ("benefits-check", [{"valueBoolean": True}]),
        ("food-worried", [_coding(ANSWER, "often-true")]),
        ("food-ran-out", [_coding(ANSWER, "sometimes-true")]),
        ("food-today", [{"valueBoolean": True}]),
        ("work", [{"valueBoolean": False}]),
        ("household", [_coding(ANSWER, "none")]),
        ("isolation", [{"valueBoolean": True}]),
        ("legal-immigration", [{"valueBoolean": False}]),
        ("safe-to-ask", [{"valueBoolean": True}]),
        ("domestic-abuse", [{"valueBoolean": False}]),
        ("access", [_coding(ANSWER, "none")]),
        ("consent", [{"valueBoolean": True}]),
    ]
    response = {
        "resourceType": "QuestionnaireResponse",
        "questionnaire": f"{BASE}/Questionnaire/social-determinants|1.0.0",
        "status": "completed",
        "authored": "2026-11-28T09:00:00Z",
        "item": [{"linkId": link_id, "answer": given} for link_id, given in answers],
    }
    return {
        "resourceType": "Parameters",
        "parameter": [
            {"name": "response", "resource": response},
            {"name": "postcode", "valueString": "LS7 0ZD"},
            {"name": "birthDate", "valueDate": "1970-06-15"},
        ],
    }


def _prepare(url: str, var_dir: str) -> str:
    """Migrate, load geography, synthetic postcodes and the starter directory; return a clinician key."""
    from signpost.auth import service as auth
    from signpost.bootstrap import starter_loaders
    from signpost.geography import importers

    settings = Settings(database_url=url, var_dir=Path(var_dir), secret_key="bench-secret")
    db.upgrade(url)
    engine = db.make_engine(url)
    quiet = Console(quiet=True)
    with Session(engine) as session:
        for loader in starter_loaders():
            loader(session, settings, quiet)
            session.commit()
        if SYNTHETIC_NSPL.is_file():
            digest = importers.file_digest(SYNTHETIC_NSPL)
            if not importers.already_imported(session, "nspl", digest):
                importers.import_file(session, "nspl", SYNTHETIC_NSPL, local_authorities=settings.local_authorities)
        _, key = auth.create_key(session=session, role="clinician", name="bench", practice_ods="B86001")
        session.commit()
    engine.dispose()
    return key


def _submissions(url: str) -> int:
    from signpost.events.models import EventSubmission

    engine = db.make_engine(url)
    with Session(engine) as session:
        count = session.exec(select(func.count()).select_from(EventSubmission)).one()
    engine.dispose()
    return int(count)


def _in_process(url: str, remember_seconds: float) -> float:
    """Median µs to validate, assess and route one response (no HTTP, no event write); routing reuses what it read
    of the directory for `remember_seconds` (0: it reads it every time)."""
    from signpost.fhir_api.signposting import unwrap
    from signpost.geography import service as geography
    from signpost.routing import route
    from signpost.template import assess, validate

    engine = db.make_engine(url)
    body = realistic_response()
    settings = Settings(database_url=url, secret_key="bench-secret")
    samples = []
    with Session(engine) as session:
        for _ in range(300):
            started = time.perf_counter()
            submission = unwrap(body)
            checked, _ = validate(submission.response)
            assert checked is not None
            place = geography.resolve(session, submission.postcode or "", settings=settings)
            route(
                session=session,
                assessment=assess(checked),
                place=place,
                age=56,
                per_need=settings.matches_per_need,
                local_authorities=settings.local_authorities,
                now=datetime.now(UTC),
                remember_seconds=remember_seconds,
            )
            samples.append((time.perf_counter() - started) * 1e6)
    engine.dispose()
    return statistics.median(samples[50:])


def load_run(name: str, url: str, bare: float | None, floor: float | None, *, half: bool = True) -> list[Row]:
    """Runs against one server: as fast as 32 connections go (throughput); then requests on a fixed schedule at a
    quarter of the bare floor's rate (the latency target) and, with `half`, at half the throughput just measured
    (latency under a load the service carries). Throughput is a share of the bare floor and of the project's."""
    var_dir = tempfile.mkdtemp(prefix="signpost-bench-tpl-")
    key = _prepare(url, var_dir)
    env = {"SIGNPOST_DATABASE_URL": url, "SIGNPOST_VAR_DIR": var_dir, "SIGNPOST_SECRET_KEY": "bench-secret"}
    # No identifier and no Idempotency-Key: every request is a new submission that must be counted.
    body = json.dumps(realistic_response()).encode()
    headers = {"content-type": "application/fhir+json", "authorization": f"Bearer {key}"}
    target = "/fhir/QuestionnaireResponse/$signpost"
    rows = []
    acknowledged = 0
    with server("signpost.app:create_app", env=env) as base:
        load(base + target, method="POST", body=body, headers=headers, seconds=2)
        warmed = _submissions(url)
        closed = load(base + target, method="POST", body=body, headers=headers, connections=32, seconds=SECONDS)
        acknowledged += closed.requests - closed.errors
        figures = closed.figures()
        figures["x bare"], figures["x floor"] = share(closed.rps, bare), share(closed.rps, floor)
        rows.append(Row(f"{name}, 32 conns", figures, "≥0.40 bare, p99 <80 ms, 0 errors, stored = acked"))
        rates = [(PACED, PACED_SHARE * bare)] if bare else []
        if half:
            rates.append(("half its throughput", closed.rps / 2))
        for label, rate in rates:
            steady = paced(base + target, rate=rate, method="POST", body=body, headers=headers, seconds=SECONDS)
            acknowledged += steady.requests - steady.errors
            paced_figures = steady.figures()
            paced_figures["req/s"] = f"{steady.rps:,.0f} of {rate:,.0f}"
            target_text = "p99 <20 ms, 0 errors" if label == PACED else "0 errors"
            rows.append(Row(f"{name}, paced at {label}", paced_figures, target_text))
    stored = _submissions(url) - warmed
    rows[0].figures["stored/acked"] = f"{stored}/{acknowledged}"
    return rows


def fresh_pg(url: str = PG_URL) -> str | None:
    """Drop and create the PostgreSQL benchmark database; None when PostgreSQL is unreachable."""
    base, name = db.normalise_url(url).rsplit("/", 1)
    try:
        admin = create_engine(f"{base}/postgres", isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
    except Exception:  # noqa: BLE001  (no PostgreSQL here: skip that row)
        return None
    return f"{base}/{name}"


def run(context: dict) -> list[Row]:  # type: ignore[type-arg]
    bare, floor = context.get("bare_rps"), context.get("floor_rps")
    rows = []
    sqlite_url = f"sqlite:///{tempfile.mkdtemp(prefix='signpost-bench-tpl-')}/bench.db"
    rows += load_run("$signpost SQLite, 15 answers", sqlite_url, bare, floor)
    # As the server routes (a worker reads each category of the directory every routing_cache_seconds), and reading
    # the directory every time.
    micros = _in_process(sqlite_url, Settings().routing_cache_seconds)
    uncached = _in_process(sqlite_url, 0)
    rows.append(
        Row(
            "validate+assess+route one response (in process)",
            {"µs": f"{micros:,.0f}", "µs reading directory": f"{uncached:,.0f}"},
            "< 1,000 µs",
        )
    )
    pg_url = fresh_pg()
    if pg_url:
        rows += load_run("$signpost PostgreSQL, 15 answers", pg_url, bare, floor)
    else:
        rows.append(Row("$signpost PostgreSQL", {"errors": "skipped: PostgreSQL unreachable"}))
    return rows


if __name__ == "__main__":
    from bench.common import print_table

    print_table(run({}))
