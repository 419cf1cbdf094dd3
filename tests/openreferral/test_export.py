"""Export as ORUK 3.0 JSON and CSV; exporting then importing into an empty directory gives the same directory."""

import csv
import io
import json

from sqlalchemy import delete
from sqlmodel import col

from signpost.directory import importer
from signpost.directory.models import (
    Accessibility,
    Contact,
    CostOption,
    HolidaySchedule,
    Language,
    Location,
    Organization,
    Phone,
    Schedule,
    Service,
    ServiceArea,
    ServiceAtLocation,
    ServiceAudit,
    ServiceSearch,
    ServiceTaxonomy,
    TaxonomyTerm,
)
from signpost.openreferral import exporter
from tests.directory.factories import load_categories
from tests.factories import bearer, make_key
from tests.openreferral.factories import load, oruk_service

VOLATILE = {"last_modified"}


def _records() -> list[dict]:
    shared_location = oruk_service()["service_at_locations"][0]
    return [
        oruk_service(),
        oruk_service(service_at_locations=[shared_location], minimum_age=None, maximum_age=25, status="inactive"),
        oruk_service(service_at_locations=[shared_location], attributes=[], contacts=[], languages=[]),
    ]


def _export(session, fmt: str) -> str:
    out = io.StringIO()
    exporter.export(session=session, fmt=fmt, out=out)
    return out.getvalue()


def _strip(value):
    if isinstance(value, dict):
        return {k: _strip(v) for k, v in value.items() if k not in VOLATILE}
    if isinstance(value, list):
        return [_strip(v) for v in value]
    return value


def _empty_directory_of(session, items: list[dict]) -> None:
    """Remove these services and everything they point at, as if the database had never held them."""
    ids = [i["id"] for i in items]
    org_ids = {i["organization"]["id"] for i in items}
    loc_ids = {sal["location_id"] for i in items for sal in i["service_at_locations"]}
    term_ids = {a["taxonomy_term_id"] for i in items for a in i["attributes"]}
    for model in (
        Phone,
        Contact,
        Schedule,
        HolidaySchedule,
        ServiceAtLocation,
        ServiceTaxonomy,
        ServiceArea,
        CostOption,
        Language,
        ServiceSearch,
        ServiceAudit,
    ):
        session.execute(delete(model).where(col(model.service_id).in_(ids)))
    session.execute(delete(Service).where(col(Service.id).in_(ids)))
    session.execute(delete(Accessibility).where(col(Accessibility.location_id).in_(loc_ids)))
    session.execute(delete(Location).where(col(Location.id).in_(loc_ids)))
    session.execute(delete(TaxonomyTerm).where(col(TaxonomyTerm.id).in_(term_ids)))
    session.execute(delete(Organization).where(col(Organization.id).in_(org_ids)))
    session.flush()
    session.expunge_all()


def test_oruk3_export_then_import_into_an_empty_directory_gives_the_same_directory(session):
    load_categories(session)  # with categories held, the import derives some: the round trip must still be exact
    records = _records()
    load(session, *records)
    mine = {r["id"] for r in records}
    exported = [i for i in json.loads(_export(session, "oruk3")) if i["id"] in mine]
    assert len(exported) == 3

    _empty_directory_of(session, exported)
    report = importer.ImportReport(source="export", format="oruk3")
    importer.import_records(session=session, records=exported, report=report, actor="test")
    assert (len(report.created), len(report.rejected)) == (3, 0)

    again = [i for i in json.loads(_export(session, "oruk3")) if i["id"] in mine]
    assert _strip(again) == _strip(exported)


def test_reimporting_an_export_over_itself_changes_nothing(session):
    records = _records()
    load(session, *records)
    mine = {r["id"] for r in records}
    exported = [i for i in json.loads(_export(session, "oruk3")) if i["id"] in mine]
    report = load(session, *exported)
    assert sorted(report.unchanged) == sorted(mine)


def test_csv_export_then_import_gives_the_same_services(session):
    records = _records()
    load(session, *records)
    mine = {r["id"] for r in records}
    rows = [r for r in csv.DictReader(io.StringIO(_export(session, "csv"))) if r["id"] in mine]
    assert len(rows) == 3 and rows[0]["organization_name"] == "Example Advice Trust"

    exported = [i for i in json.loads(_export(session, "oruk3")) if i["id"] in mine]
    _empty_directory_of(session, exported)
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=exporter.CSV_COLUMNS)
    writer.writeheader()
    writer.writerows(rows)
    report = importer.ImportReport(source="export.csv", format="csv")
    records_back = importer.read_file_records(text.getvalue().encode(), "csv")
    importer.import_records(session=session, records=records_back, report=report, actor="test")
    assert (len(report.created), len(report.rejected)) == (3, 0)

    again = [r for r in csv.DictReader(io.StringIO(_export(session, "csv"))) if r["id"] in mine]
    assert sorted(again, key=lambda r: r["id"]) == sorted(rows, key=lambda r: r["id"])


def test_export_endpoint_gives_editors_json_and_csv(client, session):
    record = oruk_service()
    load(session, record)
    key = make_key(session, "editor")
    as_json = client.get("/api/v1/directory/export?format=oruk3", headers=bearer(key))
    assert as_json.status_code == 200
    assert record["id"] in {i["id"] for i in as_json.json()}
    as_csv = client.get("/api/v1/directory/export?format=csv", headers=bearer(key))
    assert as_csv.headers["content-type"].startswith("text/csv")
    assert record["id"] in as_csv.text


def test_export_endpoint_rejects_an_unknown_format_naming_it(client, session):
    key = make_key(session, "editor")
    response = client.get("/api/v1/directory/export?format=xml", headers=bearer(key))
    assert response.status_code == 400
    assert response.json()["errors"][0]["loc"] == ["query", "format"]


def test_export_needs_a_key(client):
    assert client.get("/api/v1/directory/export").status_code == 401
