"""Editing the directory in a real browser: create, edit, conflicts, verify, status, retire, history, import."""

import json
from pathlib import Path

from tests.web.conftest import Browsing, LiveServer


def _create(browsing: Browsing, name: str) -> str:
    browsing.go("/editor/services/new")
    browsing.page.fill("#organization", f"{name} Trust")
    browsing.page.fill("#name", name)
    browsing.page.fill("#description", "Advice on money and debt.")
    browsing.page.check("label:has-text('Debt')")
    browsing.page.click("button:has-text('Add service')")
    assert "Service added." in browsing.page.locator(".sp-notice").inner_text()
    return browsing.page.url.split("/editor/services/")[1].split("?")[0]


def test_editor_adds_a_service_and_sees_it_in_the_queue(browsing: Browsing) -> None:
    browsing.sign_in("editor")
    _create(browsing, "Harehills Money Advice")
    browsing.check("editor-edit")
    browsing.go("/editor")
    assert "Harehills Money Advice" in browsing.page.locator("table").inner_text()
    browsing.check("editor-queue")


def test_missing_name_is_shown_beside_the_field(browsing: Browsing) -> None:
    browsing.sign_in("editor")
    browsing.go("/editor/services/new")
    browsing.page.click("button:has-text('Add service')")
    assert "organisation" in browsing.page.locator("#organization-error").inner_text()
    assert browsing.page.locator("#name-error").is_visible()
    browsing.check("editor-new-errors")


def test_second_save_from_a_stale_page_shows_both_versions_and_lets_the_editor_keep_theirs(
    browser,
    browsing: Browsing,
    live_server: LiveServer,  # type: ignore[no-untyped-def]
) -> None:
    browsing.sign_in("editor")
    service_id = _create(browsing, "Seacroft Debt Line")
    other_context = browser.new_context(base_url=live_server.base_url)
    try:
        other = Browsing(other_context.new_page(), live_server.base_url)
        other.sign_in("editor")
        other.go(f"/editor/services/{service_id}")
        other.page.fill("#description", "Their description.")
        browsing.go(f"/editor/services/{service_id}")
        browsing.page.fill("#description", "My description.")
        other.page.click("button:has-text('Save changes')")
        assert "Changes saved." in other.page.locator(".sp-notice").inner_text()
    finally:
        other_context.close()
    browsing.page.click("button:has-text('Save changes')")
    choices = browsing.page.locator("main").inner_text()
    assert "Keep mine: My description." in choices and "Keep the saved one: Their description." in choices
    browsing.check("editor-conflict")
    browsing.page.click("button:has-text('Save with these choices')")
    assert "Changes saved." in browsing.page.locator(".sp-notice").inner_text()
    assert browsing.page.locator("#description").input_value() == "My description."


def test_verify_status_retire_and_history(browsing: Browsing) -> None:
    browsing.sign_in("editor")
    service_id = _create(browsing, "Chapeltown Warm Space")
    browsing.page.click("button:has-text('Mark as verified today')")
    assert "verified" in browsing.page.locator(".sp-notice").inner_text()
    browsing.page.select_option("#status", "temporarily closed")
    browsing.page.click("button:has-text('Change status')")
    assert "Status changed." in browsing.page.locator(".sp-notice").inner_text()
    browsing.page.click("button:has-text('Retire this service')")
    assert "retired" in browsing.page.locator(".sp-notice").inner_text()
    browsing.go(f"/editor/services/{service_id}/history")
    actions = browsing.page.locator("tbody").inner_text()
    for action in ("create", "verify", "status", "retire"):
        assert action in actions
    browsing.check("editor-history")


def test_import_a_file_and_see_its_report(browsing: Browsing, tmp_path: Path) -> None:
    feed = tmp_path / "feed.json"
    feed.write_text(
        json.dumps(
            [
                {
                    "id": "imp-1",
                    "name": "Imported Food Pantry",
                    "organization": {"id": "org-imp", "name": "Pantry Org"},
                },
                {"id": "imp-2", "name": "", "organization": {"id": "org-imp", "name": "Pantry Org"}},
            ]
        )
    )
    browsing.sign_in("editor")
    browsing.go("/editor/import")
    browsing.page.set_input_files("#file", str(feed))
    browsing.page.click("button:has-text('Import')")
    assert browsing.page.locator("#report").inner_text() == "Import report"
    summary = browsing.page.locator("dl").inner_text()
    assert "Records read\n2" in summary.replace("\t", "\n")
    browsing.check("editor-import")


def test_prescriber_cannot_reach_editing(browsing: Browsing) -> None:
    browsing.sign_in("prescriber")
    assert browsing.go("/editor").status == 403
