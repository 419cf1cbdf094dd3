"""ASGI middleware: request id, access log, metrics and the body size limit."""

import asyncio
import json
import logging
import tempfile
import time
import uuid
from collections.abc import Iterable
from typing import IO, Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from signpost.errors import FHIR_JSON, PROBLEM_JSON, is_fhir_path
from signpost.ops.metrics import Metrics

log = logging.getLogger("signpost.access")


# Health checks must answer however busy the app is.
UNGATED = {"/healthz", "/readyz", "/metrics"}
WRITE_METHODS = {"POST", "PUT", "PATCH"}
API_MEDIA_TYPES = {
    b"application/json",
    b"application/problem+json",
    b"multipart/form-data",
    b"application/x-www-form-urlencoded",
    b"text/csv",
}


class BodyTooLarge(Exception):
    pass


def _error_body(path: str, status: int, title: str, code: str, detail: str) -> tuple[bytes, bytes]:
    if is_fhir_path(path):
        body: dict[str, Any] = {
            "resourceType": "OperationOutcome",
            "issue": [{"severity": "error", "code": code, "diagnostics": detail}],
        }
        return json.dumps(body).encode(), FHIR_JSON.encode()
    body = {"type": "about:blank", "title": title, "status": status, "detail": detail}
    return json.dumps(body).encode(), PROBLEM_JSON.encode()


# A body larger than the ordinary limit (an upload to a route allowed more) waits on disk, not in memory,
# and is handed to the app in pieces of this size.
REPLAY_CHUNK = 64 * 1024


def client_request_id(value: bytes) -> str | None:
    """A client's X-Request-ID, kept only when it is a UUID (in its canonical form); anything else could carry a
    patient's details into the log, so the server's own id is used instead."""
    if len(value) > 45:
        return None
    try:
        return str(uuid.UUID(value.decode("ascii")))
    except ValueError:
        return None


