"""The plain structure check against fhir.resources R4B: whatever it accepts, the model accepts, on mutations."""

import copy
import random
from collections.abc import Callable, Iterator
from typing import Any

from fhir.resources.R4B.questionnaireresponse import QuestionnaireResponse

from signpost.template import validation
from signpost.template.structure import plainly_valid
from tests.template.builders import ALL_NEEDS, ANSWER, ans, make_response, need

SEED = 20261128
RANDOM_VARIANTS = 480

# Values dropped into any place: right and wrong types, and the strings, numbers and dates that FHIR types refuse.
REPLACEMENTS: list[Any] = [
    "x", "ordinary text", "", " ", " x", "x ", "a\tb", "a\nb", "\u3000", "\u00a0x", "\x0b", "\x1c", "\x00",
    "\ud800", "a\ud800", "é", "com pleted", "in-progress", "draft", "Patient/123", "http://x y", "urn:x",
    "abc-123.X", "a_b", "a" * 64, "a" * 65, "a" * 256,
    "2026", "2026-11", "2024-02-29", "2026-02-29", "2026-13-01", "2026-00", "0000", "0001-01-01",
    "2026-11-28T09:00:00Z", "2026-11-28T09:00:00", "2026-11-28T09:00Z", "2026-11-28T25:00:00Z",
    "2026-11-28T23:59:60Z", "2026-11-28T09:00:00.123456789Z", "2026-11-28T09:00:00+14:00",
    "2026-11-28T09:00:00+14:30", "2026-11-28T09:00:00.5-05:00", "2026-11-28 09:00:00Z", "2026-11-28T09:00:00z",
    "2026-11-28T09:00:00+0100", "2026-04-31T09:00:00Z",
    0, 1, -1, 42, 2**31 - 1, 2**31, -(2**31), -(2**31) - 1, 2**63, 10**30, 1.5, -0.0, 1e300,
    float("nan"), float("inf"), True, False, None,
    [], {}, [None], ["x"], [{}], {"x": 1}, {"system": "urn:x", "code": "c"}, {"reference": "Patient/1"},
    {"value": "1"}, [{"linkId": "n", "answer": [{"valueBoolean": True}]}],
]  # fmt: skip
# Keys FHIR knows (some the fast path leaves to fhir.resources), near misses and nonsense.
KEYS = [
    "resourceType", "id", "questionnaire", "status", "authored", "identifier", "subject", "item", "linkId",
    "text", "answer", "system", "code", "display", "value", "reference", "valueBoolean", "valueString",
    "valueCoding", "valueInteger", "valueDecimal", "valueDate", "valueDateTime", "valueUri", "valueTime",
    "valueQuantity", "valueReference", "contained", "meta", "extension", "modifierExtension", "language",
    "basedOn", "encounter", "author", "source", "definition", "version", "userSelected", "use", "type",
    "fhir_comments", "_status", "_linkId", "linkid", "LinkId", "Status", "unknown",
]  # fmt: skip
VALUE_KEYS = [
    "valueBoolean",
    "valueString",
    "valueCoding",
    "valueInteger",
    "valueDecimal",
    "valueDate",
    "valueDateTime",
]


def realistic_response() -> dict[str, Any]:
    """The benchmark's response: 15 answers, four needs, one of them urgent."""
    return make_response(
        {
            "housing": [need("housing-conditions")],
            "money": [need("money-essentials"), need("fuel-poverty")],
            "benefits-check": [True],
            "food-worried": [ans("often-true")],
            "food-ran-out": [ans("sometimes-true")],
            "food-today": [True],
            "isolation": [True],
        }
    )


def rich_response() -> dict[str, Any]:
    """Every element and answer type the fast path knows, with items nested under an item and an answer."""
    body = make_response(
        {"language": [{"valueCoding": {"system": "urn:ietf:bcp:47", "code": "pl", "display": "Polish"}}]},
        id="qr-1.a",
        identifier={"system": "https://practice.example.org/id", "value": "A 123"},
        subject={"reference": "Patient/123", "display": "A. Patient"},
    )
    body["item"][0]["text"] = "Where do you live?"
    body["item"][-1]["answer"][0]["item"] = [{"linkId": "consent-date", "answer": [{"valueDate": "2026-11"}]}]
    body["item"] += [
        {
            "linkId": "about",
            "item": [
                {"linkId": "age", "answer": [{"valueInteger": 56}]},
                {"linkId": "income", "answer": [{"valueDecimal": 1234.5}, {"valueDecimal": 7}]},
                {"linkId": "seen", "answer": [{"valueDateTime": "2026-11-28T09:00:00.25+01:00"}]},
                {"linkId": "note", "answer": [{"valueString": "Lives with her son; rent arrears of £400."}]},
                {"linkId": "born", "answer": [{"valueDate": "1970-06-15"}]},
            ],
        },
        {"linkId": "heading"},
    ]
    return body


