"""`make soak`: a mixed workload at 64 connections against a real server, then kill -9 and a database outage.

For SQLite (one worker) and PostgreSQL (several workers), each on a fresh database:

- load:   SOAK_SECONDS (60) of template submissions, directory searches, Open Referral reads, recorded
          signposts, indicator reports and If-Match edits. No errors allowed; events stored must equal
          events acknowledged; every acknowledged edit is in the service's history.
- crash:  the same load; the server is killed with SIGKILL part-way and restarted. Every acknowledged event
          and edit must be there afterwards; on SQLite `PRAGMA integrity_check` must say ok.
- outage: (PostgreSQL) the cluster is stopped part-way and started again. Meanwhile the service answers 503
          (never another 5xx) and it recovers by itself, without a restart.

Everything is on loopback and bounded in time. Environment: SOAK_SECONDS, SOAK_CONNECTIONS, SOAK_PG_WORKERS,
SOAK_PG_URL (an admin URL; the database `signpost_soak` is dropped and made again), SOAK_PG_CLUSTER ("15 main"),
SOAK_ONLY (sqlite or postgresql), SOAK_OUTAGE=0 to leave PostgreSQL running.
"""

import asyncio
import contextlib
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import httpx
import uvloop
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import text
from sqlmodel import Session

from bench.common import ROOT, Row, disk_syncs, free_port, print_table
from signpost.cli import HTTP, KEEP_ALIVE_SECONDS, LOOP

SECONDS = int(os.environ.get("SOAK_SECONDS", "60"))
CONNECTIONS = int(os.environ.get("SOAK_CONNECTIONS", "64"))
PG_WORKERS = int(os.environ.get("SOAK_PG_WORKERS", "2"))  # the README's production example
PG_ADMIN_URL = os.environ.get("SOAK_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
PG_DATABASE = "signpost_soak"
PG_CLUSTER = os.environ.get("SOAK_PG_CLUSTER", "15 main").split()
FAULT_SECONDS = max(20, SECONDS // 3)
SECRET = "soak-secret-key"

NEED = "https://signpost.example.org/fhir/CodeSystem/social-need"
ANSWER = "https://signpost.example.org/fhir/CodeSystem/sdoh-answer"


def questionnaire_response(identifier: str) -> dict[str, Any]:
    """A completed template with two needs (housing at risk, benefits check) and a unique identifier."""
    answers: list[tuple[str, dict[str, Any]]] = [
        ("housing", {"valueCoding": {"system": NEED, "code": "housing-at-risk"}}),
        ("money", {"valueCoding": {"system": NEED, "code": "money-essentials"}}),
        ("benefits-check", {"valueBoolean": True}),
        ("food-worried", {"valueCoding": {"system": ANSWER, "code": "never-true"}}),
        ("food-ran-out", {"valueCoding": {"system": ANSWER, "code": "never-true"}}),
        ("work", {"valueBoolean": False}),
        ("household", {"valueCoding": {"system": ANSWER, "code": "none"}}),
        ("isolation", {"valueBoolean": False}),
        ("legal-immigration", {"valueBoolean": False}),
        ("safe-to-ask", {"valueBoolean": True}),
        ("domestic-abuse", {"valueBoolean": False}),
        ("access", {"valueCoding": {"system": ANSWER, "code": "none"}}),
        ("consent", {"valueBoolean": True}),
    ]
    return {
        "resourceType": "QuestionnaireResponse",
        "questionnaire": "https://signpost.example.org/fhir/Questionnaire/social-determinants|1.0.0",
        "status": "completed",
        "authored": "2026-11-28T09:00:00Z",
        "identifier": {"system": "urn:soak", "value": identifier},
        "item": [{"linkId": link, "answer": [value]} for link, value in answers],
    }


# ---------------------------------------------------------------------------------------------- the server


class Server:
    """uvicorn in its own process group, so kill -9 reaches every worker."""

    def __init__(self, env: dict[str, str], workers: int) -> None:
        self.env = {**os.environ, **env, "SIGNPOST_LOG_LEVEL": "WARNING"}
        self.workers = workers
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = tempfile.NamedTemporaryFile(prefix="signpost-soak-", suffix=".log", delete=False)

    def start(self) -> None:
        command = [sys.executable, "-m", "uvicorn", "signpost.app:create_app", "--factory", "--host", "127.0.0.1"]
        command += ["--port", str(self.port), "--workers", str(self.workers), "--no-access-log"]
        command += ["--timeout-keep-alive", str(KEEP_ALIVE_SECONDS), "--loop", LOOP, "--http", HTTP]
        self.proc = subprocess.Popen(
            command, cwd=ROOT, env=self.env, stdout=self.log, stderr=self.log, start_new_session=True
        )
        self.wait_ready()

    def wait_ready(self, timeout: float = 90) -> float:
        """Seconds until /readyz says ready."""
        started = time.monotonic()
        while time.monotonic() - started < timeout:
            try:
                if httpx.get(self.base + "/readyz", timeout=2).status_code == 200:
                    return time.monotonic() - started
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"server on {self.base} not ready after {timeout}s; see {self.log.name}")

    def kill9(self) -> None:
        assert self.proc is not None
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait()

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)


