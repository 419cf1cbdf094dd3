"""Calls to an EHR's FHIR server (httpx): reads for the patient in context and writes back to the record."""

import json
from typing import Any

import httpx

FHIR_JSON = "application/fhir+json"


class EhrUnavailable(Exception):
    """The EHR's FHIR server timed out, could not be reached, or answered with an error."""


def _headers(token: str | None) -> dict[str, str]:
    headers = {"Accept": FHIR_JSON}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return headers


async def _call(
    method: str, url: str, *, token: str | None, timeout: float, body: dict[str, Any] | None = None
) -> dict[str, Any]:
    headers = _headers(token)
    content = None
    if body is not None:
        headers["Content-Type"] = FHIR_JSON
        content = json.dumps(body).encode()
    try:
        async with httpx.AsyncClient(timeout=timeout, follow_redirects=False) as client:
            response = await client.request(method, url, headers=headers, content=content)
    except httpx.HTTPError as exc:
        # The exception's text can carry the URL (a patient id in its path): name only its kind.
        raise EhrUnavailable(f"the EHR could not be reached ({type(exc).__name__})") from None
    if response.status_code >= 400:
        raise EhrUnavailable(f"the EHR answered {response.status_code}")
    if not response.content:
        return {}
    try:
        found = response.json()
    except ValueError:
        raise EhrUnavailable("the EHR's answer was not JSON") from None
    if not isinstance(found, dict):
        raise EhrUnavailable("the EHR's answer was not a FHIR resource")
    return found


async def read(*, base: str, path: str, token: str | None, timeout: float) -> dict[str, Any]:
    """One resource (`Patient/123`) from the EHR."""
    return await _call("GET", f"{base.rstrip('/')}/{path.lstrip('/')}", token=token, timeout=timeout)


async def search(*, base: str, query: str, token: str | None, timeout: float) -> list[dict[str, Any]]:
    """The resources of a search (`Observation?patient=123&category=social-history`), first page only."""
    bundle = await _call("GET", f"{base.rstrip('/')}/{query.lstrip('/')}", token=token, timeout=timeout)
    if bundle.get("resourceType") != "Bundle":
        raise EhrUnavailable("the EHR's search answer was not a Bundle")
    return entries(bundle)


async def create(*, base: str, resource: dict[str, Any], token: str, timeout: float) -> dict[str, Any]:
    """Create a resource in the EHR; its answer (the stored resource, or nothing)."""
    url = f"{base.rstrip('/')}/{resource['resourceType']}"
    return await _call("POST", url, token=token, timeout=timeout, body=resource)


def entries(bundle: dict[str, Any]) -> list[dict[str, Any]]:
    """The resources in a Bundle (prefetch answers are Bundles too)."""
    return [
        e["resource"] for e in bundle.get("entry") or [] if isinstance(e, dict) and isinstance(e.get("resource"), dict)
    ]
