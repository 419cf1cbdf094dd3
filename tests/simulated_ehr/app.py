"""The simulated EHR: one test patient, FHIR reads and searches, recorded writes, SMART EHR launch (authorization
code with PKCE), and CDS Hooks calls to Signpost signed with its own ES384 key (published at /jwks)."""

import base64
import hashlib
import html
import json
import secrets
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import httpx
import jwt
from cryptography.hazmat.primitives.asymmetric import ec
from fastapi import FastAPI, Form, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from tests.reliability import canary

CLIENT_ID = "signpost-demo"
PATIENT_ID = "zq-1957"
FHIR_JSON = "application/fhir+json"
SOCIAL_HISTORY = {"system": "http://terminology.hl7.org/CodeSystem/observation-category", "code": "social-history"}


def _recent(days: int) -> str:
    return (datetime.now(UTC) - timedelta(days=days)).date().isoformat()


def test_patient() -> dict[str, Any]:
    """The test patient: the privacy canary's identifiers, so a trace of them anywhere in Signpost is found."""
    return {
        "resourceType": "Patient",
        "id": PATIENT_ID,
        "identifier": [{"system": "https://fhir.nhs.uk/Id/nhs-number", "value": canary.NHS_NUMBER}],
        "name": [{"text": canary.NAME, "family": "Quartermaine", "given": ["Zebedee"]}],
        "birthDate": canary.BIRTH_DATE,
        "telecom": [{"system": "email", "value": canary.EMAIL}],
        "address": [{"postalCode": canary.POSTCODE, "text": canary.FREE_TEXT}],
    }


def record_with_needs() -> dict[str, list[dict[str, Any]]]:
    """A record with social needs on it: food insecurity observed last month, homelessness as a condition."""
    subject = {"reference": f"Patient/{PATIENT_ID}", "display": canary.NAME}
    return {
        "Condition": [
            {
                "resourceType": "Condition",
                "id": "c1",
                "clinicalStatus": {"coding": [{"code": "active"}]},
                "code": {"coding": [{"system": "http://snomed.info/sct", "code": "32911000", "display": "Homeless"}]},
                "subject": subject,
                "recordedDate": _recent(40),
            }
        ],
        "Observation": [
            {
                "resourceType": "Observation",
                "id": "o1",
                "status": "final",
                "category": [{"coding": [SOCIAL_HISTORY]}],
                "code": {
                    "coding": [{"system": "http://snomed.info/sct", "code": "733423003", "display": "Food insecurity"}]
                },
                "subject": subject,
                "effectiveDateTime": _recent(30),
                "valueBoolean": True,
            }
        ],
        "QuestionnaireResponse": [],
    }


