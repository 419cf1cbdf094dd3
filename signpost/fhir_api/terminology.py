"""Terminology: CodeSystem, ValueSet (with $expand) and ConceptMap reads, public as the design says."""

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import Query

from signpost.auth import Public
from signpost.errors import Problem
from signpost.fhir_api.io import FhirResponse
from signpost.fhir_api.routes import fhir_router
from signpost.template import conformance

router = fhir_router(["fhir-terminology"])


def _read(resource_type: str, resource_id: str) -> dict[str, Any]:
    resource = conformance.read(resource_type, resource_id)
    if resource is None:
        raise Problem(404, f"There is no {resource_type}/{resource_id}.")
    return resource


def _expand(valueset: dict[str, Any], text: str | None) -> dict[str, Any]:
    contains = [
        {"system": system, "code": code, "display": display}
        for system, code, display in conformance.expansion(valueset["url"])
        if not text or text.lower() in display.lower() or text.lower() in code.lower()
    ]
    return {
        **valueset,
        "expansion": {
            "timestamp": datetime.now(UTC).isoformat(timespec="seconds"),
            "total": len(contains),
            "contains": contains,
        },
    }


@router.get("/CodeSystem/{resource_id}", operation_id="fhir_codesystem_read", dependencies=[Public])
def read_codesystem(resource_id: str) -> FhirResponse:
    """Read a CodeSystem by id."""
    return FhirResponse(_read("CodeSystem", resource_id))


@router.get("/ValueSet/$expand", operation_id="fhir_valueset_expand_by_url", dependencies=[Public])
def expand_valueset_by_url(
    url: Annotated[str, Query(description="Canonical URL of the ValueSet, optionally url|version")],
    filter: Annotated[str | None, Query(description="Text the codes' displays must contain")] = None,
) -> FhirResponse:
    """Expand a ValueSet named by its canonical URL (what SDC form renderers call)."""
    valueset = conformance.by_url("ValueSet", url)
    if valueset is None:
        raise Problem(404, f"There is no ValueSet with url {url}.", errors=[{"loc": "url", "message": "unknown"}])
    return FhirResponse(_expand(valueset, filter))


@router.get("/ValueSet/{resource_id}/$expand", operation_id="fhir_valueset_expand", dependencies=[Public])
def expand_valueset(
    resource_id: str,
    filter: Annotated[str | None, Query(description="Text the codes' displays must contain")] = None,
) -> FhirResponse:
    """Expand a ValueSet by id."""
    return FhirResponse(_expand(_read("ValueSet", resource_id), filter))


@router.get("/ValueSet/{resource_id}", operation_id="fhir_valueset_read", dependencies=[Public])
def read_valueset(resource_id: str) -> FhirResponse:
    """Read a ValueSet by id."""
    return FhirResponse(_read("ValueSet", resource_id))


@router.get("/ConceptMap/{resource_id}", operation_id="fhir_conceptmap_read", dependencies=[Public])
def read_conceptmap(resource_id: str) -> FhirResponse:
    """Read a ConceptMap by id (the routing rules are ConceptMap/need-to-service-category)."""
    return FhirResponse(_read("ConceptMap", resource_id))
