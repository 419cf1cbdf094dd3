"""Terminology: CodeSystem, ValueSet (with $expand, GET or POST) and ConceptMap reads, public as the design says."""

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import Query, Request, Response

from signpost.auth import Public
from signpost.errors import Problem
from signpost.fhir_api import search
from signpost.fhir_api.bundle import shipped_searchset
from signpost.fhir_api.io import FhirResponse, content_tag, read_json_body, read_response
from signpost.fhir_api.parameters import operation_inputs
from signpost.fhir_api.routes import fhir_router
from signpost.template import conformance

router = fhir_router(["fhir-terminology"])
EXPAND = {"x-fhir-operation-definition": "http://hl7.org/fhir/OperationDefinition/ValueSet-expand"}


def _read(resource_type: str, resource_id: str) -> dict[str, Any]:
    resource = conformance.read(resource_type, resource_id)
    if resource is None:
        raise Problem(404, f"There is no {resource_type}/{resource_id}.")
    return resource


def read_shipped(request: Request, resource_type: str, resource_id: str) -> Response:
    """A read of a resource shipped in fhir/: ETag from its content, 304 for If-None-Match."""
    resource = _read(resource_type, resource_id)
    return read_response(request, resource, etag=content_tag(resource))


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


def _by_url(url: str) -> dict[str, Any]:
    valueset = conformance.by_url("ValueSet", url)
    if valueset is None:
        raise Problem(404, f"There is no ValueSet with url {url}.", errors=[{"loc": "url", "message": "unknown"}])
    return valueset


@router.get("/CodeSystem/{resource_id}", operation_id="fhir_codesystem_read", dependencies=[Public])
def read_codesystem(resource_id: str, request: Request) -> Response:
    """Read a CodeSystem by id."""
    return read_shipped(request, "CodeSystem", resource_id)


@router.get(
    "/ValueSet/$expand", operation_id="fhir_valueset_expand_by_url", dependencies=[Public], openapi_extra=EXPAND
)
def expand_valueset_by_url(
    url: Annotated[str, Query(description="Canonical URL of the ValueSet, optionally url|version")],
    filter: Annotated[str | None, Query(description="Text the codes' displays must contain")] = None,
) -> FhirResponse:
    """Expand a ValueSet named by its canonical URL (what SDC form renderers call)."""
    return FhirResponse(_expand(_by_url(url), filter))


@router.post(
    "/ValueSet/$expand",
    operation_id="fhir_valueset_expand_by_url_post",
    dependencies=[Public],
    openapi_extra={
        **EXPAND,
        "requestBody": {"required": True, "content": {"application/fhir+json": {"schema": {"type": "object"}}}},
    },
)
async def expand_valueset_post(request: Request) -> FhirResponse:
    """Expand a ValueSet named in a Parameters body (`url`, or `valueSet` itself, and `filter`)."""
    inputs = operation_inputs(await read_json_body(request), names={"url": "uri", "filter": "string"})
    if "url" not in inputs:
        raise Problem(400, "Parameters must name the ValueSet: a 'url' parameter (valueUri).")
    return FhirResponse(_expand(_by_url(inputs["url"]), inputs.get("filter")))


@router.get(
    "/ValueSet/{resource_id}/$expand", operation_id="fhir_valueset_expand", dependencies=[Public], openapi_extra=EXPAND
)
def expand_valueset(
    resource_id: str,
    filter: Annotated[str | None, Query(description="Text the codes' displays must contain")] = None,
) -> FhirResponse:
    """Expand a ValueSet by id."""
    return FhirResponse(_expand(_read("ValueSet", resource_id), filter))


@router.get("/ValueSet/{resource_id}", operation_id="fhir_valueset_read", dependencies=[Public])
def read_valueset(resource_id: str, request: Request) -> Response:
    """Read a ValueSet by id."""
    return read_shipped(request, "ValueSet", resource_id)


@router.get("/ConceptMap/{resource_id}", operation_id="fhir_conceptmap_read", dependencies=[Public])
def read_conceptmap(resource_id: str, request: Request) -> Response:
    """Read a ConceptMap by id (the routing rules are ConceptMap/need-to-service-category)."""
    return read_shipped(request, "ConceptMap", resource_id)


@router.get("/OperationDefinition/{resource_id}", operation_id="fhir_operationdefinition_read", dependencies=[Public])
def read_operation_definition(resource_id: str, request: Request) -> Response:
    """Read an OperationDefinition by id (the operations the CapabilityStatement names)."""
    return read_shipped(request, "OperationDefinition", resource_id)


@router.get("/StructureDefinition/{resource_id}", operation_id="fhir_structuredefinition_read", dependencies=[Public])
def read_structure_definition(resource_id: str, request: Request) -> Response:
    """Read a StructureDefinition by id (the project's extensions)."""
    return read_shipped(request, "StructureDefinition", resource_id)


def _search_route(resource_type: str) -> None:
    @router.get(
        f"/{resource_type}",
        operation_id=f"fhir_{resource_type.lower()}_search",
        dependencies=[Public],
        openapi_extra=search.route_extra(search.CONFORMANCE_PARAMS),
        summary=f"Search {resource_type}",
    )
    def search_shipped(request: Request) -> FhirResponse:
        """Search the shipped resources of this type by _id, url, version and status."""
        return FhirResponse(shipped_searchset(request, conformance.of_type(resource_type)))


for _type in ("CodeSystem", "ValueSet", "ConceptMap", "OperationDefinition", "StructureDefinition"):
    _search_route(_type)
