"""The referral loop over the API: make a referral, move its Task through the Gravity statuses, search and read."""

import pytest
from sqlalchemy import text

from signpost.referrals import service as referrals
from tests.factories import bearer, make_key
from tests.referrals.factories import make_provider, prescriber_key, refer

REASON = "https://signpost.example.org/fhir/CodeSystem/referral-status-reason"
# A route to each status from a new referral.
PATH = {
    "requested": [],
    "received": ["received"],
    "accepted": ["accepted"],
    "in-progress": ["accepted", "in-progress"],
    "on-hold": ["accepted", "on-hold"],
    "rejected": ["rejected"],
    "completed": ["accepted", "completed"],
    "failed": ["accepted", "failed"],
}
REASON_FOR = {"rejected": "at-capacity", "failed": "did-not-attend"}
EDGES = [(a, b) for a, targets in referrals.MOVES.items() for b in sorted(targets)]
NOT_EDGES = [(a, b) for a in PATH for b in PATH if b != a and b not in referrals.MOVES.get(a, ())]


def task_body(task_id: str, status: str, reason: str | None = None) -> dict:  # type: ignore[type-arg]
    body = {"resourceType": "Task", "id": task_id, "status": status, "intent": "order"}
    if reason:
        body["statusReason"] = {"coding": [{"system": REASON, "code": reason}]}
    return body


def put(client, provider, task_id: str, status: str, reason: str | None = None):  # type: ignore[no-untyped-def]
    return client.put(
        f"/fhir/Task/{task_id}",
        headers={**provider.headers, "content-type": "application/fhir+json"},
        json=task_body(task_id, status, reason if reason else REASON_FOR.get(status)),
    )


def reach(client, provider, task_id: str, status: str) -> None:  # type: ignore[no-untyped-def]
    for step in PATH[status]:
        assert put(client, provider, task_id, step).status_code == 200


def test_a_referral_gives_a_token_once_and_stores_only_its_hmac(client, session) -> None:  # type: ignore[no-untyped-def]
    provider = make_provider(session)
    made = refer(client, prescriber_key(session), provider.service.id, postcode="LS6 2QT")
    assert made["status"] == "requested"
    row = session.execute(text("SELECT * FROM referral WHERE id = :id"), {"id": made["task_id"]}).mappings().one()
    assert made["token"] not in repr(dict(row))
    assert row["token_hint"] == made["token"][:4]
    assert "LS6" not in repr(dict(row))


def test_a_clinicians_referral_carries_the_practice(client, session) -> None:  # type: ignore[no-untyped-def]
    provider = make_provider(session)
    made = refer(client, make_key(session, "clinician", practice_ods="B86001"), provider.service.id)
    task = client.get(f"/fhir/Task/{made['task_id']}", headers=provider.headers).json()
    assert task["requester"]["identifier"]["value"] == "B86001"
    assert task["owner"]["reference"] == f"Organization/{provider.service.organization_id}"
    assert task["focus"]["reference"] == f"ServiceRequest/{made['task_id']}"
    assert "for" not in task


def test_an_unknown_need_or_service_is_named_in_a_422(client, session) -> None:  # type: ignore[no-untyped-def]
    response = client.post(
        "/api/v1/referrals", headers=bearer(prescriber_key(session)), json={"service": "nope", "need": "nope"}
    )
    assert response.status_code == 422
    assert {e["loc"] for e in response.json()["errors"]} == {"need", "service"}


def test_a_service_not_taking_referrals_refuses_them(client, session) -> None:  # type: ignore[no-untyped-def]
    provider = make_provider(session)
    stated = client.put(
        f"/api/v1/directory/services/{provider.service.id}/capacity",
        headers=provider.headers,
        json={"status": "not-taking-referrals"},
    )
    assert stated.status_code == 200, stated.text
    response = client.post(
        "/api/v1/referrals",
        headers=bearer(prescriber_key(session)),
        json={"service": provider.service.id, "need": "debt-priority"},
    )
    assert response.status_code == 409
    assert "not taking referrals" in response.json()["detail"]


@pytest.mark.parametrize(("start", "end"), EDGES, ids=[f"{a}->{b}" for a, b in EDGES])
def test_every_allowed_transition_moves_the_task(client, session, start: str, end: str) -> None:  # type: ignore[no-untyped-def]
    provider = make_provider(session)
    made = refer(client, prescriber_key(session), provider.service.id)
    reach(client, provider, made["task_id"], start)
    response = put(client, provider, made["task_id"], end)
    assert response.status_code == 200, response.text
    task = response.json()
    assert task["status"] == end
    if end in REASON_FOR:
        assert task["statusReason"]["coding"][0]["code"] == REASON_FOR[end]
    if end in ("completed", "failed"):
        assert task["output"][0]["valueCodeableConcept"]["coding"][0]["code"] in ("completed", "did-not-attend")


