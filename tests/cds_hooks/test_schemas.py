"""Cards and discovery validate against the CDS Hooks project's JSON schemas, brought up to 2.0 (see schemas/)."""

import copy
import json
from pathlib import Path
from typing import Any

import jsonschema

from tests.cds_hooks.conftest import call
from tests.simulated_ehr.app import Ehr

SCHEMAS = Path(__file__).resolve().parent / "schemas"


def _load(name: str) -> dict[str, Any]:
    return json.loads((SCHEMAS / name).read_text())


def cards_schema_2_0() -> dict[str, Any]:
    """The 1.0 card schema with CDS Hooks 2.0's changes (schemas/README.md lists them)."""
    schema = copy.deepcopy(_load("card-schema.json"))
    schema["properties"]["systemActions"] = {"type": "array"}
    card = schema["properties"]["cards"]["items"]
    props = card["properties"]
    props["indicator"]["enum"] = ["info", "warning", "critical"]
    props["summary"]["maxLength"] = 139
    props["uuid"] = {"type": "string"}
    props["selectionBehavior"] = {"type": "string", "enum": ["at-most-one", "any"]}
    coding = {
        "type": "object",
        "properties": {"system": {"type": "string"}, "code": {"type": "string", "required": True}},
    }
    props["overrideReasons"] = {"type": "array", "items": coding}
    props["source"]["properties"]["topic"] = coding
    suggestion = props["suggestions"]["items"]["properties"]
    suggestion["isRecommended"] = {"type": "boolean"}
    suggestion["actions"]["items"]["properties"]["resourceId"] = {"type": "array", "items": {"type": "string"}}
    return schema


def discovery_schema_2_0() -> dict[str, Any]:
    schema = copy.deepcopy(_load("discovery-response-schema.json"))
    service = schema["properties"]["services"]["items"]["properties"]
    service["title"]["required"] = False
    service["usageRequirements"] = {"type": "string"}
    return schema


def errors(schema: dict[str, Any], instance: Any) -> list[str]:
    validator = jsonschema.Draft3Validator(schema, format_checker=jsonschema.Draft3Validator.FORMAT_CHECKER)
    return [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(instance)]


def test_discovery_validates_against_the_schema(hooks) -> None:  # type: ignore[no-untyped-def]
    answer = hooks.get("/cds-services")
    assert answer.status_code == 200
    assert errors(discovery_schema_2_0(), answer.json()) == []
    assert {s["hook"] for s in answer.json()["services"]} == {"patient-view", "order-select"}


def test_cards_of_every_kind_validate_against_the_schema(hooks, ehr: Ehr, directory, mock_ehr) -> None:  # type: ignore[no-untyped-def]
    with_needs = call(hooks, ehr, "signpost-patient-view", ehr.hook_request("patient-view", prefetch=True))
    ehr.resources = {"Condition": [], "Observation": [], "QuestionnaireResponse": []}
    not_asked = call(hooks, ehr, "signpost-patient-view", ehr.hook_request("patient-view", prefetch=True))
    mock_ehr.get(url__startswith=ehr.fhir_base).respond(503)
    unchecked = call(hooks, ehr, "signpost-patient-view", ehr.hook_request("patient-view", prefetch=False))
    kinds = set()
    for answer in (with_needs, not_asked, unchecked):
        assert answer.status_code == 200, answer.text
        assert errors(cards_schema_2_0(), answer.json()) == []
        kinds |= {c["summary"].split(":")[0] for c in answer.json()["cards"]}
    assert {"Homeless", "Food insecurity", "Social needs not asked in the last 12 months"} <= kinds


def test_the_schema_refuses_a_card_without_a_source() -> None:
    """The check itself: a card missing what the specification requires fails it."""
    card = {"summary": "x", "indicator": "info"}
    assert errors(cards_schema_2_0(), {"cards": [card]})
    assert errors(cards_schema_2_0(), {"cards": [{**card, "source": {"label": "S"}, "indicator": "hard-stop"}]})
