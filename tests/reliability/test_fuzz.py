"""Contract fuzzing: schemathesis drives every operation in the OpenAPI with a key its roles admit.

No operation may answer 5xx, and every answer must match the schema it declares. Examples per operation are
bounded (SIGNPOST_FUZZ_EXAMPLES, default 15) so the whole run stays around a minute in `make test`.
"""

import os
from typing import Any

import respx
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import content_type_conformance, response_schema_conformance

from signpost.app import create_app
from signpost.auth.deps import PUBLIC
from signpost.cds_hooks.routes import EHR_ROLE
from signpost.config import Settings
from tests.factories import bearer

EXAMPLES = int(os.environ.get("SIGNPOST_FUZZ_EXAMPLES", "15"))
SPEC = create_app(Settings(secret_key="collection-only", database_url="sqlite://")).openapi()
schema = schemathesis.openapi.from_dict(SPEC)

# Operations whose bugs belong to another engineer: operation id -> the bug, until it is fixed at its cause.
KNOWN_BUGS: dict[str, str] = {}


def simulated_ehr_jwt(settings, monkeypatch, path: str) -> tuple[dict[str, str], Any]:  # type: ignore[no-untyped-def]
    """An Authorization header signed by a simulated EHR that `settings` trusts, and the started respx router that
    answers its JWKS (the caller stops it)."""
    from signpost.cds_hooks import auth
    from signpost.config import TrustedEhr
    from tests.simulated_ehr.app import Ehr

    ehr = Ehr(base_url="https://fuzz-ehr.example.test", signpost_url=settings.public_base_url)
    monkeypatch.setattr(settings, "trusted_ehrs", [TrustedEhr(issuer=ehr.fhir_base, jwks_url=ehr.base_url + "/jwks")])
    auth.forget()
    router = respx.mock(assert_all_called=False)
    router.get(ehr.base_url + "/jwks").respond(json=ehr.jwks())
    router.start()
    return {"Authorization": "Bearer " + ehr.hook_jwt(settings.public_base_url.rstrip("/") + path)}, router


def _caller(roles: list[str]) -> str | None:
    """The role to call as: the first declared, or none for public operations."""
    named = [r for r in roles if r != PUBLIC]
    return named[0] if named else None


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)
def test_operation_never_fails_and_answers_as_documented(case, app, session, role_keys, settings, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    role = _caller(case.operation.definition.raw.get("x-signpost-roles", []))
    router = None
    if role == EHR_ROLE:
        # CDS Hooks services answer an EHR's signed JWT, not a key: trust a simulated EHR for this example.
        headers, router = simulated_ehr_jwt(settings, monkeypatch, case.formatted_path)
    else:
        headers = bearer(role_keys[role]) if role else {}
    try:
        case.call_and_validate(
            headers=headers,
            app=app,
            checks=[not_a_server_error, response_schema_conformance, content_type_conformance],
        )
    finally:
        # Every example shares the test's session; in service each request has its own. On PostgreSQL an
        # error (an id out of range, say) aborts the transaction, so undo what the example left unfinished.
        session.rollback()
        if router is not None:
            router.stop()
