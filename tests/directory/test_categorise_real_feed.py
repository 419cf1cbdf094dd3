"""The North Lincolnshire feed (ORUK 1.0, no taxonomy at all): categorised by suggestion, measured against hand labels,
and offered by `$signpost` to a patient placed in North Lincolnshire."""

import json
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from signpost.directory import importer
from signpost.directory.models import ServiceTaxonomy, TaxonomyTerm
from signpost.geography import service as geography
from signpost.geography.models import Postcode
from tests.conftest import SHARED_DATA
from tests.directory.factories import load_categories
from tests.factories import bearer, make_key
from tests.routing.factories import make_service
from tests.template.builders import make_response

REAL_FEED = SHARED_DATA / "oruk" / "north_lincolnshire_services_2024-12.json"
LABELS = Path(__file__).parent / "data" / "north_lincolnshire_labels.json"
needs_real_feed = pytest.mark.skipif(not REAL_FEED.exists(), reason=f"shared data absent: {REAL_FEED}")
NORTH_LINCOLNSHIRE = "E06000013"
# Invented for the test (the feed has no addresses): a postcode in Ashby, Scunthorpe, placed in North Lincolnshire.
PATIENT_POSTCODE = "DN16 9ZZ"


def _import_feed(session: Session) -> importer.ImportReport:
    load_categories(session)
    report = importer.ImportReport(source=REAL_FEED.name, format="oruk1")
    importer.import_records(session=session, records=json.loads(REAL_FEED.read_text()), report=report, actor="test")
    return report


def _suggested(session: Session, ids: list[str]) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {sid: set() for sid in ids}
    for sid, code in session.exec(
        select(ServiceTaxonomy.service_id, TaxonomyTerm.code)
        .join(TaxonomyTerm, TaxonomyTerm.id == ServiceTaxonomy.taxonomy_term_id)
        .where(ServiceTaxonomy.service_id.in_(ids), ServiceTaxonomy.origin == "suggested")  # type: ignore[attr-defined]
    ).all():
        found[sid].add(code)
    return found


@needs_real_feed
def test_north_lincolnshire_categorised_to_target_and_measured_against_the_hand_labels(session: Session) -> None:
    report = _import_feed(session)
    figures = report.categories
    assert figures is not None and figures["services"] == 738
    categorised = figures["by_feed"] + figures["by_crosswalk"] + figures["by_suggestion"]
    coverage = categorised / figures["services"]
    labels = json.loads(LABELS.read_text())["labels"]
    assert len(labels) == 100
    suggested = _suggested(session, [label["id"] for label in labels])
    true_positive = sum(len(suggested[x["id"]] & set(x["categories"])) for x in labels)
    offered = sum(len(v) for v in suggested.values())
    wanted = sum(len(x["categories"]) for x in labels)
    precision, recall = true_positive / offered, true_positive / wanted
    print(f"coverage {coverage:.3f} precision {precision:.3f} recall {recall:.3f} ({true_positive}/{offered}/{wanted})")
    assert coverage >= 0.90
    assert precision >= 0.90
    assert recall >= 0.80
    assert figures["uncategorised"] == 738 - categorised
    assert "will not be offered by the template" in figures["note"]


def _resources(bundle: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == kind]


@needs_real_feed
def test_signpost_offers_imported_services_to_a_patient_in_north_lincolnshire(
    client: TestClient, session: Session
) -> None:
    _import_feed(session)
    session.add(
        Postcode(postcode=PATIENT_POSTCODE, local_authority=NORTH_LINCOLNSHIRE, latitude=53.565, longitude=-0.633)
    )
    session.flush()
    geography.invalidate_cache()
    confirmed = make_service(session, "Confirmed Befriending", ["isolation"], areas=[])
    body = {
        "resourceType": "Parameters",
        "parameter": [
            {"name": "response", "resource": make_response({"isolation": [True]}, identifier={"value": "nl-1"})},
            {"name": "postcode", "valueString": PATIENT_POSTCODE},
        ],
    }
    headers = {"Content-Type": "application/fhir+json", **bearer(make_key(session, "clinician", practice_ods="B81001"))}
    response = client.post("/fhir/QuestionnaireResponse/$signpost", json=body, headers=headers)
    assert response.status_code == 200, response.text
    services = _resources(response.json(), "HealthcareService")
    reasons = {s["id"]: [e["valueString"] for e in s.get("extension", []) if "valueString" in e] for s in services}
    assert services[0]["id"] == confirmed.id  # a confirmed category ranks above every suggested one
    assert "Listed under isolation (confirmed)" in reasons[confirmed.id]
    feed_ids = {r["id"] for r in json.loads(REAL_FEED.read_text())}
    imported = [s for s in services if s["id"] in feed_ids]
    assert imported, "no imported North Lincolnshire service was offered"
    for service in imported:
        assert any(r.startswith("Suggested for isolation from its description") for r in reasons[service["id"]])
