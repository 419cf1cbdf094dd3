"""`$signpost`'s CPU per request, in process: the real app called as uvicorn calls it (ASGI), no server, no network.

Each request is a new submission of `bench.signpost`'s realistic 15-answer response (so each writes its events). The
figure is process CPU time per request (the least of ten rounds), with no client's share; the same
figure for the project floor's echo route (`bench.floor`) is given beside it. With BENCH_PROFILE=1 it prints
cProfile's top functions by cumulative time instead of the table. On SQLite, and on PostgreSQL at BENCH_SIGNPOST_PG_URL
(dropped and made again; skipped when unreachable). Requests: BENCH_CPU_REQUESTS (default 2,000), made by
BENCH_CPU_CONCURRENCY callers at a time (default 32, as wrk's connections; 1 for one after another).

With BENCH_CPU_COUNT=instructions it counts machine instructions instead of CPU time: the app runs under valgrind's
callgrind, which counts only while the measured requests run (the set-up is done outside it). A count does not
depend on what else the machine is doing, so two commits compare in one run each, where CPU time differs by a tenth
from run to run on a shared machine. It takes about three minutes a database (callgrind runs Python some 50 times
slower); BENCH_CPU_REQUESTS defaults to 320 there.
"""

import asyncio
import cProfile
import json
import os
import pstats
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from starlette.types import Message

from bench.common import Row, callgrind_control
from bench.signpost import _prepare, fresh_pg, realistic_response
from signpost.config import Settings

INSTRUCTIONS = os.environ.get("BENCH_CPU_COUNT") == "instructions"
REQUESTS = int(os.environ.get("BENCH_CPU_REQUESTS", "320" if INSTRUCTIONS else "2000"))
PROFILE = os.environ.get("BENCH_PROFILE") == "1"
CONCURRENCY = int(os.environ.get("BENCH_CPU_CONCURRENCY", "32"))


# Under callgrind Python runs some 50 times slower, so what the app keeps for a few seconds (the directory's
# categories, a key's caller) would be read again every few requests rather than every thousand or so: counted, that
# reading is noise of a tenth either way. It is kept for an hour there instead.
SLOW_CACHE_SECONDS = 3600.0


