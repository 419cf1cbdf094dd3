"""FHIR R4 search parameters: declared names and modifiers only, lenient or strict handling, control parameters.

Each search route declares its parameters once (a tuple of `Param`); the same declaration parses the request,
writes the `self` link (only what was used) and feeds the CapabilityStatement, so they cannot disagree.
"""

from dataclasses import dataclass, field
from typing import Any, NamedTuple

from fastapi import Request

from signpost.errors import Problem

# Control parameters every search route understands (R4 3.1.1.5 / 3.1.1.4); `_format` is checked by the router.
CONTROL = ("_count", "_offset", "_summary", "_elements", "_include", "_format")
SUMMARY_VALUES = ("count", "false")


@dataclass(frozen=True)
class Param:
    """One declared search parameter: its name, FHIR type, the modifiers it honours and what it does."""

    name: str
    type: str
    documentation: str
    modifiers: tuple[str, ...] = ()


class Criterion(NamedTuple):
    """One use of a parameter: OR across `values` (commas); repeats of a parameter are separate criteria (AND)."""

    modifier: str | None
    values: tuple[str, ...]


@dataclass
class Search:
    """A parsed search request."""

    criteria: dict[str, list[Criterion]] = field(default_factory=dict)
    count: int = 20
    offset: int = 0
    summary_count: bool = False
    elements: tuple[str, ...] = ()
    include: tuple[str, ...] = ()
    used: list[tuple[str, str]] = field(default_factory=list)  # what the `self` link repeats

    def all(self, name: str) -> list[Criterion]:
        return self.criteria.get(name, [])


def strict(request: Request) -> bool:
    """`Prefer: handling=strict` (R4 3.1.1.5.14); the default is lenient."""
    prefer = request.headers.get("prefer", "")
    return any(part.strip().lower() == "handling=strict" for part in prefer.split(","))


def bad(param: str, message: str) -> Problem:
    return Problem(400, f"{param}: {message}", errors=[{"loc": param, "message": message}])


def _split(value: str) -> tuple[str, ...]:
    # A comma escaped as `\,` belongs to the value (R4 3.1.1.4.15 escaping); a bare comma means OR.
    parts, current, escaped = [], "", False
    for char in value:
        if escaped:
            current += char
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == ",":
            parts.append(current)
            current = ""
        else:
            current += char
    parts.append(current)
    return tuple(p for p in parts if p != "")


def _integer(name: str, value: str, *, minimum: int) -> int:
    try:
        number = int(value)
    except ValueError:
        raise bad(name, f"{value!r} is not a whole number") from None
    if number < minimum:
        raise bad(name, f"must be at least {minimum}")
    return number


def parse(
    request: Request,
    *,
    params: tuple[Param, ...],
    includes: tuple[str, ...] = (),
) -> Search:
    """Parse a search request against its declared parameters; unknown ones are ignored, or 400 when strict."""
    settings = request.app.state.settings
    default_count, max_count = settings.fhir_default_count, settings.fhir_max_count
    declared = {p.name: p for p in params}
    is_strict = strict(request)
    search = Search(count=default_count)
    unknown: list[str] = []
    for key, value in request.query_params.multi_items():
        name, _, modifier = key.partition(":")
        if name in CONTROL:
            if modifier:
                unknown.append(key)
                continue
            if name == "_count":
                search.count = min(_integer("_count", value, minimum=0), max_count)
            elif name == "_offset":
                search.offset = _integer("_offset", value, minimum=0)
            elif name == "_summary":
                if value not in SUMMARY_VALUES:
                    raise bad("_summary", f"{value!r} is not supported here; use {' or '.join(SUMMARY_VALUES)}")
                search.summary_count = value == "count"
            elif name == "_elements":
                search.elements += _split(value)
            elif name == "_include":
                for item in _split(value):
                    if item not in includes:
                        if is_strict:
                            raise bad("_include", f"{item!r} is not supported; use {', '.join(includes) or 'none'}")
                        continue
                    search.include += (item,)
                    search.used.append(("_include", item))
                continue
            if name != "_format":
                search.used.append((key, value))
            continue
        param = declared.get(name)
        if param is None or (modifier and modifier not in param.modifiers):
            unknown.append(key)
            continue
        values = _split(value)
        if not values:
            raise bad(key, "has no value")
        search.criteria.setdefault(name, []).append(Criterion(modifier or None, values))
        search.used.append((key, value))
    if unknown and is_strict:
        names = ", ".join(sorted(set(unknown)))
        known = ", ".join(sorted(declared)) or "none"
        raise Problem(
            400,
            f"Unknown search parameters or modifiers: {names} (Prefer: handling=strict). This search knows: {known}.",
            errors=[{"loc": u, "message": "not supported"} for u in sorted(set(unknown))],
        )
    # Deterministic links: the order the client sent, but `_offset` is the pager's own.
    search.used = [(k, v) for k, v in search.used if k != "_offset"]
    return search