# -------------------------------------------------------------------------------------------- the workload


@dataclass
class Tally:
    """What the clients saw: each request's latency (by kind) and outcomes, and what the server acknowledged."""

    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    outcomes: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    errors: list[str] = field(default_factory=list)
    events_acked: int = 0
    edits_acked: list[str] = field(default_factory=list)

    @property
    def requests(self) -> int:
        return sum(len(v) for v in self.latencies.values())

    def pct(self, p: float, kind: str | None = None) -> float:
        """The p-th percentile latency (ms) of every request, or of one kind's."""
        chosen = self.latencies.values() if kind is None else [self.latencies.get(kind, [])]
        ordered = sorted(x for v in chosen for x in v)
        return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))] if ordered else 0.0


def mounted_paths(base: str) -> set[str]:
    return set(httpx.get(base + "/openapi.json", timeout=30).json()["paths"])


@dataclass
class Answer:
    """One HTTP answer, read whole."""

    status: int
    headers: Mapping[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class Workload:
    def __init__(self, base: str, keys: dict[str, str], service_id: str | None, events_per_submission: int) -> None:
        self.base = base
        self.keys = keys
        self.service_id = service_id
        self.per_submission = events_per_submission
        self.tally = Tally()
        self.fault = False  # set while the server or database is down: failures then are expected, not errors
        self.client_cpu = 0.0  # the share of a core this client process used while it ran
        # (operation, weight, the route it needs): only routes the app has mounted are driven.
        ops: list[tuple[Callable[..., Any], int, str]] = [
            (self.submit_template, 3, "/fhir/QuestionnaireResponse/$signpost"),
            (self.record_signpost, 3, "/api/v1/signposts"),
            (self.search_directory, 3, "/api/v1/directory/search"),
            (self.read_open_referral, 2, "/openreferral/services"),
            (self.read_report, 1, "/api/v1/indicators/counts"),
        ]
        if service_id:
            ops.append((self.edit_service, 1, "/api/v1/directory/services/{service_id}"))
        paths = mounted_paths(base)
        self.ops = [op for op, weight, path in ops if path in paths for _ in range(weight)]
        self.skipped = [path for _, _, path in ops if path not in paths]

    def _auth(self, role: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.keys[role]}"}

    async def _timed(self, kind: str, client: aiohttp.ClientSession, method: str, path: str, **kw: Any) -> Answer:
        """One HTTP request, read whole, its latency kept under `kind` (an edit's read and save are two requests,
        timed apart)."""
        started = time.perf_counter()
        async with client.request(method, self.base + path, **kw) as response:
            answer = Answer(response.status, response.headers, await response.read())
        self.tally.latencies[kind].append((time.perf_counter() - started) * 1000)
        return answer

    async def submit_template(self, client: aiohttp.ClientSession) -> tuple[str, Answer]:
        body = json.dumps(questionnaire_response(uuid.uuid4().hex))
        headers = {**self._auth("clinician"), "Content-Type": "application/fhir+json"}
        path = "/fhir/QuestionnaireResponse/$signpost"
        response = await self._timed("template", client, "POST", path, data=body, headers=headers)
        if response.status == 200:
            self.tally.events_acked += self.per_submission
        return "template", response

    async def record_signpost(self, client: aiohttp.ClientSession) -> tuple[str, Answer]:
        body = {
            "services": [self.service_id or "none"],
            "needs": random.sample(["housing-at-risk", "debt-priority", "food-insecurity", "isolation"], 2),
            "kind": random.choice(["signposted", "referred"]),
            "postcode": "LS6 2QT",
            "birth_date": "1980-05-01",
        }
        headers = {**self._auth("prescriber"), "Idempotency-Key": uuid.uuid4().hex}
        response = await self._timed("signpost", client, "POST", "/api/v1/signposts", json=body, headers=headers)
        if response.status == 201:
            self.tally.events_acked += int(response.json()["recorded"])
        return "signpost", response

    async def search_directory(self, client: aiohttp.ClientSession) -> tuple[str, Answer]:
        params = {"text": random.choice(["advice", "housing", "food", "debt"]), "per_page": "10"}
        headers = self._auth("clinician")
        return "search", await self._timed(
            "search", client, "GET", "/api/v1/directory/search", params=params, headers=headers
        )

    async def read_open_referral(self, client: aiohttp.ClientSession) -> tuple[str, Answer]:
        params = {"text": "advice", "per_page": "10"}
        return "openreferral", await self._timed("openreferral", client, "GET", "/openreferral/services", params=params)

    async def read_report(self, client: aiohttp.ClientSession) -> tuple[str, Answer]:
        params = {"start": "2026-01-01", "end": "2026-12-31", "group_by": "need"}
        headers = self._auth("analyst")
        return "report", await self._timed(
            "report", client, "GET", "/api/v1/indicators/counts", params=params, headers=headers
        )

    async def edit_service(self, client: aiohttp.ClientSession) -> tuple[str, Answer]:
        path = f"/api/v1/directory/services/{self.service_id}"
        current = await self._timed("edit: read", client, "GET", path, headers=self._auth("editor"))
        if current.status != 200:
            return "edit: read", current
        headers = {**self._auth("editor"), "If-Match": current.headers["etag"]}
        change = {"description": f"soak edit {uuid.uuid4().hex}"}
        response = await self._timed("edit: save", client, "PATCH", path, json=change, headers=headers)
        if response.status == 200:
            self.tally.edits_acked.append(response.headers["etag"])
        return "edit: save", response

    async def _worker(self, client: aiohttp.ClientSession, stop: float) -> None:
        while time.monotonic() < stop:
            op = random.choice(self.ops)
            fault = self.fault
            try:
                name, response = await op(client)
                status = response.status
            except (aiohttp.ClientError, TimeoutError) as exc:
                name, status = op.__name__, 0
                if not (fault or self.fault):
                    self.tally.errors.append(f"{op.__name__}: {type(exc).__name__}")
                self.tally.outcomes["transport error"] += 1
                await asyncio.sleep(0.05)
                continue
            if name == "edit: save" and status == 412:
                self.tally.outcomes["edit 412"] += 1
            elif status >= 400:
                self.tally.outcomes[str(status)] += 1
                expected = (fault or self.fault) and status == 503
                if not expected:
                    self.tally.errors.append(f"{name}: {status} {response.body[:160].decode(errors='replace')}")
                    if status == 503:
                        await asyncio.sleep(0.05)

    async def _run(self, seconds: float) -> None:
        stop = time.monotonic() + seconds
        # A client with one kept-alive connection per worker, on aiohttp (its HTTP parser is C) and uvloop: the
        # soak's client shares the machine with the server, and the CPU it takes is taken from the server. httpx
        # (h11, pure Python) took 1.4 ms of CPU a request, a third of a core at 220 req/s (bench/README.md, "Soak").
        timeout = aiohttp.ClientTimeout(total=30)
        async with contextlib.AsyncExitStack() as stack:
            clients = [
                await stack.enter_async_context(
                    aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=1), timeout=timeout)
                )
                for _ in range(CONNECTIONS)
            ]
            await asyncio.gather(*(self._worker(client, stop) for client in clients))

    def run(self, seconds: float) -> float:
        started, cpu = time.monotonic(), time.process_time()
        uvloop.run(self._run(seconds))
        elapsed = time.monotonic() - started
        # The client shares the machine: a client near a whole core adds its own queueing to every latency.
        self.client_cpu = (time.process_time() - cpu) / elapsed
        return elapsed

    def run_in_background(self, seconds: float) -> threading.Thread:
        thread = threading.Thread(target=self.run, args=(seconds,), daemon=True)
        thread.start()
        return thread


