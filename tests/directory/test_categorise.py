"""Categories from feeds: ConceptMap crosswalks, suggestions with their words, editors' decisions, re-application."""

import io
import json
import shutil
from pathlib import Path

import pytest
from fhir.resources.R4B.conceptmap import ConceptMap
from rich.console import Console
from sqlmodel import Session, select

from signpost.config import data_dir
from signpost.directory import categorise, classify, importer, starter
from signpost.directory.models import CategoryRejection, ServiceAudit, ServiceSearch, ServiceTaxonomy, TaxonomyTerm
from tests.directory.factories import load_categories
from tests.factories import bearer, make_key
from tests.openreferral.factories import oruk_service

CATEGORIES = {t["code"] for t in json.loads((data_dir("directory") / "taxonomy.json").read_text())["taxonomy_terms"]}


def _import(session: Session, records: list[dict]) -> importer.ImportReport:  # type: ignore[type-arg]
    load_categories(session)
    report = importer.ImportReport(source="test", format="oruk3")
    importer.import_records(session=session, records=records, report=report, actor="test")
    return report


def _links(session: Session, service_id: str) -> dict[str, tuple[str, dict | None]]:  # type: ignore[type-arg]
    rows = session.exec(
        select(TaxonomyTerm.code, ServiceTaxonomy.origin, ServiceTaxonomy.evidence)
        .join(ServiceTaxonomy, ServiceTaxonomy.taxonomy_term_id == TaxonomyTerm.id)
        .where(ServiceTaxonomy.service_id == service_id, TaxonomyTerm.taxonomy == "service-category")
    ).all()
    return {code: (origin, evidence) for code, origin, evidence in rows}


def _term(term_id: str, code: str, name: str, vocabulary: str) -> list[dict]:  # type: ignore[type-arg]
    return [
        {"id": f"a-{term_id}", "taxonomy_term": {"id": term_id, "code": code, "term": name, "taxonomy": vocabulary}}
    ]


def _untagged(**overrides: object) -> dict:  # type: ignore[type-arg]
    return oruk_service(attributes=[], **overrides)


@pytest.mark.parametrize("map_id", categorise.MAP_IDS)
def test_each_category_map_is_a_valid_concept_map_into_known_categories(map_id: str) -> None:
    document = json.loads((data_dir("fhir") / f"ConceptMap-{map_id}.json").read_text())
    ConceptMap.model_validate(document)
    targets = {t["code"] for g in document["group"] for e in g["element"] for t in e["target"]}
    assert targets and targets <= CATEGORIES


@pytest.mark.parametrize(
    ("vocabulary", "code", "name", "expected"),
    [
        ("esdServiceTypes", "112", "Homelessness support", {"homelessness"}),
        ("LGSL", "http://id.esd.org.uk/service/651", "Debt counselling", {"debt"}),
        ("openEligibility", "102-04", "Food Pantry", {"food"}),
        ("Open Eligibility", "107-05-01", "Credit Counseling", {"debt"}),
        ("council-categories", "FB1", "Food Banks", {"food"}),
        ("council-categories", "X", "Arts & Crafts", {"arts-culture"}),
        ("council-categories", "X", "Parking permits", set()),
        ("esdServiceTypes", "372", "Abandoned vehicles", set()),
    ],
)
def test_crosswalk_reads_each_vocabulary(vocabulary: str, code: str, name: str, expected: set[str]) -> None:
    assert {c for c, _, _ in categorise.crosswalk(vocabulary=vocabulary, code=code, name=name)} == expected


def test_a_feed_term_in_a_mapped_vocabulary_gives_its_category_with_evidence(session: Session) -> None:
    record = oruk_service(attributes=_term("lgsl-112", "112", "Homelessness support", "esdServiceTypes"))
    report = _import(session, [record])
    links = _links(session, record["id"])
    assert links["homelessness"][0] == "crosswalk"
    assert links["homelessness"][1] == {"terms": [{"map": "lgsl-to-service-category", "term": "112"}]}
    assert report.categories is not None
    assert (report.categories["by_crosswalk"], report.categories["uncategorised"]) == (1, 0)
    # Searchable by the category's name, and the change is in the audit trail.
    row = session.exec(select(ServiceSearch).where(ServiceSearch.service_id == record["id"])).one()
    assert "Homelessness" in row.taxonomy
    audits = session.exec(select(ServiceAudit).where(ServiceAudit.service_id == record["id"])).all()
    assert any(a.action == "categorise" and a.changes["categories"]["after"] == ["homelessness"] for a in audits)


def test_reimporting_keeps_derived_categories_and_reports_unchanged(session: Session) -> None:
    record = oruk_service(attributes=_term("lgsl-651", "651", "Debt counselling", "esdServiceTypes"))
    _import(session, [record])
    second = _import(session, [record])
    assert (len(second.unchanged), len(second.updated)) == (1, 0)
    assert _links(session, record["id"])["debt"][0] == "crosswalk"
    changed = {**record, "description": "Debt advice, now on Saturdays too."}
    third = _import(session, [changed])
    assert len(third.updated) == 1
    assert _links(session, record["id"])["debt"][0] == "crosswalk"
    row = session.exec(select(ServiceSearch).where(ServiceSearch.service_id == record["id"])).one()
    assert "Debt" in row.taxonomy  # the rewritten full-text row still names the derived category


