"""Every change or omission the importer makes to a record it keeps is listed as a warning: report, page and CLI."""

import io
import json

from fastapi.testclient import TestClient
from rich.console import Console
from sqlmodel import Session

from signpost.directory import importer
from signpost.openreferral import cli as oruk_cli
from tests.directory.factories import load_categories
from tests.openreferral.factories import oruk_service
from tests.web.factories import csrf_from, make_user, sign_in


def _import(session: Session, records: list[dict]) -> importer.ImportReport:  # type: ignore[type-arg]
    load_categories(session)
    report = importer.ImportReport(source="test", format="oruk3")
    importer.import_records(session=session, records=records, report=report, actor="test")
    return report


def _untidy() -> dict:  # type: ignore[type-arg]
    record = oruk_service(name="Untidy Lunch Club")
    record["url"] = "not a website at all"
    record["email"] = "nobody-at-example.org"
    record["alternate_name"] = "A" * 320
    record["organization"]["website"] = "www.example.org/lunch"
    return record


def test_every_change_and_omission_is_a_warning_naming_the_record_and_field(session: Session) -> None:
    record, tidy = _untidy(), oruk_service()
    report = _import(session, [record, tidy])
    mine = [w["message"] for w in report.warnings if w["id"] == record["id"]]
    assert any(m.startswith("url: ") and "left out" in m for m in mine)
    assert any(m.startswith("email: ") and "left out" in m for m in mine)
    assert any(m.startswith("alternate_name: 320 characters") and "shortened" in m for m in mine)
    assert any(m.startswith("organization.website: ") and "https://" in m for m in mine)
    assert all(w["name"] == "Untidy Lunch Club" for w in report.warnings if w["id"] == record["id"])
    assert not [w for w in report.warnings if w["id"] == tidy["id"]]
    assert report.summary()["warnings"] == report.warnings


def test_a_rejected_record_is_listed_as_rejected_not_as_warnings(session: Session) -> None:
    record = _untidy()
    record["minimum_age"] = "old"
    report = _import(session, [record])
    assert len(report.rejected) == 1 and report.warnings == []


def test_the_cli_report_prints_the_warnings(session: Session, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    report = _import(session, [_untidy()])
    out = io.StringIO()
    monkeypatch.setattr(oruk_cli, "Console", lambda: Console(file=out, width=200))
    oruk_cli.print_report(report)
    printed = out.getvalue()
    assert "warnings" in printed and "warning: Untidy Lunch Club" in printed and "email: " in printed


def test_the_import_page_lists_the_warnings(app, session: Session) -> None:  # type: ignore[no-untyped-def]
    load_categories(session)
    local = TestClient(app, base_url="http://localhost")
    sign_in(local, make_user(session, "editor"))
    token = csrf_from(local.get("/editor/import").text)
    feed = json.dumps([_untidy()]).encode()
    page = local.post(
        "/editor/import",
        data={"csrf_token": token, "dry_run": "yes"},
        files={"file": ("untidy.json", feed, "application/json")},
    )
    assert page.status_code == 200
    assert 'id="warnings"' in page.text and "is not a web address" in page.text
