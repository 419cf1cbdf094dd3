"""Questionnaire: read and search the shipped template (public, so form renderers can fetch it)."""

from fastapi import Request, Response

from signpost.auth import Public
from signpost.fhir_api import search
from signpost.fhir_api.bundle import shipped_searchset
from signpost.fhir_api.io import FhirResponse
from signpost.fhir_api.routes import fhir_router
from signpost.fhir_api.terminology import read_shipped
from signpost.template import conformance

router = fhir_router(["fhir-questionnaire"])


@router.get(
    "/Questionnaire",
    operation_id="fhir_questionnaire_search",
    dependencies=[Public],
    openapi_extra=search.route_extra(search.CONFORMANCE_PARAMS),
)
def search_questionnaires(request: Request) -> FhirResponse:
    """Search Questionnaires by _id, url, version and status."""
    return FhirResponse(shipped_searchset(request, conformance.of_type("Questionnaire")))


@router.get("/Questionnaire/{resource_id}", operation_id="fhir_questionnaire_read", dependencies=[Public])
def read_questionnaire(resource_id: str, request: Request) -> Response:
    """Read a Questionnaire by id."""
    return read_shipped(request, "Questionnaire", resource_id)
