"""order-select: a referral to social prescribing gets the services for the needs on record; other orders nothing."""

from tests.cds_hooks.conftest import call
from tests.simulated_ehr.app import Ehr

SERVICE = "signpost-order-select"


def _ordering(ehr: Ehr, code: str) -> dict:  # type: ignore[type-arg]
    order = {
        "resourceType": "ServiceRequest",
        "id": "draft-1",
        "status": "draft",
        "intent": "order",
        "code": {"coding": [{"system": "http://snomed.info/sct", "code": code}]},
        "subject": {"reference": "Patient/zq-1957"},
    }
    context = {
        "selections": ["ServiceRequest/draft-1"],
        "draftOrders": {"resourceType": "Bundle", "entry": [{"resource": order}]},
    }
    return ehr.hook_request("order-select", prefetch=True, context=context)


def test_a_social_prescribing_referral_gets_the_services_for_the_needs_on_record(hooks, ehr, directory) -> None:  # type: ignore[no-untyped-def]
    answer = call(hooks, ehr, SERVICE, _ordering(ehr, "871731000000106"))
    assert answer.status_code == 200
    (card,) = answer.json()["cards"]
    assert card["summary"] == "Local services for the needs on record: homeless, food insecurity"
    assert "Leeds Housing Options" in card["detail"] and "Leeds Food Aid" in card["detail"]


def test_a_referral_with_no_needs_on_record_suggests_the_template(hooks, ehr, directory) -> None:  # type: ignore[no-untyped-def]
    ehr.resources = {"Condition": [], "Observation": [], "QuestionnaireResponse": []}
    (card,) = call(hooks, ehr, SERVICE, _ordering(ehr, "871731000000106")).json()["cards"]
    assert card["summary"].startswith("No social needs on record")
    assert card["links"][0]["type"] == "smart"


def test_another_order_gets_no_cards(hooks, ehr, directory) -> None:  # type: ignore[no-untyped-def]
    answer = call(hooks, ehr, SERVICE, _ordering(ehr, "183524004"))
    assert answer.status_code == 200 and answer.json() == {"cards": []}


def test_order_select_without_draft_orders_is_400(hooks, ehr) -> None:  # type: ignore[no-untyped-def]
    answer = call(hooks, ehr, SERVICE, ehr.hook_request("order-select", prefetch=True))
    assert answer.status_code == 400
    assert "draftOrders" in answer.json()["detail"]
