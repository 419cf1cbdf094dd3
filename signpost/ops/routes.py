"""Health, readiness and metrics."""

import hmac
from ipaddress import ip_address

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from sqlalchemy import text

from signpost.auth import Public, Role, allow
from signpost.auth.deps import ROLES_ATTR, bearer_token
from signpost.config import SettingsDep
from signpost.db import SessionDep, app_engine, migration_state
from signpost.errors import Problem
from signpost.ops import metrics as ops_metrics

router = APIRouter(tags=["operations"])
_analyst_or_admin = allow(Role.analyst, Role.admin)


def _loopback(request: Request) -> bool:
    try:
        return ip_address(request.client.host if request.client else "").is_loopback
    except ValueError:
        return False


async def metrics_access(request: Request, session: SessionDep, settings: SettingsDep) -> None:
    """Who may read /metrics: loopback clients only, or callers with the metrics key or an analyst or admin key."""
    # Request counts by route and status tell an outsider what the service is used for, and when.
    if settings.metrics_access == "loopback":
        if not _loopback(request):
            raise Problem(403, "/metrics answers loopback clients only here (SIGNPOST_METRICS_ACCESS=loopback).")
        return
    secret = bearer_token(request)
    if settings.metrics_key and secret and hmac.compare_digest(secret.encode(), settings.metrics_key.encode()):
        return
    await _analyst_or_admin(request, session)


setattr(metrics_access, ROLES_ATTR, getattr(_analyst_or_admin, ROLES_ATTR))


@router.get("/healthz", operation_id="healthz", dependencies=[Public])
async def healthz() -> dict[str, str]:
    """The process is up."""
    # Answered on the event loop: a plain function would wait its turn for the route threads (twice: once to run,
    # once for its answer's check), and a busy worker could fail its liveness probe.
    return {"status": "ok"}


@router.get("/readyz", operation_id="readyz", responses={503: {"description": "Not ready"}}, dependencies=[Public])
def readyz(request: Request) -> JSONResponse:
    """The database answers and its migrations are at head."""
    engine = app_engine(request)
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        current, heads = migration_state(engine)
    except Exception as exc:  # any failure to reach the database means not ready
        return JSONResponse({"status": "unavailable", "database": type(exc).__name__}, 503)
    if current != heads:
        return JSONResponse({"status": "migrating", "applied": sorted(current), "heads": sorted(heads)}, 503)
    return JSONResponse({"status": "ready", "migrations": sorted(current)})


@router.get(
    "/metrics", operation_id="metrics", response_class=PlainTextResponse, dependencies=[Depends(metrics_access)]
)
def metrics(request: Request) -> Response:
    """Prometheus text: requests and latency by route and status (a metrics, analyst or admin key, or loopback)."""
    return Response(request.app.state.metrics.render(), media_type=ops_metrics.CONTENT_TYPE)