# --------------------------------------------------------------------------------------------- databases


def _fresh_sqlite() -> tuple[str, Path]:
    where = Path(tempfile.mkdtemp(prefix="signpost-soak-"))
    return f"sqlite:///{where / 'soak.db'}", where


def _fresh_postgres() -> str:
    from sqlalchemy import create_engine

    from signpost.db import normalise_url

    admin = create_engine(normalise_url(PG_ADMIN_URL), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f"DROP DATABASE IF EXISTS {PG_DATABASE} WITH (FORCE)"))
        connection.execute(text(f"CREATE DATABASE {PG_DATABASE}"))
    admin.dispose()
    return PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + PG_DATABASE


def _prepare(url: str, var_dir: Path) -> dict[str, str]:
    """Migrate, load the starter content, and make a key per role."""
    from rich.console import Console

    from signpost import bootstrap, db
    from signpost.auth import service as auth
    from signpost.config import Settings

    settings = Settings(database_url=url, var_dir=var_dir, secret_key=SECRET, admin_bootstrap_key="sp_soak-admin")
    bootstrap.prepare(settings, Console(stderr=True, quiet=True))
    engine = db.make_engine(url)
    keys = {}
    with Session(engine) as session:
        for role in ("clinician", "prescriber", "editor", "analyst"):
            ods = "B86001" if role == "clinician" else None
            _, keys[role] = auth.create_key(session=session, role=role, name=f"soak {role}", practice_ods=ods)
        session.commit()
    engine.dispose()
    return keys


