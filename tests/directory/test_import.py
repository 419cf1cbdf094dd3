"""Importing Open Referral feeds: the real ORUK 1.0 feed, dirt, re-imports, rejections, dry runs, uploads."""

import json

import pytest
from sqlmodel import func, select

from signpost.directory import importer
from signpost.directory.models import Organization, Service, ServiceAudit
from tests.conftest import SHARED_DATA
from tests.factories import bearer, make_key
from tests.openreferral.factories import load, oruk_service

REAL_FEED = SHARED_DATA / "oruk" / "north_lincolnshire_services_2024-12.json"
needs_real_feed = pytest.mark.skipif(not REAL_FEED.exists(), reason=f"shared data absent: {REAL_FEED}")


def _count(session, model) -> int:
    return session.exec(select(func.count()).select_from(model)).one()


def _import(session, records, **kwargs):
    report = importer.ImportReport(source="test", format="oruk1", **kwargs)
    importer.import_records(session=session, records=records, report=report, actor="test")
    return report


@needs_real_feed
def test_real_oruk1_feed_imports_completely_twice_without_duplicates(session):
    feed = json.loads(REAL_FEED.read_text())
    before = _count(session, Service)
    first = _import(session, feed)
    assert (len(first.created), len(first.rejected)) == (738, 0)
    second = _import(session, feed)
    assert (len(second.created), len(second.updated), len(second.unchanged)) == (0, 0, 738)
    assert _count(session, Service) == before + 738


@needs_real_feed
def test_real_feed_dirt_is_cleaned(session):
    feed = json.loads(REAL_FEED.read_text())
    _import(session, feed)
    first = session.get(Service, feed[0]["id"])
    assert "<p>" not in first.description and "&amp;" not in first.description and "&nbsp;" not in first.description
    assert "Drug & Alcohol" in first.description
    # Empty strings are missing, not empty.
    assert session.exec(select(func.count()).select_from(Service).where(Service.fees_description == "")).one() == 0
    no_url = next(r for r in feed if r["url"] == "")
    assert session.get(Service, no_url["id"]).url is None


@needs_real_feed
def test_real_feed_duplicate_names_are_reported_with_their_match(session):
    feed = json.loads(REAL_FEED.read_text())
    report = _import(session, feed)
    assert report.duplicates
    dup = report.duplicates[0]
    assert dup["matches"][0]["name"].lower() == dup["name"].lower() or dup["matches"][0]["score"] >= 90


def test_html_is_reduced_to_safe_text():
    text = importer.safe_text('<p>Hi &amp; welcome</p><script>alert("x")</script><ul><li>One</li><li>Two</li></ul>')
    assert text == "Hi & welcome\n\n- One\n\n- Two"
    assert "<" not in importer.safe_text("<b>bold</b> <img src=x onerror=alert(1)>")


def test_vendor_fields_are_ignored():
    record = importer.normalise_service({"id": "v1", "name": "Vendor", "pc_secret": "x", "pc_metadata": {"a": 1}})
    assert not any(k.startswith("pc_") for k in record)


def test_changed_record_is_updated_in_place_with_an_audit_row(session):
    record = oruk_service()
    load(session, record)
    report = load(session, {**record, "name": "Renamed advice centre"})
    assert report.updated == [record["id"]] and not report.created
    assert session.get(Service, record["id"]).name == "Renamed advice centre"
    audit = session.exec(
        select(ServiceAudit).where(ServiceAudit.service_id == record["id"]).order_by(ServiceAudit.id.desc())
    ).first()
    assert audit.action == "import" and audit.changes["name"]["after"] == "Renamed advice centre"


def test_bad_record_is_rejected_with_its_reason_while_the_others_load(session):
    good = oruk_service()
    bad_ages = oruk_service(minimum_age=40, maximum_age=20)
    no_name = oruk_service(name="  ")
    report = load(session, good, bad_ages, no_name, "not an object")
    assert report.created == [good["id"]]
    reasons = {(r.id, r.field) for r in report.rejected}
    assert (bad_ages["id"], "minimum_age") in reasons
    assert (no_name["id"], "name") in reasons
    assert (None, "record") in reasons
    assert session.get(Service, bad_ages["id"]) is None


def test_repeated_id_within_a_feed_is_rejected(session):
    record = oruk_service()
    report = load(session, record, {**record, "name": "Second copy"})
    assert len(report.created) == 1
    assert report.rejected[0].reason == "appears earlier in the same feed"


