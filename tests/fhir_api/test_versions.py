"""Versions and caching: meta.versionId, ETag, Last-Modified, 304, vread and _history; operations by POST."""

from datetime import date
from email.utils import parsedate_to_datetime

from fastapi.testclient import TestClient
from sqlmodel import Session

from signpost.directory import service as directory
from signpost.directory.schemas import ServicePatch
from tests.directory.factories import make_service
from tests.events.factories import make_event, record_events
from tests.factories import bearer, make_key

FHIR = {"Content-Type": "application/fhir+json"}


def test_a_read_has_etag_and_last_modified_and_answers_304(client: TestClient, session: Session) -> None:
    service = make_service(session)
    headers = bearer(make_key(session, "clinician"))
    first = client.get(f"/fhir/HealthcareService/{service.id}", headers=headers)
    body = first.json()
    assert first.headers["ETag"] == f'W/"{body["meta"]["versionId"]}"'
    assert parsedate_to_datetime(first.headers["Last-Modified"]).date() == date.fromisoformat(
        body["meta"]["lastUpdated"][:10]
    )
    again = client.get(
        f"/fhir/HealthcareService/{service.id}", headers={**headers, "If-None-Match": first.headers["ETag"]}
    )
    assert again.status_code == 304 and again.content == b""
    for path in (
        f"/fhir/Organization/{service.organization_id}",
        "/fhir/Measure/housing-needs",
        "/fhir/ValueSet/social-need",
        "/fhir/Questionnaire/social-determinants",
    ):
        read = client.get(path, headers=headers)
        assert read.status_code == 200 and read.headers["ETag"] and read.headers["Last-Modified"], path
        assert client.get(path, headers={**headers, "If-None-Match": read.headers["ETag"]}).status_code == 304


def test_an_edit_gives_a_new_version_history_and_a_fresh_read(client: TestClient, session: Session) -> None:
    service = make_service(session)
    headers = bearer(make_key(session, "clinician"))
    old = client.get(f"/fhir/HealthcareService/{service.id}", headers=headers)
    directory.update_service(
        session=session,
        service_id=service.id,
        data=ServicePatch.model_validate({"description": "Now with evening sessions."}),
        actor="editor",
        expected_version=service.version,
    )
    session.flush()
    fresh = client.get(
        f"/fhir/HealthcareService/{service.id}", headers={**headers, "If-None-Match": old.headers["ETag"]}
    )
    assert fresh.status_code == 200 and fresh.json()["meta"]["versionId"] == "2"
    history = client.get(f"/fhir/HealthcareService/{service.id}/_history", headers=headers).json()
    assert history["type"] == "history" and history["total"] == 2
    assert [e["response"]["etag"] for e in history["entry"]] == ['W/"2"', 'W/"1"']
    assert history["entry"][0]["resource"]["meta"]["versionId"] == "2"
    assert client.get(f"/fhir/HealthcareService/{service.id}/_history/2", headers=headers).status_code == 200
    older = client.get(f"/fhir/HealthcareService/{service.id}/_history/1", headers=headers)
    assert older.status_code == 200 and older.json() == {**old.json(), "meta": older.json()["meta"]}
    assert older.json()["meta"]["versionId"] == "1" and older.headers["ETag"] == 'W/"1"'
    # Reading an old version changes nothing: the current one is still version 2, with its description.
    now = client.get(f"/fhir/HealthcareService/{service.id}", headers=headers).json()
    assert now["meta"]["versionId"] == "2" and now["comment"] == "Now with evening sessions."
    assert client.get(f"/fhir/HealthcareService/{service.id}/_history", headers=headers).json()["total"] == 2
    assert client.get(f"/fhir/HealthcareService/{service.id}/_history/9", headers=headers).status_code == 404


def _analyst(session: Session) -> dict[str, str]:
    return {**FHIR, **bearer(make_key(session, "analyst"))}


def test_evaluate_measure_takes_any_fhir_date_precision(client: TestClient, session: Session) -> None:
    record_events(session, [make_event(occurred_on=date(2021, 5, 12)) for _ in range(10)], key="versions-evaluate")
    headers = _analyst(session)
    path = "/fhir/Measure/signposting-by-need/$evaluate-measure"
    for start, end, period in (
        ("2021", "2021", {"start": "2021-01-01", "end": "2021-12-31"}),
        ("2021-05", "2021-05", {"start": "2021-05-01", "end": "2021-05-31"}),
        ("2021-05-01", "2021-05-31T23:59:59Z", {"start": "2021-05-01", "end": "2021-05-31"}),
    ):
        report = client.get(path, params={"periodStart": start, "periodEnd": end}, headers=headers)
        assert report.status_code == 200, report.text
        assert report.json()["period"] == period
    posted = client.post(
        path,
        json={
            "resourceType": "Parameters",
            "parameter": [
                {"name": "periodStart", "valueDate": "2021-05"},
                {"name": "periodEnd", "valueDate": "2021-05"},
                {"name": "reportType", "valueCode": "population"},
            ],
        },
        headers=headers,
    )
    assert posted.status_code == 200 and posted.json()["type"] == "summary"
    assert posted.json()["group"][0]["population"][0]["count"] == 10


def test_evaluate_measure_bad_input_is_400(client: TestClient, session: Session) -> None:
    headers = _analyst(session)
    path = "/fhir/Measure/signposting-by-need/$evaluate-measure"
    for params in (
        {"periodStart": "2021-13", "periodEnd": "2021"},
        {"periodStart": "last year", "periodEnd": "2021"},
        {"periodEnd": "2021"},
        {"periodStart": "2021", "periodEnd": "2021", "reportType": "subject"},
    ):
        response = client.get(path, params=params, headers=headers)
        assert response.status_code == 400, params
        assert response.json()["resourceType"] == "OperationOutcome"
    for body in (
        {"resourceType": "Patient"},
        {"resourceType": "Parameters", "parameter": [{"name": "subject", "valueString": "Patient/1"}]},
        {"resourceType": "Parameters", "parameter": [{"name": "periodStart", "valueInteger": 2021}]},
    ):
        assert client.post(path, json=body, headers=headers).status_code == 400, body


def test_expand_by_post_with_parameters(client: TestClient) -> None:
    body = {
        "resourceType": "Parameters",
        "parameter": [
            {"name": "url", "valueUri": "https://signpost.example.org/fhir/ValueSet/social-need"},
            {"name": "filter", "valueString": "food"},
        ],
    }
    expanded = client.post("/fhir/ValueSet/$expand", json=body, headers=FHIR)
    assert expanded.status_code == 200
    contains = expanded.json()["expansion"]["contains"]
    assert contains and all("food" in (c["display"] + c["code"]).lower() for c in contains)
    missing = client.post("/fhir/ValueSet/$expand", json={"resourceType": "Parameters"}, headers=FHIR)
    assert missing.status_code == 400
