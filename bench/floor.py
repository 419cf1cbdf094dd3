"""The framework floor: the service's own app and middleware answering a trivial JSON echo of 15 items.

Every later throughput figure is a ratio to this, measured in the same run.
"""

import json
import os

from fastapi import Body, FastAPI

from bench.common import LoadResult, Row, load, server
from signpost.auth import Public

BODY = json.dumps({f"item{i}": f"value number {i}" for i in range(15)}).encode()
SECONDS = int(os.environ.get("BENCH_SECONDS", "10"))


def echo_app() -> FastAPI:
    """The real app (middleware, handlers, settings) with one extra public echo route."""
    from signpost.app import create_app

    app = create_app()

    @app.post("/bench/echo", dependencies=[Public])
    def echo(payload: dict = Body(...)) -> dict:  # type: ignore[type-arg]
        return payload

    return app


def measure(connections: int = 32, seconds: int = SECONDS) -> LoadResult:
    # No database behind the echo, so nothing to fold into the roll-ups either.
    with server("bench.floor:echo_app", env={"SIGNPOST_FOLD_SECONDS": "0"}) as base:
        load(
            base + "/bench/echo",
            method="POST",
            body=BODY,
            headers={"content-type": "application/json"},
            connections=connections,
            seconds=2,
        )
        return load(
            base + "/bench/echo",
            method="POST",
            body=BODY,
            headers={"content-type": "application/json"},
            connections=connections,
            seconds=seconds,
        )


def run(context: dict) -> list[Row]:  # type: ignore[type-arg]
    result = measure()
    context["floor_rps"] = result.rps
    return [Row("floor: JSON echo, 15 items, 32 conns", result.figures(), "reference (1.00)")]
