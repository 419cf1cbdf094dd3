"""Shared benchmark tools: a real server in a subprocess, a load generator on loopback, one table."""

import asyncio
import functools
import gc
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from signpost import cli

ROOT = Path(__file__).resolve().parents[1]


@dataclass
class Row:
    """One line of the benchmark table."""

    name: str
    figures: dict[str, str] = field(default_factory=dict)
    target: str = ""


@dataclass
class DiskSyncs:
    """How long the disk took to make small writes durable, timed by `disk_syncs` every `every` seconds."""

    every: float
    latencies_ms: list[float] = field(default_factory=list)

    def label(self) -> str:
        return f"the disk meanwhile: 8 KB made durable (fdatasync) every {self.every * 1000:.0f} ms"

    def figures(self) -> dict[str, str]:
        timed = LoadResult(len(self.latencies_ms), 0, 0.0, self.latencies_ms)
        return {
            "p50 ms": f"{timed.pct(50):.1f}",
            "p95 ms": f"{timed.pct(95):.1f}",
            "p99 ms": f"{timed.pct(99):.1f}",
            "max ms": f"{max(self.latencies_ms, default=0.0):.0f}",
            "syncs > 50 ms": str(sum(latency > 50 for latency in self.latencies_ms)),
        }


@contextmanager
def disk_syncs(every: float = 0.02) -> Iterator[DiskSyncs]:
    """While the block runs, a thread appends 8 KB to a file in the temporary directory and waits for `fdatasync`
    every `every` seconds: the disk's own commit latency, beside a run whose commits wait for the disk (PostgreSQL's
    do; SQLite's, in WAL mode with synchronous=NORMAL, do not)."""
    found = DiskSyncs(every)
    stop = threading.Event()

    def probe() -> None:
        with tempfile.TemporaryFile() as file:
            block = os.urandom(8192)
            while not stop.wait(every):
                file.write(block)
                file.flush()
                started = time.perf_counter()
                os.fdatasync(file.fileno())
                found.latencies_ms.append((time.perf_counter() - started) * 1000)

    thread = threading.Thread(target=probe, name="disk-syncs", daemon=True)
    thread.start()
    try:
        yield found
    finally:
        stop.set()
        thread.join()


def cpu_ticks() -> tuple[int, int]:
    """(ticks stolen by the hypervisor, all ticks) of every core since boot, from /proc/stat; (0, 0) where there is
    none. A virtual machine's cores are shared with its neighbours: a run that lost a share of them is slower for it."""
    try:
        fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
    except OSError:
        return 0, 0
    ticks = [int(value) for value in fields[:8]]  # user nice system idle iowait irq softirq steal
    return (ticks[7] if len(ticks) == 8 else 0), sum(ticks)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# What `signpost serve` runs on; the asyncio/h11 pair is the comparison row of bench.floor_table.
FAST = (cli.LOOP, cli.HTTP)
PLAIN = ("asyncio", "h11")


@contextmanager
def server(
    app: str, env: dict[str, str] | None = None, workers: int = 1, stack: tuple[str, str] = FAST
) -> Iterator[str]:
    """Run uvicorn with the service's configuration (`module:factory`) and yield its base URL.

    `stack` is the event loop and HTTP parser, (loop, http).
    """
    with server_process(app, env=env, workers=workers, stack=stack) as (base, _):
        yield base


@contextmanager
def server_process(
    app: str,
    *,
    env: dict[str, str] | None = None,
    workers: int = 1,
    stack: tuple[str, str] = FAST,
    under: Sequence[str] = (),
    start_seconds: float = 60,
) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """`server`, yielding its process too; `under` is a command to run it under (valgrind's, say), which may slow
    its start: it has `start_seconds` to answer /healthz."""
    port = free_port()
    full_env = {**os.environ, **(env or {})}
    full_env.setdefault("SIGNPOST_VAR_DIR", tempfile.mkdtemp(prefix="signpost-bench-"))
    full_env.setdefault("SIGNPOST_LOG_LEVEL", "WARNING")
    proc = subprocess.Popen(
        [
            *under,
            sys.executable,
            "-m",
            "uvicorn",
            app,
            "--factory",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            str(workers),
            "--no-access-log",
            "--timeout-keep-alive",
            "75",
            "--log-level",
            "warning",
            "--loop",
            stack[0],
            "--http",
            stack[1],
        ],
        cwd=ROOT,
        env=full_env,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + start_seconds
        while time.monotonic() < deadline:
            try:
                if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        else:
            raise RuntimeError(f"server {app} did not start")
        yield base, proc
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()


def callgrind_control(*arguments: str, pid: int | None = None) -> None:
    """Tell the callgrind that runs process `pid` (this one by default) to start or stop counting, or to write what it
    has counted."""
    target = str(pid or os.getpid())
    subprocess.run(["callgrind_control", *arguments, target], check=True, capture_output=True)


def pid_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


@dataclass
class LoadResult:
    requests: int
    errors: int
    seconds: float
    latencies_ms: list[float]

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def pct(self, p: float) -> float:
        if not self.latencies_ms:
            return 0.0
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]

    def figures(self) -> dict[str, str]:
        return {
            "req/s": f"{self.rps:,.0f}",
            "p50 ms": f"{self.pct(50):.1f}",
            "p95 ms": f"{self.pct(95):.1f}",
            "p99 ms": f"{self.pct(99):.1f}",
            "errors": str(self.errors),
        }


