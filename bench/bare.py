"""The bare floor: FastAPI with nothing of the service's, answering the same JSON echo of 15 items as bench.floor.

No middleware, no settings, no database: what the framework and the server give. Every throughput in bench/ is a
share of this (`python -m bench.floor_table` prints the side-by-side table), measured in the same run.
"""

from typing import Any

from fastapi import Body, FastAPI


def bare_app() -> FastAPI:
    """A FastAPI app with only the echo and the health check the benchmark server waits for."""
    app = FastAPI()

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.post("/bench/echo")
    def echo(payload: dict[str, Any] = Body(...)) -> dict[str, Any]:
        return payload

    return app
