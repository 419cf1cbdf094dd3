"""From answers to coded needs, urgency and preferences."""

from typing import Any

from signpost.template import assess, validate
from tests.template.builders import ALL_NEEDS, ans, make_response, need


def assessed(overrides: dict[str, Any] | None = None) -> Any:
    checked, issues = validate(make_response(overrides))
    assert issues == [], issues
    assert checked is not None
    return assess(checked)


def test_no_needs_found_in_the_no_needs_response() -> None:
    assessment = assessed()
    assert assessment.needs == []
    assert assessment.consent is True


def test_every_need_code_can_be_found() -> None:
    codes = {n.code for n in assessed(ALL_NEEDS).needs}
    assert codes == {
        "homeless", "housing-conditions", "overcrowding", "money-essentials", "benefits-check", "debt-priority",
        "fuel-poverty", "food-insecurity", "unemployment", "carer", "early-years", "isolation",
        "legal-immigration", "domestic-abuse", "interpreter", "digital-exclusion",
    }  # fmt: skip


def test_homeless_tonight_is_urgent_and_listed_first() -> None:
    assessment = assessed({"housing": [need("housing-conditions"), need("homeless")], "homeless-tonight": [True]})
    assert [(n.code, n.urgent) for n in assessment.needs] == [("homeless", True), ("housing-conditions", False)]


def test_homeless_with_somewhere_to_sleep_is_not_urgent() -> None:
    assessment = assessed({"housing": [need("homeless")], "homeless-tonight": [False]})
    assert assessment.needs[0].urgent is False


def test_hunger_vital_sign_sometimes_true_is_food_insecurity() -> None:
    assessment = assessed({"food-ran-out": [ans("sometimes-true")], "food-today": [False]})
    assert [n.code for n in assessment.needs] == ["food-insecurity"]


def test_hunger_vital_sign_answers_in_loinc_and_in_the_former_codes_are_the_same() -> None:
    often = {"valueCoding": {"system": "http://loinc.org", "code": "LA28397-0", "display": "Often true"}}
    never = {"valueCoding": {"system": "http://loinc.org", "code": "LA28398-8", "display": "Never true"}}
    in_loinc = assessed({"food-worried": [often], "food-ran-out": [never], "food-today": [True]})
    former = assessed({"food-worried": [ans("often-true")], "food-ran-out": [ans("never-true")], "food-today": [True]})
    assert in_loinc.needs == former.needs
    assert [(n.code, n.urgent) for n in in_loinc.needs] == [("food-insecurity", True)]
    # "Never true" to both is no need, in either coding (and then "no food today" is not asked).
    assert assessed({"food-worried": [never], "food-ran-out": [never]}).needs == []


def test_no_food_today_is_urgent() -> None:
    assessment = assessed({"food-worried": [ans("often-true")], "food-today": [True]})
    assert assessment.needs[0].urgent is True


def test_at_risk_of_harm_is_urgent_and_sensitive() -> None:
    assessment = assessed({"domestic-abuse": [True], "at-risk-now": [True]})
    assert assessment.needs[0].code == "domestic-abuse"
    assert assessment.needs[0].urgent and assessment.needs[0].sensitive


def test_housing_at_risk_and_temporary_accommodation_are_needs() -> None:
    assessment = assessed({"housing": [need("housing-at-risk"), need("temporary-accommodation")]})
    assert [n.code for n in assessment.needs] == ["housing-at-risk", "temporary-accommodation"]


def test_interpreter_language_and_phone_only_become_preferences() -> None:
    assessment = assessed(
        {
            "access": [need("interpreter"), ans("phone-only")],
            "language": [{"valueCoding": {"system": "urn:ietf:bcp:47", "code": "pl", "display": "Polish"}}],
        }
    )
    prefs = assessment.preferences
    assert (prefs.interpreter, prefs.language, prefs.phone_only, prefs.no_internet) == (True, "pl", True, True)
    assert {n.code for n in assessment.needs} == {"interpreter", "digital-exclusion"}


def test_no_phone_means_face_to_face_only() -> None:
    assessment = assessed({"access": [ans("no-phone")]})
    assert assessment.preferences.no_phone is True


def test_consent_refused_is_recorded() -> None:
    assert assessed({"consent": [False]}).consent is False