def _count_events(url: str) -> int:
    from signpost import db

    engine = db.make_engine(url)
    try:
        with engine.connect() as connection:
            return int(connection.execute(text("SELECT count(*) FROM signpost_event")).scalar_one())
    finally:
        engine.dispose()


def _integrity(url: str) -> str:
    from signpost import db

    engine = db.make_engine(url)
    try:
        with engine.connect() as connection:
            return str(connection.execute(text("PRAGMA integrity_check")).scalar_one())
    finally:
        engine.dispose()


def _make_service(base: str, keys: dict[str, str]) -> str | None:
    body = {"name": "Soak advice centre", "organization": {"name": "Soak trust"}, "description": "first"}
    created = httpx.post(
        base + "/api/v1/directory/services?allow_duplicate=true",
        json=body,
        headers={"Authorization": f"Bearer {keys['editor']}"},
        timeout=30,
    )
    return str(created.json()["id"]) if created.status_code == 201 else None


def _events_per_submission(base: str, keys: dict[str, str], url: str) -> int:
    """Calibrate: how many events one template submission stores (one per need found)."""
    if "/fhir/QuestionnaireResponse/$signpost" not in mounted_paths(base):
        return 0
    before = _count_events(url)
    workload = Workload(base, keys, None, 0)
    asyncio.run(_one(workload))
    return _count_events(url) - before


async def _one(workload: Workload) -> None:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as client:
        _, response = await workload.submit_template(client)
        if response.status != 200:
            raise RuntimeError(f"calibration submission failed: {response.status} {response.body[:300]!r}")


def _history(base: str, keys: dict[str, str], service_id: str) -> list[dict[str, Any]]:
    answer = httpx.get(
        f"{base}/api/v1/directory/services/{service_id}/history",
        headers={"Authorization": f"Bearer {keys['editor']}"},
        timeout=30,
    )
    return list(answer.json()["changes"])


# -------------------------------------------------------------------------------------------------- phases


@dataclass
class Outcome:
    rows: list[Row]
    problems: list[str]


