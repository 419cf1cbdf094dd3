"""SMART App Launch (EHR launch), the OAuth 2 authorization-code flow with PKCE (S256) and state."""

import base64
import hashlib
from typing import Any
from urllib.parse import urlencode

import httpx

from signpost.config import Settings, TrustedEhr
from signpost.smart.sessions import Launch


class LaunchRefused(Exception):
    """The launch cannot go on; the message is shown to the clinician as it is (it names nothing identifying)."""


def trusted(settings: Settings, issuer: str) -> TrustedEhr:
    """The registered EHR whose FHIR base URL is `issuer`."""
    for ehr in settings.trusted_ehrs:
        if ehr.client_id and ehr.base == issuer.rstrip("/"):
            return ehr
    raise LaunchRefused(
        "Signpost was launched by a clinical system it is not registered with. Ask the practice to register "
        "Signpost with that system, or open Signpost from a registered one."
    )


def challenge(verifier: str) -> str:
    """The PKCE S256 code challenge of a verifier (RFC 7636)."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


async def _json(method: str, url: str, timeout: float, **kwargs: Any) -> dict[str, Any]:
    try:
        async with httpx.AsyncClient(timeout=timeout, follow_redirects=False) as client:
            response = await client.request(method, url, headers={"Accept": "application/json"}, **kwargs)
    except httpx.HTTPError:
        raise LaunchRefused("The clinical system could not be reached. Try launching Signpost again.") from None
    try:
        found = response.json()
    except ValueError:
        found = None
    if response.status_code >= 400 or not isinstance(found, dict):
        raise LaunchRefused(f"The clinical system refused Signpost's request ({response.status_code}).")
    return found


async def begin(*, settings: Settings, issuer: str, launch_token: str, redirect_uri: str) -> tuple[Launch, str]:
    """Discover the EHR's endpoints; the new launch and where to send the browser to authorise it."""
    ehr = trusted(settings, issuer)
    config = await _json("GET", f"{ehr.base}/.well-known/smart-configuration", settings.ehr_timeout_s)
    authorize, token = config.get("authorization_endpoint"), config.get("token_endpoint")
    if not isinstance(authorize, str) or not isinstance(token, str):
        raise LaunchRefused("The clinical system's SMART configuration names no authorization or token endpoint.")
    if "S256" not in (config.get("code_challenge_methods_supported") or []):
        raise LaunchRefused("The clinical system does not support PKCE (S256), which Signpost requires.")
    launch = Launch(issuer=ehr.base, client_id=ehr.client_id, token_endpoint=token)
    query = urlencode(
        {
            "response_type": "code",
            "client_id": ehr.client_id,
            "redirect_uri": redirect_uri,
            "launch": launch_token,
            "scope": ehr.scopes,
            "state": launch.state,
            "aud": ehr.base,
            "code_challenge": challenge(launch.verifier),
            "code_challenge_method": "S256",
        }
    )
    return launch, f"{authorize}{'&' if '?' in authorize else '?'}{query}"


async def authorise(*, settings: Settings, launch: Launch, code: str, redirect_uri: str) -> None:
    """Exchange the code (with the PKCE verifier) for a token and the patient in context; kept on the launch."""
    answer = await _json(
        "POST",
        launch.token_endpoint,
        settings.ehr_timeout_s,
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": redirect_uri,
            "client_id": launch.client_id,
            "code_verifier": launch.verifier,
        },
    )
    token, patient = answer.get("access_token"), answer.get("patient")
    if not isinstance(token, str) or not token or not isinstance(patient, str) or not patient:
        raise LaunchRefused("The clinical system did not give Signpost a patient in context. Launch it from a record.")
    launch.access_token = token
    launch.patient_id = patient
    launch.scopes = set(str(answer.get("scope") or "").split())


def may_write(scopes: set[str], resource_type: str) -> bool:
    """Whether the granted scopes let Signpost create `resource_type` in the record (SMART v1 and v2 forms)."""
    for scope in scopes:
        context, _, rest = scope.partition("/")
        kind, _, access = rest.partition(".")
        if context not in ("patient", "user") or kind not in (resource_type, "*"):
            continue
        if access in ("write", "*") or (
            access and "c" in access.split("?")[0] and set(access.split("?")[0]) <= set("cruds")
        ):
            return True
    return False
