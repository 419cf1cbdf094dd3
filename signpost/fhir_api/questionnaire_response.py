"""QuestionnaireResponse operations: `$validate`, `$extract` and `$signpost`."""

from typing import Annotated, Any

from fastapi import Depends, Request
from sqlmodel import Session

from signpost.auth import Caller, Role, allow, checks_caller
from signpost.config import Settings
from signpost.errors import Problem
from signpost.fhir_api.bundle import fhir_base
from signpost.fhir_api.io import FhirResponse, read_json_body
from signpost.fhir_api.routes import fhir_router
from signpost.fhir_api.signposting import bundle as signpost_answer
from signpost.fhir_api.signposting import unwrap
from signpost.flows import signposting
from signpost.template import bundle, conformance, observations, validate

router = fhir_router(["fhir-questionnaire-response"])

TemplateReaderDep = Annotated[Caller, Depends(allow(Role.clinician, Role.prescriber, Role.editor))]
BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/fhir+json": {
                "schema": {"type": "object", "description": "QuestionnaireResponse or Parameters"}
            }
        },
    },
    "x-fhir-operation-definition": f"{conformance.BASE}/OperationDefinition/QuestionnaireResponse-signpost",
}


@router.post(
    "/QuestionnaireResponse/$validate",
    operation_id="fhir_questionnaire_response_validate",
    openapi_extra={
        "requestBody": BODY["requestBody"],
        "x-fhir-operation-definition": "http://hl7.org/fhir/OperationDefinition/Resource-validate",
    },
)
async def validate_response(request: Request, caller: TemplateReaderDep) -> FhirResponse:
    """Check a QuestionnaireResponse against the template; an OperationOutcome lists every problem."""
    found = unwrap(await read_json_body(request), names=("resource", "response"))
    checked, issues = validate(found.response)
    if checked is not None:
        issues = [
            {"severity": "information", "code": "informational", "diagnostics": "The response fits the template."}
        ]
    return FhirResponse({"resourceType": "OperationOutcome", "issue": issues})


@router.post(
    "/QuestionnaireResponse/$extract",
    operation_id="fhir_questionnaire_response_extract",
    openapi_extra={
        "requestBody": BODY["requestBody"],
        "x-fhir-operation-definition": f"{conformance.BASE}/OperationDefinition/QuestionnaireResponse-extract",
    },
)
async def extract_response(request: Request, caller: TemplateReaderDep) -> FhirResponse:
    """The coded Observations a response gives for the record; counts nothing."""
    found = unwrap(await read_json_body(request), names=("questionnaire-response", "response"))
    response, assessment = signposting.assessed(found.response)
    return FhirResponse(bundle(observations(response, assessment)))


# Read from the headers by the route itself: as a FastAPI header parameter it cost `$signpost` 19 µs a request.
KEY_LENGTH = 200
IDEMPOTENCY_KEY = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "description": "Recognises a retry of a response that has no identifier: it is counted once.",
    "schema": {"type": "string", "maxLength": KEY_LENGTH},
}


@router.post(
    "/QuestionnaireResponse/$signpost",
    operation_id="fhir_questionnaire_response_signpost",
    openapi_extra={**BODY, "parameters": [IDEMPOTENCY_KEY]},
)
@checks_caller(Role.clinician)
async def signpost_response(request: Request, *, caller: Caller, session: Session, settings: Settings) -> FhirResponse:
    """Match services to a completed template: services with reasons, draft requests, observations, leaflet."""
    idempotency_key = request.headers.get("idempotency-key")
    if idempotency_key is not None and len(idempotency_key) > KEY_LENGTH:
        raise Problem(400, f"The Idempotency-Key header is too long: at most {KEY_LENGTH} characters.")
    done = await signposting.signpost(
        session=session,
        recorder=request.app.state.recorder,
        submission=unwrap(await read_json_body(request)),
        caller=caller,
        settings=settings,
        idempotency_key=idempotency_key,
    )
    return FhirResponse(signpost_answer(done, base=fhir_base(request)))
