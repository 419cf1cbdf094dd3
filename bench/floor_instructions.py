"""The two floors counted in machine instructions a request, at the server: the bare echo (bench.bare) and the project's
(bench.floor), each served by uvicorn as `signpost serve` runs it (uvloop, httptools) under valgrind's callgrind.

Callgrind counts only while BENCH_FLOOR_REQUESTS requests (default 1,920) arrive over 32 keep-alive connections from a
client outside it, after 320 uncounted ones. On a shared two-core machine the floors' throughput moves by a tenth from
one 10 s run to the next, more than the middleware costs; a count does not depend on what else the machine runs, so the
project floor's share can be compared across commits and machines. It is a share of instructions, not of throughput:
it leaves out waiting, and it read 0.92 on a commit whose wrk runs read 0.88–0.90 (bench/README.md).

About a minute. Needs valgrind (Debian's package valgrind); skipped without it.
"""

import asyncio
import os
import shutil
import sys
import tempfile
from pathlib import Path

from bench.common import Row, callgrind_control, server_process
from bench.floor import BARE, BODY, PROJECT

REQUESTS = int(os.environ.get("BENCH_FLOOR_REQUESTS", "1920"))
CONNECTIONS = 32
WARM_UP = 320


async def _load(port: int, requests: int) -> None:
    """`requests` echo requests, shared among the connections, each connection sending its next after an answer."""
    request = (
        f"POST /bench/echo HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(BODY)}\r\n\r\n"
    ).encode() + BODY

    async def connection(count: int) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        for _ in range(count):
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            if not head.startswith(b"HTTP/1.1 200"):
                raise RuntimeError(f"the echo answered {head[:40]!r}")
            length = next(line for line in head.lower().split(b"\r\n") if line.startswith(b"content-length:"))
            await reader.readexactly(int(length.split(b":")[1]))
        writer.close()

    await asyncio.gather(*(connection(requests // CONNECTIONS) for _ in range(CONNECTIONS)))


def count(app: str) -> int:
    """Instructions a request for the echo of `app` (`module:factory`), whole server included."""
    with tempfile.TemporaryDirectory(prefix="signpost-floor-") as folder:
        counts = Path(folder) / "callgrind.out"
        callgrind = ["valgrind", "--tool=callgrind", "--instr-atstart=no", f"--callgrind-out-file={counts}"]
        env = {"SIGNPOST_FOLD_SECONDS": "0", "SIGNPOST_VAR_DIR": folder}
        # Python starts some 50 times slower under callgrind.
        with server_process(app, env=env, under=callgrind, start_seconds=300) as (base, proc):
            port = int(base.rsplit(":", 1)[1])
            asyncio.run(_load(port, WARM_UP))
            callgrind_control("--instr=on", pid=proc.pid)
            asyncio.run(_load(port, REQUESTS))
            callgrind_control("--instr=off", pid=proc.pid)
        totals = next(line for line in counts.read_text().splitlines() if line.startswith("totals:"))
    return int(totals.split()[1]) // (REQUESTS // CONNECTIONS * CONNECTIONS)


def run(context: dict) -> list[Row]:  # type: ignore[type-arg]
    if shutil.which("valgrind") is None:
        print("bench.floor_instructions needs valgrind (Debian's package valgrind): skipped", file=sys.stderr)
        return []
    print(f"bench.floor_instructions: two servers under callgrind, {REQUESTS:,} requests each …", file=sys.stderr)
    bare, project = count(BARE), count(PROJECT)
    return [
        Row(
            "bare floor, instructions a request (callgrind)",
            {"instructions": f"{bare:,}", "x bare": "1.00"},
            "reference",
        ),
        Row(
            "project floor, instructions a request (callgrind)",
            {"instructions": f"{project:,}", "x bare": f"{bare / project:.2f}"},
            "≥ 0.90 bare",
        ),
    ]


if __name__ == "__main__":
    from bench.common import print_table

    print_table(run({}))
