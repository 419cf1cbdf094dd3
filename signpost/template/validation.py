"""Checking a QuestionnaireResponse against the template as SDC defines it: one issue per problem."""

from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from signpost.template import conformance, structure

# Questionnaire item type → the one QuestionnaireResponse answer value[x] it accepts (FHIR R4 table).
VALUE_FOR_TYPE = {
    "boolean": "valueBoolean",
    "decimal": "valueDecimal",
    "integer": "valueInteger",
    "date": "valueDate",
    "dateTime": "valueDateTime",
    "time": "valueTime",
    "string": "valueString",
    "text": "valueString",
    "url": "valueUri",
    "choice": "valueCoding",
    "open-choice": "valueCoding",
    "attachment": "valueAttachment",
    "reference": "valueReference",
    "quantity": "valueQuantity",
}
FINISHED = {"completed", "amended"}
# The R4B models do not enforce required code bindings, so the status binding is checked here.
STATUSES = {"in-progress", "completed", "amended", "entered-in-error", "stopped"}


@dataclass(frozen=True)
class Checked:
    """A response that passed: its answers by linkId (values as sent) and any warnings."""

    response: dict[str, Any]
    answers: dict[str, list[Any]]


def issue(severity: str, code: str, diagnostics: str, expression: str) -> dict[str, Any]:
    return {"severity": severity, "code": code, "diagnostics": diagnostics, "expression": [expression]}


def _loc_to_path(loc: tuple[Any, ...]) -> str:
    path = "QuestionnaireResponse"
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        elif str(part).startswith("function-") or str(part) in ("__root__",):
            continue
        else:
            path += f".{part}"
    return path


def structure_issues(body: Any) -> list[dict[str, Any]]:
    """The FHIR structure rules, before ours: fhir.resources R4B decides, unless the shape is plainly valid."""
    # The model parse costs milliseconds a response; the plain check accepts only what it would accept.
    if structure.plainly_valid(body):
        return _status_issues(body)
    return _parsed_issues(body)


def _parsed_issues(body: Any) -> list[dict[str, Any]]:
    # The slow path, and the only one that finds fault: every structure issue's wording and place come from here.
    from fhir.resources.R4B.questionnaireresponse import QuestionnaireResponse

    if not isinstance(body, dict) or body.get("resourceType") != "QuestionnaireResponse":
        found = body.get("resourceType") if isinstance(body, dict) else type(body).__name__
        return [issue("error", "structure", f"Expected a QuestionnaireResponse, got {found}.", "QuestionnaireResponse")]
    try:
        QuestionnaireResponse.model_validate(body)
    except ValidationError as exc:
        return [
            issue("error", "structure", f"{err['msg']}", _loc_to_path(tuple(err.get("loc", ()))))
            for err in exc.errors()[:20]
        ]
    except (ValueError, TypeError) as exc:
        return [issue("error", "structure", str(exc)[:300], "QuestionnaireResponse")]
    return _status_issues(body)


def _status_issues(body: dict[str, Any]) -> list[dict[str, Any]]:
    if body.get("status") not in STATUSES:
        return [
            issue(
                "error",
                "code-invalid",
                f"status must be one of {', '.join(sorted(STATUSES))}.",
                "QuestionnaireResponse.status",
            )
        ]
    return []


@dataclass(frozen=True)
class _Condition:
    """One enableWhen condition, read once: which answer value it compares and how."""

    question: str
    operator: str
    expected: Any
    value_key: str  # the answer's value[x] that the condition's answer[x] compares with
    exists: bool  # for `exists`: whether the question must be answered

    @classmethod
    def of(cls, condition: dict[str, Any]) -> "_Condition":
        operator = condition["operator"]
        if operator == "exists":
            return cls(condition["question"], operator, None, "", condition.get("answerBoolean", True))
        expected_key = next(k for k in condition if k.startswith("answer"))
        return cls(condition["question"], operator, condition[expected_key], "value" + expected_key[6:], True)

    def holds(self, answers: dict[str, list[Any]]) -> bool:
        given = answers.get(self.question, [])
        if self.operator == "exists":
            return bool(given) == self.exists
        return any(self._matches(a) for a in given)

    def _matches(self, answer: dict[str, Any]) -> bool:
        operator, expected = self.operator, self.expected
        if self.value_key not in answer:
            return operator == "!="
        actual = answer[self.value_key]
        if isinstance(expected, dict):  # Coding: system and code decide
            same = actual.get("code") == expected.get("code") and (
                not expected.get("system") or actual.get("system") == expected.get("system")
            )
        else:
            same = actual == expected
        if operator == "=":
            return bool(same)
        if operator == "!=":
            return not same
        try:
            return bool(
                {">": actual > expected, "<": actual < expected, ">=": actual >= expected, "<=": actual <= expected}[
                    operator
                ]
            )
        except (TypeError, KeyError):
            return False