def parses(body: Any) -> bool:
    try:
        QuestionnaireResponse.model_validate(body)
    except (ValueError, TypeError):  # pydantic's ValidationError is a ValueError
        return False
    return True


def _places(node: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[tuple[Any, ...], Any]]:
    yield path, node
    if isinstance(node, dict):
        for key, child in node.items():
            yield from _places(child, (*path, key))
    elif isinstance(node, list):
        for index, child in enumerate(node):
            yield from _places(child, (*path, index))


def _parent(doc: Any, path: tuple[Any, ...]) -> Any:
    for part in path[:-1]:
        doc = doc[part]
    return doc


def _replace(rng: random.Random, doc: dict[str, Any]) -> None:
    path, _ = rng.choice([p for p in _places(doc) if p[0]])
    _parent(doc, path)[path[-1]] = copy.deepcopy(rng.choice(REPLACEMENTS))


def _dicts(doc: dict[str, Any]) -> list[dict[str, Any]]:
    return [node for _, node in _places(doc) if isinstance(node, dict)]


def _lists(doc: dict[str, Any]) -> list[list[Any]]:
    return [node for _, node in _places(doc) if isinstance(node, list)]


def _drop_key(rng: random.Random, doc: dict[str, Any]) -> None:
    node = rng.choice([d for d in _dicts(doc) if d])
    del node[rng.choice(list(node))]


def _rename_key(rng: random.Random, doc: dict[str, Any]) -> None:
    node = rng.choice([d for d in _dicts(doc) if d])
    node[rng.choice(KEYS)] = node.pop(rng.choice(list(node)))


def _add_key(rng: random.Random, doc: dict[str, Any]) -> None:
    rng.choice(_dicts(doc))[rng.choice(KEYS)] = copy.deepcopy(rng.choice(REPLACEMENTS))


def _duplicate_element(rng: random.Random, doc: dict[str, Any]) -> None:
    node = rng.choice([n for n in _lists(doc) if n])
    node.append(copy.deepcopy(rng.choice(node)))


def _empty(rng: random.Random, doc: dict[str, Any]) -> None:
    rng.choice(_lists(doc) + _dicts(doc)[1:]).clear()


def _retype_answer(rng: random.Random, doc: dict[str, Any]) -> None:
    # The same value under another value[x]: a bool as valueInteger, a string as valueDate, and so on.
    answers = [d for d in _dicts(doc) if any(k in d for k in VALUE_KEYS)]
    node = rng.choice(answers)
    old = next(k for k in node if k in VALUE_KEYS)
    node[rng.choice(VALUE_KEYS)] = node.pop(old)


def _second_value(rng: random.Random, doc: dict[str, Any]) -> None:
    answers = [d for d in _dicts(doc) if any(k in d for k in VALUE_KEYS)]
    rng.choice(answers)[rng.choice(VALUE_KEYS)] = copy.deepcopy(rng.choice(REPLACEMENTS))


def _nest(rng: random.Random, doc: dict[str, Any]) -> None:
    # An item under an item or an answer, sometimes a chain deeper than any template.
    holders = [d for d in _dicts(doc) if "linkId" in d or any(k in d for k in VALUE_KEYS)]
    nested: dict[str, Any] = copy.deepcopy(rng.choice(doc.get("item") or [{"linkId": "n"}]))
    for depth in range(rng.choice([0, 0, 1, 12])):
        nested = {"linkId": f"level-{depth}", "item": [nested]}
    rng.choice(holders)["item"] = [nested]


def _wrap_or_unwrap(rng: random.Random, doc: dict[str, Any]) -> None:
    path, node = rng.choice([p for p in _places(doc) if p[0]])
    _parent(doc, path)[path[-1]] = node[0] if isinstance(node, list) and node else [node]


MUTATIONS: list[Callable[[random.Random, dict[str, Any]], None]] = [
    _replace, _replace, _replace, _replace, _drop_key, _rename_key, _add_key, _duplicate_element, _empty,
    _retype_answer, _second_value, _nest, _wrap_or_unwrap,
]  # fmt: skip


