"""The FHIR REST layer: one module per resource type, shared wire handling."""

from signpost.fhir_api.bundle import fhir_base, searchset
from signpost.fhir_api.io import FhirResponse, page_size, read_json_body
from signpost.fhir_api.routes import fhir_router

__all__ = ["FhirResponse", "fhir_base", "fhir_router", "page_size", "read_json_body", "searchset"]