@dataclass(frozen=True)
class _EnableWhen:
    """An item's enableWhen conditions, read once; `all` or `any` combines them."""

    conditions: tuple[_Condition, ...]
    any_of: bool

    @classmethod
    def of(cls, item: dict[str, Any]) -> "_EnableWhen":
        conditions = tuple(_Condition.of(c) for c in item.get("enableWhen") or ())
        return cls(conditions, item.get("enableBehavior") == "any")

    def holds(self, answers: dict[str, list[Any]]) -> bool:
        if not self.conditions:
            return True
        results = [c.holds(answers) for c in self.conditions]
        return any(results) if self.any_of else all(results)


def is_enabled(item: dict[str, Any], answers: dict[str, list[Any]]) -> bool:
    """SDC enableWhen: each condition against the answers of its question; `all` or `any` combines them."""
    return _EnableWhen.of(item).holds(answers)


def _allowed_codings(item: dict[str, Any]) -> frozenset[tuple[str, str]]:
    allowed = {
        (o["valueCoding"].get("system", ""), o["valueCoding"]["code"])
        for o in item.get("answerOption", [])
        if "valueCoding" in o
    }
    if item.get("answerValueSet"):
        allowed |= {(s, c) for s, c, _ in conformance.expansion(item["answerValueSet"])}
    return frozenset(allowed)