def named_variants() -> list[dict[str, Any]]:
    """The cases that motivated the fast path's rules, each on an otherwise ordinary response."""

    def with_answer(answer: dict[str, Any]) -> dict[str, Any]:
        return make_response() | {"item": [{"linkId": "x", "answer": [answer]}]}

    return [
        make_response(authored="2026-11-28T09:00:00"),
        make_response(authored="2026-11-28T25:00:00Z"),
        make_response(authored="2026-13-01"),
        make_response(authored="2026-02-29"),
        make_response(authored="2026-11-28T23:59:60Z"),
        make_response(id="a" * 65),
        make_response(id="has space"),
        make_response(status="draft"),
        make_response(status=""),
        make_response(questionnaire=""),
        make_response(identifier=[{"value": "1"}]),
        make_response(contained=[]),
        make_response(meta={"versionId": "1"}),
        make_response({"work": [{"valueBoolean": None}]}),
        make_response({"work": [{"valueBoolean": 1}]}),
        make_response({"work": [{"valueBoolean": True, "valueString": "yes"}]}),
        make_response({"work": [{}]}),
        make_response({"work": []}),
        make_response({"housing": [(ANSWER, " none")]}),
        make_response({"housing": [(ANSWER, "\ud800")]}),
        with_answer({"valueInteger": 2**31}),
        with_answer({"valueInteger": True}),
        with_answer({"valueInteger": "1"}),
        with_answer({"valueDecimal": float("nan")}),
        with_answer({"valueDecimal": 10**30}),
        with_answer({"valueDate": "2026-11-28T09:00:00Z"}),
        with_answer({"valueDate": "2026-02-30"}),
        with_answer({"valueDateTime": "2026-11-28T09:00:00.1234567Z"}),
        with_answer({"valueString": "\u3000"}),
        make_response() | {"item": [{"linkId": "a", "answer": [{"valueBoolean": True}], "item": [{"linkId": "b"}]}]},
        make_response() | {"item": [{"answer": [{"valueBoolean": True}]}]},
        make_response() | {"item": [{"linkId": "", "answer": [{"valueBoolean": True}]}]},
        make_response() | {"item": [{"linkId": "\u3000", "answer": [{"valueBoolean": True}]}]},
        make_response() | {"item": [{"linkId": "a", "text": "\x0b"}]},
        make_response(subject={"display": ""}),
        make_response() | {"item": []},
    ]


def variants() -> list[dict[str, Any]]:
    """The named cases, then seeded random mutations (one to three each) of four ordinary responses."""
    rng = random.Random(SEED)
    bases = [realistic_response(), make_response(), make_response(ALL_NEEDS), rich_response()]
    found = named_variants()
    for _ in range(RANDOM_VARIANTS):
        doc = copy.deepcopy(rng.choice(bases))
        for _ in range(rng.choice([1, 1, 2, 3])):
            rng.choice(MUTATIONS)(rng, doc)
        found.append(doc)
    return found


def test_fast_path_accepts_the_realistic_response() -> None:
    assert plainly_valid(realistic_response())


def test_fast_path_accepts_ordinary_responses_from_the_builders() -> None:
    ordinary = [
        make_response(),
        make_response(ALL_NEEDS),
        make_response({"consent": [False]}, status="in-progress"),
        make_response(identifier={"system": "urn:x", "value": "1"}, subject={"reference": "Patient/1"}),
        rich_response(),
    ]
    assert [plainly_valid(body) for body in ordinary] == [True] * len(ordinary)


def test_fast_path_accepts_only_what_fhir_resources_accepts() -> None:
    every = variants()
    accepted = [body for body in every if plainly_valid(body)]
    assert [body for body in accepted if not parses(body)] == []
    # Both answers must occur, or the comparison proves nothing.
    assert 0 < len(accepted) < len(every)


def test_structure_issues_are_the_fhir_resources_issues_for_every_variant() -> None:
    for body in variants():
        assert validation.structure_issues(body) == validation._parsed_issues(body), body


def test_status_outside_the_binding_is_code_invalid_on_the_fast_path() -> None:
    body = make_response(status="draft")
    assert plainly_valid(body)
    issues = validation.structure_issues(body)
    assert [(i["code"], i["expression"]) for i in issues] == [("code-invalid", ["QuestionnaireResponse.status"])]