@dataclass
class Ehr:
    base_url: str
    signpost_url: str
    key: Any = field(default_factory=lambda: ec.generate_private_key(ec.SECP384R1()))
    kid: str = field(default_factory=lambda: secrets.token_hex(8))
    patient: dict[str, Any] = field(default_factory=test_patient)
    resources: dict[str, list[dict[str, Any]]] = field(default_factory=record_with_needs)
    writes: list[dict[str, Any]] = field(default_factory=list)
    launches: dict[str, str] = field(default_factory=dict)
    codes: dict[str, dict[str, Any]] = field(default_factory=dict)
    tokens: dict[str, dict[str, Any]] = field(default_factory=dict)
    deny_consent: bool = False
    grant_scopes: str | None = None  # None: grant what was asked
    refuse_writes: set[str] = field(default_factory=set)  # resource types whose creation fails (500)
    cards: dict[str, dict[str, Any]] = field(default_factory=dict)  # the cards last shown, by uuid
    feedback_status: list[int] = field(default_factory=list)

    @property
    def fhir_base(self) -> str:
        return self.base_url + "/fhir"

    def jwks(self) -> dict[str, Any]:
        public = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(self.key.public_key()))
        return {"keys": [{**public, "kid": self.kid, "alg": "ES384", "use": "sig"}]}

    def hook_jwt(self, audience: str, **overrides: Any) -> str:
        now = int(time.time())
        claims = {
            "iss": self.fhir_base,
            "sub": "signpost",
            "aud": audience,
            "iat": now,
            "exp": now + 300,
            "jti": str(uuid.uuid4()),
        }
        claims.update(overrides)
        return jwt.encode(
            claims, self.key, algorithm="ES384", headers={"kid": self.kid, "jku": self.base_url + "/jwks"}
        )

    def issue_token(self, scope: str, patient: str) -> str:
        token = secrets.token_urlsafe(32)
        self.tokens[token] = {"scope": scope, "patient": patient}
        return token

    def hook_request(self, hook: str, *, prefetch: bool, context: dict[str, Any] | None = None) -> dict[str, Any]:
        """A CDS Hooks call for the test patient, with the record prefetched or left for Signpost to read."""
        body: dict[str, Any] = {
            "hook": hook,
            "hookInstance": str(uuid.uuid4()),
            "fhirServer": self.fhir_base,
            "fhirAuthorization": {
                "access_token": self.issue_token("patient/*.read", PATIENT_ID),
                "token_type": "Bearer",
                "expires_in": 300,
                "scope": "patient/*.read",
                "subject": "signpost",
            },
            "context": {"userId": "Practitioner/gp1", "patientId": PATIENT_ID, **(context or {})},
        }
        if prefetch:
            body["prefetch"] = {
                "patient": self.patient,
                "conditions": _bundle(self.resources["Condition"]),
                "observations": _bundle(self.resources["Observation"]),
                "responses": _bundle(self.resources["QuestionnaireResponse"]),
            }
        return body

    def call_hook(self, service_id: str, body: dict[str, Any]) -> httpx.Response:
        url = f"{self.signpost_url}/cds-services/{service_id}"
        return httpx.post(url, json=body, headers={"Authorization": f"Bearer {self.hook_jwt(url)}"}, timeout=30)


def _bundle(resources: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "resourceType": "Bundle",
        "type": "searchset",
        "total": len(resources),
        "entry": [{"resource": r} for r in resources],
    }


