"""The template as a web form: the Questionnaire from `fhir/` rendered item by item, and form data turned back
into a QuestionnaireResponse for `$signpost`. There is no second copy of the questions here."""

import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from signpost.template import conformance
from signpost.template.validation import is_enabled

FIELD_PREFIX = "q-"
_WHERE_LINK = re.compile(r"linkId='([^']+)'")
_ITEM_INDEX = re.compile(r"^QuestionnaireResponse\.item\[(\d+)\]")


@dataclass
class FormItem:
    """One question as the page shows it."""

    link_id: str
    text: str
    type: str
    required: bool
    repeats: bool
    options: list[tuple[str, str]]
    enabled: bool
    enable_when: str  # JSON for the small script; the server applies the same rules itself
    enable_behavior: str
    values: list[str]
    error: str = ""
    children: list["FormItem"] = field(default_factory=list)

    @property
    def field_name(self) -> str:
        return FIELD_PREFIX + self.link_id

    @property
    def field_id(self) -> str:
        return FIELD_PREFIX + re.sub(r"[^A-Za-z0-9_-]", "-", self.link_id)


def template() -> dict[str, Any]:
    return conformance.questionnaire()


def _options(item: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(system, code, display) for each answer the item allows."""
    found = [
        (o["valueCoding"].get("system", ""), o["valueCoding"]["code"], o["valueCoding"].get("display", ""))
        for o in item.get("answerOption", [])
        if "valueCoding" in o
    ]
    if item.get("answerValueSet"):
        found += list(conformance.expansion(item["answerValueSet"]))
    return found


def _flat(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for item in items:
        out.append(item)
        out.extend(_flat(item.get("item", [])))
    return out


def _answers_from_form(item: dict[str, Any], values: list[str]) -> list[dict[str, Any]]:
    kind = item.get("type")
    values = [v.strip() for v in values if v.strip()]
    if kind == "boolean":
        return [{"valueBoolean": values[0] == "true"}] if values and values[0] in ("true", "false") else []
    if kind in ("choice", "open-choice"):
        by_code = {code: (system, code, display) for system, code, display in _options(item)}
        answers = []
        for value in values:
            if value in by_code:
                system, code, display = by_code[value]
                answers.append({"valueCoding": {"system": system, "code": code, "display": display}})
        return answers
    if kind in ("string", "text"):
        return [{"valueString": values[0]}] if values else []
    if kind == "integer":
        return [{"valueInteger": int(values[0])}] if values and values[0].lstrip("-").isdigit() else []
    if kind == "date":
        return [{"valueDate": values[0]}] if values else []
    return []


def _enabled_answers(form: dict[str, list[str]]) -> tuple[dict[str, list[Any]], set[str]]:
    """Answers by linkId for the items that are asked, and the set of asked items (enableWhen to a fixed point)."""
    items = _flat(template().get("item", []))
    given = {item["linkId"]: _answers_from_form(item, form.get(FIELD_PREFIX + item["linkId"], [])) for item in items}
    enabled = {item["linkId"] for item in items}
    for _ in range(len(items) + 1):
        answers = {link: given[link] for link in enabled}
        now_enabled = {item["linkId"] for item in items if is_enabled(item, answers)}
        if now_enabled == enabled:
            break
        enabled = now_enabled
    return {link: given[link] for link in enabled}, enabled


def _condition_for_script(condition: dict[str, Any]) -> dict[str, str]:
    key = next((k for k in condition if k.startswith("answer")), "")
    expected = condition.get(key)
    if isinstance(expected, dict):
        answer = str(expected.get("code", ""))
    elif isinstance(expected, bool):
        answer = "true" if expected else "false"
    else:
        answer = str(expected)
    return {"question": condition["question"], "operator": condition["operator"], "answer": answer}


def form_items(form: dict[str, list[str]], errors: dict[str, str] | None = None) -> list[FormItem]:
    """The template's items for the page, with the answers given so far and which are asked."""
    errors = errors or {}
    _, enabled = _enabled_answers(form)

    def build(item: dict[str, Any]) -> FormItem:
        if item.get("type") == "boolean":
            options = [("true", "Yes"), ("false", "No")]
        else:
            options = [(code, display or code) for _, code, display in _options(item)]
        conditions = [_condition_for_script(c) for c in item.get("enableWhen", [])]
        return FormItem(
            link_id=item["linkId"],
            text=item.get("text", item["linkId"]),
            type=item.get("type", "string"),
            required=bool(item.get("required")),
            repeats=bool(item.get("repeats")),
            options=options,
            enabled=item["linkId"] in enabled,
            enable_when=json.dumps(conditions) if conditions else "",
            enable_behavior=item.get("enableBehavior", "all"),
            values=form.get(FIELD_PREFIX + item["linkId"], []),
            error=errors.get(item["linkId"], ""),
            children=[build(child) for child in item.get("item", [])],
        )

    return [build(item) for item in template().get("item", [])]


def response_from_form(form: dict[str, list[str]], *, identifier: str) -> dict[str, Any]:
    """A completed QuestionnaireResponse holding the answers to the items that are asked."""
    answers, enabled = _enabled_answers(form)

    def build(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
        out = []
        for item in items:
            link = item["linkId"]
            if link not in enabled:
                continue
            entry: dict[str, Any] = {"linkId": link}
            if item.get("text"):
                entry["text"] = item["text"]
            if item.get("type") == "group":
                children = build(item.get("item", []))
                if children:
                    entry["item"] = children
                    out.append(entry)
            elif answers.get(link):
                entry["answer"] = answers[link]
                out.append(entry)
        return out

    questionnaire = template()
    return {
        "resourceType": "QuestionnaireResponse",
        "identifier": {"system": "urn:ietf:rfc:3986", "value": f"urn:uuid:{identifier}"},
        "questionnaire": f"{questionnaire['url']}|{questionnaire['version']}",
        "status": "completed",
        "authored": datetime.now(UTC).isoformat(timespec="seconds"),
        "item": build(questionnaire.get("item", [])),
    }


def errors_by_item(issues: list[dict[str, Any]], response: dict[str, Any]) -> dict[str, str]:
    """Validation issues as plain messages keyed by the linkId they are about."""
    texts = {item["linkId"]: item.get("text", "") for item in _flat(template().get("item", []))}
    found: dict[str, str] = {}
    for issue in issues:
        link = None
        for expression in issue.get("expression") or []:
            match = _WHERE_LINK.search(expression) or None
            if match:
                link = match.group(1)
                break
            index = _ITEM_INDEX.match(expression)
            if index and int(index.group(1)) < len(response.get("item", [])):
                link = response["item"][int(index.group(1))]["linkId"]
                break
        link = link or "template"
        if issue.get("code") == "required":
            message = f"Answer the question: {texts.get(link, link)}"
        elif issue.get("code") == "business-rule" and "None of these" in issue.get("diagnostics", ""):
            message = f"Choose 'None of these' or other answers, not both: {texts.get(link, link)}"
        else:
            message = issue.get("diagnostics", "This answer is not right.")
        found.setdefault(link, message)
    return found
