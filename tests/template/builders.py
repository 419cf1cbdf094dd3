"""Plain builders of QuestionnaireResponses to the template."""

from typing import Any

BASE = "https://signpost.example.org/fhir"
NEED = f"{BASE}/CodeSystem/social-need"
ANSWER = f"{BASE}/CodeSystem/sdoh-answer"
CANONICAL = f"{BASE}/Questionnaire/social-determinants|1.0.0"

# The shortest path: nothing found, twelve answers.
NO_NEEDS: dict[str, list[Any]] = {
    "housing": [(ANSWER, "none")],
    "money": [(ANSWER, "none")],
    "food-worried": [(ANSWER, "never-true")],
    "food-ran-out": [(ANSWER, "never-true")],
    "work": [False],
    "household": [(ANSWER, "none")],
    "isolation": [False],
    "legal-immigration": [False],
    "safe-to-ask": [True],
    "domestic-abuse": [False],
    "access": [(ANSWER, "none")],
    "consent": [True],
}
ORDER = [
    "housing", "homeless-tonight", "money", "benefits-check", "debt-types", "food-worried", "food-ran-out",
    "food-today", "work", "household", "isolation", "legal-immigration", "safe-to-ask", "domestic-abuse",
    "at-risk-now", "access", "language", "consent",
]  # fmt: skip


def answer(value: Any) -> dict[str, Any]:
    if isinstance(value, bool):
        return {"valueBoolean": value}
    if isinstance(value, tuple):
        return {"valueCoding": {"system": value[0], "code": value[1]}}
    if isinstance(value, dict):
        return value
    return {"valueString": value}


def make_response(overrides: dict[str, list[Any] | None] | None = None, **fields: Any) -> dict[str, Any]:
    """A completed response: the no-needs answers, changed by `overrides` (None removes an item)."""
    answers: dict[str, list[Any] | None] = {**NO_NEEDS, **(overrides or {})}
    items = [
        {"linkId": link_id, "answer": [answer(v) for v in answers[link_id] or []]}
        for link_id in ORDER
        if answers.get(link_id) is not None
    ]
    return {
        "resourceType": "QuestionnaireResponse",
        "questionnaire": CANONICAL,
        "status": "completed",
        "authored": "2026-11-28T09:00:00Z",
        "item": items,
        **fields,
    }


def need(code: str) -> tuple[str, str]:
    return (NEED, code)


def ans(code: str) -> tuple[str, str]:
    return (ANSWER, code)


# Every need at once, the urgent ones urgent: fifteen-plus answers.
ALL_NEEDS: dict[str, list[Any] | None] = {
    "housing": [need("homeless"), need("housing-conditions"), need("overcrowding")],
    "homeless-tonight": [True],
    "money": [need("money-essentials"), need("debt-priority"), need("fuel-poverty")],
    "benefits-check": [True],
    "debt-types": [ans("council-tax-arrears"), ans("energy-arrears")],
    "food-worried": [ans("often-true")],
    "food-ran-out": [ans("sometimes-true")],
    "food-today": [True],
    "work": [True],
    "household": [need("carer"), need("early-years")],
    "isolation": [True],
    "legal-immigration": [True],
    "domestic-abuse": [True],
    "at-risk-now": [True],
    "access": [need("interpreter"), ans("phone-only")],
    "language": [{"valueCoding": {"system": "urn:ietf:bcp:47", "code": "pl", "display": "Polish"}}],
}
