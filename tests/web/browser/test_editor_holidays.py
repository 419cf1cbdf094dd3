"""Holiday openings edited in a real browser, and the review queue narrowed to one import batch."""

import json
from pathlib import Path

from tests.web.browser.test_editor import _create
from tests.web.conftest import Browsing

SHOTS = Path("/work/notes/shots-19")


def _shot(browsing: Browsing, name: str, part: str = "") -> None:
    """A screenshot for the closing note (when its folder exists) of the page or one `part` of it."""
    if SHOTS.is_dir():
        target = browsing.page.locator(part) if part else browsing.page
        target.screenshot(path=str(SHOTS / f"{name}.png"), **({} if part else {"full_page": True}))


def test_editor_adds_a_christmas_closure_and_special_hours(browsing: Browsing) -> None:
    browsing.sign_in("editor")
    service_id = _create(browsing, "Burley Advice Shop")
    page = browsing.page
    page.fill("#holiday_schedules-0-valid_from", "2026-12-25")
    page.fill("#holiday_schedules-0-valid_to", "2026-12-26")
    page.select_option("#holiday_schedules-0-closed", "yes")
    page.fill("#holiday_schedules-0-description", "Christmas")
    page.click("button:has-text('Add another holiday or special opening')")
    page.fill("#holiday_schedules-1-valid_from", "2026-12-24")
    page.select_option("#holiday_schedules-1-closed", "no")
    page.fill("#holiday_schedules-1-opens_at", "14:00")
    page.fill("#holiday_schedules-1-closes_at", "10:00")  # closes before it opens
    page.click("button:has-text('Save changes')")
    assert "Closes: enter a time after it opens" in page.locator("#holiday_schedules-1-closes_at-error").inner_text()
    _shot(browsing, "holiday-editor-error", "#group-holiday_schedules")
    page.fill("#holiday_schedules-1-opens_at", "10:00")
    page.fill("#holiday_schedules-1-closes_at", "13:00")
    page.fill("#holiday_schedules-1-description", "Christmas Eve")
    page.click("button:has-text('Save changes')")
    assert "Changes saved." in page.locator(".sp-notice").inner_text()
    assert page.url.endswith(f"/editor/services/{service_id}?saved=updated")
    # Shown back in date order, the closure as closed and the special hours with their times.
    assert page.locator("#holiday_schedules-0-valid_from").input_value() == "2026-12-24"
    assert page.locator("#holiday_schedules-0-opens_at").input_value() == "10:00"
    assert page.locator("#holiday_schedules-1-closed").input_value() == "yes"
    assert page.locator("#holiday_schedules-1-description").input_value() == "Christmas"
    _shot(browsing, "holiday-editor-saved", "#group-holiday_schedules")
    browsing.check("editor-holidays")


def test_the_queue_shows_one_import_batch_chosen_from_the_list(browsing: Browsing, tmp_path: Path) -> None:
    browsing.sign_in("editor")
    page = browsing.page
    for name, service in (("first-batch.json", "Holbeck Lunch Club"), ("second-batch.json", "Beeston Men's Shed")):
        feed = tmp_path / name
        feed.write_text(json.dumps([{"id": f"batch-{name}", "name": service, "description": "Meet people."}]))
        browsing.go("/editor/import")
        page.set_input_files("#file", str(feed))
        page.click("button:has-text('Import')")
    _shot(browsing, "import-report-review-link")
    page.click("a:has-text('Review this batch')")
    table = page.locator("table").inner_text()
    assert "Beeston Men's Shed" in table and "Holbeck Lunch Club" not in table
    option = page.locator("#batch option", has_text="first-batch.json")
    page.select_option("#batch", option.get_attribute("value"))
    page.click("button:has-text('Show')")
    table = page.locator("table").inner_text()
    assert "Holbeck Lunch Club" in table and "Beeston Men's Shed" not in table
    assert "first-batch.json (1 service)" in page.locator("#batch option:checked").inner_text()
    assert "Showing services from the import of first-batch.json" in page.locator("#batch-shown").inner_text()
    _shot(browsing, "queue-import-batch")
    browsing.check("editor-queue-batch")