@pytest.mark.parametrize(("start", "end"), NOT_EDGES, ids=[f"{a}->{b}" for a, b in NOT_EDGES])
def test_every_disallowed_transition_is_a_409_operation_outcome(client, session, start: str, end: str) -> None:  # type: ignore[no-untyped-def]
    provider = make_provider(session)
    made = refer(client, prescriber_key(session), provider.service.id)
    reach(client, provider, made["task_id"], start)
    response = put(client, provider, made["task_id"], end)
    assert response.status_code == 409, response.text
    outcome = response.json()
    assert outcome["resourceType"] == "OperationOutcome"
    assert outcome["issue"][0]["code"] == "conflict"
    assert client.get(f"/fhir/Task/{made['task_id']}", headers=provider.headers).json()["status"] == start


def test_declining_needs_a_reason_from_the_coded_list(client, session) -> None:  # type: ignore[no-untyped-def]
    provider = make_provider(session)
    made = refer(client, prescriber_key(session), provider.service.id)
    assert put(client, provider, made["task_id"], "rejected", reason="bored").status_code == 422
    for reason in ("at-capacity", "not-eligible", "could-not-contact", "other"):
        other = refer(client, prescriber_key(session), provider.service.id)
        assert put(client, provider, other["task_id"], "rejected", reason=reason).status_code == 200


def test_only_the_owning_organisations_key_moves_a_task(client, session) -> None:  # type: ignore[no-untyped-def]
    owner, stranger = make_provider(session), make_provider(session)
    made = refer(client, prescriber_key(session), owner.service.id)
    theirs = put(client, stranger, made["task_id"], "accepted")
    unknown = put(client, stranger, "0" * 32, "accepted")
    assert theirs.status_code == unknown.status_code == 404
    assert theirs.json()["issue"][0]["diagnostics"].replace(made["task_id"], "X") == unknown.json()["issue"][0][
        "diagnostics"
    ].replace("0" * 32, "X")
    referrer = client.put(
        f"/fhir/Task/{made['task_id']}",
        headers={**bearer(prescriber_key(session)), "content-type": "application/fhir+json"},
        json=task_body(made["task_id"], "accepted"),
    )
    assert referrer.status_code == 403
    assert client.get(f"/fhir/Task/{made['task_id']}", headers=owner.headers).json()["status"] == "requested"


def test_unknown_and_other_organisations_tokens_look_the_same(client, session) -> None:  # type: ignore[no-untyped-def]
    owner, stranger = make_provider(session), make_provider(session)
    made = refer(client, prescriber_key(session), owner.service.id)
    mine = client.get("/fhir/Task", params={"identifier": made["token"]}, headers=owner.headers).json()
    assert [e["resource"]["id"] for e in mine.get("entry", [])] == [made["task_id"]]
    theirs = client.get("/fhir/Task", params={"identifier": made["token"]}, headers=stranger.headers).json()
    unknown = client.get("/fhir/Task", params={"identifier": "AAAA-BBBB-CCCC"}, headers=stranger.headers).json()
    assert theirs["total"] == unknown["total"] == 0
    assert theirs.get("entry", []) == unknown.get("entry", []) == []


def test_search_by_status_owner_and_last_updated(client, session) -> None:  # type: ignore[no-untyped-def]
    provider = make_provider(session)
    key = prescriber_key(session)
    first, second = refer(client, key, provider.service.id), refer(client, key, provider.service.id)
    accepted = put(client, provider, first["task_id"], "accepted").json()
    owner = f"Organization/{provider.service.organization_id}"

    def ids(**params):  # type: ignore[no-untyped-def]
        found = client.get("/fhir/Task", params={"owner": owner, **params}, headers=provider.headers)
        assert found.status_code == 200, found.text
        return {e["resource"]["id"] for e in found.json().get("entry", [])}

    assert ids() == {first["task_id"], second["task_id"]}
    assert ids(status="accepted") == {first["task_id"]}
    assert ids(status="requested,received") == {second["task_id"]}
    moment = accepted["meta"]["lastUpdated"]
    assert ids(_lastUpdated=f"ge{moment}", status="accepted") == {first["task_id"]}
    assert ids(_lastUpdated=f"lt{moment}", status="accepted") == set()
    assert ids(_lastUpdated="gt2000-01-01") == {first["task_id"], second["task_id"]}
    assert ids(_lastUpdated="lt2000-01-01") == set()
    bad = client.get("/fhir/Task", params={"_lastUpdated": "yesterday"}, headers=provider.headers)
    assert bad.status_code == 400 and bad.json()["resourceType"] == "OperationOutcome"


