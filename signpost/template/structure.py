"""A plain-Python check that recognises the ordinary shape of a response, so most skip the fhir.resources parse.

It answers only "certainly valid" (True) or "don't know" (False): everything it accepts, the fhir.resources R4B
QuestionnaireResponse model accepts too (tests/template/test_structure_fast_path.py checks this on mutations), and
on False the caller parses with fhir.resources as before, so every error message stays that model's. Where unsure
it is stricter than FHIR: a response it refuses is not invalid, only slower.
"""

import datetime
import math
import re
from collections.abc import Callable
from typing import Any

_TOP = frozenset({"resourceType", "id", "questionnaire", "status", "authored", "identifier", "subject", "item"})
_ITEM = frozenset({"linkId", "text", "answer", "item"})
_CODING = frozenset({"system", "code", "display"})
_IDENTIFIER = frozenset({"system", "value"})
_REFERENCE = frozenset({"reference", "display"})
# Our template nests nothing; a cap keeps a hostile nesting from recursing here (the slow path judges it).
_MAX_DEPTH = 8
_INT32 = (-(2**31), 2**31 - 1)
# fhir_core puts decimals through str(), which refuses ints over 4,300 digits; stay far below that.
_DECIMAL_INT_LIMIT = 2**63

_ID = re.compile(r"[A-Za-z0-9\-.]{1,64}")
_TOKEN = re.compile(r"\S+")
# FHIR date and dateTime, narrowed: no leap second 60 (fhir_core re-parses those specially) and at most six
# fraction digits; a time needs a zone, as fhir_core insists. Year 0000 and impossible days are checked below.
_DATE = re.compile(r"(?P<year>[0-9]{4})(-(?P<month>0[1-9]|1[0-2])(-(?P<day>0[1-9]|[12][0-9]|3[01]))?)?")
_DATE_TIME = re.compile(
    r"(?P<year>[0-9]{4})(-(?P<month>0[1-9]|1[0-2])(-(?P<day>0[1-9]|[12][0-9]|3[01])"
    r"(T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\.[0-9]{1,6})?(Z|[+\-]((0[0-9]|1[0-3]):[0-5][0-9]|14:00)))?)?)?"
)


def plainly_valid(body: Any) -> bool:
    """True only when `body` is a QuestionnaireResponse of the ordinary shape that fhir.resources R4B accepts."""
    if type(body) is not dict or not body.keys() <= _TOP or body.get("resourceType") != "QuestionnaireResponse":
        return False
    # status is the one required element; its binding is checked by the caller, as on the slow path.
    if not _token(body.get("status")):
        return False
    if "id" in body and not (type(body["id"]) is str and _ID.fullmatch(body["id"])):
        return False
    if "questionnaire" in body and not _token(body["questionnaire"]):
        return False
    if "authored" in body and not _date(body["authored"], _DATE_TIME):
        return False
    if "identifier" in body and not _object(body["identifier"], _IDENTIFIER, {"system": _token, "value": _text}):
        return False
    if "subject" in body and not _object(body["subject"], _REFERENCE, {"reference": _text, "display": _text}):
        return False
    return "item" not in body or _items(body["item"], 0)


def _items(items: Any, depth: int) -> bool:
    if type(items) is not list or not items or depth > _MAX_DEPTH:
        return False
    for item in items:
        if type(item) is not dict or not item.keys() <= _ITEM or not _text(item.get("linkId")):
            return False
        if "text" in item and not _text(item["text"]):
            return False
        # FHIR's qrs-1 forbids answer and item together; fhir.resources does not check it, so the slow path decides.
        if "answer" in item and "item" in item:
            return False
        if "answer" in item and not _answers(item["answer"], depth):
            return False
        if "item" in item and not _items(item["item"], depth + 1):
            return False
    return True


def _answers(answers: Any, depth: int) -> bool:
    if type(answers) is not list or not answers:
        return False
    for answer in answers:
        if type(answer) is not dict:
            return False
        values = [key for key in answer if key != "item"]
        # Exactly one value[x], of a type we know, as FHIR's choice rule requires.
        if len(values) != 1 or values[0] not in _VALUES or not _VALUES[values[0]](answer[values[0]]):
            return False
        if "item" in answer and not _items(answer["item"], depth + 1):
            return False
    return True


def _text(value: Any) -> bool:
    # fhir_core's string pattern refuses a string of only whitespace; refusing any at either end is simpler.
    return type(value) is str and value != "" and value == value.strip() and _encodable(value)


def _token(value: Any) -> bool:
    # uri, canonical and code: no whitespace at all (FHIR allows single inner spaces in a code; we need none).
    return type(value) is str and _TOKEN.fullmatch(value) is not None and _encodable(value)


def _encodable(value: str) -> bool:
    # pydantic-core refuses a lone surrogate (JSON allows "\ud800"), which strip() and \S let through.
    if value.isascii():
        return True
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _date(value: Any, pattern: re.Pattern[str]) -> bool:
    if type(value) is not str:
        return False
    matched = pattern.fullmatch(value)
    if matched is None or matched["year"] == "0000":
        return False
    if matched["day"] is None:
        return True
    try:
        datetime.date(int(matched["year"]), int(matched["month"]), int(matched["day"]))
    except ValueError:  # 30 February and the like
        return False
    return True


def _boolean(value: Any) -> bool:
    return type(value) is bool


def _integer(value: Any) -> bool:
    # bool is an int to Python; FHIR integers are 32-bit.
    return type(value) is int and _INT32[0] <= value <= _INT32[1]


def _decimal(value: Any) -> bool:
    if type(value) is int:
        return -_DECIMAL_INT_LIMIT < value < _DECIMAL_INT_LIMIT
    return type(value) is float and math.isfinite(value)


def _coding(value: Any) -> bool:
    return _object(value, _CODING, {"system": _token, "code": _token, "display": _text})


def _object(value: Any, keys: frozenset[str], checks: dict[str, Callable[[Any], bool]]) -> bool:
    if type(value) is not dict or not value or not value.keys() <= keys:
        return False
    return all(checks[key](field) for key, field in value.items())


_VALUES: dict[str, Callable[[Any], bool]] = {
    "valueBoolean": _boolean,
    "valueString": _text,
    "valueCoding": _coding,
    "valueInteger": _integer,
    "valueDecimal": _decimal,
    "valueDate": lambda value: _date(value, _DATE),
    "valueDateTime": lambda value: _date(value, _DATE_TIME),
}
