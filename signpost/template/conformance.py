"""The FHIR conformance resources shipped in `fhir/`, loaded once and looked up by type, id or canonical."""

import json
from functools import lru_cache
from typing import Any

from signpost.config import data_dir

BASE = "https://signpost.example.org/fhir"
QUESTIONNAIRE_URL = f"{BASE}/Questionnaire/social-determinants"
NEED_SYSTEM = f"{BASE}/CodeSystem/social-need"
ANSWER_SYSTEM = f"{BASE}/CodeSystem/sdoh-answer"
SNOMED = "http://snomed.info/sct"
LOINC = "http://loinc.org"
# The Hunger Vital Sign's answers are offered in LOINC; the project's own codes for the same answers, which the
# template offered before, are still understood (read as their LOINC twins).
HVS_LOINC_ANSWERS = {
    "often-true": ("LA28397-0", "Often true"),
    "sometimes-true": ("LA6729-3", "Sometimes true"),
    "never-true": ("LA28398-8", "Never true"),
}
NEED_TO_CATEGORY_MAP = "need-to-service-category"
NEED_TO_SNOMED_MAP = "social-need-to-snomed"


@lru_cache
def _all() -> dict[tuple[str, str], dict[str, Any]]:
    resources: dict[tuple[str, str], dict[str, Any]] = {}
    for path in sorted(data_dir("fhir").glob("*.json")):
        resource = json.loads(path.read_text())
        resources[(resource["resourceType"], resource["id"])] = resource
    return resources


def reload() -> None:
    """Forget the cached files (tests that edit a resource call this)."""
    for cached in (
        _all,
        questionnaire,
        expansion,
        need_concepts,
        need_order,
        item_needs,
        concept_map_targets,
        need_categories,
    ):
        cached.cache_clear()


def of_type(resource_type: str) -> list[dict[str, Any]]:
    """Every shipped resource of one type."""
    return [r for (t, _), r in _all().items() if t == resource_type]


def read(resource_type: str, resource_id: str) -> dict[str, Any] | None:
    return _all().get((resource_type, resource_id))


def by_url(resource_type: str, url: str) -> dict[str, Any] | None:
    """A resource by canonical URL, optionally `url|version`."""
    url, _, version = url.partition("|")
    for resource in of_type(resource_type):
        if resource.get("url") == url and (not version or resource.get("version") == version):
            return resource
    return None


@lru_cache
def questionnaire() -> dict[str, Any]:
    """The social determinants template."""
    found = by_url("Questionnaire", QUESTIONNAIRE_URL)
    if found is None:
        raise RuntimeError("fhir/Questionnaire-social-determinants.json is missing")
    return found


def _concepts(system: str, version: str | None) -> list[dict[str, Any]]:
    codesystem = by_url("CodeSystem", f"{system}|{version}" if version else system)
    return codesystem.get("concept", []) if codesystem else []


@lru_cache
def expansion(url: str) -> tuple[tuple[str, str, str], ...]:
    """The codes of a shipped ValueSet as (system, code, display); empty when unknown."""
    valueset = by_url("ValueSet", url)
    if valueset is None:
        return ()
    codes: list[tuple[str, str, str]] = []
    for include in valueset.get("compose", {}).get("include", []):
        system = include.get("system", "")
        listed = include.get("concept") or _concepts(system, include.get("version"))
        codes += [(system, c["code"], c.get("display", "")) for c in listed]
    return tuple(dict.fromkeys(codes))


@lru_cache
def need_concepts() -> dict[str, dict[str, Any]]:
    """The social-need CodeSystem's concepts by code (shared: do not change it)."""
    return {c["code"]: c for c in _concepts(NEED_SYSTEM, None)}


@lru_cache
def need_order() -> dict[str, int]:
    """need code → its place in the CodeSystem (needs are listed in that order)."""
    return {code: place for place, code in enumerate(need_concepts())}


@lru_cache
def item_needs() -> dict[str, tuple[str, ...]]:
    """linkId → the needs a yes finds, for each top-level boolean item of the template coded with needs."""
    return {
        item["linkId"]: codes
        for item in questionnaire().get("item", [])
        if item.get("type") == "boolean"
        and (codes := tuple(c["code"] for c in item.get("code", []) if c.get("system") == NEED_SYSTEM))
    }


def is_sensitive(need_code: str) -> bool:
    concept = need_concepts().get(need_code, {})
    return any(p.get("code") == "sensitive" and p.get("valueBoolean") for p in concept.get("property", []))


@lru_cache
def need_categories() -> dict[str, tuple[str, ...]]:
    """need code → the service categories it routes to, in order of preference: the one reading of the
    need-to-service-category ConceptMap (routing, directory search and the counted events all use it)."""
    return {
        need: tuple(t["code"] for t in targets if t.get("code"))
        for need, targets in concept_map_targets(NEED_TO_CATEGORY_MAP).items()
    }


@lru_cache
def concept_map_targets(map_id: str) -> dict[str, list[dict[str, Any]]]:
    """A shipped ConceptMap as source code → its targets, in the order written (shared: do not change it)."""
    concept_map = read("ConceptMap", map_id) or {}
    targets: dict[str, list[dict[str, Any]]] = {}
    for group in concept_map.get("group", []):
        for element in group.get("element", []):
            for target in element.get("target", []):
                if target.get("equivalence") not in ("unmatched", "disjoint"):
                    targets.setdefault(element["code"], []).append({**target, "system": group.get("target")})
    return targets
