"""Planted identifiers, and request bodies made from an operation's declared shape with them in every field."""

from typing import Any

NHS_NUMBER = "9434765919"
NAME = "Zebedee Quartermaine"
POSTCODE = "LS6 2QT"
BIRTH_DATE = "1957-03-14"
EMAIL = "zebedee.quartermaine@example.com"
FREE_TEXT = "canary-7f3a9 lives alone at flat 3"
PLANTED = [NHS_NUMBER, NAME, POSTCODE, BIRTH_DATE, EMAIL, FREE_TEXT]

# Every form each identifier might be found in once a service has normalised it.
TRACES = [
    NHS_NUMBER,
    "943 476 5919",
    "Zebedee",
    "Quartermaine",
    "LS6 2QT",
    "LS62QT",
    "ls6 2qt",
    BIRTH_DATE,
    "14/03/1957",
    "19570314",
    "zebedee.quartermaine",
    "canary-7f3a9",
]


def traces_in(text: str) -> list[str]:
    lowered = text.lower()
    return [t for t in TRACES if t.lower() in lowered]


def _resolve(spec: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
    return schema


def instance(spec: dict[str, Any], schema: dict[str, Any], text: str, depth: int = 0) -> Any:
    """A value of the schema with `text` in every string (dates get the birth date, emails the email)."""
    schema = _resolve(spec, schema)
    for key in ("anyOf", "oneOf", "allOf"):
        if key in schema:
            options = [s for s in schema[key] if _resolve(spec, s).get("type") != "null"] or schema[key]
            return instance(spec, options[0], text, depth)
    kind = schema.get("type")
    if "enum" in schema:
        return schema["enum"][0]
    if "const" in schema:
        return schema["const"]
    if kind == "object" or "properties" in schema:
        if depth > 6:
            return {}
        return {name: instance(spec, sub, text, depth + 1) for name, sub in schema.get("properties", {}).items()}
    if kind == "array":
        return [instance(spec, schema.get("items", {}), text, depth + 1)]
    if kind == "integer":
        return 1
    if kind == "number":
        return 1.0
    if kind == "boolean":
        return False
    if schema.get("format") == "date":
        return BIRTH_DATE
    if schema.get("format") == "email":
        return EMAIL
    return text


def questionnaire_response(text: str) -> dict[str, Any]:
    """A QuestionnaireResponse whose subject (contained Patient) and answers carry every identifier."""
    return {
        "resourceType": "QuestionnaireResponse",
        "id": "canary",
        "identifier": {"system": "urn:canary", "value": NHS_NUMBER},
        "status": "completed",
        "questionnaire": "https://signpost.example.org/fhir/Questionnaire/social-determinants",
        "contained": [
            {
                "resourceType": "Patient",
                "id": "p",
                "identifier": [{"system": "https://fhir.nhs.uk/Id/nhs-number", "value": NHS_NUMBER}],
                "name": [{"text": NAME, "family": "Quartermaine", "given": ["Zebedee"]}],
                "birthDate": BIRTH_DATE,
                "telecom": [{"system": "email", "value": EMAIL}],
                "address": [{"postalCode": POSTCODE, "text": FREE_TEXT}],
            }
        ],
        "subject": {"reference": "#p", "display": NAME},
        "item": [{"linkId": "notes", "text": text, "answer": [{"valueString": text}]}],
    }
