"""The official Open Referral UK 3.0 profile schemas (../shared/data/oruk/uk-profile-schema), as a test helper.

Validated with JSON Schema Draft 2020-12 and a FormatChecker, so `uuid`, `uri`, `date`, `date-time` and `email`
are checked as the profile states them (rfc3339-validator and rfc3986-validator give jsonschema the last two).
"""

import json
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator, FormatChecker

from signpost.config import ROOT

SCHEMAS = ROOT.parent / "shared" / "data" / "oruk" / "uk-profile-schema"
# Which official schema each read endpoint's items (or whole answer) must meet, as openapi.json says.
ITEM_SCHEMA = {
    "/services": "compiled/service_list.json",
    "/services/{id}": "compiled/service.json",
    "/taxonomies": "taxonomy.json",
    "/taxonomy_terms": "taxonomy_term.json",
    "/organizations": "compiled/organization_list.json",
    "/service_at_locations": "compiled/service_at_location_list.json",
}


def require() -> Path:
    """Skip, saying why, when the shared profile schemas are not beside the checkout."""
    if not (SCHEMAS / "openapi.json").exists():
        pytest.skip(f"the official ORUK profile schemas are not at {SCHEMAS} (../shared/data/oruk/uk-profile-schema)")
    return SCHEMAS


@cache
def _validator(name: str) -> Draft202012Validator:
    schema: dict[str, Any]
    if name == "Page":
        schema = json.loads((SCHEMAS / "openapi.json").read_text())["components"]["schemas"]["Page"]
        schema = {**schema, "required": list(schema["properties"])}
    elif name == "/":
        spec = json.loads((SCHEMAS / "openapi.json").read_text())
        schema = spec["paths"]["/"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    else:
        schema = json.loads((SCHEMAS / name).read_text())
    return Draft202012Validator(schema, format_checker=FormatChecker())


def problems(kind: str, body: Any) -> list[str]:
    """Every way `body` (the answer to endpoint `kind`) breaks the official profile; [] when it conforms."""
    require()
    found: list[str] = []

    def check(name: str, value: Any, where: str) -> None:
        for error in _validator(name).iter_errors(value):
            path = "/".join(str(p) for p in error.absolute_path)
            found.append(f"{where}/{path}: {error.message[:200]}")

    if kind == "/":
        check("/", body, "")
    elif kind == "/services/{id}":
        check(ITEM_SCHEMA[kind], body, "")
    else:
        check("Page", body, "")
        for i, item in enumerate(body.get("contents", [])):
            check(ITEM_SCHEMA[kind], item, f"contents/{i}")
    return found
