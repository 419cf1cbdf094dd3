"""Errors as RFC 9457 problem JSON, or as FHIR OperationOutcome under /fhir."""

from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

FHIR_JSON = "application/fhir+json"
PROBLEM_JSON = "application/problem+json"

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
            errors.append({"loc": _loc(err.get("loc", ())), "message": str(err.get("msg"))})
        detail = "; ".join(f"{e['loc']}: {e['message']}" for e in errors) or "The request is not valid."
        return render(request, Problem(422, detail, errors=errors))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        detail = exc.detail if isinstance(exc.detail, str) else HTTPStatus(exc.status_code).phrase
        if exc.status_code == 404 and detail == "Not Found":
            detail = f"There is nothing at {request.url.path}."
        if exc.status_code == 405:
            detail = f"{request.method} is not allowed on {request.url.path}."
        return render(request, Problem(exc.status_code, detail, headers=dict(exc.headers or {})))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        import logging

        logging.getLogger("signpost.errors").exception("unhandled error on %s", request.url.path)
        return render(request, Problem(500, "An unexpected error occurred; it has been logged."))
