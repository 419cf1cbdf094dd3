"""The codes an event may carry: need codes from the social-need CodeSystem, categories from the ConceptMap."""

import json
from functools import lru_cache
from pathlib import Path

from signpost.config import data_dir

KINDS = ("signposted", "referred")
SOURCES = ("template", "prescriber")

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
    """Every need code, in CodeSystem order (read from the template's CodeSystem, shipped with the service)."""
    path = _fhir_file("CodeSystem-social-need.json")

    def walk(concepts: list[dict]) -> list[str]:  # type: ignore[type-arg]
        found: list[str] = []
        for c in concepts:
            found.append(c["code"])
            found += walk(c.get("concept", []))
        return found

    return tuple(walk(json.loads(path.read_text()).get("concept", [])))
