"""No route does synchronous database work on the event loop: a blocked loop stalls every other request.

Every route of the app is called, as a role it admits, with a plausible request; a spy on the database sees which
thread sends each statement (and each savepoint, commit or rollback). Work the loop-safe helpers run there on
purpose (`db.run_and_commit` on SQLite, `db.run_from_memory`) is allowed; anything else on the loop fails the test.
"""

import asyncio
import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
import respx
from fastapi import FastAPI
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlalchemy import Engine, event
from sqlmodel import Session, select

from signpost import db
from signpost.app import create_app
from signpost.auth import service as keys
from signpost.auth import users
from signpost.cds_hooks import auth as cds_auth
from signpost.config import Settings, TrustedEhr, request_settings
from signpost.directory.models import ServiceAtLocation
from tests.factories import bearer, make_key, request_session
from tests.openreferral.factories import oruk_service
from tests.referrals.factories import make_provider
from tests.routing.factories import make_service
from tests.simulated_ehr.app import CLIENT_ID, Ehr
from tests.simulated_ehr.app import create_app as create_ehr
from tests.smart.conftest import authorise
from tests.template.builders import ans, make_response
from tests.web.factories import PASSWORD, csrf_from, make_user, sign_in
from tests.web.test_pages import NO_NEEDS

EHR_BASE = "https://ehr.example.test"
SIGNPOST = "http://localhost"
FHIR = {"Content-Type": "application/fhir+json"}
CDS = "signpost-patient-view"
MONTH = "start=2026-01-01&end=2026-01-31"
# The database events a spy hears: statements, and the transaction ends that go to the database without one.
CONNECTION_EVENTS = (
    "before_cursor_execute", "commit", "rollback", "savepoint", "rollback_savepoint", "release_savepoint"
)  # fmt: skip


class Spy:
    """Who sends what to the database: the app's statements, sorted by whether a loop runs in the sending thread."""

    def __init__(self) -> None:
        self.test_thread = threading.get_ident()
        self.on_loop: list[str] = []
        self.count = 0

    def __call__(self, *args: Any, **_: Any) -> None:
        # The test's own thread does the set-up, not the app (TestClient serves from a thread of its own; while a
        # browser test's Playwright session is alive, this thread may look as if it ran a loop).
        if threading.get_ident() == self.test_thread:
            return
        self.count += 1
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return
        if not db.on_loop_by_helper():
            statement = next((a for a in args if isinstance(a, str)), "(transaction)")
            self.on_loop.append(" ".join(statement.split())[:120])


@pytest.fixture
def spy(session: Session, settings: Settings) -> Iterator[Spy]:
    """Listens on the test session's connection and on the engine the app would open connections from."""
    found = Spy()
    connection = session.connection()
    engine: Engine = db.get_engine(settings)
    listening = [(connection, name) for name in CONNECTION_EVENTS] + [(engine, "before_cursor_execute")]
    listening.append((engine.pool, "checkout"))
    for target, name in listening:
        event.listen(target, name, found)
    yield found
    for target, name in listening:
        event.remove(target, name, found)


@pytest.fixture
def ehr() -> Ehr:
    return Ehr(base_url=EHR_BASE, signpost_url=SIGNPOST)


@pytest.fixture
def whole_app(settings: Settings, session: Session, ehr: Ehr) -> Iterator[tuple[FastAPI, TestClient]]:
    """The app trusting a simulated EHR (CDS Hooks and SMART launch), its calls to that EHR answered in process."""
    trusted = TrustedEhr(issuer=ehr.fhir_base, jwks_url=EHR_BASE + "/jwks", client_id=CLIENT_ID)
    ehr_settings = settings.model_copy(update={"trusted_ehrs": [trusted], "public_base_url": SIGNPOST})
    app = create_app(ehr_settings)
    app.dependency_overrides[db.get_session] = request_session(session)
    app.dependency_overrides[request_settings] = lambda: ehr_settings
    with TestClient(create_ehr(ehr), base_url=EHR_BASE) as ehr_browser:

        def forward(request: Any) -> Any:
            import httpx

            answer = ehr_browser.request(
                request.method, str(request.url), content=request.content, headers=dict(request.headers)
            )
            return httpx.Response(answer.status_code, headers=answer.headers, content=answer.content)

        cds_auth.forget()
        with respx.mock(assert_all_called=False) as mock:
            mock.route(url__startswith=EHR_BASE).mock(side_effect=forward)
            yield app, ehr_browser
        cds_auth.forget()