def soak(kind: str) -> Outcome:
    if kind == "sqlite":
        url, var_dir = _fresh_sqlite()
        workers = 1
    else:
        url, var_dir = _fresh_postgres(), Path(tempfile.mkdtemp(prefix="signpost-soak-"))
        workers = PG_WORKERS
    keys = _prepare(url, var_dir)
    env = {"SIGNPOST_DATABASE_URL": url, "SIGNPOST_VAR_DIR": str(var_dir), "SIGNPOST_SECRET_KEY": SECRET}
    server = Server(env, workers)
    server.start()
    rows: list[Row] = []
    problems: list[str] = []
    label = f"{kind} ({workers} worker{'s' if workers > 1 else ''})"
    try:
        service_id = _make_service(server.base, keys)
        per_submission = _events_per_submission(server.base, keys, url)
        baseline = _count_events(url)
        history_before = len(_history(server.base, keys, service_id)) if service_id else 0

        # 1. Load.
        load = Workload(server.base, keys, service_id, per_submission)
        if load.skipped:
            print(f"soak: not mounted yet, left out: {', '.join(load.skipped)}", file=sys.stderr)
        with disk_syncs() as syncs:
            elapsed = load.run(SECONDS)
        stored = _count_events(url) - baseline
        rows.append(_row(f"soak {label}: load {SECONDS}s", load.tally, elapsed, stored))
        rows[-1].figures["client CPU"] = f"{load.client_cpu:.0%}"
        rows += _kind_rows(label, load.tally, elapsed, _server_ms(server.base, keys["analyst"]))
        # PostgreSQL's commits wait for the disk: a stall of it shows in every kind's tail at once.
        rows.append(Row(f"  {label} load: {syncs.label()}", syncs.figures()))
        problems += [f"{label} load: {e}" for e in _first(load.tally.errors)]
        if stored != load.tally.events_acked:
            problems.append(f"{label} load: {stored} events stored, {load.tally.events_acked} acknowledged")
        if service_id:
            history = _history(server.base, keys, service_id)
            if len(history) - history_before != len(load.tally.edits_acked):
                problems.append(
                    f"{label} load: {len(history) - history_before} audit rows for {len(load.tally.edits_acked)} edits"
                )
            history_before = len(history)

        # 2. Crash: kill -9 mid-load, restart, everything acknowledged is there.
        baseline = _count_events(url)
        crash = Workload(server.base, keys, service_id, per_submission)
        thread = crash.run_in_background(FAULT_SECONDS)
        time.sleep(FAULT_SECONDS / 3)
        crash.fault = True
        server.kill9()
        server.start()
        crash.fault = False
        thread.join()
        stored = _count_events(url) - baseline
        row = _row(f"soak {label}: kill -9", crash.tally, FAULT_SECONDS, stored)
        problems += [f"{label} crash: {e}" for e in _first(crash.tally.errors)]
        if stored < crash.tally.events_acked:
            problems.append(f"{label} crash: {stored} events stored < {crash.tally.events_acked} acknowledged")
        if service_id:
            held = {f'"{service_id}.{h["version"]}"' for h in _history(server.base, keys, service_id)}
            lost = [e for e in crash.tally.edits_acked if e not in held]
            if lost:
                problems.append(f"{label} crash: acknowledged edits missing from history: {lost[:5]}")
        if kind == "sqlite":
            check = _integrity(url)
            row.figures["integrity"] = check
            if check != "ok":
                problems.append(f"{label} crash: integrity_check says {check}")
        rows.append(row)

        # 3. Database outage (PostgreSQL): 503 meanwhile, recovery without a restart.
        if kind == "postgresql" and os.environ.get("SOAK_OUTAGE", "1") != "0":
            baseline = _count_events(url)
            outage = Workload(server.base, keys, service_id, per_submission)
            thread = outage.run_in_background(FAULT_SECONDS)
            time.sleep(FAULT_SECONDS / 4)
            outage.fault = True
            subprocess.run(["pg_ctlcluster", *PG_CLUSTER, "stop", "-m", "fast"], check=True)
            time.sleep(3)
            during = httpx.get(server.base + "/readyz", timeout=10).status_code
            subprocess.run(["pg_ctlcluster", *PG_CLUSTER, "start"], check=True)
            recovered_in = server.wait_ready(60)
            outage.fault = False
            thread.join()
            stored = _count_events(url) - baseline
            row = _row(f"soak {label}: PostgreSQL stop/start", outage.tally, FAULT_SECONDS, stored)
            row.figures["readyz while down"] = str(during)
            row.figures["recovered s"] = f"{recovered_in:.1f}"
            rows.append(row)
            problems += [f"{label} outage: {e}" for e in _first(outage.tally.errors)]
            others = {k: v for k, v in outage.tally.outcomes.items() if k.startswith("5") and k != "503"}
            if others:
                problems.append(f"{label} outage: answers other than 503 while down: {others}")
            if during != 503:
                problems.append(f"{label} outage: /readyz said {during} while the database was down")
            if stored < outage.tally.events_acked:
                problems.append(f"{label} outage: {stored} events stored < {outage.tally.events_acked} acknowledged")
    finally:
        server.stop()
    return Outcome(rows, problems)


