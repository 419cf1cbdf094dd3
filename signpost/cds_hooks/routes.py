"""CDS Hooks 2.0 endpoints: discovery, the two services, and feedback on their cards."""

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from starlette.concurrency import run_in_threadpool

from signpost import db
from signpost.auth import service as keys
from signpost.auth.deps import ROLES_ATTR, Public
from signpost.cds_hooks import auth, cards
from signpost.cds_hooks import service as cds
from signpost.cds_hooks.schemas import FeedbackBody, HookRequest, parse
from signpost.config import SettingsDep
from signpost.db import SessionDep
from signpost.errors import Problem
from signpost.flows import cds_advice

router = APIRouter(prefix="/cds-services", tags=["cds-hooks"])
EHR_ROLE = "ehr"


async def ehr_caller(request: Request, settings: SettingsDep, session: SessionDep) -> str:
    """A trusted EHR, proven by its signed JWT; an API key is not enough (403), anything else is 401."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise Problem(
            401,
            "CDS Hooks calls need 'Authorization: Bearer <JWT>' signed by a trusted EHR.",
            headers={"WWW-Authenticate": 'Bearer realm="cds-services"'},
        )
    if token.count(".") != 2:
        # Not a JWT: a Signpost API key is a known caller but not an EHR.
        actor = await run_in_threadpool(keys.authenticate, session=session, secret=token)
        raise Problem(403, f"The {actor.role.value} role may not call CDS Services: they answer EHRs, with a JWT.")
    audience = settings.public_base_url.rstrip("/") + request.url.path
    return await auth.verify(token=token, audience=audience, settings=settings)


setattr(ehr_caller, ROLES_ATTR, (EHR_ROLE,))
EhrDep = Annotated[str, Depends(ehr_caller)]


def _service(service_id: str) -> dict[str, Any]:
    found = cds.SERVICES.get(service_id)
    if found is None:
        raise Problem(404, f"There is no CDS Service '{service_id}'; GET /cds-services lists them.")
    return found


async def _json(request: Request) -> Any:
    try:
        return await request.json()
    except ValueError:
        raise Problem(400, "The request body is not JSON.") from None


@router.get("", dependencies=[Public], operation_id="cds_discovery")
async def discovery() -> dict[str, Any]:
    """CDS Hooks discovery: the services, their hooks and prefetch templates."""
    return cds.discovery()


@router.post("/{service_id}", operation_id="cds_call")
async def call_service(
    service_id: str, request: Request, issuer: EhrDep, session: SessionDep, settings: SettingsDep
) -> dict[str, Any]:
    """Call a CDS Service: cards for the patient in context (malformed calls get 400, never a 500)."""
    service = _service(service_id)
    hook = parse(HookRequest, await _json(request))
    if hook.hook != service["hook"]:
        raise Problem(400, f"This service answers the '{service['hook']}' hook, not '{hook.hook}'.")
    if hook.fhir_server and hook.fhir_server.rstrip("/") != issuer.rstrip("/"):
        # The token lent for reading must only ever go back to the EHR that signed the call.
        raise Problem(400, "fhirServer must be the FHIR server of the EHR that signed the call.")
    base = settings.public_base_url.rstrip("/")
    if hook.hook == "order-select" and not cds_advice.selected_social_prescribing(hook.context):
        return {"cards": []}
    advice = await cds_advice.advise(
        session=session,
        settings=settings,
        context=hook.context,
        prefetch=hook.prefetch,
        fhir_server=hook.fhir_server,
        token=hook.fhir_authorization.access_token if hook.fhir_authorization else None,
    )
    return {"cards": cards.for_advice(advice, hook=hook.hook, base=base)}


@router.post("/{service_id}/feedback", operation_id="cds_feedback")
async def feedback(service_id: str, request: Request, issuer: EhrDep, session: SessionDep) -> dict[str, Any]:
    """Feedback on cards (accepted or overridden): counted by day, service, outcome and reason code only."""
    _service(service_id)
    body = parse(FeedbackBody, await _json(request))
    counted = await db.run_and_commit(
        session, lambda: cds.record_feedback(session=session, service_id=service_id, feedback=body.feedback)
    )
    return {"counted": counted}