def _feed() -> bytes:
    return json.dumps([oruk_service()]).encode()


def _requests(ids: dict[str, str], ehr: Ehr) -> dict[tuple[str, str], dict[str, Any]]:
    """One request for each (method, route path): `as` a role it admits, through a page (cookie and CSRF token),
    an API key, or the EHR's signed call."""
    service = ids["service"]
    form = {"name": "Loop test café", "organization": "Loop Org", "version": "1", "description": "Lunch."}
    template = {**NO_NEEDS, "q-money": "money-essentials", "action": "submit"}
    response = make_response({"food-worried": [ans("often-true")], "food-today": [False]})
    feedback = {"feedback": [{"card": "9b9c5e1e-1c1d-4a5f-9f57-0e6b1d7c1a11", "outcome": "accepted",
                              "outcomeTimestamp": datetime.now(UTC).isoformat(),
                              "acceptedSuggestions": [{"id": "s1"}]}]}  # fmt: skip
    measure = {"resourceType": "Parameters", "parameter": [{"name": "periodStart", "valueDate": "2026-01-01"},
                                                  {"name": "periodEnd", "valueDate": "2026-01-31"}]}  # fmt: skip
    expand = {"resourceType": "Parameters", "parameter": [{"name": "url", "valueUri": ids["valueset_url"]}]}
    task = {"resourceType": "Task", "id": ids["task"], "status": "accepted", "intent": "order"}
    return {
        ("GET", "/healthz"): {"url": "/healthz"},
        ("GET", "/readyz"): {"url": "/readyz"},
        ("GET", "/metrics"): {"url": "/metrics", "as": "api:analyst"},
        ("GET", "/fhir/metadata"): {"url": "/fhir/metadata"},
        ("POST", "/api/v1/admin/keys"): {"url": "/api/v1/admin/keys", "json": {"role": "analyst", "name": "loop"}},
        ("GET", "/api/v1/admin/keys"): {"url": "/api/v1/admin/keys"},
        ("POST", "/api/v1/admin/keys/{key_id}/revoke"): {"url": f"/api/v1/admin/keys/{ids['key']}/revoke"},
        ("GET", "/template"): {"url": "/template"},
        ("POST", "/template"): {"url": "/template", "data": template},
        ("POST", "/template/leaflet"): {"url": "/template/leaflet", "data": template},
        ("GET", "/directory"): {"url": "/directory?q=lunch", "as": "prescriber"},
        ("GET", "/directory/services/{service_id}"): {"url": f"/directory/services/{service}", "as": "prescriber"},
        ("POST", "/directory/services/{service_id}/record"): {
            "url": f"/directory/services/{service}/record",
            "data": {"needs": "food", "kind": "signposted"},
        },
        ("GET", "/editor"): {"url": "/editor?filter=due"},
        ("POST", "/editor/suggestions"): {"url": "/editor/suggestions", "data": {"action": "confirm"}},
        ("GET", "/editor/services/new"): {"url": "/editor/services/new"},
        ("POST", "/editor/services/new"): {"url": "/editor/services/new", "data": form},
        ("GET", "/editor/services/{service_id}"): {"url": f"/editor/services/{service}"},
        ("POST", "/editor/services/{service_id}"): {"url": f"/editor/services/{service}", "data": form},
        ("POST", "/editor/services/{service_id}/verify"): {
            "url": f"/editor/services/{service}/verify",
            "data": {"version": "1"},
        },
        ("POST", "/editor/services/{service_id}/status"): {
            "url": f"/editor/services/{service}/status",
            "data": {"status": "inactive"},
        },
        ("POST", "/editor/services/{service_id}/retire"): {"url": f"/editor/services/{service}/retire", "data": {}},
        ("GET", "/editor/services/{service_id}/history"): {"url": f"/editor/services/{service}/history"},
        ("POST", "/editor/services/{service_id}/restore"): {
            "url": f"/editor/services/{service}/restore",
            "data": {"version": "1", "expected": "1"},
        },
        ("POST", "/editor/bulk"): {"url": "/editor/bulk", "data": {"service": f"{service}:1", "action": "verify"}},
        ("GET", "/editor/done"): {"url": f"/editor/done?action=verify&changed={service}:1"},
        ("POST", "/editor/undo"): {"url": "/editor/undo", "data": {"item": f"{service}:1"}},
        ("GET", "/editor/import"): {"url": "/editor/import"},
        ("POST", "/editor/import"): {
            "url": "/editor/import",
            "data": {"dry_run": "yes"},
            "files": {"file": ("feed.json", _feed(), "application/json")},
        },
        ("GET", "/analytics"): {"url": "/analytics"},
        ("GET", "/analytics/csv"): {"url": "/analytics/csv?group_by=need"},
        ("POST", "/referrals/new"): {
            "url": "/referrals/new",
            "data": {"service": ids["provided"], "need": "debt-priority"},
            "as": "prescriber",
        },
        ("GET", "/referrals"): {"url": "/referrals", "as": "prescriber"},
        ("GET", "/provider"): {"url": "/provider"},
        ("POST", "/provider/lookup"): {"url": "/provider/lookup", "data": {"token": "ABCD-EFGH"}},
        ("GET", "/provider/referrals/{task_id}"): {"url": f"/provider/referrals/{ids['task']}"},
        ("POST", "/provider/referrals/{task_id}/status"): {
            "url": f"/provider/referrals/{ids['task']}/status",
            "data": {"status": "received"},
        },
        ("POST", "/provider/capacity"): {
            "url": "/provider/capacity",
            "data": {"service": ids["provided"], "capacity": "waitlist", "wait_band": "over-3-months"},
        },
        ("GET", "/analytics/referrals"): {"url": "/analytics/referrals"},
        ("GET", "/smart/launch"): {"url": f"/smart/launch?iss={ehr.fhir_base}&launch=loop-launch"},
        ("GET", "/smart/callback"): {"url": "/smart/callback?code=nope&state=nope"},
        ("GET", "/smart/template"): {"url": "/smart/template", "as": "smart"},
        ("POST", "/smart/template"): {
            "url": "/smart/template",
            "data": {**NO_NEEDS, "action": "submit"},
            "as": "smart",
        },
        ("GET", "/assets/nhsuk/nhsuk-frontend.min.css"): {"url": "/assets/nhsuk/nhsuk-frontend.min.css"},
        ("GET", "/"): {"url": "/", "as": "editor"},
        ("GET", "/sign-in"): {"url": "/sign-in", "as": "anonymous"},
        ("POST", "/sign-in"): {
            "url": "/sign-in",
            "data": {"username": ids["username"], "password": PASSWORD, "next": "/"},
            "as": "anonymous",
        },
        ("POST", "/sign-out"): {"url": "/sign-out", "data": {}, "as": "leaving"},
        ("GET", "/admin/keys"): {"url": "/admin/keys"},
        ("POST", "/admin/keys"): {"url": "/admin/keys", "data": {"name": "Reception PC", "role": "prescriber"}},
        ("POST", "/admin/keys/{key_id}/revoke"): {"url": f"/admin/keys/{ids['key']}/revoke", "data": {}},
        ("GET", "/admin/users"): {"url": "/admin/users"},
        ("POST", "/admin/users"): {
            "url": "/admin/users",
            "data": {"username": "loop-someone", "password": PASSWORD, "role": "analyst"},
        },
        ("POST", "/admin/users/{user_id}/disable"): {"url": f"/admin/users/{ids['user']}/disable", "data": {}},
        ("POST", "/admin/users/{user_id}/enable"): {"url": f"/admin/users/{ids['user']}/enable", "data": {}},
        ("POST", "/admin/users/{user_id}/password"): {
            "url": f"/admin/users/{ids['user']}/password",
            "data": {"password": PASSWORD + " again"},
        },
        ("GET", "/openreferral/"): {"url": "/openreferral/"},
        ("GET", "/openreferral/services"): {"url": "/openreferral/services?text=loop"},
        ("GET", "/openreferral/services/{service_id}"): {"url": f"/openreferral/services/{service}"},
        ("GET", "/openreferral/taxonomies"): {"url": "/openreferral/taxonomies"},
        ("GET", "/openreferral/taxonomy_terms"): {"url": "/openreferral/taxonomy_terms"},
        ("GET", "/openreferral/organizations"): {"url": "/openreferral/organizations"},
        ("GET", "/openreferral/service_at_locations"): {"url": "/openreferral/service_at_locations"},
        ("POST", "/api/v1/directory/imports"): {
            "url": "/api/v1/directory/imports?dry_run=true",
            "files": {"file": ("feed.json", _feed(), "application/json")},
        },
        ("GET", "/api/v1/directory/export"): {"url": "/api/v1/directory/export"},
        ("GET", "/api/v1/directory/import-runs"): {"url": "/api/v1/directory/import-runs"},
        ("POST", "/api/v1/signposts"): {
            "url": "/api/v1/signposts",
            "json": {"services": [service], "needs": ["homeless"], "kind": "referred"},
            "headers": {"Idempotency-Key": "loop-1"},
        },
        ("POST", "/api/v1/signposts/batch"): {
            "url": "/api/v1/signposts/batch",
            "json": {
                "signposts": [
                    {"services": [service], "needs": ["homeless"], "kind": "signposted", "idempotency_key": "b"}
                ]
            },
        },
        ("GET", "/api/v1/indicators/counts"): {"url": f"/api/v1/indicators/counts?{MONTH}&group_by=need"},
        ("GET", "/fhir/Measure"): {"url": "/fhir/Measure"},
        ("GET", "/fhir/Measure/{measure_id}"): {"url": "/fhir/Measure/signposting-by-need"},
        ("GET", "/fhir/Measure/{measure_id}/$evaluate-measure"): {
            "url": "/fhir/Measure/signposting-by-need/$evaluate-measure?periodStart=2026-01-01&periodEnd=2026-01-31"
        },
        ("POST", "/fhir/Measure/{measure_id}/$evaluate-measure"): {
            "url": "/fhir/Measure/signposting-by-need/$evaluate-measure",
            "json": measure,
        },
        ("GET", "/fhir/Questionnaire"): {"url": "/fhir/Questionnaire"},
        ("GET", "/fhir/Questionnaire/{resource_id}"): {"url": "/fhir/Questionnaire/social-determinants"},
        ("GET", "/fhir/CodeSystem/{resource_id}"): {"url": "/fhir/CodeSystem/social-need"},
        ("GET", "/fhir/ValueSet/$expand"): {"url": f"/fhir/ValueSet/$expand?url={ids['valueset_url']}"},
        ("POST", "/fhir/ValueSet/$expand"): {"url": "/fhir/ValueSet/$expand", "json": expand},
        ("GET", "/fhir/ValueSet/{resource_id}/$expand"): {"url": "/fhir/ValueSet/social-need/$expand"},
        ("GET", "/fhir/ValueSet/{resource_id}"): {"url": "/fhir/ValueSet/social-need"},
        ("GET", "/fhir/ConceptMap/{resource_id}"): {"url": "/fhir/ConceptMap/need-to-service-category"},
        ("GET", "/fhir/OperationDefinition/{resource_id}"): {
            "url": "/fhir/OperationDefinition/QuestionnaireResponse-signpost"
        },
        ("GET", "/fhir/StructureDefinition/{resource_id}"): {"url": "/fhir/StructureDefinition/sensitive"},
        ("GET", "/fhir/CodeSystem"): {"url": "/fhir/CodeSystem"},
        ("GET", "/fhir/ValueSet"): {"url": "/fhir/ValueSet"},
        ("GET", "/fhir/ConceptMap"): {"url": "/fhir/ConceptMap"},
        ("GET", "/fhir/OperationDefinition"): {"url": "/fhir/OperationDefinition"},
        ("GET", "/fhir/StructureDefinition"): {"url": "/fhir/StructureDefinition"},
        ("POST", "/fhir/QuestionnaireResponse/$validate"): {
            "url": "/fhir/QuestionnaireResponse/$validate",
            "json": response,
        },
        ("POST", "/fhir/QuestionnaireResponse/$extract"): {
            "url": "/fhir/QuestionnaireResponse/$extract",
            "json": response,
        },
        ("POST", "/fhir/QuestionnaireResponse/$signpost"): {
            "url": "/fhir/QuestionnaireResponse/$signpost",
            "json": response,
        },
        ("POST", "/api/v1/directory/services"): {
            "url": "/api/v1/directory/services?allow_duplicate=true",
            "json": {
                "name": "Loop test debt advice",
                "organization": {"name": "Loop Advice Centre"},
                "categories": ["debt"],
                "service_areas": [{"scope": "local_authority", "area_code": "E08000035"}],
            },
        },
        ("GET", "/api/v1/directory/services/{service_id}"): {"url": f"/api/v1/directory/services/{service}"},
        ("PATCH", "/api/v1/directory/services/{service_id}"): {
            "url": f"/api/v1/directory/services/{service}",
            "json": {"description": "Lunch on Tuesdays."},
            "etag": True,
        },
        ("POST", "/api/v1/directory/services/{service_id}/verify"): {
            "url": f"/api/v1/directory/services/{service}/verify",
            "json": {},
            "etag": True,
        },
        ("POST", "/api/v1/directory/services/{service_id}/status"): {
            "url": f"/api/v1/directory/services/{service}/status",
            "json": {"status": "inactive"},
            "etag": True,
        },
        ("POST", "/api/v1/directory/services/{service_id}/retire"): {
            "url": f"/api/v1/directory/services/{service}/retire",
            "etag": True,
        },
        ("GET", "/api/v1/directory/services/{service_id}/history"): {
            "url": f"/api/v1/directory/services/{service}/history"
        },
        ("POST", "/api/v1/directory/services/{service_id}/restore/{version}"): {
            "url": f"/api/v1/directory/services/{service}/restore/1",
            "etag": True,
        },
        ("GET", "/api/v1/directory/review-queue"): {"url": "/api/v1/directory/review-queue"},
        ("GET", "/api/v1/directory/category-queue"): {"url": "/api/v1/directory/category-queue?kind=suggested"},
        ("POST", "/api/v1/directory/category-suggestions"): {
            "url": "/api/v1/directory/category-suggestions",
            "json": {"action": "confirm", "suggestions": []},
        },
        ("GET", "/api/v1/directory/categories"): {"url": "/api/v1/directory/categories"},
        ("GET", "/api/v1/directory/search"): {"url": "/api/v1/directory/search?text=loop"},
        ("GET", "/fhir/HealthcareService"): {"url": "/fhir/HealthcareService?name=loop"},
        ("GET", "/fhir/HealthcareService/{service_id}"): {"url": f"/fhir/HealthcareService/{service}"},
        ("GET", "/fhir/HealthcareService/{service_id}/_history"): {
            "url": f"/fhir/HealthcareService/{service}/_history"
        },
        ("GET", "/fhir/HealthcareService/{service_id}/_history/{version_id}"): {
            "url": f"/fhir/HealthcareService/{service}/_history/1"
        },
        ("GET", "/fhir/Organization"): {"url": "/fhir/Organization"},
        ("GET", "/fhir/Organization/{organization_id}"): {"url": f"/fhir/Organization/{ids['organization']}"},
        ("GET", "/fhir/Location"): {"url": "/fhir/Location"},
        ("GET", "/fhir/Location/{location_id}"): {"url": f"/fhir/Location/{ids['location']}"},
        ("POST", "/api/v1/referrals"): {
            "url": "/api/v1/referrals",
            "json": {"service": ids["provided"], "need": "debt-priority"},
            "as": "api:prescriber",
        },
        ("GET", "/api/v1/referrals"): {"url": "/api/v1/referrals", "as": "api:prescriber"},
        ("POST", "/api/v1/directory/organizations/{organization_id}/provider-keys"): {
            "url": f"/api/v1/directory/organizations/{ids['organization']}/provider-keys",
            "json": {"name": "front desk"},
        },
        ("POST", "/api/v1/provider-keys/{key_id}/revoke"): {
            "url": f"/api/v1/provider-keys/{ids['provider_key']}/revoke"
        },
        ("PUT", "/api/v1/directory/services/{service_id}/capacity"): {
            "url": f"/api/v1/directory/services/{ids['provided']}/capacity",
            "json": {"status": "not-taking-referrals"},
            "as": "api:provider",
        },
        ("GET", "/api/v1/indicators/referral-outcomes"): {"url": f"/api/v1/indicators/referral-outcomes?{MONTH}"},
        ("GET", "/fhir/Task"): {"url": "/fhir/Task", "as": "api:provider"},
        ("GET", "/fhir/Task/{task_id}"): {"url": f"/fhir/Task/{ids['task']}", "as": "api:provider"},
        ("GET", "/fhir/ServiceRequest/{request_id}"): {
            "url": f"/fhir/ServiceRequest/{ids['task']}",
            "as": "api:provider",
        },
        ("PUT", "/fhir/Task/{task_id}"): {"url": f"/fhir/Task/{ids['task']}", "json": task, "as": "api:provider"},
        ("GET", "/cds-services"): {"url": "/cds-services"},
        ("POST", "/cds-services/{service_id}"): {
            "url": f"/cds-services/{CDS}",
            "json": ehr.hook_request("patient-view", prefetch=True),
            "as": "ehr",
        },
        ("POST", "/cds-services/{service_id}/feedback"): {
            "url": f"/cds-services/{CDS}/feedback",
            "json": feedback,
            "as": "ehr",
        },
    }


