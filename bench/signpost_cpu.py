"""`$signpost`'s CPU per request, in process: the real app through httpx's ASGI transport, no server, no network.

Each request is a new submission of `bench.signpost`'s realistic 15-answer response (so each writes its events). The
figure is process CPU time over the requests, divided by their number, so it holds the client's share too; the same
client's figure for the project floor's echo route (`bench.floor`) is given beside it. With BENCH_PROFILE=1 it prints
cProfile's top functions by cumulative time instead of the table. On SQLite, and on PostgreSQL at BENCH_SIGNPOST_PG_URL
(dropped and made again; skipped when unreachable). Requests: BENCH_CPU_REQUESTS (default 2,000).
"""

import asyncio
import cProfile
import json
import os
import pstats
import tempfile
import time
from pathlib import Path

import httpx

from bench.common import Row
from bench.signpost import _prepare, fresh_pg, realistic_response
from signpost.config import Settings

REQUESTS = int(os.environ.get("BENCH_CPU_REQUESTS", "2000"))
PROFILE = os.environ.get("BENCH_PROFILE") == "1"


async def _drive(url: str) -> tuple[float, float]:
    """µs of CPU per `$signpost` request and per echo request, through one app."""
    from fastapi import Body

    from bench.floor import BODY
    from signpost.app import create_app
    from signpost.auth import Public

    var_dir = tempfile.mkdtemp(prefix="signpost-bench-cpu-")
    key = _prepare(url, var_dir)
    settings = Settings(database_url=url, var_dir=Path(var_dir), secret_key="bench-secret", fold_seconds=0)
    app = create_app(settings)

    @app.post("/bench/echo", dependencies=[Public])
    def echo(payload: dict = Body(...)) -> dict:  # type: ignore[type-arg]
        return payload

    body = json.dumps(realistic_response()).encode()
    headers = {"content-type": "application/fhir+json", "authorization": f"Bearer {key}"}
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:

            async def signpost() -> None:
                answer = await client.post("/fhir/QuestionnaireResponse/$signpost", content=body, headers=headers)
                assert answer.status_code == 200, answer.text

            async def floor() -> None:
                answer = await client.post("/bench/echo", content=BODY, headers={"content-type": "application/json"})
                assert answer.status_code == 200, answer.text

            async def cpu(call: object, times: int) -> float:
                for _ in range(200):  # warm: caches, pools, the first statements
                    await call()  # type: ignore[operator]
                started = time.process_time()
                for _ in range(times):
                    await call()  # type: ignore[operator]
                return (time.process_time() - started) / times * 1e6

            if PROFILE:
                await cpu(signpost, 1)
                profiler = cProfile.Profile()
                profiler.enable()
                for _ in range(REQUESTS):
                    await signpost()
                profiler.disable()
                pstats.Stats(profiler).sort_stats("cumulative").print_stats(60)
                return 0.0, 0.0
            return await cpu(signpost, REQUESTS), await cpu(floor, REQUESTS)


def run(context: dict) -> list[Row]:  # type: ignore[type-arg]
    rows = []
    sqlite_url = f"sqlite:///{tempfile.mkdtemp(prefix='signpost-bench-cpu-')}/bench.db"
    targets = [("SQLite", sqlite_url), ("PostgreSQL", fresh_pg())]
    for name, url in targets:
        if url is None:
            rows.append(Row(f"$signpost CPU, {name}", {"errors": "skipped: PostgreSQL unreachable"}))
            continue
        micros, floor = asyncio.run(_drive(url))
        figures = {
            "µs/request": f"{micros:,.0f}",
            "echo µs/request": f"{floor:,.0f}",
            "x echo": f"{micros / floor:.1f}",
        }
        rows.append(Row(f"$signpost CPU in process, {name}", figures))
    return rows


if __name__ == "__main__":
    from bench.common import print_table

    print_table(run({}))
