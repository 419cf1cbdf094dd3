"""Errors as RFC 9457 problem JSON, or as FHIR OperationOutcome under /fhir."""

from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from sqlalchemy.exc import DataError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect

FHIR_JSON = "application/fhir+json"
PROBLEM_JSON = "application/problem+json"
# Where each OpenAPI operation records its route's roles (auth.deps writes it; the error responses read it).
ROLES_KEY = "x-signpost-roles"

# The fixed map from HTTP status to OperationOutcome issue code (FHIR R4 issue-type).
ISSUE_CODE_FOR_STATUS = {
    400: "invalid",
    401: "login",
    403: "forbidden",
    404: "not-found",
    405: "not-supported",
    406: "not-supported",
    409: "conflict",
    410: "deleted",
    412: "conflict",
    413: "too-long",
    415: "not-supported",
    422: "processing",
    428: "required",
    429: "throttled",
    503: "transient",
}


class Problem(Exception):
    """An error a client caused or must know about, with the words that explain it."""

    def __init__(
        self,
        status: int,
        detail: str,
        *,
        title: str | None = None,
        errors: list[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
        issues: list[dict[str, Any]] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.title = title or HTTPStatus(status).phrase
        self.errors = errors or []
        self.headers = headers or {}
        self.issues = issues  # ready-made OperationOutcome issues, for FHIR validation results
        self.extra = extra or {}


def is_fhir_path(path: str) -> bool:
    return path == "/fhir" or path.startswith("/fhir/")


def operation_outcome(issues: list[dict[str, Any]]) -> dict[str, Any]:
    return {"resourceType": "OperationOutcome", "issue": issues}


def outcome_issue(severity: str, code: str, diagnostics: str, expression: list[str] | None = None) -> dict[str, Any]:
    issue: dict[str, Any] = {"severity": severity, "code": code, "diagnostics": diagnostics}
    if expression:
        issue["expression"] = expression
    return issue


def render(request: Request, problem: Problem) -> JSONResponse:
    """Answer a Problem in the dialect of the path it arrived on."""
    if is_fhir_path(request.url.path):
        issues = problem.issues or [
            outcome_issue(
                "error",
                ISSUE_CODE_FOR_STATUS.get(problem.status, "exception"),
                problem.detail,
                [e["loc"] for e in problem.errors if e.get("loc")] or None,
            )
        ]
        return JSONResponse(operation_outcome(issues), problem.status, headers=problem.headers, media_type=FHIR_JSON)
    body: dict[str, Any] = {
        "type": "about:blank",
        "title": problem.title,
        "status": problem.status,
        "detail": problem.detail,
    }
    if problem.errors:
        body["errors"] = problem.errors
    body.update(problem.extra)
    return JSONResponse(body, problem.status, headers=problem.headers, media_type=PROBLEM_JSON)


def _loc(loc: tuple[Any, ...] | list[Any]) -> str:
    parts = [str(p) for p in loc if p not in ("body",)]
    return ".".join(parts) if parts else "body"


# How to put a value right, by the field's own name, where pydantic's message would show a regular expression.
_HOW_TO_FIX = {
    "url": "enter a full address starting https://",
    "website": "enter a full address starting https://",
    "email": "enter an email address like name@example.org",
    "assurer_email": "enter an email address like name@example.org",
    "opens_at": "enter a time like 09:00",
    "closes_at": "enter a time like 17:00",
    "area_code": "enter the area's GSS code, like E08000035",
    "code": "enter a language code, like pl for Polish",
}


def _in_words(err: dict[str, Any]) -> str:
    """A validation message a person can act on: no regular expressions, no "Value error," prefix."""
    loc = err.get("loc") or ()
    field = str(loc[-1]) if loc else ""
    if err.get("type") in ("string_pattern_mismatch", "time_parsing", "time_type") and field in _HOW_TO_FIX:
        return _HOW_TO_FIX[field]
    return str(err.get("msg")).removeprefix("Value error, ")


def install_handlers(app: FastAPI) -> None:
    """Every error leaves as problem JSON or OperationOutcome; nothing leaves as a bare 500 page."""

    @app.exception_handler(Problem)
    async def _problem(request: Request, exc: Problem) -> JSONResponse:
        return render(request, exc)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = []
        for err in exc.errors():
            if err.get("type") == "json_invalid":
                return render(request, Problem(400, "The body is not valid JSON: " + str(err.get("msg"))))
            errors.append({"loc": _loc(err.get("loc", ())), "message": _in_words(err)})
        detail = "; ".join(f"{e['loc']}: {e['message']}" for e in errors) or "The request is not valid."
        # FHIR R4 (3.1.0.4): a request the server cannot parse is 400; 422 is for content that breaks a rule.
        return render(request, Problem(400 if is_fhir_path(request.url.path) else 422, detail, errors=errors))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        detail = exc.detail if isinstance(exc.detail, str) else HTTPStatus(exc.status_code).phrase
        if exc.status_code == 404 and detail == "Not Found":
            detail = f"There is nothing at {request.url.path}."
        if exc.status_code == 405:
            detail = f"{request.method} is not allowed on {request.url.path}."
        return render(request, Problem(exc.status_code, detail, headers=dict(exc.headers or {})))

    @app.exception_handler(OverflowError)
    @app.exception_handler(DataError)
    async def _out_of_range(request: Request, exc: Exception) -> JSONResponse:
        # A number past what the database column holds (an id of 2**64, say): the client's to correct.
        # SQLite's driver raises OverflowError, PostgreSQL's a DataError ("integer out of range").
        return render(request, Problem(422, "A value in the request is out of the range this service stores."))

    @app.exception_handler(PoolTimeout)
    async def _busy(request: Request, exc: Exception) -> JSONResponse:
        # Every database connection is in use and none came free in time: busy, not broken.
        return render(request, Problem(503, "The service is busy; try again shortly.", headers={"Retry-After": "2"}))

    @app.exception_handler(ClientDisconnect)
    async def _gone(request: Request, exc: Exception) -> Response:
        # The client left (or the body limit cut it off): nobody reads this answer, and it is no server fault.
        return Response(status_code=400)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        import logging

        # The route template, never the raw path: a path can carry an identifier.
        route = getattr(request.scope.get("route"), "path", None) or "an unmatched path"
        logging.getLogger("signpost.errors").exception("unhandled error on %s %s", request.method, route)
        return render(request, Problem(500, "An unexpected error occurred; it has been logged."))


def document_errors(spec: dict[str, Any]) -> None:
    """Make the OpenAPI say what errors really look like: problem JSON, or OperationOutcome under /fhir.

    FastAPI documents 422 as its own `HTTPValidationError`, which this service never sends; a contract
    checker (and a client generated from the spec) would then expect the wrong body.
    """
    for path, item in spec.get("paths", {}).items():
        if is_fhir_path(path):
            media, ref = FHIR_JSON, "#/components/schemas/OperationOutcome"
        else:
            media, ref = PROBLEM_JSON, "#/components/schemas/Problem"
        error = {media: {"schema": {"$ref": ref}}}
        for operation in item.values():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            responses = operation["responses"]
            public = "public" in operation.get(ROLES_KEY, [])
            wanted = {"4XX": "A request the client can correct", "503": "The database is unavailable"}
            if not public:
                wanted = {"401": "No valid API key", "403": "The key's role may not do this", **wanted}
            for code, description in wanted.items():
                responses.setdefault(code, {"description": description})
            for code, response in responses.items():
                if code[0] in "45":
                    response["content"] = dict(error)
    schemas = spec.get("components", {}).get("schemas", {})
    text = repr(spec["paths"])
    for unused in ("HTTPValidationError", "ValidationError"):
        if unused in schemas and f"/{unused}'" not in text:
            del schemas[unused]