def _wrk(
    url: str, method: str, body: bytes | None, headers: dict[str, str], connections: int, seconds: int
) -> LoadResult:
    script = tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False)
    lua_headers = "".join(f'wrk.headers["{k}"] = {json.dumps(v)}\n' for k, v in headers.items())
    lua_body = f"wrk.body = {json.dumps(body.decode())}\n" if body else ""
    script.write(
        f'wrk.method = "{method}"\n{lua_headers}{lua_body}'
        "done = function(summary, latency, requests)\n"
        '  io.write(string.format("RESULT %d %d %d %f %f %f %f\\n", summary.requests,\n'
        "    summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.write"
        " + summary.errors.timeout,\n"
        "    summary.duration, latency:percentile(50)/1000, latency:percentile(95)/1000,"
        " latency:percentile(99)/1000, latency.mean/1000))\nend\n"
    )
    script.close()
    out = subprocess.run(
        ["wrk", "-t", "2", "-c", str(connections), "-d", f"{seconds}s", "--timeout", "10s", "-s", script.name, url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    line = next(line for line in out.splitlines() if line.startswith("RESULT"))
    _, reqs, errs, dur_us, p50, p95, p99, _mean = line.split()
    result = LoadResult(int(reqs), int(errs), int(dur_us) / 1e6, [])
    # wrk gives percentiles, not samples: keep them as a three-point distribution for pct().
    result.latencies_ms = [float(p50)] * 51 + [float(p95)] * 48 + [float(p99)]
    return result


async def _succeeds(
    client: httpx.AsyncClient, method: str, url: str, body: bytes | None, headers: dict[str, str]
) -> bool:
    """One request: whether it was answered without an error status."""
    try:
        response = await client.request(method, url, content=body, headers=headers)
    except httpx.HTTPError:
        return False
    return response.status_code < 400


@contextmanager
def _collector_paused() -> Iterator[None]:
    """No garbage collection in this process for the block: its pauses would count as the service's latency.

    A full collection in the paced driver, once it holds a few thousand finished requests, is longer than the p99
    being measured (bench/README.md). What a run allocates is small, so the collector waits until it is over.
    """
    gc.freeze()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
        gc.unfreeze()


async def _httpx_load(
    url: str, method: str, body: bytes | None, headers: dict[str, str], connections: int, seconds: float
) -> LoadResult:
    latencies: list[float] = []
    errors = 0
    stop = time.monotonic() + seconds
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    async with httpx.AsyncClient(limits=limits, timeout=10) as client:

        async def worker() -> None:
            nonlocal errors
            while time.monotonic() < stop:
                started = time.perf_counter()
                errors += not await _succeeds(client, method, url, body, headers)
                latencies.append((time.perf_counter() - started) * 1000)

        started = time.monotonic()
        with _collector_paused():
            await asyncio.gather(*(worker() for _ in range(connections)))
        elapsed = time.monotonic() - started
    return LoadResult(len(latencies), errors, elapsed, latencies)


class _Http:
    """Keep-alive HTTP/1.1 connections to one URL, a request at a time on each, at most `most` open.

    Plain asyncio streams rather than httpx: at a few hundred requests a second httpx took a core of its own, and on
    two cores the load generator then slowed the service it measured.
    """

    def __init__(self, url: str, method: str, body: bytes | None, headers: dict[str, str], most: int) -> None:
        parts = httpx.URL(url)
        self.host, self.port = parts.host, parts.port or 80
        lines = [f"{method} {parts.raw_path.decode()} HTTP/1.1", f"Host: {self.host}:{self.port}"]
        lines += [f"{name}: {value}" for name, value in headers.items()]
        lines.append(f"Content-Length: {len(body or b'')}")
        self.request = ("\r\n".join(lines) + "\r\n\r\n").encode() + (body or b"")
        self.idle: asyncio.Queue[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = asyncio.Queue()
        self.opened, self.most = 0, most

    async def _take(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        if self.idle.empty() and self.opened < self.most:
            self.opened += 1
            try:
                return await asyncio.open_connection(self.host, self.port)
            except OSError:
                self.opened -= 1
                raise
        return await self.idle.get()

    async def succeeds(self) -> bool:
        """Send the request once: whether it was answered without an error status."""
        try:
            reader, writer = await self._take()
        except OSError:
            return False
        try:
            writer.write(self.request)
            head = (await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)).decode("latin-1").split("\r\n")
            fields = dict(line.lower().split(": ", 1) for line in head[1:] if ": " in line)
            await reader.readexactly(int(fields.get("content-length", "0")))  # the service never sends chunks here
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError, ValueError):
            self.opened -= 1
            writer.close()
            return False
        self.idle.put_nowait((reader, writer))
        return int(head[0].split()[1]) < 400

    async def close(self) -> None:
        while not self.idle.empty():
            _, writer = self.idle.get_nowait()
            writer.close()


async def _paced_load(
    url: str, method: str, body: bytes | None, headers: dict[str, str], rate: float, seconds: int, connections: int
) -> LoadResult:
    latencies: list[float] = []
    errors = 0
    http = _Http(url, method, body, headers, connections)
    # What an earlier run left in the service's queue (up to 32 requests at full speed) would be this run's latency.
    await asyncio.sleep(1)

    async def one(due: float) -> None:
        nonlocal errors
        errors += not await http.succeeds()
        latencies.append((time.perf_counter() - due) * 1000)

    started = time.perf_counter()
    pending = []
    with _collector_paused():
        for number in range(int(rate * seconds)):
            due = started + number / rate
            if (wait := due - time.perf_counter()) > 0:
                await asyncio.sleep(wait)
            pending.append(asyncio.create_task(one(due)))
        await asyncio.gather(*pending)
    elapsed = time.perf_counter() - started
    await http.close()
    return LoadResult(len(latencies), errors, elapsed, latencies)


def paced(
    url: str,
    *,
    rate: float,
    method: str = "GET",
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
    connections: int = 32,
    seconds: int = 10,
) -> LoadResult:
    """Send `rate` requests a second on a fixed schedule, over at most `connections` connections (an open loop).

    A closed loop (wrk) sends the next request only when an answer comes back, so its latency is the queue its own
    connections make: at 32 connections, mean latency is 32 / throughput whatever the service does. Here each
    request is timed from when it was due, so a slow answer shows in the figures rather than delaying the rest.
    """
    return asyncio.run(_paced_load(url, method, body, headers or {}, rate, seconds, connections))


def load(
    url: str,
    *,
    method: str = "GET",
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
    connections: int = 32,
    seconds: int = 10,
) -> LoadResult:
    """Drive `url` at a fixed concurrency for a fixed time: wrk when installed, else an httpx driver."""
    headers = headers or {}
    if shutil.which("wrk"):
        return _wrk(url, method, body, headers, connections, seconds)
    _warn_no_wrk()
    return asyncio.run(_httpx_load(url, method, body, headers, connections, seconds))


def load_generator() -> str:
    """What drives the closed-loop runs, for a table's heading."""
    return "wrk 2 threads" if shutil.which("wrk") else "httpx (wrk is not installed: `make bench` installs it)"


@functools.cache  # said once a process
def _warn_no_wrk() -> None:
    """Say that the figures measure a Python client, which saturates long before the server does."""
    print(
        "wrk is not installed: an httpx client drives the load, and it, not the server, sets the figures "
        "(`make bench` installs wrk)",
        file=sys.stderr,
        flush=True,
    )


def median(values: list[float]) -> float:
    return statistics.median(values) if values else 0.0


def print_table(rows: list[Row]) -> None:
    columns: list[str] = []
    for row in rows:
        for key in row.figures:
            if key not in columns:
                columns.append(key)
    header = ["benchmark", *columns, "target"]
    table = [[row.name, *(row.figures.get(c, "") for c in columns), row.target] for row in rows]
    widths = [max(len(str(x)) for x in col) for col in zip(header, *table, strict=False)]
    print("  ".join(h.ljust(w) for h, w in zip(header, widths, strict=False)))
    print("  ".join("-" * w for w in widths))
    for line in table:
        print("  ".join(str(x).ljust(w) for x, w in zip(line, widths, strict=False)))