def test_a_service_with_no_usable_term_gets_suggestions_with_their_words(session: Session) -> None:
    record = _untagged(name="Riverside Food Bank", description="<p>Emergency food parcels for anyone in crisis.</p>")
    report = _import(session, [record])
    origin, evidence = _links(session, record["id"])["food"]
    assert origin == "suggested"
    assert evidence is not None and "food bank" in evidence["words"]
    assert report.categories is not None and report.categories["by_suggestion"] == 1


def test_uncategorised_services_are_counted_and_the_report_says_they_are_not_offered(session: Session) -> None:
    record = _untagged(name="Parish council meeting", description="The council meets monthly.")
    report = _import(session, [record])
    assert report.categories is not None
    assert report.categories["uncategorised"] == 1
    assert record["id"] in report.categories["uncategorised_ids"]
    assert "will not be offered by the template" in report.categories["note"]


def test_records_without_an_organisation_are_listed(session: Session) -> None:
    bare = oruk_service(name="Lonely Lunch Club")
    del bare["organization"]
    report = _import(session, [bare, oruk_service()])
    assert report.without_organization == [{"id": bare["id"], "name": "Lonely Lunch Club"}]
    assert report.summary()["without_organization"] == report.without_organization


def _fhir_copy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "fhir"
    shutil.copytree(data_dir("fhir"), folder)
    monkeypatch.setattr(categorise, "data_dir", lambda name: folder if name == "fhir" else data_dir(name))
    return folder


def test_a_changed_map_is_reapplied_at_start_up_and_only_once(
    session: Session, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, settings
) -> None:  # type: ignore[no-untyped-def]
    record = oruk_service(attributes=_term("lgsl-112", "112", "Homelessness support", "esdServiceTypes"))
    _import(session, [record])
    categorise.record_versions(session=session)
    folder = _fhir_copy(tmp_path, monkeypatch)
    path = folder / "ConceptMap-lgsl-to-service-category.json"
    document = json.loads(path.read_text())
    element = next(e for e in document["group"][0]["element"] if e["code"] == "112")
    element["target"] = [{"code": "housing", "equivalence": "wider"}]
    document["version"] = "1.0.1"
    path.write_text(json.dumps(document))
    assert categorise.stale_maps(session=session) == ["lgsl-to-service-category"]

    out = io.StringIO()
    starter.starter_loader(session, settings, Console(file=out, width=300))
    assert "categories re-applied (lgsl-to-service-category changed)" in out.getvalue()
    assert set(_links(session, record["id"])) == {"housing"}
    again = io.StringIO()
    starter.starter_loader(session, settings, Console(file=again, width=300))
    assert "re-applied" not in again.getvalue()


def test_editors_confirm_and_reject_suggestions_in_bulk_through_the_api(client, session: Session) -> None:  # type: ignore[no-untyped-def]
    one = _untagged(name="Tea Dance", description="A friendly tea dance: meet new people.")
    two = _untagged(name="Walking Football", description="Gentle football for over 50s.")
    _import(session, [one, two])
    headers = bearer(make_key(session, "editor"))
    queue = client.get("/api/v1/directory/category-queue?kind=suggested", headers=headers).json()
    listed = {i["id"]: {s["category"] for s in i["suggestions"]} for i in queue["items"]}
    assert listed[one["id"]] >= {"isolation", "physical-activity"} and "physical-activity" in listed[two["id"]]

    confirm = {
        "action": "confirm",
        "suggestions": [
            {"service_id": one["id"], "category": "isolation"},
            {"service_id": two["id"], "category": "physical-activity"},
        ],
    }
    response = client.post("/api/v1/directory/category-suggestions", json=confirm, headers=headers)
    assert response.status_code == 200, response.text
    assert _links(session, one["id"])["isolation"][0] == "confirmed"
    reject = {"action": "reject", "suggestions": [{"service_id": one["id"], "category": "physical-activity"}]}
    assert client.post("/api/v1/directory/category-suggestions", json=reject, headers=headers).status_code == 200
    assert "physical-activity" not in _links(session, one["id"])
    assert session.exec(select(CategoryRejection).where(CategoryRejection.service_id == one["id"])).one()
    # Re-applying the rules neither brings back the rejected one nor unconfirms the confirmed one.
    categorise.recategorise(session=session, actor="test")
    assert _links(session, one["id"]) == {"isolation": ("confirmed", {"words": ["tea dance", "meet new people"]})}


def test_deciding_on_something_not_pending_is_422_and_changes_nothing(client, session: Session) -> None:  # type: ignore[no-untyped-def]
    one = _untagged(name="Tea Dance", description="A friendly tea dance: meet new people.")
    _import(session, [one])
    headers = bearer(make_key(session, "editor"))
    body = {
        "action": "confirm",
        "suggestions": [
            {"service_id": one["id"], "category": "isolation"},
            {"service_id": one["id"], "category": "debt"},
        ],
    }
    response = client.post("/api/v1/directory/category-suggestions", json=body, headers=headers)
    assert response.status_code == 422
    assert "'debt' is not a suggestion awaiting an editor" in response.json()["detail"]
    assert _links(session, one["id"])["isolation"][0] == "suggested"
    bad = client.post(
        "/api/v1/directory/category-suggestions", json={"action": "maybe", "suggestions": []}, headers=headers
    )
    assert bad.status_code == 422


def test_suggestion_words_are_the_ones_in_the_text() -> None:
    [suggestion] = classify.suggest(
        name="Citizens Advice debt clinic", description="Help with debts.", organization=""
    )[:1]
    assert suggestion.code in {"debt", "legal-immigration"}
    for s in classify.suggest(name="Citizens Advice debt clinic", description="Help with debts.", organization=""):
        assert all(word in "citizens advice debt clinic help with debts." for word in s.words)
