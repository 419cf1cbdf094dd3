"""Security headers on every answer; CORS open only on the Open Referral read API.

`ops.middleware.RequestMiddleware` applies them as each answer starts: one wrapper of `send` adds everything the
service adds to an answer (a second middleware for these cost the project floor's echo about 2 % of its
instructions, bench/README.md).
"""

from collections.abc import Iterable

from starlette.types import Message

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
PREFLIGHT_HEADERS = (
    (b"access-control-allow-origin", b"*"),
    (b"access-control-allow-methods", b"GET, OPTIONS"),
    (b"access-control-allow-headers", b"*"),
    (b"access-control-max-age", b"86400"),
)


def cors_open(path: str) -> bool:
    """Whether answers on `path` are open to pages of any origin (the Open Referral read API)."""
    return path.startswith("/openreferral")


def preflight() -> list[Message]:
    """The answer to a CORS preflight on the Open Referral read API: GET from any origin."""
    return [
        {"type": "http.response.start", "status": 204, "headers": list(PREFLIGHT_HEADERS)},
        {"type": "http.response.body", "body": b""},
    ]


def secured(headers: Iterable[tuple[bytes, bytes]], open_cors: bool) -> list[tuple[bytes, bytes]]:
    """An answer's headers with the security headers added. CORS is answered here alone: an origin header set by
    anything else is dropped."""
    kept = [h for h in headers if h[0].lower() != b"access-control-allow-origin"]
    kept += OPEN_CORS if open_cors else SECURITY_HEADERS
    return kept
