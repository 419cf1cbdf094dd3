"""Questionnaire: read and search the shipped template (public, so form renderers can fetch it)."""

from typing import Annotated

from fastapi import Query, Request

from signpost.auth import Public
from signpost.errors import Problem
from signpost.fhir_api.bundle import fhir_base, searchset
from signpost.fhir_api.io import FhirResponse, page_size
from signpost.fhir_api.routes import fhir_router
from signpost.template import conformance

router = fhir_router(["fhir-questionnaire"])


@router.get("/Questionnaire", operation_id="fhir_questionnaire_search", dependencies=[Public])
def search_questionnaires(
    request: Request,
    url: Annotated[str | None, Query(description="Canonical URL, optionally url|version")] = None,
    version: Annotated[str | None, Query()] = None,
    status: Annotated[str | None, Query()] = None,
    count: Annotated[int | None, Query(alias="_count")] = None,
    offset: Annotated[int, Query(alias="_offset", ge=0)] = 0,
) -> FhirResponse:
    """Search Questionnaires by url, version and status."""
    found = conformance.of_type("Questionnaire")
    if url is not None:
        canonical, _, pinned = url.partition("|")
        found = [q for q in found if q.get("url") == canonical and (not pinned or q.get("version") == pinned)]
    if version is not None:
        found = [q for q in found if q.get("version") == version]
    if status is not None:
        found = [q for q in found if q.get("status") in status.split(",")]
    size = page_size(count)
    return FhirResponse(
        searchset(
            request,
            resources=found[offset : offset + size],
            total=len(found),
            offset=offset,
            count=size,
            base=fhir_base(request),
        )
    )


@router.get("/Questionnaire/{resource_id}", operation_id="fhir_questionnaire_read", dependencies=[Public])
def read_questionnaire(resource_id: str) -> FhirResponse:
    """Read a Questionnaire by id."""
    resource = conformance.read("Questionnaire", resource_id)
    if resource is None:
        raise Problem(404, f"There is no Questionnaire/{resource_id}.")
    return FhirResponse(resource)
