"""ASGI middleware: request id, access log, metrics and the body size limit."""

import json
import logging
import time
import uuid
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from signpost.errors import FHIR_JSON, PROBLEM_JSON, is_fhir_path
from signpost.ops.metrics import Metrics

log = logging.getLogger("signpost.access")


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


class RequestMiddleware:
    """Wraps every HTTP request: limits the body, times it, logs one line, counts it."""

    def __init__(self, app: ASGIApp, *, metrics: Metrics, max_body_bytes: int) -> None:
        self.app = app
        self.metrics = metrics
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = uuid.uuid4().hex
        for name, value in scope.get("headers", []):
            if name == b"x-request-id" and 0 < len(value) <= 64 and value.isascii():
                request_id = value.decode()
        scope.setdefault("state", {})["request_id"] = request_id
        started = time.perf_counter()
        status = 500
        responded = False
        limit = self.max_body_bytes
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

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge
            return message

        async def send_wrapper(message: Message) -> None:
            nonlocal status, responded
            if message["type"] == "http.response.start":
                status = message["status"]
                responded = True
                headers = list(message.get("headers", []))
                headers.append((b"x-request-id", request_id.encode()))
                message["headers"] = headers
            await send(message)

        try:
            await self.app(scope, limited_receive, send_wrapper)
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
