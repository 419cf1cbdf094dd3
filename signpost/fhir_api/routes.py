"""FHIR base: the router every FHIR module shares, and `/fhir/metadata`."""

from enum import Enum
from typing import Any

from fastapi import APIRouter, Depends, Request

from signpost.auth import Public
from signpost.errors import FHIR_JSON
from signpost.fhir_api.bundle import fhir_base
from signpost.fhir_api.capability import capability_statement
from signpost.fhir_api.io import FhirResponse, check_format

OUTCOME_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {
        "description": phrase,
        "content": {FHIR_JSON: {"schema": {"$ref": "#/components/schemas/OperationOutcome"}}},
    }
    for status, phrase in [
        (400, "Bad request"),
        (401, "No valid key"),
        (403, "Role not allowed"),
        (404, "Not found"),
        (406, "Not acceptable"),
        (422, "Unprocessable"),
    ]
}


def fhir_router(tags: list[str | Enum]) -> APIRouter:
    """A router under /fhir answering application/fhir+json, with `_format` checked and OperationOutcome errors."""
    return APIRouter(
        prefix="/fhir",
        tags=tags,
        dependencies=[Depends(check_format)],
        default_response_class=FhirResponse,
        responses=OUTCOME_RESPONSES,
    )


router = fhir_router(["fhir"])


@router.get(
    "/metadata", operation_id="fhir_metadata", dependencies=[Public], responses={200: {"content": {FHIR_JSON: {}}}}
)
def metadata(request: Request) -> FhirResponse:
    """The CapabilityStatement: what this FHIR server really supports."""
    return FhirResponse(capability_statement(request.app, fhir_base(request)))
