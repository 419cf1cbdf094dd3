"""QuestionnaireResponse operations: `$validate`, `$extract` and `$signpost`."""

from typing import Annotated, Any

from fastapi import Depends, Header, Request

from signpost import db
from signpost.auth import Caller, Role, allow
from signpost.config import SettingsDep
from signpost.db import SessionDep
from signpost.fhir_api.bundle import fhir_base
from signpost.fhir_api.io import FhirResponse, read_json_body
from signpost.fhir_api.routes import fhir_router
from signpost.routing import submission
from signpost.template import bundle, conformance, observations, validate

router = fhir_router(["fhir-questionnaire-response"])

ClinicianDep = Annotated[Caller, Depends(allow(Role.clinician))]
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
    found = submission.unwrap(await read_json_body(request), names=("resource", "response"))
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
    found = submission.unwrap(await read_json_body(request), names=("questionnaire-response", "response"))
    response, assessment = submission.checked_assessment(found.response)
    return FhirResponse(bundle(observations(response, assessment)))


@router.post(
    "/QuestionnaireResponse/$signpost", operation_id="fhir_questionnaire_response_signpost", openapi_extra=BODY
)
async def signpost_response(
    request: Request,
    caller: ClinicianDep,
    session: SessionDep,
    settings: SettingsDep,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key", max_length=200)] = None,
) -> FhirResponse:
    """Match services to a completed template: services with reasons, draft requests, observations, leaflet."""
    body = await read_json_body(request)
    base = fhir_base(request)

    def prepare() -> submission.Signposted:
        return submission.prepare(
            session=session, body=body, caller=caller, settings=settings, idempotency_key=idempotency_key, base=base
        )

    # With an online postcode resolver, an unknown postcode is looked up over the network: that may not block the loop.
    may_block = bool(settings.postcode_resolver_url)
    writes = db.writes_through(request.app.state.async_writes, session)
    if writes is None:  # SQLite, or a session on one connection of its own (tests)

        def work() -> dict[str, Any]:
            done = prepare()
            done.record(session)
            return done.answer

        return FhirResponse(await db.run_and_commit(session, work, may_block=may_block))
    # PostgreSQL: the reads from memory on the event loop, the write one statement the loop does not wait for.
    done = await db.run_from_memory(session, prepare, may_block=may_block)
    await done.record_now(writes)
    return FhirResponse(done.answer)
