"""From answers to coded needs with urgency, and the patient's preferences for how help reaches them."""

from dataclasses import dataclass, field
from typing import Any

from signpost.template import conformance
from signpost.template.validation import Checked

# Follow-up items that make their need urgent when answered yes (homeless tonight, no food today, at risk of harm).
URGENT_ITEMS = {"homeless-tonight": "homeless", "food-today": "food-insecurity", "at-risk-now": "domestic-abuse"}
# Of those, the ones that say the patient may be in danger now: their answer starts with 999.
DANGER_ITEMS = {"at-risk-now"}
# Hunger Vital Sign: a positive screen is "often" or "sometimes" true to either statement.
HUNGER_VITAL_SIGN = ("food-worried", "food-ran-out")
HVS_POSITIVE = {conformance.HVS_LOINC_ANSWERS[a][0] for a in ("often-true", "sometimes-true")}
NO_INTERNET = {"phone-only", "no-phone"}


# An `__init__` of its own, not the dataclass's, which stays interpreted Python when compiled (signpost.native): a
# frozen one set each field through object.__setattr__, some 8,000 machine instructions a need.
@dataclass(init=False)
class Need:
    """One coded need found in the answers."""

    code: str
    display: str
    urgent: bool
    sensitive: bool
    danger: bool  # at risk of harm now: 999 comes before any service

    def __init__(
        self, code: str, display: str, urgent: bool = False, sensitive: bool = False, danger: bool = False
    ) -> None:
        self.code, self.display, self.urgent, self.sensitive, self.danger = code, display, urgent, sensitive, danger

    @property
    def coding(self) -> dict[str, str]:
        return {"system": conformance.NEED_SYSTEM, "code": self.code, "display": self.display}


@dataclass(frozen=True)
class Preferences:
    """How help should reach the patient."""

    language: str | None = None  # BCP 47 code of the interpreter language
    language_display: str | None = None
    interpreter: bool = False
    phone_only: bool = False  # a phone but no internet
    no_phone: bool = False  # neither internet nor phone: in person only

    @property
    def no_internet(self) -> bool:
        return self.phone_only or self.no_phone


@dataclass(frozen=True)
class Assessment:
    """What the answers say: needs (urgent first, in template order), preferences and consent."""

    needs: list[Need] = field(default_factory=list)
    preferences: Preferences = field(default_factory=Preferences)
    consent: bool = False


def _codes(values: list[Any]) -> list[tuple[str, str]]:
    return [(a["valueCoding"].get("system", ""), a["valueCoding"]["code"]) for a in values if "valueCoding" in a]


def _yes(values: list[Any]) -> bool:
    return any(a.get("valueBoolean") is True for a in values)


def assess(checked: Checked) -> Assessment:
    """Derive needs and preferences from a validated response."""
    concepts = conformance.need_concepts()
    yes_finds = conformance.item_needs()
    found: list[str] = []
    for link_id, values in checked.answers.items():
        # A coded answer from the need CodeSystem is the need itself.
        found += [code for system, code in _codes(values) if system == conformance.NEED_SYSTEM]
        # A yes to a question coded with a need finds that need.
        if link_id in yes_finds and _yes(values):
            found += yes_finds[link_id]
    if any(code in HVS_POSITIVE for q in HUNGER_VITAL_SIGN for _, code in _codes(checked.answers.get(q, []))):
        found.append("food-insecurity")
    access = {code for _, code in _codes(checked.answers.get("access", []))}
    if access & NO_INTERNET:
        found.append("digital-exclusion")
    urgent = {need for link_id, need in URGENT_ITEMS.items() if _yes(checked.answers.get(link_id, []))}
    danger = {URGENT_ITEMS[link_id] for link_id in DANGER_ITEMS if _yes(checked.answers.get(link_id, []))}
    order = conformance.need_order()
    unique = sorted(set(found) & concepts.keys(), key=order.__getitem__)
    needs = [
        Need(
            code,
            concepts[code]["display"],
            urgent=code in urgent,
            sensitive=conformance.is_sensitive(code),
            danger=code in danger,
        )
        for code in unique
    ]
    needs.sort(key=lambda n: not n.urgent)  # stable: urgent first, template order kept within each
    given: list[dict[str, Any]] = checked.answers.get("language", [])
    language: dict[str, Any] = given[0].get("valueCoding", {}) if given else {}
    preferences = Preferences(
        language=language.get("code"),
        language_display=language.get("display"),
        interpreter="interpreter" in access,
        phone_only="phone-only" in access,
        no_phone="no-phone" in access,
    )
    return Assessment(needs=needs, preferences=preferences, consent=_yes(checked.answers.get("consent", [])))
