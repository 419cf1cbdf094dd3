"""The CapabilityStatement is what the server does: every interaction, parameter and operation it declares works."""

from typing import Any

from fastapi.testclient import TestClient
from sqlmodel import Session, text

from signpost.auth import service as keys
from tests.directory.factories import make_service
from tests.factories import bearer, make_key
from tests.referrals.factories import refer

CORE_OPERATIONS = "http://hl7.org/fhir/OperationDefinition/"
READERS = {"HealthcareService", "Organization", "Location"}  # need a key; the rest of /fhir reads are public
REFERRALS = {"Task", "ServiceRequest"}  # a referral's owner reads them, with a provider key


def _examples(ids: dict[str, str]) -> dict[tuple[str, str], str]:
    """A value that matches the test's record, for every (resource type, parameter) the server may declare."""
    shipped = {
        "_id": "{id}",
        "url": "{url}",
        "version": "{version}",
        "status": "active",
    }
    out = {
        (t, p): v
        for t in (
            "CodeSystem",
            "ValueSet",
            "ConceptMap",
            "OperationDefinition",
            "StructureDefinition",
            "Questionnaire",
            "Measure",
        )
        for p, v in shipped.items()
    }
    out.update(
        {
            ("HealthcareService", "_id"): ids["service"],
            ("HealthcareService", "_lastUpdated"): "ge2000-01-01",
            (
                "HealthcareService",
                "identifier",
            ): f"https://signpost.example.org/fhir/directory/service|{ids['service']}",
            ("HealthcareService", "name"): ids["name"],
            ("HealthcareService", "service-category"): "debt",
            ("HealthcareService", "service-type"): "651",
            ("HealthcareService", "active"): "true",
            ("HealthcareService", "organization"): f"Organization/{ids['organization']}",
            ("HealthcareService", "location"): f"Location/{ids['location']}",
            ("Organization", "_id"): ids["organization"],
            ("Organization", "_lastUpdated"): "ge2000-01-01",
            ("Organization", "identifier"): ids["organization"],
            ("Organization", "name"): "Hyde Park",
            ("Location", "_id"): ids["location"],
            ("Location", "_lastUpdated"): "ge2000-01-01",
            ("Location", "name"): "Capability hall",
            ("Location", "near"): "53.80|-1.55|10|km",
            ("Task", "status"): "requested",
            ("Task", "owner"): f"Organization/{ids['organization']}",
            ("Task", "identifier"): ids["token"],
            ("Task", "_lastUpdated"): "ge2000-01-01",
        }
    )
    return out


def _setup(client: TestClient, session: Session) -> tuple[dict[str, str], dict[str, str], dict[str, str]]:
    service = make_service(
        session, locations=[{"name": "Capability hall", "city": "Leeds", "latitude": 53.8, "longitude": -1.55}]
    )
    location = session.exec(
        text("select location_id from service_at_location where service_id = :s").bindparams(s=service.id)  # type: ignore[call-overload]
    ).one()[0]
    _, provider_key = keys.create_key(
        session=session, role="provider", name="intake", organization_id=service.organization_id
    )
    made = refer(client, make_key(session, "prescriber"), service.id)
    ids = {
        "service": service.id,
        "organization": service.organization_id,
        "location": location,
        "name": service.name,
        "task": made["task_id"],
        "token": made["token"],
    }
    return ids, bearer(make_key(session, "clinician")), bearer(provider_key)


def _a_resource(client: TestClient, rtype: str, ids: dict[str, str], headers: dict[str, str]) -> dict[str, Any]:
    if rtype in READERS:
        key = {"HealthcareService": "service", "Organization": "organization", "Location": "location"}[rtype]
        return client.get(f"/fhir/{rtype}/{ids[key]}", headers=headers).json()
    if rtype in REFERRALS:
        return client.get(f"/fhir/{rtype}/{ids['task']}", headers=headers).json()
    body = client.get(f"/fhir/{rtype}", params={"_count": 1}).json()
    return body["entry"][0]["resource"]


def test_every_declared_interaction_and_search_parameter_works(client: TestClient, session: Session) -> None:
    ids, staff, provider = _setup(client, session)
    statement = client.get("/fhir/metadata").json()
    examples = _examples(ids)
    exercised = 0
    for entry in statement["rest"][0]["resource"]:
        rtype = entry["type"]
        headers = provider if rtype in REFERRALS else staff
        codes = {i["code"] for i in entry.get("interaction", [])}
        if not codes & {"read", "search-type"}:
            continue
        resource = _a_resource(client, rtype, ids, headers)
        if "read" in codes:
            read = client.get(f"/fhir/{rtype}/{resource['id']}", headers=headers)
            assert read.status_code == 200 and read.json()["id"] == resource["id"], rtype
            assert "ETag" in read.headers, rtype
            unchanged = client.get(
                f"/fhir/{rtype}/{resource['id']}", headers={**headers, "If-None-Match": read.headers["ETag"]}
            )
            assert unchanged.status_code == 304, rtype
            exercised += 1
        if "vread" in codes:
            version = resource["meta"]["versionId"]
            vread = client.get(f"/fhir/{rtype}/{resource['id']}/_history/{version}", headers=headers)
            assert vread.status_code == 200, rtype
            exercised += 1
        if "history-instance" in codes:
            history = client.get(f"/fhir/{rtype}/{resource['id']}/_history", headers=headers).json()
            assert history["type"] == "history" and history["total"] >= 1, rtype
            exercised += 1
        for param in entry.get("searchParam", []):
            name = param["name"]
            assert ":" not in name and "." not in name, f"{rtype}: {name} is not a parameter name"
            assert (rtype, name) in examples, f"{rtype} declares {name}: give this test an example value"
            value = examples[(rtype, name)].format(**resource)
            # Strict handling proves the server knows the parameter; the match proves it filters by it.
            found = client.get(f"/fhir/{rtype}", params={name: value}, headers={**headers, "Prefer": "handling=strict"})
            assert found.status_code == 200, (rtype, name, found.text)
            body = found.json()
            if name != "near":
                assert any(e["resource"]["id"] == resource["id"] for e in body.get("entry", [])), (rtype, name)
            assert f"{name}=" in next(link["url"] for link in body["link"] if link["relation"] == "self")
            exercised += 1
        for include in entry.get("searchInclude", []):
            found = client.get(
                f"/fhir/{rtype}",
                params={"_id": resource["id"], "_include": include},
                headers={**headers, "Prefer": "handling=strict"},
            ).json()
            assert any(e["search"]["mode"] == "include" for e in found["entry"]), include
            exercised += 1
    assert exercised > 40


def test_every_operation_points_at_a_definition_the_server_serves_or_a_core_one(client: TestClient) -> None:
    statement = client.get("/fhir/metadata").json()
    operations = [op for r in statement["rest"][0]["resource"] for op in r.get("operation", [])]
    operations += statement["rest"][0].get("operation", [])
    assert {op["name"] for op in operations} >= {"signpost", "extract", "validate", "expand", "evaluate-measure"}
    for op in operations:
        definition = op["definition"]
        if definition.startswith(CORE_OPERATIONS):
            continue
        found = client.get("/fhir/OperationDefinition", params={"url": definition}).json()
        assert found["total"] == 1, definition
        assert found["entry"][0]["resource"]["code"] == op["name"]
