"""The conformance resources in fhir/: valid R4 (via the R4B models), canonical, and consistent with each other."""

import importlib
import json
import re
from pathlib import Path

import pytest

from signpost.template import conformance

FHIR = Path(__file__).resolve().parents[2] / "fhir"
MINE = [p for p in sorted(FHIR.glob("*.json")) if "marmot" not in p.name and not p.name.startswith("Measure-")]
NEED_CODES = {
    "homeless", "housing-at-risk", "temporary-accommodation", "housing-conditions", "overcrowding",
    "money-essentials", "benefits-check", "debt-priority", "fuel-poverty", "food-insecurity", "unemployment",
    "carer", "isolation", "early-years", "domestic-abuse", "legal-immigration", "digital-exclusion", "interpreter",
}  # fmt: skip
CATEGORIES = {
    "housing", "homelessness", "welfare-benefits", "debt", "fuel-energy", "food", "employment", "carers",
    "isolation", "family-early-years", "domestic-abuse", "legal-immigration", "digital-inclusion",
    "language-interpreting",
}  # fmt: skip
# DESIGN.md's verified SNOMED CT codes, less 81877007 (retired: a 2016 release lists it so), plus the two that replace
# it, both in a SNOMED CT International (2021-07-31) expansion of active living-situation concepts: nothing else.
VERIFIED_SNOMED = {
    "871731000000106", "871711000000103", "1084431000000106", "105531004", "32911000",
    "160932005", "73438004", "733423003", "422650009", "267076002", "161152002", "365509003", "5549007",
}  # fmt: skip
RETIRED_SNOMED = {"81877007"}


@pytest.mark.parametrize("path", MINE, ids=lambda p: p.name)
def test_resource_is_valid_against_its_r4b_model(path: Path) -> None:
    resource = json.loads(path.read_text())
    kind = resource["resourceType"]
    model = getattr(importlib.import_module(f"fhir.resources.R4B.{kind.lower()}"), kind)
    model.model_validate(resource)
    assert resource["url"] == f"https://signpost.example.org/fhir/{kind}/{resource['id']}"


def test_need_codesystem_holds_exactly_the_shared_need_codes() -> None:
    assert set(conformance.need_concepts()) == NEED_CODES


def test_only_verified_snomed_codes_appear_anywhere() -> None:
    text = "\n".join(p.read_text() for p in MINE)
    found = set(re.findall(r'"code": "(\d{6,18})"', text))
    assert found <= VERIFIED_SNOMED


def test_no_retired_snomed_code_appears_anywhere() -> None:
    text = "\n".join(p.read_text() for p in MINE)
    assert not RETIRED_SNOMED & set(re.findall(r'"code": "(\d{6,18})"', text))


def test_the_food_questions_carry_the_hunger_vital_sign_loinc_codes() -> None:
    items = {i["linkId"]: i for i in conformance.questionnaire()["item"]}
    loinc = {
        link: [c["code"] for c in items[link].get("code", []) if c["system"] == "http://loinc.org"] for link in items
    }
    assert (loinc["food-worried"], loinc["food-ran-out"]) == (["88122-7"], ["88123-5"])
    answers = json.loads((conformance.data_dir("fhir") / "ValueSet-hunger-vital-sign-answer.json").read_text())
    included = answers["compose"]["include"]
    codes = {c["code"] for i in included if i["system"] == "http://loinc.org" for c in i["concept"]}
    assert codes == {"LA28397-0", "LA6729-3", "LA28398-8"}
    # The template offers the LOINC answers themselves.
    for link in ("food-worried", "food-ran-out"):
        offered = {(o["valueCoding"]["system"], o["valueCoding"]["code"]) for o in items[link]["answerOption"]}
        assert offered == {("http://loinc.org", code) for code in codes}


def test_concept_map_routes_every_need_to_shared_categories() -> None:
    targets = conformance.concept_map_targets(conformance.NEED_TO_CATEGORY_MAP)
    assert set(targets) == NEED_CODES
    assert {t["code"] for ts in targets.values() for t in ts} <= CATEGORIES


def test_every_coded_answer_option_comes_from_a_shipped_codesystem() -> None:
    for item in conformance.questionnaire()["item"]:
        for option in item.get("answerOption", []):
            coding = option["valueCoding"]
            if coding["system"] in ("urn:ietf:bcp:47", "http://loinc.org"):  # external code systems
                continue
            codes = {c["code"] for c in (conformance.by_url("CodeSystem", coding["system"]) or {}).get("concept", [])}
            assert coding["code"] in codes, (item["linkId"], coding)


def test_enable_when_refers_to_earlier_items() -> None:
    seen: set[str] = set()
    for item in conformance.questionnaire()["item"]:
        for condition in item.get("enableWhen", []):
            assert condition["question"] in seen, item["linkId"]
        seen.add(item["linkId"])


def test_domestic_abuse_is_asked_only_behind_the_safety_gate_and_marked_sensitive() -> None:
    items = {i["linkId"]: i for i in conformance.questionnaire()["item"]}
    gate = items["domestic-abuse"]["enableWhen"]
    assert gate == [{"question": "safe-to-ask", "operator": "=", "answerBoolean": True}]
    assert items["domestic-abuse"]["extension"][0]["valueBoolean"] is True
    assert conformance.is_sensitive("domestic-abuse")


def test_at_most_two_follow_ups_per_need() -> None:
    items = conformance.questionnaire()["item"]
    follow_ups: dict[str, int] = {}
    for item in items:
        for condition in item.get("enableWhen", []):
            trigger = (
                condition.get("answerCoding", {}).get("code")
                or f"{condition['question']}={condition.get('answerBoolean')}"
            )
            follow_ups[trigger] = follow_ups.get(trigger, 0) + 1
    assert max(follow_ups.values()) <= 2
