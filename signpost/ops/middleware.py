"""ASGI middleware: request id, security headers, access log, metrics, the body size limit and the gate."""

import asyncio
import json
import logging
import os
import random
import tempfile
import time
import uuid
from collections.abc import Iterable
from typing import IO, Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from signpost.errors import FHIR_JSON, PROBLEM_JSON, is_fhir_path
from signpost.ops.headers import cors_open, preflight, secured
from signpost.ops.metrics import Metrics

log = logging.getLogger("signpost.access")


# Health checks must answer however busy the app is.
UNGATED = {"/healthz", "/readyz", "/metrics"}
WRITE_METHODS = {"POST", "PUT", "PATCH"}
FHIR_JSON_BYTES, PROBLEM_JSON_BYTES = FHIR_JSON.encode(), PROBLEM_JSON.encode()
API_MEDIA_TYPES = {
    b"application/json",
    b"application/problem+json",
    b"multipart/form-data",
    b"application/x-www-form-urlencoded",
    b"text/csv",
}


def _error_body(path: str, status: int, title: str, code: str, detail: str) -> tuple[bytes, bytes]:
    if is_fhir_path(path):
        body: dict[str, Any] = {
            "resourceType": "OperationOutcome",
            "issue": [{"severity": "error", "code": code, "diagnostics": detail}],
        }
        return json.dumps(body).encode(), FHIR_JSON_BYTES
    body = {"type": "about:blank", "title": title, "status": status, "detail": detail}
    return json.dumps(body).encode(), PROBLEM_JSON_BYTES


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


# RFC 9562: version 4 in bits 48–51 of the 128, the variant (binary 10) in bits 64–65, counting from the left.
_UUID4_CLEAR = ~((0xF000 << 64) | (0xC000 << 48))
_UUID4_SET = (0x4000 << 64) | (0x8000 << 48)


# The ids' own generator, seeded from the system's randomness and again in each forked worker. The module's shared
# one is left to those who seed or watch it (Hypothesis warns when a request moves it while a test draws).
_ids = random.Random()
os.register_at_fork(after_in_child=_ids.seed)


def new_request_id() -> str:
    """A random (version 4) UUID as 32 hex digits.

    The bits come from a Mersenne Twister (`_ids`), not from `os.urandom`, a system call a request (the id took 1.0
    µs that way, 0.4 µs this way). An id must be unique; it need not be unguessable, since a client may choose its
    own."""
    bits = _ids.getrandbits(128) & _UUID4_CLEAR | _UUID4_SET
    return f"{bits:032x}"


class RequestMiddleware:
    """Wraps every HTTP request: limits the body, admits it through the gate, adds the request id and the security
    headers (ops.headers) to its answer, times it, logs one line, counts it.

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
        if scope["method"] == "POST" and scope["path"] in self.upload_paths:
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
        started = time.perf_counter()
        # One pass over the headers for everything this middleware reads (the last of a repeated header counts).
        request_id: str | None = None
        declared: bytes | None = None
        media = b""
        chunked = False
        for name, value in scope["headers"]:
            if name == b"content-length":
                declared = value
            elif name == b"content-type":
                media = value
            elif name == b"x-request-id":
                request_id = client_request_id(value) or request_id
            elif name == b"transfer-encoding":
                chunked = True
        if request_id is None:
            request_id = new_request_id()
        scope.setdefault("state", {})["request_id"] = request_id
        request_id_header = (b"x-request-id", request_id.encode())
        path, method = scope["path"], scope["method"]
        open_cors = cors_open(path)
        if open_cors and method == "OPTIONS":
            start, body = preflight()
            start["headers"].append(request_id_header)
            await send(start)
            await send(body)
            self._record(scope, 204, started, request_id)
            return
        limit = self.body_limit(scope)
        has_body = chunked or (declared is not None and declared != b"0")

        status = 500
        responded = rejected = False
        received = 0

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
                        await self._reject(scope, send_wrapper, 413, "Content Too Large", "too-long", _too_large(limit))
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
                headers = secured(message.get("headers", ()), open_cors)
                headers.append(request_id_header)
                message["headers"] = headers
            await send(message)

        if declared is not None and declared.isdigit() and int(declared) > limit:
            await self._reject(scope, send_wrapper, 413, "Content Too Large", "too-long", _too_large(limit))
            self._record(scope, 413, started, request_id)
            return
        if has_body and method in WRITE_METHODS and path.startswith("/api/"):
            media = media.split(b";")[0].strip().lower()
            if media not in API_MEDIA_TYPES:
                named = media.decode("latin-1") or "an unnamed type"
                detail = f"Send the body as application/json, not {named}."
                await self._reject(scope, send_wrapper, 415, "Unsupported Media Type", "not-supported", detail)
                self._record(scope, 415, started, request_id)
                return

        # Read the whole body (bounded by the limit) before taking a place at the gate, so a client that
        # sends slowly holds only its own connection, never a place that others are waiting for.
        buffered: list[Message] = []
        spool: IO[bytes] | None = None  # the body, once it outgrows the ordinary limit
        size = 0
        if has_body:
            buffered, spool, size = await self._read_body(limited_receive)
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
            if path in UNGATED:
                await self.app(scope, replay_receive, send_wrapper)
            else:
                async with self.gate(scope):
                    await self.app(scope, replay_receive, send_wrapper)
        finally:
            if spool is not None:
                spool.close()
            self._record(scope, status, started, request_id)

    async def _read_body(self, receive: Receive) -> tuple[list[Message], IO[bytes] | None, int]:
        """The body's messages to replay (one, whole, or the client's disconnect), or its spool and size."""
        message = await receive()
        if message["type"] != "http.request":
            return [message], None, 0
        if not message.get("more_body", False):
            return [message], None, len(message.get("body", b""))  # the usual case: the body in one piece
        chunks: list[bytes] = []
        spool: IO[bytes] | None = None
        size = 0
        while True:
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
                    return [{"type": "http.request", "body": b"".join(chunks), "more_body": False}], None, size
                spool.seek(0)
                return [], spool, size
            message = await receive()
            if message["type"] != "http.request":  # the client left (or the limit was passed): the app hears only that
                if spool is not None:
                    spool.close()
                return [message], None, size

    async def _reject(self, scope: Scope, send: Send, status: int, title: str, code: str, detail: str) -> None:
        """Answer `status` with a problem (or OperationOutcome) through `send`, the request's wrapper of it, which adds
        the security headers and the request id as it does to every answer."""
        body, media = _error_body(scope["path"], status, title, code, detail)
        headers = [(b"content-type", media), (b"content-length", str(len(body)).encode()), (b"connection", b"close")]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    def _record(self, scope: Scope, status: int, started: float, request_id: str) -> None:
        seconds = time.perf_counter() - started
        # The route template, never the raw path: raw paths can carry identifiers.
        template = getattr(scope.get("route"), "path", None) or "unmatched"
        method = scope["method"]
        self.metrics.observe(method, template, status, seconds)
        if log.isEnabledFor(logging.INFO):
            fields = {
                "request_id": request_id,
                "method": method,
                "route": template,
                "status": status,
                "duration_ms": round(seconds * 1000, 2),
                "actor_role": scope["state"].get("actor_role"),
            }
            log.info("request", extra={"fields": fields})


def _too_large(limit: int) -> str:
    return f"The body is larger than the limit of {limit} bytes."