def _s256(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()


def _scopes_allow(scope: str, resource_type: str, access: str) -> bool:
    for granted in scope.split():
        context, _, rest = granted.partition("/")
        kind, _, mode = rest.partition(".")
        if context in ("patient", "user") and kind in (resource_type, "*") and mode in (access, "*"):
            return True
    return False


def _outcome(status: int, text: str) -> JSONResponse:
    body = {
        "resourceType": "OperationOutcome",
        "issue": [{"severity": "error", "code": "processing", "diagnostics": text}],
    }
    return JSONResponse(body, status, media_type=FHIR_JSON)


def create_app(ehr: Ehr) -> FastAPI:
    app = FastAPI(title="Simulated EHR")
    app.state.ehr = ehr

    def bearer(request: Request) -> dict[str, Any] | None:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        return ehr.tokens.get(token.strip()) if scheme.lower() == "bearer" else None

    @app.get("/jwks")
    def jwks() -> dict[str, Any]:
        return ehr.jwks()

    @app.get("/fhir/.well-known/smart-configuration")
    def smart_configuration() -> dict[str, Any]:
        return {
            "issuer": ehr.fhir_base,
            "authorization_endpoint": ehr.base_url + "/auth/authorize",
            "token_endpoint": ehr.base_url + "/auth/token",
            "grant_types_supported": ["authorization_code"],
            "code_challenge_methods_supported": ["S256"],
            "capabilities": ["launch-ehr", "client-public", "context-ehr-patient", "permission-patient"],
            "scopes_supported": ["launch", "openid", "fhirUser", "patient/*.read", "patient/*.write"],
        }

    @app.get("/fhir/Patient/{patient_id}")
    def read_patient(patient_id: str, request: Request) -> Response:
        grant = bearer(request)
        if grant is None or grant["patient"] != patient_id or not _scopes_allow(grant["scope"], "Patient", "read"):
            return _outcome(401, "A token for this patient with Patient read access is needed.")
        if patient_id != PATIENT_ID:
            return _outcome(404, "No such patient.")
        return JSONResponse(ehr.patient, media_type=FHIR_JSON)

    @app.get("/fhir/{resource_type}")
    def search(resource_type: str, request: Request, patient: str = "") -> Response:
        grant = bearer(request)
        if grant is None or grant["patient"] != patient or not _scopes_allow(grant["scope"], resource_type, "read"):
            return _outcome(401, "A token for this patient with read access is needed.")
        found = [r for r in ehr.resources.get(resource_type, [])]
        return JSONResponse(_bundle(found), media_type=FHIR_JSON)

    @app.post("/fhir/{resource_type}")
    async def write(resource_type: str, request: Request) -> Response:
        grant = bearer(request)
        if grant is None or not _scopes_allow(grant["scope"], resource_type, "write"):
            return _outcome(403, "This token may not write that resource type.")
        if resource_type in ehr.refuse_writes:
            return _outcome(500, "The record could not be written just now.")
        resource = await request.json()
        if resource.get("resourceType") != resource_type:
            return _outcome(400, "The resource type does not match the URL.")
        if (resource.get("subject") or {}).get("reference") != f"Patient/{grant['patient']}":
            return _outcome(400, "The resource must be about the patient in context.")
        stored = {**resource, "id": str(uuid.uuid4())}
        ehr.writes.append(stored)
        ehr.resources.setdefault(resource_type, []).append(stored)
        return JSONResponse(stored, 201, media_type=FHIR_JSON)

    @app.get("/auth/authorize", response_class=HTMLResponse)
    def authorize(request: Request) -> Response:
        q = request.query_params
        if q.get("client_id") != CLIENT_ID or q.get("launch") not in ehr.launches:
            return HTMLResponse("<h1>Unknown client or launch</h1>", 400)
        if q.get("code_challenge_method") != "S256" or not q.get("code_challenge"):
            return HTMLResponse("<h1>PKCE (S256) is required</h1>", 400)
        hidden = "".join(
            f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">' for k, v in q.items()
        )
        return HTMLResponse(
            "<!doctype html><html lang='en'><head><title>Simulated EHR: authorise</title></head><body>"
            f"<h1>Allow Signpost to open this record?</h1><p>Scopes asked: {html.escape(q.get('scope', ''))}</p>"
            f"<form method='post' action='/auth/decide'>{hidden}"
            "<button name='decision' value='allow'>Allow</button> <button name='decision' value='deny'>Deny</button>"
            "</form></body></html>"
        )

    @app.post("/auth/decide")
    async def decide(request: Request) -> Response:
        form = dict((await request.form()).items())
        target = str(form["redirect_uri"])
        state = str(form.get("state", ""))
        if form.get("decision") != "allow" or ehr.deny_consent:
            return RedirectResponse(f"{target}?{urlencode({'error': 'access_denied', 'state': state})}", 302)
        code = secrets.token_urlsafe(24)
        ehr.codes[code] = {
            "challenge": form["code_challenge"],
            "redirect_uri": target,
            "client_id": form["client_id"],
            "scope": ehr.grant_scopes if ehr.grant_scopes is not None else str(form.get("scope", "")),
            "patient": ehr.launches.pop(str(form["launch"])),
        }
        return RedirectResponse(f"{target}?{urlencode({'code': code, 'state': state})}", 302)

    @app.post("/auth/token")
    def token(
        grant_type: str = Form(""),
        code: str = Form(""),
        redirect_uri: str = Form(""),
        client_id: str = Form(""),
        code_verifier: str = Form(""),
    ) -> Response:
        issued = ehr.codes.pop(code, None)
        if (
            grant_type != "authorization_code"
            or issued is None
            or issued["redirect_uri"] != redirect_uri
            or issued["client_id"] != client_id
            or _s256(code_verifier) != issued["challenge"]
        ):
            return JSONResponse({"error": "invalid_grant"}, 400)
        access = ehr.issue_token(issued["scope"], issued["patient"])
        return JSONResponse(
            {
                "access_token": access,
                "token_type": "Bearer",
                "expires_in": 3600,
                "scope": issued["scope"],
                "patient": issued["patient"],
            },
            headers={"Cache-Control": "no-store"},
        )

    @app.get("/ehr/launch")
    def launch(app_url: str) -> Response:
        launch_id = secrets.token_urlsafe(16)
        ehr.launches[launch_id] = PATIENT_ID
        return RedirectResponse(f"{app_url}?{urlencode({'iss': ehr.fhir_base, 'launch': launch_id})}", 302)

    @app.get("/ehr/patient", response_class=HTMLResponse)
    def patient_page(prefetch: int = 1) -> HTMLResponse:
        answer = ehr.call_hook("signpost-patient-view", ehr.hook_request("patient-view", prefetch=bool(prefetch)))
        cards = answer.json().get("cards", []) if answer.status_code == 200 else []
        ehr.cards = {c["uuid"]: c for c in cards if "uuid" in c}
        return HTMLResponse(_patient_page(ehr, cards, answer.status_code))

    @app.post("/ehr/accept")
    def accept(card: str = Form(...), suggestion: str = Form(...)) -> Response:
        """The clinician takes a card's suggestion: its actions are applied to the record, and Signpost is told."""
        shown = ehr.cards[card]
        chosen = next(s for s in shown.get("suggestions", []) if s["uuid"] == suggestion)
        for action in chosen.get("actions", []):
            if action["type"] == "create":
                stored = {**action["resource"], "id": str(uuid.uuid4())}
                ehr.writes.append(stored)
                ehr.resources.setdefault(stored["resourceType"], []).append(stored)
        outcome = {"card": card, "outcome": "accepted", "acceptedSuggestions": [{"id": suggestion}],
                   "outcomeTimestamp": datetime.now(UTC).isoformat()}  # fmt: skip
        sent = ehr.call_hook("signpost-patient-view/feedback", {"feedback": [outcome]})
        ehr.feedback_status.append(sent.status_code)
        return RedirectResponse("/ehr/patient", 303)

    @app.get("/_test/writes")
    def writes() -> list[dict[str, Any]]:
        return ehr.writes

    @app.get("/_test/feedback")
    def feedback() -> list[int]:
        return ehr.feedback_status

    return app


def _card_html(card: dict[str, Any]) -> str:
    card_id = html.escape(card.get("uuid", ""))
    links = "".join(
        f"<li><a class='card-link' href='/ehr/launch?{urlencode({'app_url': link['url']})}'>"
        f"{html.escape(link['label'])}</a></li>"
        if link.get("type") == "smart"
        else f"<li><a href='{html.escape(link['url'])}'>{html.escape(link['label'])}</a></li>"
        for link in card.get("links", [])
    )
    suggestions = "".join(
        f"<li><form method='post' action='/ehr/accept'><input type='hidden' name='card' value='{card_id}'>"
        f"<button class='suggestion' name='suggestion' value='{html.escape(s['uuid'])}'>{html.escape(s['label'])}"
        "</button></form></li>"
        for s in card.get("suggestions", [])
    )
    return (
        f"<section class='card card-{html.escape(card['indicator'])}'><h2>{html.escape(card['summary'])}</h2>"
        f"<p class='source'>Source: {html.escape(card['source']['label'])}</p>"
        f"<div class='detail'>{html.escape(card.get('detail', ''))}</div>"
        f"<ul class='links'>{links}</ul><ul class='suggestions'>{suggestions}</ul></section>"
    )


def _patient_page(ehr: Ehr, cards: list[dict[str, Any]], status: int) -> str:
    name = html.escape(canary.NAME)
    style = (
        "body{font-family:Arial,sans-serif;margin:0;background:#f0f4f5}"
        "header{background:#1d3c5a;color:#fff;padding:12px 24px}"
        "main{display:flex;gap:24px;padding:24px}.record{flex:1;background:#fff;padding:16px}.cards{flex:1}"
        ".card{background:#fff;border-left:8px solid #005eb8;padding:8px 16px;margin-bottom:16px}"
        ".card-warning{border-color:#ffb81c}.card h2{font-size:18px}.detail{white-space:pre-wrap;font-size:14px}"
        ".source{color:#4c6272;font-size:13px}"
    )
    return (
        f"<!doctype html><html lang='en'><head><title>Simulated EHR: {name}</title><style>{style}</style></head><body>"
        f"<header><strong>Simulated EHR</strong> · {name} · born {canary.BIRTH_DATE} · NHS {canary.NHS_NUMBER}</header>"
        "<main><div class='record'><h1>Summary</h1><ul><li>Homeless (condition)</li><li>Food insecurity "
        "(observation, last month)</li></ul></div>"
        f"<div class='cards' data-status='{status}'><h1>Decision support</h1>{''.join(map(_card_html, cards))}</div>"
        "</main></body></html>"
    )
