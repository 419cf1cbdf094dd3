"""patient-view: cards from the record (prefetched, or read from the EHR with the token lent), never a 500."""

from datetime import UTC, datetime, timedelta

import httpx

from tests.cds_hooks.conftest import SIGNPOST, call
from tests.simulated_ehr.app import PATIENT_ID, Ehr
from tests.template.builders import make_response, need

SERVICE = "signpost-patient-view"


def _empty(ehr: Ehr) -> None:
    ehr.resources = {"Condition": [], "Observation": [], "QuestionnaireResponse": []}


def _days_ago(days: int) -> str:
    return (datetime.now(UTC) - timedelta(days=days)).isoformat(timespec="seconds")


def test_each_need_on_record_gets_a_card_with_its_services_and_a_draft_referral(hooks, ehr, directory) -> None:  # type: ignore[no-untyped-def]
    answer = call(hooks, ehr, SERVICE, ehr.hook_request("patient-view", prefetch=True))
    assert answer.status_code == 200
    cards = {c["summary"].split(":")[0]: c for c in answer.json()["cards"]}
    assert set(cards) == {"Homeless", "Food insecurity"}  # asked last month: no "not asked" card
    housing = cards["Homeless"]
    assert "Leeds Housing Options" in housing["summary"] and len(housing["summary"]) < 140
    assert "Covers the whole city" in housing["detail"]
    assert housing["source"]["label"] == "Signpost"
    request = housing["suggestions"][0]["actions"][0]
    assert request["type"] == "create"
    resource = request["resource"]
    assert (resource["resourceType"], resource["status"]) == ("ServiceRequest", "draft")
    assert resource["subject"] == {"reference": f"Patient/{PATIENT_ID}"}
    service_id = str(directory["housing"].id)
    assert resource["performer"][0]["reference"] == f"{SIGNPOST}/fhir/HealthcareService/{service_id}"
    assert {"url": "https://housing.example.org", "type": "absolute"}.items() <= housing["links"][0].items()
    assert housing["links"][-1] == {
        "label": "Complete the social needs template in Signpost",
        "url": f"{SIGNPOST}/smart/launch",
        "type": "smart",
    }


def test_nothing_asked_in_a_year_gets_the_not_asked_card_with_a_smart_link(hooks, ehr, directory) -> None:  # type: ignore[no-untyped-def]
    _empty(ehr)
    old = ehr.hook_request("patient-view", prefetch=True)
    old_response = make_response({"housing": [need("homeless")]}, authored=_days_ago(400))
    old["prefetch"]["responses"] = {"resourceType": "Bundle", "entry": [{"resource": old_response}]}
    cards = call(hooks, ehr, SERVICE, old).json()["cards"]
    assert [c["summary"] for c in cards] == ["Social needs not asked in the last 12 months"]
    assert cards[0]["links"][0]["type"] == "smart"


def test_needs_in_the_last_template_response_are_on_record(hooks, ehr, directory) -> None:  # type: ignore[no-untyped-def]
    _empty(ehr)
    body = ehr.hook_request("patient-view", prefetch=True)
    recent = make_response({"housing": [need("homeless")], "homeless-tonight": [False]}, authored=_days_ago(10))
    body["prefetch"]["responses"] = {"resourceType": "Bundle", "entry": [{"resource": recent}]}
    cards = call(hooks, ehr, SERVICE, body).json()["cards"]
    assert [c["summary"].split(":")[0] for c in cards] == ["Homeless"]


def test_resolved_conditions_and_refuted_ones_are_not_needs(hooks, ehr, directory) -> None:  # type: ignore[no-untyped-def]
    ehr.resources["Observation"] = []
    ehr.resources["Condition"][0]["clinicalStatus"] = {"coding": [{"code": "resolved"}]}
    cards = call(hooks, ehr, SERVICE, ehr.hook_request("patient-view", prefetch=True)).json()["cards"]
    assert [c["summary"] for c in cards] == ["Social needs not asked in the last 12 months"]


def test_missing_prefetch_is_read_from_the_ehr_with_the_token_given(hooks, ehr, directory, mock_ehr) -> None:  # type: ignore[no-untyped-def]
    body = ehr.hook_request("patient-view", prefetch=False)
    token = body["fhirAuthorization"]["access_token"]
    patient = mock_ehr.get(f"{ehr.fhir_base}/Patient/{PATIENT_ID}").respond(json=ehr.patient)
    bundle = {"resourceType": "Bundle", "type": "searchset"}
    conditions = mock_ehr.get(url__startswith=f"{ehr.fhir_base}/Condition").respond(
        json={**bundle, "entry": [{"resource": r} for r in ehr.resources["Condition"]]}
    )
    mock_ehr.get(url__startswith=f"{ehr.fhir_base}/Observation").respond(json={**bundle, "entry": []})
    mock_ehr.get(url__startswith=f"{ehr.fhir_base}/QuestionnaireResponse").respond(json={**bundle, "entry": []})
    answer = call(hooks, ehr, SERVICE, body)
    assert answer.status_code == 200
    summaries = [c["summary"] for c in answer.json()["cards"]]
    assert summaries[0] == "Social needs not asked in the last 12 months"
    assert summaries[1].startswith("Homeless:")
    assert patient.calls.last.request.headers["authorization"] == f"Bearer {token}"
    assert conditions.calls.last.request.url.params["patient"] == PATIENT_ID


def test_an_ehr_that_times_out_gets_a_could_not_check_card(hooks, ehr, directory, mock_ehr) -> None:  # type: ignore[no-untyped-def]
    mock_ehr.get(url__startswith=ehr.fhir_base).mock(side_effect=httpx.ReadTimeout("slow"))
    answer = call(hooks, ehr, SERVICE, ehr.hook_request("patient-view", prefetch=False))
    assert answer.status_code == 200
    (card,) = answer.json()["cards"]
    assert card["summary"] == "Signpost could not check this record for social needs"
    assert card["indicator"] == "warning"


def test_an_ehr_that_errors_gets_a_could_not_check_card(hooks, ehr, directory, mock_ehr) -> None:  # type: ignore[no-untyped-def]
    mock_ehr.get(url__startswith=ehr.fhir_base).respond(500, text="<html>oops</html>")
    answer = call(hooks, ehr, SERVICE, ehr.hook_request("patient-view", prefetch=False))
    assert answer.status_code == 200
    assert answer.json()["cards"][0]["summary"].startswith("Signpost could not check")


def test_no_prefetch_and_no_token_gets_a_could_not_check_card(hooks, ehr, directory, mock_ehr) -> None:  # type: ignore[no-untyped-def]
    body = ehr.hook_request("patient-view", prefetch=False)
    del body["fhirAuthorization"]
    route = mock_ehr.get(url__startswith=ehr.fhir_base)
    answer = call(hooks, ehr, SERVICE, body)
    assert answer.json()["cards"][0]["summary"].startswith("Signpost could not check")
    assert not route.called


def test_a_need_with_no_service_says_so(hooks, ehr) -> None:  # type: ignore[no-untyped-def]
    cards = call(hooks, ehr, SERVICE, ehr.hook_request("patient-view", prefetch=True)).json()["cards"]
    assert all("no matching local service" in c["summary"] for c in cards)
    assert all("suggestions" not in c for c in cards)
