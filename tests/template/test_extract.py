"""Observation-based extraction: coded, derivedFrom the response, no subject identifiers."""

from fhir.resources.R4B.observation import Observation

from signpost.template import assess, observations, validate
from tests.template.builders import make_response, need


def extracted(response: dict) -> list[dict]:  # type: ignore[type-arg]
    checked, _ = validate(response)
    assert checked is not None
    return observations(response, assess(checked))


def test_each_need_becomes_a_valid_observation_derived_from_the_response() -> None:
    response = make_response({"housing": [need("homeless")], "homeless-tonight": [True]}, id="qr-1")
    [observation] = extracted(response)
    Observation.model_validate(observation)
    assert observation["derivedFrom"] == [{"reference": "QuestionnaireResponse/qr-1"}]
    assert {"system": "http://snomed.info/sct", "code": "32911000", "display": "Homeless"} in observation["code"][
        "coding"
    ]


def test_observations_carry_no_subject() -> None:
    response = make_response({"work": [True]}, subject={"reference": "Patient/9434765919"})
    [observation] = extracted(response)
    assert "subject" not in observation
    assert "9434765919" not in str(observation)


def test_no_needs_give_no_observations() -> None:
    assert extracted(make_response()) == []
