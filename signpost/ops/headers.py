"""Security headers on every answer; CORS open only on the Open Referral read API."""

from starlette.types import ASGIApp, Message, Receive, Scope, Send

CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)
SECURITY_HEADERS = (
    (b"x-content-type-options", b"nosniff"),
    (b"content-security-policy", CSP.encode()),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
)
OPEN_CORS = (*SECURITY_HEADERS, (b"access-control-allow-origin", b"*"))
PREFLIGHT = {
    "type": "http.response.start",
    "status": 204,
    "headers": [
        (b"access-control-allow-origin", b"*"),
        (b"access-control-allow-methods", b"GET, OPTIONS"),
        (b"access-control-allow-headers", b"*"),
        (b"access-control-max-age", b"86400"),
    ],
}


class SecurityHeadersMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        open_cors = scope["path"].startswith("/openreferral")
        if open_cors and scope["method"] == "OPTIONS":
            await send({**PREFLIGHT, "headers": list(PREFLIGHT["headers"])})  # type: ignore[call-overload]
            await send({"type": "http.response.body", "body": b""})
            return
        added = OPEN_CORS if open_cors else SECURITY_HEADERS

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                # CORS is answered here alone: an origin header set by anything else is dropped.
                headers = [h for h in message.get("headers", ()) if h[0].lower() != b"access-control-allow-origin"]
                headers += added
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)
