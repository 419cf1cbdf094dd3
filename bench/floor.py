"""The floors: the bare framework (bench.bare) and the service's own app and middleware, each answering a trivial
JSON echo of 15 items on what `signpost serve` runs (uvloop, httptools).

Every later throughput figure is a share of the bare floor, measured in the same run; the project's floor beside it
says what the service's middleware costs (target: at least 0.9 of bare).
"""

import json
import os

from fastapi import Body, FastAPI

from bench.common import FAST, LoadResult, Row, load, paced, server
from signpost.auth import Public
from signpost.auth.deps import enforce_declared_roles

BODY = json.dumps({f"item{i}": f"value number {i}" for i in range(15)}).encode()
SECONDS = int(os.environ.get("BENCH_SECONDS", "10"))
BARE = "bench.bare:bare_app"
# The paced rows send this share of the bare floor's closed-loop rate (issue 22's latency target), `$signpost`'s and
# the bare echo's alike.
PACED_SHARE = 0.25
PACED = f"{PACED_SHARE} bare floor"
PROJECT = "bench.floor:echo_app"


def echo_app() -> FastAPI:
    """The real app (middleware, handlers, settings) with one extra public echo route."""
    from signpost.app import create_app

    return add_echo(create_app())


def add_echo(app: FastAPI) -> FastAPI:
    """`app` with the echo route, its roles declared and enforced as the app's own routes' are."""

    @app.post("/bench/echo", dependencies=[Public])
    def echo(payload: dict = Body(...)) -> dict:  # type: ignore[type-arg]
        return payload

    enforce_declared_roles(app)
    return app


def measure(
    app: str = PROJECT,
    stack: tuple[str, str] = FAST,
    connections: int = 32,
    seconds: int = SECONDS,
    rate: float | None = None,
) -> LoadResult:
    """Closed-loop throughput of the echo on `app` (`module:factory`), after a 2 s warm-up; with `rate`, the echo sent
    that many requests a second on a fixed schedule instead (the machine's own latency at that rate, for the paced
    rows of `$signpost` to be read against)."""
    # No database behind the echo, so nothing to fold into the roll-ups either.
    with server(app, env={"SIGNPOST_FOLD_SECONDS": "0"}, stack=stack) as base:
        url = base + "/bench/echo"
        options = {"method": "POST", "body": BODY, "headers": {"content-type": "application/json"}}
        load(url, connections=connections, seconds=2, **options)  # type: ignore[arg-type]
        if rate is not None:
            return paced(url, rate=rate, connections=connections, seconds=seconds, **options)  # type: ignore[arg-type]
        return load(url, connections=connections, seconds=seconds, **options)  # type: ignore[arg-type]


def share(rps: float, of: float | None) -> str:
    return f"{rps / of:.2f}" if of else "n/a"


def run(context: dict) -> list[Row]:  # type: ignore[type-arg]
    bare = measure(BARE)
    project = measure(PROJECT)
    context["bare_rps"], context["floor_rps"] = bare.rps, project.rps
    return [
        Row("bare floor: FastAPI JSON echo, 15 items, 32 conns", {**bare.figures(), "x bare": "1.00"}, "reference"),
        Row(
            "project floor: the same through the service's app",
            {**project.figures(), "x bare": share(project.rps, bare.rps)},
            "≥ 0.90 bare",
        ),
    ]