@dataclass(frozen=True)
class _Template:
    """What checking needs of the template, worked out once per Questionnaire rather than per response: every item
    by linkId, and each item's enableWhen and allowed codings (by the item's identity within `questionnaire`)."""

    questionnaire: dict[str, Any]
    every_item: dict[str, dict[str, Any]]
    enable_when: dict[int, _EnableWhen]  # only the items that have conditions
    allowed: dict[int, frozenset[tuple[str, str]]]
    children: dict[int, dict[str, dict[str, Any]]]  # a list of items (by identity): its items by linkId

    @classmethod
    def of(cls, questionnaire: dict[str, Any]) -> "_Template":
        every_item: dict[str, dict[str, Any]] = {}
        _flatten(questionnaire.get("item", []), every_item, None)
        enable_when: dict[int, _EnableWhen] = {}
        allowed: dict[int, frozenset[tuple[str, str]]] = {}
        children: dict[int, dict[str, dict[str, Any]]] = {}

        def walk(items: list[dict[str, Any]]) -> None:
            children[id(items)] = {item["linkId"]: item for item in items}
            for item in items:
                conditions = _EnableWhen.of(item)
                if conditions.conditions:
                    enable_when[id(item)] = conditions
                allowed[id(item)] = _allowed_codings(item)
                walk(item.get("item", _NO_ITEMS))

        walk(questionnaire.get("item", _NO_ITEMS))
        return cls(questionnaire, every_item, enable_when, allowed, children)

    def enabled(self, item: dict[str, Any], answers: dict[str, list[Any]]) -> bool:
        conditions = self.enable_when.get(id(item))
        return conditions is None or conditions.holds(answers)

    def known(self, items: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
        """The items of a list of the template's items, by linkId."""
        found = self.children.get(id(items))
        return found if found is not None else {item["linkId"]: item for item in items}


_compiled: list[_Template] = []
# One empty list, never changed, for absent items and answers: a template item without children is known by it too.
_NO_ITEMS: list[dict[str, Any]] = []


def _template(questionnaire: dict[str, Any]) -> _Template:
    """The template's checks, made again only when the Questionnaire is another object (ids are only looked up for
    items of the one held, which it keeps alive)."""
    if not _compiled or _compiled[0].questionnaire is not questionnaire:
        _compiled[:] = [_Template.of(questionnaire)]
    return _compiled[0]


def _flatten(items: list[dict[str, Any]], into: dict[str, dict[str, Any]], parent: str | None) -> None:
    for item in items:
        into[item["linkId"]] = {**item, "_parent": parent}
        _flatten(item.get("item", []), into, item["linkId"])


def _collect(items: list[dict[str, Any]], answers: dict[str, list[Any]]) -> None:
    for item in items:
        answers.setdefault(item.get("linkId", ""), []).extend(item.get("answer", []))
        _collect(item.get("item", []), answers)
        for answer in item.get("answer", []):
            _collect(answer.get("item", []), answers)


def _check_items(
    q_items: list[dict[str, Any]],
    r_items: list[dict[str, Any]],
    path: str,
    answers: dict[str, list[Any]],
    template: _Template,
    finished: bool,
    issues: list[dict[str, Any]],
) -> None:
    every_item = template.every_item
    known = template.known(q_items)
    seen: dict[str, int] = {}
    for index, r_item in enumerate(r_items):
        link_id = r_item.get("linkId", "")
        q_item = known.get(link_id)
        if q_item is None:
            if link_id in every_item:
                issues.append(
                    issue(
                        "error", "structure", f"Item '{link_id}' is not where the template puts it.", _at(path, index)
                    )
                )
            else:
                issues.append(issue("error", "not-found", f"The template has no item '{link_id}'.", _at(path, index)))
            continue
        if link_id in seen and not (q_item.get("repeats") and q_item.get("type") == "group"):
            issues.append(issue("error", "structure", f"Item '{link_id}' appears more than once.", _at(path, index)))
            continue
        seen[link_id] = index
        given = r_item.get("answer", _NO_ITEMS)
        if not template.enabled(q_item, answers):
            if given or r_item.get("item"):
                issues.append(
                    issue(
                        "error",
                        "business-rule",
                        f"'{link_id}' is answered but is not asked for these answers.",
                        _at(path, index),
                    )
                )
            continue
        _check_answers(q_item, given, path, index, template.allowed[id(q_item)], issues)
        if q_item.get("type") == "group":
            here = _at(path, index)
            _check_items(
                q_item.get("item", _NO_ITEMS), r_item.get("item", []), here, answers, template, finished, issues
            )
        for a_index, answer in enumerate(given):
            if answer.get("item"):
                _check_items(
                    q_item.get("item", _NO_ITEMS),
                    answer["item"],
                    _at(path, index, a_index),
                    answers,
                    template,
                    finished,
                    issues,
                )
    if finished:
        for q_item in q_items:
            link_id = q_item["linkId"]
            if not q_item.get("required") or not template.enabled(q_item, answers):
                continue
            r_index = seen.get(link_id)
            answered = r_index is not None and (
                r_items[r_index].get("answer") or (q_item.get("type") == "group" and r_items[r_index].get("item"))
            )
            if not answered:
                issues.append(
                    issue(
                        "error",
                        "required",
                        f"'{link_id}' needs an answer: {q_item.get('text', '')}".strip(),
                        f"{path}.item.where(linkId='{link_id}')",
                    )
                )


def _at(path: str, index: int, answer: int | None = None) -> str:
    """Where a response item, or one of its answers, is (built only when it is reported, or its items checked)."""
    item = f"{path}.item[{index}]"
    return item if answer is None else f"{item}.answer[{answer}]"


def _check_answers(
    q_item: dict[str, Any],
    given: list[dict[str, Any]],
    path: str,
    index: int,
    allowed: frozenset[tuple[str, str]],
    issues: list[dict[str, Any]],
) -> None:
    link_id = q_item["linkId"]
    kind = q_item.get("type", "")
    if kind in ("group", "display"):
        if given:
            issues.append(
                issue("error", "structure", f"'{link_id}' is a {kind} and takes no answer.", _at(path, index))
            )
        return
    if len(given) > 1 and not q_item.get("repeats"):
        issues.append(issue("error", "structure", f"'{link_id}' takes one answer, not {len(given)}.", _at(path, index)))
    expected = VALUE_FOR_TYPE.get(kind, "")
    codes_seen: set[tuple[str, str]] = set()
    for a_index, answer in enumerate(given):
        # Usually the answer is its one value, of the expected type; only otherwise are its keys looked through.
        if len(answer) != 1 or expected not in answer:
            values = [k for k in answer if k.startswith("value")]
            if values != [expected] and not (kind == "open-choice" and values == ["valueString"]):
                found = values[0] if values else "no value"
                issues.append(
                    issue(
                        "error",
                        "value",
                        f"'{link_id}' is a {kind} item: answer {expected}, not {found}.",
                        _at(path, index, a_index),
                    )
                )
                continue
        if expected == "valueCoding" and kind == "choice":
            coding = answer["valueCoding"]
            pair = (coding.get("system", ""), coding.get("code", ""))
            if pair not in allowed:
                issues.append(
                    issue(
                        "error",
                        "code-invalid",
                        f"{pair[1]!r} from {pair[0] or 'no system'} is not one of the answers to '{link_id}'.",
                        _at(path, index, a_index),
                    )
                )
            elif pair in codes_seen:
                issues.append(
                    issue(
                        "error",
                        "duplicate",
                        f"'{link_id}' has the answer {pair[1]!r} twice.",
                        _at(path, index, a_index),
                    )
                )
            codes_seen.add(pair)


def _exclusive_none(
    q_items: dict[str, dict[str, Any]], answers: dict[str, list[Any]], issues: list[dict[str, Any]]
) -> None:
    # "None of these" contradicts any other choice in a choose-all-that-apply item.
    for link_id, given in answers.items():
        item = q_items.get(link_id)
        if not item or not item.get("repeats") or len(given) < 2:
            continue
        codes = {a.get("valueCoding", {}).get("code") for a in given}
        if "none" in codes:
            issues.append(
                issue(
                    "error",
                    "business-rule",
                    f"'{link_id}' cannot be 'None of these' and something else.",
                    f"QuestionnaireResponse.item.where(linkId='{link_id}')",
                )
            )


def _in_loinc(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The items with answers in the project's former Hunger Vital Sign codes read as their LOINC twins (the same
    list, not a copy, when there are none: the usual case)."""
    out = []
    changed = False
    for item in items:
        new = item
        if "item" in item:
            inner = _in_loinc(item["item"])
            if inner is not item["item"]:
                new = {**item, "item": inner}
        given = item.get("answer")
        # Most answers are neither in the former codes nor nested: looked at inline, without a call each.
        if given and any(
            "item" in answer or (answer.get("valueCoding") or {}).get("system") == conformance.ANSWER_SYSTEM
            for answer in given
        ):
            new = {**new, "answer": [_answer_in_loinc(answer) for answer in given]}
        changed = changed or new is not item
        out.append(new)
    return out if changed else items


def _answer_in_loinc(answer: dict[str, Any]) -> dict[str, Any]:
    coding = answer.get("valueCoding")
    if isinstance(coding, dict) and coding.get("system") == conformance.ANSWER_SYSTEM:
        twin = conformance.HVS_LOINC_ANSWERS.get(coding.get("code", ""))
        if twin:
            answer = {**answer, "valueCoding": {"system": conformance.LOINC, "code": twin[0], "display": twin[1]}}
    if "item" in answer:
        inner = _in_loinc(answer["item"])
        if inner is not answer["item"]:
            answer = {**answer, "item": inner}
    return answer


def validate(body: Any) -> tuple[Checked | None, list[dict[str, Any]]]:
    """Check a response against the template; (Checked, []) when it passes, else (None, issues)."""
    issues = structure_issues(body)
    if issues:
        return None, issues
    body = {**body, "item": _in_loinc(body.get("item", []))}
    template = conformance.questionnaire()
    canonical = body.get("questionnaire")
    url, _, version = (canonical or "").partition("|")
    if url != template["url"] or (version and version != template["version"]):
        return None, [
            issue(
                "error",
                "invalid",
                f"This server validates responses to {template['url']}|{template['version']}, "
                f"not {canonical or 'an unnamed questionnaire'}.",
                "QuestionnaireResponse.questionnaire",
            )
        ]
    answers: dict[str, list[Any]] = {}
    _collect(body.get("item", []), answers)
    checks = _template(template)
    finished = body.get("status") in FINISHED
    _check_items(
        template.get("item", _NO_ITEMS),
        body.get("item", []),
        "QuestionnaireResponse",
        answers,
        checks,
        finished,
        issues,
    )
    if not issues:
        _exclusive_none(checks.every_item, answers, issues)
    if issues:
        return None, issues
    return Checked(response=body, answers=answers), []