async def _drive(url: str, var_dir: str, key: str) -> tuple[float, float]:
    """Per `$signpost` request and per echo request, through one app: µs of CPU, or, under callgrind, nothing (the
    counts are in its dumps: `$signpost`'s first, the echo's second)."""
    from bench.floor import BODY, add_echo
    from signpost.app import create_app

    # As bench.common.server runs it: no access log line per request.
    settings = Settings(
        database_url=url,
        var_dir=Path(var_dir),
        secret_key="bench-secret",
        fold_seconds=0,
        log_level="WARNING",
    )
    if INSTRUCTIONS:
        settings = settings.model_copy(update={"routing_cache_seconds": SLOW_CACHE_SECONDS})
    app = add_echo(create_app(settings))

    body = json.dumps(realistic_response()).encode()
    signpost_headers = [(b"content-type", b"application/fhir+json"), (b"authorization", f"Bearer {key}".encode())]
    echo_headers = [(b"content-type", b"application/json")]

    async def call(path: str, content: bytes, headers: list[tuple[bytes, bytes]]) -> None:
        """One request as uvicorn hands it to the app (one body message), its answer read and dropped."""
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "POST",
            "scheme": "http",
            "path": path,
            "raw_path": path.encode(),
            "query_string": b"",
            "root_path": "",
            "headers": [(b"host", b"bench"), (b"content-length", str(len(content)).encode()), *headers],
            "client": ("127.0.0.1", 50000),
            "server": ("127.0.0.1", 8000),
            "state": {},
        }
        sent = False
        status = 0

        async def receive() -> Message:
            nonlocal sent
            if sent:
                await asyncio.sleep(3600)  # a client that stays connected
            sent = True
            return {"type": "http.request", "body": content, "more_body": False}

        async def send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]

        await app(scope, receive, send)
        assert status == 200, status

    async def signpost() -> None:
        await call("/fhir/QuestionnaireResponse/$signpost", body, signpost_headers)

    async def floor() -> None:
        await call("/bench/echo", BODY, echo_headers)

    async def calls(request: Callable[[], Awaitable[None]], n: int) -> None:
        """n requests, CONCURRENCY at a time, as a loaded server has them (group commit batches their events)."""

        async def caller(k: int) -> None:
            for _ in range(k):
                await request()

        await asyncio.gather(*(caller(n // CONCURRENCY) for _ in range(CONCURRENCY)))

    async def cpu(request: Callable[[], Awaitable[None]], times: int) -> float:
        await calls(request, 200)  # warm: caches, pools, the first statements
        if INSTRUCTIONS:
            callgrind_control("--instr=on")
            await calls(request, times)
            callgrind_control("--dump")
            callgrind_control("--instr=off")
            return 0.0
        # The least CPU of ten rounds: other processes on a shared machine only ever add to it.
        rounds = []
        each = times // 10 // CONCURRENCY * CONCURRENCY
        for _ in range(10):
            started = time.process_time()
            await calls(request, each)
            rounds.append((time.process_time() - started) / each * 1e6)
        return min(rounds)

    async with app.router.lifespan_context(app):
        if PROFILE:
            await calls(signpost, 200)
            profiler = cProfile.Profile()
            profiler.enable()
            await calls(signpost, REQUESTS)
            profiler.disable()
            pstats.Stats(profiler).sort_stats("cumulative").print_stats(60)
            return 0.0, 0.0
        return await cpu(signpost, REQUESTS), await cpu(floor, REQUESTS)


def _instructions(url: str, var_dir: str, key: str) -> tuple[float, float]:
    """Instructions per `$signpost` request and per echo request: this module again, under callgrind."""
    each = REQUESTS // CONCURRENCY * CONCURRENCY
    with tempfile.TemporaryDirectory(prefix="signpost-bench-callgrind-") as folder:
        counts = Path(folder) / "callgrind.out"
        subprocess.run(
            ["valgrind", "--tool=callgrind", "--instr-atstart=no", f"--callgrind-out-file={counts}"]
            + [sys.executable, "-m", "bench.signpost_cpu", "--under-callgrind", url, var_dir, key],
            check=True,
            capture_output=True,
            env={**os.environ, "PYTHONHASHSEED": "0"},
        )

        def total(dump: int) -> float:
            text = Path(f"{counts}.{dump}").read_text(errors="replace")
            return int(next(line for line in text.splitlines() if line.startswith("totals:")).split()[1]) / each

        return total(1), total(2)


def run(context: dict) -> list[Row]:  # type: ignore[type-arg]
    rows = []
    sqlite_url = f"sqlite:///{tempfile.mkdtemp(prefix='signpost-bench-cpu-')}/bench.db"
    targets = [("SQLite", sqlite_url), ("PostgreSQL", fresh_pg())]
    for name, url in targets:
        if url is None:
            rows.append(Row(f"$signpost CPU, {name}", {"errors": "skipped: PostgreSQL unreachable"}))
            continue
        var_dir = tempfile.mkdtemp(prefix="signpost-bench-cpu-")
        key = _prepare(url, var_dir)
        if INSTRUCTIONS:
            if shutil.which("valgrind") is None:
                sys.exit("BENCH_CPU_COUNT=instructions needs valgrind (Debian's package valgrind)")
            print(f"counting instructions on {name} under callgrind (about three minutes) …", file=sys.stderr)
            signposting, echo = _instructions(url, var_dir, key)
            figures = {
                "instructions/request": f"{signposting:,.0f}",
                "echo instructions/request": f"{echo:,.0f}",
                "x echo": f"{signposting / echo:.2f}",
            }
            rows.append(Row(f"$signpost instructions in process, {name}", figures))
            continue
        micros, floor = asyncio.run(_drive(url, var_dir, key))
        if PROFILE:
            continue
        figures = {
            "µs/request": f"{micros:,.0f}",
            "echo µs/request": f"{floor:,.0f}",
            "x echo": f"{micros / floor:.1f}",
        }
        rows.append(Row(f"$signpost CPU in process, {name}", figures))
    return rows


if __name__ == "__main__":
    if sys.argv[1:2] == ["--under-callgrind"]:
        from signpost.auth import service as auth_service

        auth_service.REMEMBER_SECONDS = SLOW_CACHE_SECONDS
        asyncio.run(_drive(*sys.argv[2:5]))
    else:
        from bench.common import print_table

        print_table(run({}))