class RequestMiddleware:
    """Wraps every HTTP request: limits the body, times it, logs one line, counts it.

    Every body is capped at `max_body_bytes`, except a POST to one of `upload_paths` (feed imports), which
    may be up to `max_upload_bytes`.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        metrics: Metrics,
        max_body_bytes: int,
        upload_paths: Iterable[str] = (),
        max_upload_bytes: int | None = None,
    ) -> None:
        self.app = app
        self.metrics = metrics
        self.max_body_bytes = max_body_bytes
        self.upload_paths = frozenset(upload_paths)
        self.max_upload_bytes = max(max_body_bytes, max_upload_bytes or 0)
        self._gate: asyncio.Semaphore | None = None

    def body_limit(self, scope: Scope) -> int:
        """The largest body this request may send."""
        if scope.get("method") == "POST" and scope.get("path") in self.upload_paths:
            return self.max_upload_bytes
        return self.max_body_bytes

    def gate(self, scope: Scope) -> asyncio.Semaphore:
        """At most about half the connection pool's worth of requests in the app at once; the rest wait here.

        Without it, more requests than the pool holds each take a thread and block in it waiting for a
        connection, while the requests that hold connections need a thread to finish and give them back:
        every thread waits until the pool times out (30 s). Waiting here costs no thread and no connection.
        """
        if self._gate is None:
            pool = scope["app"].state.engine.pool  # the engine of the app this middleware wraps
            size = getattr(pool, "size", lambda: 0)() + max(0, getattr(pool, "_max_overflow", 0))
            self._gate = asyncio.Semaphore(max(2, size // 2) if size else 1000)
        return self._gate

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = uuid.uuid4().hex
        for name, value in scope.get("headers", []):
            if name == b"x-request-id":
                request_id = client_request_id(value) or request_id
        scope.setdefault("state", {})["request_id"] = request_id
        started = time.perf_counter()
        status = 500
        responded = False
        limit = self.body_limit(scope)
        received = 0

        headers = dict(scope.get("headers", []))
        declared = headers.get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await self._reject(
                scope,
                send,
                413,
                "Content Too Large",
                "too-long",
                f"The body is larger than the limit of {limit} bytes.",
            )
            self._record(scope, 413, started, request_id)
            return
        media = headers.get(b"content-type", b"").split(b";")[0].strip().lower()
        if (
            scope.get("path", "").startswith("/api/")
            and scope.get("method") in WRITE_METHODS
            and (declared not in (None, b"0") or b"transfer-encoding" in headers)
            and media not in API_MEDIA_TYPES
        ):
            named = media.decode("latin-1") or "an unnamed type"
            await self._reject(
                scope,
                send,
                415,
                "Unsupported Media Type",
                "not-supported",
                f"Send the body as application/json, not {named}.",
            )
            self._record(scope, 415, started, request_id)
            return

        rejected = False

        async def limited_receive() -> Message:
            nonlocal received, rejected, status
            if rejected:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    # Answer 413 here and tell the app the client has gone. Raising instead would not work:
                    # FastAPI's body parser turns any exception from receive() into a 400.
                    if not responded:
                        await self._reject(
                            scope,
                            send,
                            413,
                            "Content Too Large",
                            "too-long",
                            f"The body is larger than the limit of {limit} bytes.",
                        )
                    rejected, status = True, 413
                    return {"type": "http.disconnect"}
            return message

        async def send_wrapper(message: Message) -> None:
            nonlocal status, responded
            if rejected:
                return  # the 413 has been sent; whatever the app says after is for nobody
            if message["type"] == "http.response.start":
                status = message["status"]
                responded = True
                headers = list(message.get("headers", []))
                headers.append((b"x-request-id", request_id.encode()))
                message["headers"] = headers
            await send(message)

        # Read the whole body (bounded by the limit) before taking a place at the gate, so a client that
        # sends slowly holds only its own connection, never a place that others are waiting for.
        buffered: list[Message] = []
        spool: IO[bytes] | None = None  # the body, once it outgrows the ordinary limit
        if declared not in (None, b"0") or b"transfer-encoding" in headers:
            chunks: list[bytes] = []
            size = 0
            while True:
                message = await limited_receive()
                if message["type"] != "http.request":
                    buffered.append(message)
                    if spool is not None:  # the client left: the app hears only that
                        spool.close()
                        spool = None
                    break
                chunk = message.get("body", b"")
                size += len(chunk)
                if spool is None and size > self.max_body_bytes:
                    spool = tempfile.SpooledTemporaryFile(max_size=self.max_body_bytes)
                    spool.writelines(chunks)
                    chunks = []
                if spool is not None:
                    spool.write(chunk)
                else:
                    chunks.append(chunk)
                if not message.get("more_body", False):
                    if spool is None:
                        buffered.insert(0, {"type": "http.request", "body": b"".join(chunks), "more_body": False})
                    else:
                        spool.seek(0)
                    break
            if rejected:
                if spool is not None:
                    spool.close()
                self._record(scope, 413, started, request_id)
                return

        async def replay_receive() -> Message:
            if spool is not None and not spool.closed:
                chunk = spool.read(REPLAY_CHUNK)
                more = spool.tell() < size
                if not more:
                    spool.close()
                return {"type": "http.request", "body": chunk, "more_body": more}
            return buffered.pop(0) if buffered else await limited_receive()

        try:
            if scope.get("path") in UNGATED:
                await self.app(scope, replay_receive, send_wrapper)
            else:
                async with self.gate(scope):
                    await self.app(scope, replay_receive, send_wrapper)
        except BodyTooLarge:
            if not responded:
                await self._reject(
                    scope,
                    send,
                    413,
                    "Content Too Large",
                    "too-long",
                    f"The body is larger than the limit of {limit} bytes.",
                )
            status = 413
        finally:
            if spool is not None:
                spool.close()
            self._record(scope, status, started, request_id)

    async def _reject(self, scope: Scope, send: Send, status: int, title: str, code: str, detail: str) -> None:
        body, media = _error_body(scope.get("path", ""), status, title, code, detail)
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", media),
                    (b"content-length", str(len(body)).encode()),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})

    def _record(self, scope: Scope, status: int, started: float, request_id: str) -> None:
        seconds = time.perf_counter() - started
        route = scope.get("route")
        # The route template, never the raw path: raw paths can carry identifiers.
        template = getattr(route, "path", None) or "unmatched"
        method = scope.get("method", "")
        self.metrics.observe(method, template, status, seconds)
        state = scope.get("state", {})
        log.info(
            "request",
            extra={
                "fields": {
                    "request_id": request_id,
                    "method": method,
                    "route": template,
                    "status": status,
                    "duration_ms": round(seconds * 1000, 2),
                    "actor_role": state.get("actor_role"),
                }
            },
        )
