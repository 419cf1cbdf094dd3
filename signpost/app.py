"""The application factory."""

import asyncio
import contextlib
import gc
import logging
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio.to_thread
import psycopg
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError, InterfaceError, OperationalError, SQLAlchemyError
from sqlmodel import Session

from signpost import __version__, db, events
from signpost.api import prescribing as prescribing_api
from signpost.auth.deps import enforce_declared_roles
from signpost.auth.routes import router as keys_router
from signpost.cds_hooks.routes import router as cds_hooks_router
from signpost.config import Settings, get_settings
from signpost.directory.routes import router as directory_router
from signpost.errors import Problem, document_errors, install_handlers, render
from signpost.fhir_api.healthcare_service import router as fhir_healthcare_service_router
from signpost.fhir_api.location import router as fhir_location_router
from signpost.fhir_api.measure import router as fhir_measure_router
from signpost.fhir_api.organization import router as fhir_organization_router
from signpost.fhir_api.questionnaire import router as fhir_questionnaire_router
from signpost.fhir_api.questionnaire_response import router as fhir_questionnaire_response_router
from signpost.fhir_api.routes import router as fhir_base_router
from signpost.fhir_api.task import router as fhir_task_router
from signpost.fhir_api.terminology import router as fhir_terminology_router
from signpost.geography import service as geography
from signpost.indicators import retention, rollup
from signpost.indicators.routes import router as indicators_router
from signpost.openreferral.routes import router as openreferral_router
from signpost.openreferral.transfer_routes import router as directory_transfer_router
from signpost.ops import logging as ops_logging
from signpost.ops.dispatch import index_paths
from signpost.ops.metrics import Metrics
from signpost.ops.middleware import RequestMiddleware
from signpost.ops.routes import router as ops_router
from signpost.referrals.routes import router as referrals_router
from signpost.web import errors as web_errors
from signpost.web import routes as web_routes
from signpost.web.routes import router as web_router

OPENAPI_SCHEMAS: dict[str, Any] = {
    "OperationOutcome": {
        "type": "object",
        "required": ["resourceType", "issue"],
        "properties": {
            "resourceType": {"type": "string", "enum": ["OperationOutcome"]},
            "issue": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["severity", "code"],
                    "properties": {
                        "severity": {"type": "string"},
                        "code": {"type": "string"},
                        "diagnostics": {"type": "string"},
                        "expression": {"type": "array", "items": {"type": "string"}},
                    },
                },
            },
        },
    },
    "Problem": {
        "type": "object",
        "required": ["title", "status", "detail"],
        "properties": {
            "type": {"type": "string"},
            "title": {"type": "string"},
            "status": {"type": "integer"},
            "detail": {"type": "string"},
            "errors": {"type": "array", "items": {"type": "object"}},
        },
    },
}


log = logging.getLogger(__name__)

# Feed uploads may be larger than other bodies (SIGNPOST_IMPORT_MAX_BODY_BYTES).
UPLOAD_PATHS = ("/api/v1/directory/imports", "/editor/import")
# How long a thread holds the interpreter, on PostgreSQL, before one waiting for it (the event loop) is let in.
SWITCH_INTERVAL_SECONDS = 0.001