def elements_only(resource: dict[str, Any], elements: tuple[str, ...]) -> dict[str, Any]:
    """`_elements`: the named top-level elements and the mandatory ones, marked SUBSETTED (R4 3.1.1.5.9)."""
    if not elements:
        return resource
    keep = set(elements) | {"resourceType", "id", "meta"}
    out = {k: v for k, v in resource.items() if k in keep}
    meta = dict(out.get("meta", {}))
    meta["tag"] = [
        *meta.get("tag", []),
        {"system": "http://terminology.hl7.org/CodeSystem/v3-ObservationValue", "code": "SUBSETTED"},
    ]
    out["meta"] = meta
    return out


def route_extra(params: tuple[Param, ...], includes: tuple[str, ...] = ()) -> dict[str, Any]:
    """What a search route declares: OpenAPI query parameters, and FHIR parameters for the CapabilityStatement."""
    return {
        "parameters": openapi_parameters(params),
        "x-fhir-search": capability_params(params),
        "x-fhir-include": list(includes),
    }


def capability_params(params: tuple[Param, ...]) -> list[dict[str, Any]]:
    """The parameters as CapabilityStatement.rest.resource.searchParam entries."""
    out = []
    for p in params:
        doc = p.documentation + (f" Modifiers: {', '.join(':' + m for m in p.modifiers)}." if p.modifiers else "")
        out.append({"name": p.name, "type": p.type, "documentation": doc})
    return out


def openapi_parameters(params: tuple[Param, ...]) -> list[dict[str, Any]]:
    """The parameters as OpenAPI query parameters (the routes read the query string themselves)."""
    out = []
    for p in params:
        for name in (p.name, *(f"{p.name}:{m}" for m in p.modifiers)):
            out.append(
                {
                    "name": name,
                    "in": "query",
                    "required": False,
                    "description": p.documentation,
                    "schema": {"type": "array", "items": {"type": "string"}},
                    "style": "form",
                    "explode": True,
                }
            )
    for name, doc in (
        ("_count", "Page size (bounded by the server's maximum)"),
        ("_offset", "Where the page starts (the server writes it in next/previous links)"),
        ("_summary", "count: the total only"),
        ("_elements", "Comma-separated top-level elements to return"),
    ):
        out.append({"name": name, "in": "query", "required": False, "description": doc, "schema": {"type": "string"}})
    return out


# The search every shipped conformance resource (fhir/*.json) answers, filtered in memory.
CONFORMANCE_PARAMS = (
    Param("_id", "token", "The resource's id."),
    Param("url", "uri", "Canonical URL, optionally url|version."),
    Param("version", "token", "Business version."),
    Param("status", "token", "draft | active | retired | unknown."),
)


def _matches(resource: dict[str, Any], name: str, value: str) -> bool:
    if name == "_id":
        return resource.get("id") == value
    if name == "url":
        url, _, version = value.partition("|")
        return resource.get("url") == url and (not version or resource.get("version") == version)
    return resource.get(name) == value


def filter_shipped(resources: list[dict[str, Any]], found: Search) -> list[dict[str, Any]]:
    """Resources meeting every criterion (AND), each criterion by any of its values (OR)."""
    return [
        r
        for r in resources
        if all(
            any(_matches(r, name, v) for v in c.values) for name, criteria in found.criteria.items() for c in criteria
        )
    ]