def _caller(method: str, path: str, spec: dict[str, Any], roles: tuple[str, ...]) -> str:
    """Who makes the request: the spec's `as`, else a role the route admits (a page's through a browser)."""
    if "as" in spec:
        return str(spec["as"])
    if roles == ("public",):
        return "anonymous"
    api = path.startswith(("/api/", "/fhir/", "/openreferral/", "/metrics"))
    return ("api:" if api else "") + roles[0]


def _seed(session: Session, ehr: Ehr) -> dict[str, str]:
    service = make_service(
        session, "Loop test lunch club", ["food"], point=(53.8, -1.55), address=("1 Loop Street", "LS1 4AP")
    )
    provider = make_provider(session)
    key, _ = keys.create_key(session=session, role="analyst", name="to revoke")
    provider_key, _ = keys.create_key(
        session=session, role="provider", name="to revoke", organization_id=provider.service.organization_id
    )
    person = users.create_user(session=session, username="loop-person", password=PASSWORD, role="analyst")
    session.flush()
    location = session.exec(select(ServiceAtLocation.location_id).where(ServiceAtLocation.service_id == service.id))
    return {
        "service": service.id,
        "organization": provider.service.organization_id,
        "location": location.first() or "none",
        "provided": provider.service.id,
        "provider_secret": provider.key,
        "key": str(key.id),
        "provider_key": str(provider_key.id),
        "user": str(person.id),
        "username": make_user(session, "editor"),
        "valueset_url": "https://signpost.example.org/fhir/ValueSet/social-need",
    }


