"""Validation of a QuestionnaireResponse against the template, SDC rules, one issue per problem."""

import copy
from typing import Any

import pytest

from signpost.template import conformance, validate
from tests.template.builders import ALL_NEEDS, ANSWER, NO_NEEDS, ans, make_response, need


def expressions(issues: list[dict[str, Any]]) -> list[str]:
    return [e for i in issues for e in i.get("expression", [])]


def test_no_needs_response_of_twelve_answers_is_valid() -> None:
    response = make_response()
    checked, issues = validate(response)
    assert issues == []
    assert checked is not None
    assert sum(len(i["answer"]) for i in response["item"]) == len(NO_NEEDS) == 12


def test_every_need_response_is_valid() -> None:
    _, issues = validate(make_response(ALL_NEEDS))
    assert issues == []


def test_another_questionnaire_is_rejected() -> None:
    response = make_response(questionnaire="https://example.org/Questionnaire/phq9")
    _, issues = validate(response)
    assert expressions(issues) == ["QuestionnaireResponse.questionnaire"]


def test_another_version_is_rejected() -> None:
    response = make_response(questionnaire="https://signpost.example.org/fhir/Questionnaire/social-determinants|0.9")
    _, issues = validate(response)
    assert "0.9" in issues[0]["diagnostics"]


def test_unknown_link_id_is_named_by_position() -> None:
    response = make_response()
    response["item"].append({"linkId": "shoe-size", "answer": [{"valueInteger": 9}]})
    _, issues = validate(response)
    assert issues[0]["code"] == "not-found"
    assert expressions(issues) == [f"QuestionnaireResponse.item[{len(response['item']) - 1}]"]


def test_item_nested_where_the_template_does_not_put_it_is_rejected() -> None:
    response = make_response()
    response["item"][0]["answer"][0]["item"] = [{"linkId": "consent", "answer": [{"valueBoolean": True}]}]
    _, issues = validate(response)
    assert any("not where the template puts it" in i["diagnostics"] for i in issues)


def test_wrong_answer_type_is_rejected() -> None:
    _, issues = validate(make_response({"work": ["yes"]}))
    assert issues[0]["code"] == "value"
    assert expressions(issues) == ["QuestionnaireResponse.item[4].answer[0]"]


def test_missing_required_answer_is_rejected() -> None:
    _, issues = validate(make_response({"consent": None}))
    assert expressions(issues) == ["QuestionnaireResponse.item.where(linkId='consent')"]


def test_required_follow_up_is_required_only_when_enabled() -> None:
    _, issues = validate(make_response({"housing": [need("homeless")]}))
    assert expressions(issues) == ["QuestionnaireResponse.item.where(linkId='homeless-tonight')"]


def test_answer_to_disabled_item_is_rejected() -> None:
    _, issues = validate(make_response({"homeless-tonight": [True]}))
    assert issues[0]["code"] == "business-rule"
    assert "homeless-tonight" in issues[0]["diagnostics"]


def test_a_changed_template_is_checked_by_its_own_enable_when(monkeypatch: pytest.MonkeyPatch) -> None:
    # The template's rules are worked out once per Questionnaire: another one must not be checked by the old rules.
    shipped = conformance.questionnaire()
    changed = copy.deepcopy(shipped)
    for item in changed["item"]:
        if item["linkId"] == "homeless-tonight":
            del item["enableWhen"]
    monkeypatch.setattr(conformance, "questionnaire", lambda: changed)
    assert validate(make_response({"homeless-tonight": [True]}))[1] == []
    monkeypatch.setattr(conformance, "questionnaire", lambda: shipped)
    assert validate(make_response({"homeless-tonight": [True]}))[1][0]["code"] == "business-rule"


def test_domestic_abuse_answered_when_not_safe_to_ask_is_rejected() -> None:
    _, issues = validate(make_response({"safe-to-ask": [False]}))
    assert "domestic-abuse" in issues[0]["diagnostics"]


def test_not_safe_to_ask_path_is_valid_without_the_question() -> None:
    _, issues = validate(make_response({"safe-to-ask": [False], "domestic-abuse": None}))
    assert issues == []


def test_code_outside_the_options_is_rejected() -> None:
    _, issues = validate(make_response({"housing": [(ANSWER, "castle")]}))
    assert issues[0]["code"] == "code-invalid"
    assert expressions(issues) == ["QuestionnaireResponse.item[0].answer[0]"]


def test_right_code_in_the_wrong_system_is_rejected() -> None:
    _, issues = validate(make_response({"housing": [("http://snomed.info/sct", "homeless")]}))
    assert issues[0]["code"] == "code-invalid"


def test_several_answers_to_a_single_answer_item_are_rejected() -> None:
    _, issues = validate(make_response({"work": [True, False]}))
    assert "one answer" in issues[0]["diagnostics"]


def test_repeating_item_takes_several_answers() -> None:
    _, issues = validate(make_response({"household": [need("carer"), need("early-years")]}))
    assert issues == []


def test_none_with_another_choice_is_rejected() -> None:
    _, issues = validate(make_response({"household": [ans("none"), need("carer")]}))
    assert "None of these" in issues[0]["diagnostics"]


def test_item_given_twice_is_rejected() -> None:
    response = make_response()
    response["item"].append({"linkId": "work", "answer": [{"valueBoolean": True}]})
    _, issues = validate(response)
    assert "more than once" in issues[0]["diagnostics"]


def test_structure_errors_come_from_the_fhir_model() -> None:
    response = make_response()
    response["item"][0]["answer"][0] = {"valueBoolean": "perhaps"}
    _, issues = validate(response)
    assert issues[0]["code"] == "structure"
    assert issues[0]["expression"][0].startswith("QuestionnaireResponse.item[0].answer[0]")


def test_unknown_status_is_rejected() -> None:
    _, issues = validate(make_response(status="half-done"))
    assert issues[0]["expression"] == ["QuestionnaireResponse.status"]


def test_in_progress_response_needs_no_required_answers() -> None:
    response = make_response({"consent": None}, status="in-progress")
    _, issues = validate(response)
    assert issues == []


def test_every_problem_is_its_own_issue() -> None:
    response = make_response({"work": ["yes"], "consent": None, "housing": [(ANSWER, "castle")]})
    _, issues = validate(response)
    assert len(issues) == 3