def _first(errors: list[str], n: int = 5) -> list[str]:
    if len(errors) <= n:
        return errors
    return [*errors[:n], f"… and {len(errors) - n} more"]


def _row(name: str, tally: Tally, seconds: float, stored: int) -> Row:
    return Row(
        name,
        {
            "requests": f"{tally.requests:,}",
            "req/s": f"{tally.requests / seconds:,.0f}" if seconds else "0",
            "p95 ms": f"{tally.pct(95):.0f}",
            "p99 ms": f"{tally.pct(99):.0f}",
            "errors": str(len(tally.errors)),
            "events acked": str(tally.events_acked),
            "events stored": str(stored),
            "edits (412)": f"{len(tally.edits_acked)} ({tally.outcomes.get('edit 412', 0)})",
            "refused in fault": str(tally.outcomes.get("503", 0) + tally.outcomes.get("transport error", 0)),
        },
    )


# Each kind of request and the route it calls (as /metrics names it).
KIND_ROUTES = {
    "template": ("POST", "/fhir/QuestionnaireResponse/$signpost"),
    "signpost": ("POST", "/api/v1/signposts"),
    "search": ("GET", "/api/v1/directory/search"),
    "openreferral": ("GET", "/openreferral/services"),
    "report": ("GET", "/api/v1/indicators/counts"),
    "edit: read": ("GET", "/api/v1/directory/services/{service_id}"),
    "edit: save": ("PATCH", "/api/v1/directory/services/{service_id}"),
}


def _server_ms(base: str, analyst_key: str) -> dict[str, float]:
    """Mean time in the server (ms) per kind of request, from one worker's /metrics: from the request reaching the
    app to its answer, so without the wait before the event loop took it up."""
    sums: dict[tuple[str, str], float] = defaultdict(float)
    counts: dict[tuple[str, str], float] = defaultdict(float)
    answer = httpx.get(base + "/metrics", headers={"Authorization": f"Bearer {analyst_key}"}, timeout=30)
    for family in text_string_to_metric_families(answer.text):
        if family.name != "signpost_request_duration_seconds":
            continue
        for sample in family.samples:
            route = (sample.labels["method"], sample.labels["route"])
            if sample.name.endswith("_sum"):
                sums[route] += sample.value
            elif sample.name.endswith("_count"):
                counts[route] += sample.value
    return {kind: sums[route] / counts[route] * 1000 for kind, route in KIND_ROUTES.items() if counts.get(route)}


def _kind_rows(label: str, tally: Tally, seconds: float, server_ms: dict[str, float]) -> list[Row]:
    """One row per kind of request: which of them make the tail, and how long the server spent on each."""
    return [
        Row(
            f"  {label} load: {kind}",
            {
                "requests": f"{len(latencies):,}",
                "req/s": f"{len(latencies) / seconds:,.0f}",
                "p50 ms": f"{tally.pct(50, kind):.0f}",
                "p95 ms": f"{tally.pct(95, kind):.0f}",
                "p99 ms": f"{tally.pct(99, kind):.0f}",
                "in server ms": f"{server_ms[kind]:.1f}" if kind in server_ms else "",
            },
        )
        for kind, latencies in sorted(tally.latencies.items())
    ]


def run(context: dict[str, Any]) -> list[Row]:
    """For bench/run.py: the same phases (set SOAK_SECONDS low to keep `make bench` short)."""
    kinds = [os.environ["SOAK_ONLY"]] if os.environ.get("SOAK_ONLY") else ["sqlite", "postgresql"]
    rows: list[Row] = []
    problems: list[str] = []
    for kind in kinds:
        print(f"soak: {kind} …", file=sys.stderr, flush=True)
        outcome = soak(kind)
        rows += outcome.rows
        problems += outcome.problems
    context["soak_problems"] = problems
    return rows


def main() -> None:
    context: dict[str, Any] = {}
    rows = run(context)
    print()
    cores = os.cpu_count()
    print(f"Signpost soak: {CONNECTIONS} connections, {SECONDS}s load, {FAULT_SECONDS}s per fault ({cores} cores)")
    print_table(rows)
    problems = context["soak_problems"]
    for problem in problems:
        print("PROBLEM:", problem)
    print("soak: " + ("FAILED" if problems else "ok: no errors, nothing acknowledged was lost"))
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