def _covered(app: FastAPI) -> set[tuple[str, str]]:
    return {(method, route.path) for route in app.routes if isinstance(route, APIRoute) for method in route.methods}


def test_no_route_touches_the_database_on_the_event_loop(
    whole_app: tuple[FastAPI, TestClient], session: Session, spy: Spy, ehr: Ehr
) -> None:
    app, ehr_browser = whole_app
    ids = _seed(session, ehr)
    with TestClient(app, raise_server_exceptions=False) as client:
        made = client.post(
            "/api/v1/referrals",
            headers=bearer(make_key(session, "prescriber")),
            json={"service": ids["provided"], "need": "debt-priority"},
        )
    assert made.status_code == 201, made.text
    ids["task"] = made.json()["task_id"]
    requests = _requests(ids, ehr)
    # A route added without a request here fails the test, so every route stays covered.
    assert set(requests) == _covered(app)
    roles = {
        (method, route.path): route.openapi_extra["x-signpost-roles"]  # type: ignore[index]
        for route in app.routes
        if isinstance(route, APIRoute)
        for method in route.methods
    }
    browsers: dict[str, TestClient] = {}

    def browser(name: str) -> TestClient:
        if name not in browsers:
            client = browsers[name] = TestClient(
                app, base_url=SIGNPOST, raise_server_exceptions=False, follow_redirects=False
            )
            client.__enter__()
            if name == "provider":
                token = csrf_from(client.get("/sign-in").text)
                client.post("/sign-in", data={"csrf_token": token, "key": ids["provider_secret"], "next": "/"})
            elif name == "smart":
                assert authorise(client, ehr_browser, ehr).status_code == 303
            elif name == "leaving" or name in ("clinician", "prescriber", "editor", "analyst", "admin"):
                role = "editor" if name == "leaving" else name
                sign_in(client, make_user(session, role, practice_ods="B86001" if role == "clinician" else None))
        return browsers[name]

    api_keys: dict[str, str] = {"provider": ids["provider_secret"]}
    for (method, path), spec in requests.items():
        caller = _caller(method, path, spec, tuple(roles[(method, path)]))
        headers = dict(spec.get("headers", {}))
        if caller.startswith("api:"):
            role = caller.removeprefix("api:")
            if role not in api_keys:
                api_keys[role] = make_key(session, role, practice_ods="B86001" if role == "clinician" else None)
            client = browser("anonymous")
            headers |= bearer(api_keys[role])
            if path.startswith("/fhir/") and "json" in spec:
                headers |= FHIR
        elif caller == "ehr":
            client = browser("anonymous")
            headers["Authorization"] = f"Bearer {ehr.hook_jwt(SIGNPOST + spec['url'])}"
        else:
            client = browser(caller)
        if spec.get("etag"):  # the service's current version, for If-Match
            held = client.get(f"/api/v1/directory/services/{ids['service']}", headers=headers)
            headers["If-Match"] = held.headers["ETag"]
        data = spec.get("data")
        if data is not None:
            page = "/smart/template" if caller == "smart" else "/sign-in" if caller == "anonymous" else "/"
            data = {**data, "csrf_token": csrf_from(client.get(page).text)}
        answer = client.request(
            method,
            spec["url"],
            headers=headers,
            data=data,
            json=spec.get("json"),
            files=spec.get("files"),
            follow_redirects=False,
        )
        assert answer.status_code < 500, (method, path, answer.status_code, answer.text[:300])
        assert spy.on_loop == [], f"{method} {path} ran SQL on the event loop: {spy.on_loop[:2]}"
    for client in browsers.values():
        client.__exit__(None, None, None)
