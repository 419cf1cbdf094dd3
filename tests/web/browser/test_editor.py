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


def _edit_while_another_saves(
    browser,  # type: ignore[no-untyped-def]
    browsing: Browsing,
    live_server: LiveServer,
    service_id: str,
    their_change: tuple[str, str],
) -> None:
    """Open the edit page; meanwhile another editor, in a browser of their own, saves `their_change` (field, value)."""
    other_context = browser.new_context(base_url=live_server.base_url)
    try:
        other = Browsing(other_context.new_page(), live_server.base_url)
        other.sign_in("editor")
        other.go(f"/editor/services/{service_id}")
        other.page.fill(*their_change)
        browsing.go(f"/editor/services/{service_id}")
        other.page.click("button:has-text('Save changes')")
        assert "Changes saved." in other.page.locator(".sp-notice").inner_text()
    finally:
        other_context.close()


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
    _edit_while_another_saves(browser, browsing, live_server, service_id, ("#description", "Their description."))
    browsing.page.fill("#description", "My description.")
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
    browsing.page.click("button:has-text('Yes, verify it')")
    assert "Verified 1 service" in browsing.page.locator("h1").inner_text()
    browsing.go(f"/editor/services/{service_id}")
    browsing.page.select_option("#status", "temporarily closed")
    browsing.page.click("button:has-text('Change status')")
    browsing.page.click("button:has-text('Yes, set the status of it')")
    assert "temporarily closed" in browsing.page.locator("main").inner_text()
    browsing.go(f"/editor/services/{service_id}")
    browsing.page.click("button:has-text('Retire this service')")
    assert "Retire this service?" in browsing.page.locator("h1").inner_text()
    browsing.check("editor-confirm-retire")
    browsing.page.click("button:has-text('Yes, retire it')")
    assert "retired" in browsing.page.locator("main").inner_text()
    browsing.page.click("button:has-text('Undo')")
    assert "Undone" in browsing.page.locator(".sp-notice").inner_text()
    browsing.go(f"/editor/services/{service_id}/history")
    actions = browsing.page.locator("tbody").inner_text()
    for action in ("create", "verify", "status", "retire", "undo"):
        assert action in actions
    browsing.check("editor-history")


def test_queue_bulk_verify_is_confirmed_and_undone(browsing: Browsing) -> None:
    browsing.sign_in("editor")
    names = ["Gipton Lunch Club", "Gipton Knit and Natter"]
    ids = [_create(browsing, name) for name in names]
    browsing.go("/editor?filter=unverified")
    browsing.check("editor-queue-filters")
    for service_id in ids:
        browsing.page.check(f"#service-{service_id}")
    browsing.page.click("button:has-text('Verify the chosen')")
    assert "Mark 2 services as verified today?" in browsing.page.locator("h1").inner_text()
    browsing.page.click("button:has-text('Yes, verify all 2')")
    assert "Verified 2 services" in browsing.page.locator("h1").inner_text()
    browsing.go("/editor?filter=unverified")
    queue = browsing.page.locator("main").inner_text()
    assert not any(name in queue for name in names)
    browsing.page.go_back()
    browsing.page.click("button:has-text('Undo')")
    assert "Undone for 2 services" in browsing.page.locator("h1").inner_text()
    browsing.go("/editor?filter=unverified")
    queue = browsing.page.locator("main").inner_text()
    assert all(name in queue for name in names)


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


def test_imported_suggestions_are_confirmed_in_bulk_from_the_queue(browsing: Browsing, tmp_path: Path) -> None:
    feed = tmp_path / "community.json"
    records = [
        {"id": "nl-tea-1", "name": "Kirkstall Tea Dance", "description": "A tea dance: come and meet new people."},
        {"id": "nl-walk-1", "name": "Armley Walking Football", "description": "Gentle football for over 50s."},
        {"id": "nl-meet-1", "name": "Parish council meeting", "description": "The council meets monthly."},
    ]
    feed.write_text(json.dumps(records))
    browsing.sign_in("editor")
    browsing.go("/editor/import")
    browsing.page.set_input_files("#file", str(feed))
    browsing.page.click("button:has-text('Import')")
    summary = browsing.page.locator("dl").inner_text()
    assert "Categories suggested (awaiting an editor)\t2" in summary and "Not categorised\t1" in summary
    assert "will not be offered by the template" in browsing.page.locator("main").inner_text()
    assert "Without an organisation\t3" in summary
    browsing.check("editor-import-report")
    browsing.go("/editor?filter=suggested")
    row = browsing.page.locator("tr", has_text="Kirkstall Tea Dance")
    assert "(from: tea dance, meet new people)" in row.inner_text()
    browsing.check("editor-queue-suggested")
    row.locator("label", has_text="isolation").click()
    browsing.page.locator("tr", has_text="Armley Walking Football").locator(
        "label", has_text="physical activity"
    ).click()
    browsing.page.click("button:has-text('Confirm the chosen')")
    assert "2 suggested categories confirmed." in browsing.page.locator("[role=status]").inner_text()
    browsing.page.reload()  # a reload repeats the GET, never the decision
    assert "Kirkstall Tea Dance" in browsing.page.locator("main").inner_text()  # its other suggestion still waits
    browsing.go("/editor?filter=uncategorised")
    assert "Parish council meeting" in browsing.page.locator("table").inner_text()


