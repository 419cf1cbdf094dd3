"""The codes an event may carry: need codes from the social-need CodeSystem, categories from the ConceptMap."""

import json
from functools import lru_cache
from pathlib import Path

from signpost.config import data_dir

KINDS = ("signposted", "referred")
SOURCES = ("template", "prescriber")

# The shared vocabulary, used only while fhir/CodeSystem-social-need.json is absent.
_FALLBACK_NEEDS = (
    "homeless",
    "housing-at-risk",
    "temporary-accommodation",
    "housing-conditions",
    "overcrowding",
    "money-essentials",
    "benefits-check",
    "debt-priority",
    "fuel-poverty",
    "food-insecurity",
    "unemployment",
    "carer",
    "isolation",
    "early-years",
    "domestic-abuse",
    "legal-immigration",
    "digital-exclusion",
    "interpreter",
)
SERVICE_CATEGORIES = (
    "housing",
    "homelessness",
    "welfare-benefits",
    "debt",
    "fuel-energy",
    "food",
    "employment",
    "carers",
    "isolation",
    "family-early-years",
    "domestic-abuse",
    "legal-immigration",
    "digital-inclusion",
    "language-interpreting",
)


def _fhir_file(name: str) -> Path:
    return data_dir("fhir") / name


@lru_cache
def need_codes() -> tuple[str, ...]:
    """Every need code, in CodeSystem order (read from the template's CodeSystem when it is there)."""
    path = _fhir_file("CodeSystem-social-need.json")
    if not path.exists():
        return _FALLBACK_NEEDS

    def walk(concepts: list[dict]) -> list[str]:  # type: ignore[type-arg]
        found: list[str] = []
        for c in concepts:
            found.append(c["code"])
            found += walk(c.get("concept", []))
        return found

    return tuple(walk(json.loads(path.read_text()).get("concept", [])))