def test_dry_run_reports_but_writes_nothing(session):
    record = oruk_service()
    before = _count(session, Service)
    report = importer.ImportReport(source="test", format="oruk3", dry_run=True)
    importer.import_records(session=session, records=[record], report=report, actor="test")
    assert report.created == [record["id"]]
    assert _count(session, Service) == before
    assert session.get(Organization, record["organization"]["id"]) is None


def test_oruk1_eligibility_schedules_and_taxonomy_are_understood(session):
    record = {
        "id": "oruk1-shape",
        "name": "ORUK1 shaped",
        "status": "active",
        "url": "www.example.org",
        "organization": {"id": "org-oruk1", "name": "Org", "description": ""},
        "eligibilitys": [{"id": "e1", "eligibility": "Adults", "minimum_age": 18, "maximum_age": 64}],
        "regular_schedules": [{"id": "r1", "weekday": "Wednesday", "opens_at": "10:00:00", "closes_at": "12:30"}],
        "service_taxonomys": [
            {"id": "t1", "taxonomy": {"id": "lgsl-189", "name": "Welfare advice", "vocabulary": "LGSL"}}
        ],
        "languages": [{"id": "l1", "language": "Welsh"}],
        "attending_type": "Phone",
    }
    normalised = importer.normalise_service(record)
    assert (normalised["minimum_age"], normalised["maximum_age"]) == (18, 64)
    assert normalised["schedules"][0] == {"byday": "WE", "opens_at": "10:00", "closes_at": "12:30", "description": None}
    assert normalised["taxonomy_terms"][0]["taxonomy"] == "LGSL"
    assert normalised["languages"][0]["code"] == "cy"
    assert normalised["delivery_modes"] == ["phone"]
    assert normalised["url"] == "https://www.example.org"
    assert load(session, record).created == ["oruk1-shape"]


def test_upload_imports_for_editors_and_reports(client, session, monkeypatch):
    # On SQLite the fixture's outer transaction is only a savepoint, so a real commit would outlive the test.
    monkeypatch.setattr(session, "commit", session.flush)
    key = make_key(session, "editor")
    records = [oruk_service(), oruk_service(minimum_age="lots")]
    response = client.post(
        "/api/v1/directory/imports",
        headers=bearer(key),
        files={"file": ("feed.json", json.dumps(records).encode(), "application/json")},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["created"], len(body["rejected"])) == (1, 1)
    assert body["rejected"][0]["field"] == "minimum_age"
    assert session.get(Service, records[0]["id"]) is not None


def test_upload_dry_run_writes_nothing(client, session):
    key = make_key(session, "editor")
    record = oruk_service()
    response = client.post(
        "/api/v1/directory/imports?dry_run=true",
        headers=bearer(key),
        files={"file": ("feed.json", json.dumps([record]).encode(), "application/json")},
    )
    assert response.json()["created"] == 1 and response.json()["dry_run"] is True
    assert session.get(Service, record["id"]) is None