def _routers() -> list[Any]:
    """Every router the service mounts, in one place."""
    return [
        ops_router,
        fhir_base_router,
        keys_router,
        web_router,
        openreferral_router,
        directory_transfer_router,
        prescribing_api.signposts,
        indicators_router,
        fhir_measure_router,
        fhir_questionnaire_router,
        fhir_terminology_router,
        fhir_questionnaire_response_router,
        directory_router,
        fhir_healthcare_service_router,
        fhir_organization_router,
        fhir_location_router,
        prescribing_api.referrals,
        referrals_router,
        fhir_task_router,
        cds_hooks_router,
    ]


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    # What importing and building the app made lives as long as the process. Frozen once (by the first app a
    # process starts), the collector's full passes no longer walk those objects. A request makes a few thousand
    # short-lived containers, so the youngest generation is collected every 10,000 allocations rather than 700
    # (bench/README.md: "Garbage collection" has the figures and how to re-measure them).
    if gc.get_freeze_count() == 0:
        gc.collect()
        gc.freeze()
        gc.set_threshold(10_000, 10, 10)
    settings: Settings = app.state.settings
    engine = app.state.engine
    async with contextlib.AsyncExitStack() as stack:
        if engine.dialect.name == "postgresql":
            # Blocking routes queue for fewer threads (settings.worker_threads); a request's commit or rollback
            # never waits for one (db.finish), so one holding a row lock always gets to give it back.
            anyio.to_thread.current_default_thread_limiter().total_tokens = settings.worker_threads
            # The event loop lets go of the interpreter each time it polls for I/O, and to have it back waits until a
            # busy route thread is made to give it up: after 5 ms by default, 1 ms here (bench/README.md, "Soak").
            stack.callback(sys.setswitchinterval, sys.getswitchinterval())
            sys.setswitchinterval(SWITCH_INTERVAL_SECONDS)
        stack.enter_context(db.checkpointing(engine))
        writes = db.async_pool(engine)
        if writes is not None:
            await stack.enter_async_context(writes)
            app.state.async_writes = writes
            stack.callback(setattr, app.state, "async_writes", None)
        # Entered after the pool, so left before it: what it took is written before the pool closes.
        recorder = app.state.recorder = events.Recorder(engine, writes)
        stack.push_async_callback(recorder.close)
        stack.callback(setattr, app.state, "recorder", None)
        if settings.fold_seconds:
            folder = asyncio.create_task(rollup.fold_every(engine, settings.fold_seconds, writes))
            stack.push_async_callback(_stop, folder)
        if settings.retention_seconds:  # with no retention it still makes PostgreSQL's coming partitions
            retainer = asyncio.create_task(
                retention.retain_every(engine, settings.retention_seconds, settings.event_retention_months)
            )
            stack.push_async_callback(_stop, retainer)
        await anyio.to_thread.run_sync(_warm, engine)
        yield


def _warm(engine: Engine) -> None:
    """Load the geography before the first request. Loaded by the first request that places a postcode, it held up
    every request of a SQLite server for about a second (bench/README.md, "Soak"). A database not ready yet (no
    tables, or not answering) is no reason not to start: the first request then loads it, as before."""
    try:
        with Session(engine) as session:
            geography.warm(session)
    except SQLAlchemyError as error:
        log.warning("the geography was not loaded before the first request (%s)", type(error).__name__)


async def _stop(task: asyncio.Task[None]) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the app; it refuses to build if any route leaves its roles undeclared."""
    settings = settings or get_settings()
    ops_logging.configure(settings.log_level)
    app = FastAPI(
        title="Signpost",
        version=__version__,
        description="Social-determinants signposting: template, directory, routing and anonymised indicators.",
        lifespan=_lifespan,
    )
    app.state.metrics = Metrics()
    # The one source of settings and engine for this app's requests (dependencies read them here, not globals).
    app.state.settings = settings
    app.state.engine = db.get_engine(settings)
    app.state.async_writes = None  # PostgreSQL: a pool of async connections while the app runs (its lifespan)
    app.state.recorder = None  # group commit for the events, while the app runs (its lifespan)
    install_handlers(app)
    web_errors.install(app)

    @app.exception_handler(OperationalError)
    @app.exception_handler(InterfaceError)
    @app.exception_handler(psycopg.OperationalError)  # async writes, and their pool timing out
    async def _database_down(request: Request, exc: Exception) -> JSONResponse:
        return render(
            request, Problem(503, "The database is unavailable; try again shortly.", headers={"Retry-After": "5"})
        )

    @app.exception_handler(IntegrityError)
    async def _conflict(request: Request, exc: Exception) -> JSONResponse:
        return render(request, Problem(409, "The change conflicts with data already held."))

    for router in _routers():
        app.include_router(router)
    web_routes.mount_assets(app)
    enforce_declared_roles(app)
    index_paths(app.router)

    app.add_middleware(
        RequestMiddleware,
        metrics=app.state.metrics,
        max_body_bytes=settings.max_body_bytes,
        upload_paths=UPLOAD_PATHS,
        max_upload_bytes=settings.import_max_body_bytes,
    )

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            from fastapi.openapi.utils import get_openapi

            schema = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
            schema.setdefault("components", {}).setdefault("schemas", {}).update(OPENAPI_SCHEMAS)
            document_errors(schema)
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    return app
