"""A CapabilityStatement generated from the FHIR routes that exist, so it never claims more."""

import re
from datetime import UTC, datetime
from typing import Any

from fastapi import FastAPI
from fastapi.routing import APIRoute

from signpost import __version__

TYPE_PATH = re.compile(r"^/fhir/([A-Z][A-Za-z]+)(/\{[a-z_]+\})?(/\$([a-z-]+)|/_history(/\{[a-z_]+\})?)?$")
SYSTEM_OP = re.compile(r"^/fhir/\$([a-z-]+)$")


def _query_params(route: APIRoute) -> list[dict[str, Any]]:
    """A search route that reads FastAPI query parameters instead of declaring `Param`s: its parameter names."""
    names = [p.alias or p.name for p in route.dependant.query_params]
    return [{"name": n, "type": "string"} for n in names if not n.startswith("_") and ":" not in n]


def _interaction(method: str, instance: bool, history: str | None) -> str | None:
    if history is not None:
        return "vread" if "{" in history else ("history-instance" if instance else "history-type")
    return {
        ("GET", True): "read",
        ("GET", False): "search-type",
        ("POST", False): "create",
        ("PUT", True): "update",
        ("DELETE", True): "delete",
        ("PATCH", True): "patch",
    }.get((method, instance))


def capability_statement(app: FastAPI, base_url: str) -> dict[str, Any]:
    resources: dict[str, dict[str, Any]] = {}
    system_ops: list[dict[str, str]] = []
    for route in app.routes:
        if not isinstance(route, APIRoute) or not route.path.startswith("/fhir/"):
            continue
        if match := SYSTEM_OP.match(route.path):
            name = match.group(1)
            system_ops.append({"name": name, "definition": f"{base_url}/OperationDefinition/{name}"})
            continue
        match = TYPE_PATH.match(route.path)
        if not match:
            continue
        rtype, instance, tail, operation, version = match.groups()
        history = (version or "") if tail and tail.startswith("/_history") else None
        entry = resources.setdefault(
            rtype, {"type": rtype, "versioning": None, "interaction": [], "searchParam": [], "operation": []}
        )
        if operation:
            if all(op["name"] != operation for op in entry["operation"]):
                definition = (route.openapi_extra or {}).get("x-fhir-operation-definition") or (
                    f"{base_url}/OperationDefinition/{rtype}-{operation}"
                )
                entry["operation"].append({"name": operation, "definition": definition})
            continue
        for method in sorted(route.methods):
            code = _interaction(method, bool(instance), history)
            if code and {"code": code} not in entry["interaction"]:
                entry["interaction"].append({"code": code})
            if code == "search-type":
                # Declared once with the route (fhir_api.search.Param), so the statement says what the parser does.
                extra = route.openapi_extra or {}
                entry["searchParam"] = list(extra.get("x-fhir-search", [])) or _query_params(route)
                if extra.get("x-fhir-include"):
                    entry["searchInclude"] = list(extra["x-fhir-include"])
    rest_resources = []
    for rtype in sorted(resources):
        entry = {k: v for k, v in resources[rtype].items() if v}
        codes = {i["code"] for i in entry.get("interaction", [])}
        entry["versioning"] = "versioned" if "vread" in codes else "no-version"
        if "read" in codes:
            entry["conditionalRead"] = "not-match"
        rest_resources.append({"type": entry.pop("type"), **entry})
    rest: dict[str, Any] = {
        "mode": "server",
        "security": {
            "description": "Send an API key as 'Authorization: Bearer <key>'; metadata, "
            "Questionnaire and terminology resources are public."
        },
        "resource": rest_resources,
    }
    if system_ops:
        rest["operation"] = system_ops
    return {
        "resourceType": "CapabilityStatement",
        "id": "signpost",
        "url": f"{base_url}/CapabilityStatement/signpost",
        "version": __version__,
        "name": "SignpostCapabilityStatement",
        "title": "Signpost FHIR server",
        "status": "active",
        "date": datetime.now(UTC).date().isoformat(),
        "publisher": "Signpost",
        "kind": "instance",
        "software": {"name": "Signpost", "version": __version__},
        "implementation": {"description": "Signpost social-determinants signposting", "url": base_url},
        "fhirVersion": "4.0.1",
        "format": ["application/fhir+json", "json"],
        "rest": [rest],
    }