def test_upload_of_a_file_that_is_not_a_feed_is_a_problem_naming_the_file(client, session):
    key = make_key(session, "editor")
    response = client.post(
        "/api/v1/directory/imports",
        headers=bearer(key),
        files={"file": ("feed.json", b"{not json", "application/json")},
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"] == ["body", "file"]


def test_upload_needs_the_editor_role(client, session):
    key = make_key(session, "prescriber")
    response = client.post(
        "/api/v1/directory/imports",
        headers=bearer(key),
        files={"file": ("feed.json", b"[]", "application/json")},
    )
    assert response.status_code == 403


def test_imported_full_text_row_is_what_the_directory_would_index(session):
    from signpost.directory import service as directory
    from signpost.directory.models import ServiceSearch

    record = oruk_service(alternate_name="Alias", eligibility_description="Adults only")
    load(session, record)
    row = session.exec(select(ServiceSearch).where(ServiceSearch.service_id == record["id"])).one()
    imported = (row.name, row.description, row.organization, row.taxonomy, row.terms)
    directory.index_service(session=session, service_id=record["id"])
    session.refresh(row)
    assert (row.name, row.description, row.organization, row.taxonomy, row.terms) == imported


def test_a_json_list_read_in_pieces_gives_every_record(monkeypatch):
    import io

    monkeypatch.setattr(importer, "_READ_BYTES", 7)  # every record straddles the buffer's edges
    records = [oruk_service(), 12345, oruk_service(name="Ünïcode “quotes”"), "text", None]
    data = ("\ufeff\n [ " + ",\n".join(json.dumps(r) for r in records) + " ]\n").encode()
    assert list(importer.iter_file_records(io.BytesIO(data), None, "feed.json")) == records
    assert list(importer.iter_file_records(io.BytesIO(b" [ ] "), None, "feed.json")) == []


def test_a_broken_file_fails_before_anything_is_written(client, session):
    import io

    records = [oruk_service(), oruk_service()]
    data = json.dumps(records, indent=1).encode()[:-40]
    with pytest.raises(importer.FeedError, match=r"not valid JSON \(premature EOF, after record 1\)"):
        importer.scan_file(io.BytesIO(data), None, "feed.json")
    response = client.post(
        "/api/v1/directory/imports",
        headers=bearer(make_key(session, "editor")),
        files={"file": ("feed.json", data, "application/json")},
    )
    assert response.status_code == 422
    assert session.get(Service, records[0]["id"]) is None


def test_close_names_in_one_organisation_are_duplicates_across_batches(session):
    first = oruk_service(name="Riverside Advice Centre")
    org = first["organization"]
    close = oruk_service(name="Riverside Advice Centr", organization=org)
    elsewhere = oruk_service(name="Riverside Advice Centre", organization={"id": "another-org", "name": "Other"})
    elsewhere["service_at_locations"][0]["location"]["addresses"][0]["postal_code"] = "LS6 1AA"
    report = importer.ImportReport(source="test", format="oruk3")
    importer.import_records(session=session, records=[first, close, elsewhere], report=report, actor="t", batch_size=1)
    assert [d["id"] for d in report.duplicates] == [close["id"]]
    match = report.duplicates[0]["matches"][0]
    assert (match["id"], match["reason"]) == (first["id"], "a close name (97%) in the same organisation")


def test_same_name_at_a_held_postcode_is_a_duplicate_in_another_organisation(session):
    held = oruk_service(name="Hope Food Bank")
    load(session, held)
    again = oruk_service(name="The Hope Food Bank", organization={"id": "other-org", "name": "Other"})
    report = load(session, again)
    assert report.duplicates[0]["matches"][0]["id"] == held["id"]
    assert report.duplicates[0]["matches"][0]["reason"] == "same name at postcode LS1 1UR"


def test_each_batch_is_handed_to_the_caller_to_commit(session):
    calls = []
    records = [oruk_service() for _ in range(5)]
    report = importer.ImportReport(source="test", format="oruk3")
    importer.import_records(
        session=session, records=records, report=report, actor="t", batch_size=2, on_batch=lambda: calls.append(1)
    )
    assert len(calls) == 3 and len(report.created) == 5
    dry = importer.ImportReport(source="test", format="oruk3", dry_run=True)
    importer.import_records(session=session, records=[oruk_service()], report=dry, actor="t", on_batch=calls.clear)
    assert len(calls) == 3


def test_reimport_after_an_edit_elsewhere_updates_the_search_row(session):
    from signpost.directory.models import ServiceSearch

    record = oruk_service()
    load(session, record)
    service = session.get(Service, record["id"])
    service.name = "Edited in the directory"
    session.add(service)
    session.flush()
    report = load(session, record)
    assert report.updated == [record["id"]]
    row = session.exec(select(ServiceSearch).where(ServiceSearch.service_id == record["id"])).one()
    assert row.name == record["name"]


def test_a_broken_list_names_the_fault_and_where_not_the_files_text():
    import io

    feed = b'[{"id": "a", "name": "Kept"}, {"id": "b", "name": "SECRET-WORD" ] '
    with pytest.raises(importer.FeedError) as refused:
        importer.scan_file(io.BytesIO(feed), None, "feed.json")
    assert "after record 1" in str(refused.value) and "SECRET-WORD" not in str(refused.value)
    with pytest.raises(importer.FeedError, match="trailing garbage"):
        importer.scan_file(io.BytesIO(b"[1, 2] [3]"), None, "feed.json")
    with pytest.raises(importer.FeedError, match="not UTF-8"):
        importer.scan_file(io.BytesIO(b'[{"name": "\xff"}]'), None, "feed.json")
    page = json.dumps({"contents": [oruk_service()]}).encode()
    assert len(importer.read_file_records(b"\xef\xbb\xbf" + page, None, "page.json")) == 1