def test_a_repeated_status_is_and_and_commas_are_or(client, session) -> None:  # type: ignore[no-untyped-def]
    provider = make_provider(session)
    key = prescriber_key(session)
    first, second = refer(client, key, provider.service.id), refer(client, key, provider.service.id)
    put(client, provider, first["task_id"], "accepted")

    def ids(query: str) -> set[str]:
        found = client.get(f"/fhir/Task?{query}", headers=provider.headers)
        assert found.status_code == 200, found.text
        return {e["resource"]["id"] for e in found.json().get("entry", [])}

    # R4: status=a,b is either; status=a&status=b is both at once, which no Task with one status meets.
    assert ids("status=accepted,requested") == {first["task_id"], second["task_id"]}
    assert ids("status=accepted&status=requested") == set()
    assert ids("status=accepted,requested&status=accepted") == {first["task_id"]}


def test_a_provider_sees_no_other_organisations_tasks(client, session) -> None:  # type: ignore[no-untyped-def]
    owner, stranger = make_provider(session), make_provider(session)
    made = refer(client, prescriber_key(session), owner.service.id)
    other_owner = f"Organization/{owner.service.organization_id}"
    found = client.get("/fhir/Task", params={"owner": other_owner}, headers=stranger.headers).json()
    assert found["total"] == 0
    assert client.get(f"/fhir/Task/{made['task_id']}", headers=stranger.headers).status_code == 404
    assert client.get(f"/fhir/ServiceRequest/{made['task_id']}", headers=stranger.headers).status_code == 404


def test_the_service_request_names_the_need_and_service_and_no_patient(client, session) -> None:  # type: ignore[no-untyped-def]
    provider = make_provider(session)
    key = prescriber_key(session)
    made = refer(client, key, provider.service.id)
    request = client.get(f"/fhir/ServiceRequest/{made['task_id']}", headers=bearer(key)).json()
    assert request["code"]["coding"][0]["code"] == "debt-priority"
    assert request["performer"] == [{"reference": f"HealthcareService/{provider.service.id}"}]
    assert "reference" not in request["subject"]


def test_a_revoked_provider_key_moves_nothing(client, session) -> None:  # type: ignore[no-untyped-def]
    provider = make_provider(session)
    made = refer(client, prescriber_key(session), provider.service.id)
    organization = provider.service.organization_id
    editor = bearer(make_key(session, "editor"))
    issued = client.post(
        f"/api/v1/directory/organizations/{organization}/provider-keys",
        headers=editor,
        json={"name": "front desk"},
    ).json()
    from tests.referrals.factories import Provider

    desk = Provider(service=provider.service, key=issued["key"])
    assert put(client, desk, made["task_id"], "received").status_code == 200
    revoked = client.post(f"/api/v1/provider-keys/{issued['id']}/revoke", headers=editor)
    assert revoked.status_code == 204
    assert put(client, desk, made["task_id"], "accepted").status_code == 401


def test_a_healthcare_service_carries_its_stated_capacity(client, session) -> None:  # type: ignore[no-untyped-def]
    from fhir.resources.R4B.healthcareservice import HealthcareService

    provider = make_provider(session)
    stated = client.put(
        f"/api/v1/directory/services/{provider.service.id}/capacity",
        headers=provider.headers,
        json={"status": "waitlist", "wait_band": "over-3-months"},
    )
    assert stated.status_code == 200, stated.text
    resource = client.get(f"/fhir/HealthcareService/{provider.service.id}", headers=bearer(prescriber_key(session)))
    found = [e for e in resource.json()["extension"] if e["url"].endswith("/StructureDefinition/service-capacity")]
    parts = {p["url"]: p for p in found[0]["extension"]}
    assert parts["status"]["valueCoding"]["code"] == "waitlist"
    assert parts["waitBand"]["valueCoding"]["code"] == "over-3-months"
    HealthcareService.model_validate(resource.json())


def test_a_provider_sets_capacity_only_for_its_own_services(client, session) -> None:  # type: ignore[no-untyped-def]
    owner, stranger = make_provider(session), make_provider(session)
    response = client.put(
        f"/api/v1/directory/services/{owner.service.id}/capacity",
        headers=stranger.headers,
        json={"status": "not-taking-referrals"},
    )
    assert response.status_code == 404
    bad = client.put(
        f"/api/v1/directory/services/{owner.service.id}/capacity",
        headers=owner.headers,
        json={"status": "waitlist"},
    )
    assert bad.status_code == 422 and bad.json()["errors"][0]["loc"] == "wait_band"