def test_disjoint_edits_from_two_pages_both_stand_and_history_restores(
    browser,
    browsing: Browsing,
    live_server: LiveServer,  # type: ignore[no-untyped-def]
) -> None:
    browsing.sign_in("editor")
    service_id = _create(browsing, "Gipton Food Share")
    _edit_while_another_saves(browser, browsing, live_server, service_id, ("#email", "hello@gipton.example.org"))
    browsing.page.fill("#description", "Food parcels on Fridays.")
    browsing.page.click("button:has-text('Save changes')")
    assert "Changes saved." in browsing.page.locator(".sp-notice").inner_text()
    assert browsing.page.locator("#email").input_value() == "hello@gipton.example.org"
    assert browsing.page.locator("#description").input_value() == "Food parcels on Fridays."
    browsing.go(f"/editor/services/{service_id}/history")
    assert "Email" in browsing.page.locator("table").inner_text()
    browsing.check("editor-history")
    browsing.page.click("button:has-text('Restore version 1')")
    assert "Restored version 1" in browsing.page.locator(".sp-notice").inner_text()
    browsing.go(f"/editor/services/{service_id}")
    assert browsing.page.locator("#email").input_value() == ""
    assert browsing.page.locator("#description").input_value() == "Advice on money and debt."


def test_a_bad_website_and_email_are_named_in_words_and_nothing_is_saved(browsing: Browsing) -> None:
    browsing.sign_in("editor")
    service_id = _create(browsing, "Burmantofts Benefits Clinic")
    browsing.page.fill("#url", "www.burmantofts.example.org")
    browsing.page.fill("#email", "not an address")
    browsing.page.fill("#description", "Changed, but must not be saved.")
    browsing.page.click("button:has-text('Save changes')")
    assert "Website: enter a full address starting https://" in browsing.page.locator("#url-error").inner_text()
    assert "Email: enter an email address like name@example.org" in browsing.page.locator("#email-error").inner_text()
    browsing.go(f"/editor/services/{service_id}")
    assert browsing.page.locator("#description").input_value() == "Advice on money and debt."


def _clip(page, first: str, last: str, name: str) -> None:  # type: ignore[no-untyped-def]
    """A small picture of part of the page (from `first` to `last`), for the closing note."""
    top, bottom = page.locator(first).first.bounding_box(), page.locator(last).first.bounding_box()
    scrolled = page.evaluate("window.scrollY")  # bounding boxes are from the viewport; the clip is from the page
    clip = {
        "x": max(0, top["x"] - 8),
        "y": top["y"] + scrolled - 8,
        "width": 760,
        "height": bottom["y"] + bottom["height"] - top["y"] + 16,
    }
    page.screenshot(path=str(Path("test-artifacts") / f"{name}.png"), clip=clip, full_page=True)


def test_a_phone_an_opening_time_a_location_by_postcode_and_a_language_are_added_and_shown(
    browsing: Browsing,
) -> None:
    browsing.sign_in("editor")
    service_id = _create(browsing, "Chapeltown Welfare Rights")
    page = browsing.page
    page.fill("#phones-0-number", "0113 496 0000")
    page.click("button:has-text('Add another phone')")  # a plain round trip: the typed number comes back
    assert page.locator("#phones-0-number").input_value() == "0113 496 0000"
    page.fill("#phones-1-number", "0113 496 0001")
    page.fill("#phones-1-description", "Text relay")
    page.select_option("#schedules-0-byday", "WE")
    page.fill("#schedules-0-opens_at", "09:30")
    page.fill("#schedules-0-closes_at", "15:00")
    page.fill("#locations-0-name", "Reginald Centre")
    page.fill("#locations-0-address_1", "263 Chapeltown Road")
    page.fill("#locations-0-postal_code", "ls1 4ap")
    page.fill("#locations-0-accessibility", "Step-free entrance")
    page.select_option("#languages-0-code", "ur")
    browsing.check("edit-every-field")
    _clip(page, "#group-phones", "#group-languages", "edit-every-field-groups")
    page.click("button:has-text('Save changes')")
    assert "Changes saved." in page.locator(".sp-notice").inner_text()
    assert not page.locator(".nhsuk-warning-callout").count()  # LS1 4AP is placed by the packaged geography
    browsing.go(f"/directory/services/{service_id}")
    shown = page.locator("main").inner_text()
    for words in ("0113 496 0000", "0113 496 0001 (Text relay)", "WE 09:30–15:00", "LS1 4AP", "Urdu", "Step-free"):
        assert words in shown, words


def test_bad_phone_time_and_postcode_are_named_beside_their_boxes(browsing: Browsing) -> None:
    browsing.sign_in("editor")
    service_id = _create(browsing, "Seacroft Debt Help")
    page = browsing.page
    page.fill("#phones-0-number", "ring the office")
    page.select_option("#schedules-0-byday", "MO")
    page.fill("#schedules-0-opens_at", "nine")
    page.fill("#schedules-0-closes_at", "17:00")
    page.fill("#locations-0-postal_code", "LS1")
    page.click("button:has-text('Save changes')")
    summary = page.locator(".nhsuk-error-summary").inner_text()
    assert "Phone number: enter a UK phone number, like 0113 496 0000" in summary
    assert "Opens: enter a time like 09:00" in page.locator("#schedules-0-opens_at-error").inner_text()
    assert (
        "Postcode: enter a full postcode, like LS1 4AP" in page.locator("#locations-0-postal_code-error").inner_text()
    )
    browsing.check("edit-errors")
    _clip(page, ".nhsuk-error-summary", ".nhsuk-error-summary", "edit-errors-summary")
    browsing.go(f"/directory/services/{service_id}")
    assert "ring the office" not in page.locator("main").inner_text()
