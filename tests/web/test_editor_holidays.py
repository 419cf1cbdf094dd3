"""The edit page's holiday openings, and the review queue narrowed to one import batch."""

import json
import re
import uuid

from fastapi.testclient import TestClient
from sqlmodel import Session

from tests.directory.factories import token
from tests.openreferral.factories import load, oruk_service
from tests.web.factories import csrf_from, make_user, sign_in
from tests.web.test_editor_fields import _detail, _form, _open


def test_a_holiday_closure_and_special_hours_are_saved_from_the_page(local: TestClient, session: Session) -> None:
    service_id, form = _open(local, session)
    form.update(
        {
            "holiday_schedules-0-valid_from": "25/12/2026",  # as typed where the browser has no date picker
            "holiday_schedules-0-valid_to": "2026-12-26",
            "holiday_schedules-0-closed": "yes",
            "holiday_schedules-0-description": "Christmas",
            "holiday_schedules-1-valid_from": "2026-12-24",
            "holiday_schedules-1-closed": "no",
            "holiday_schedules-1-opens_at": "10:00",
            "holiday_schedules-1-closes_at": "13:00",
        }
    )
    answer = local.post(f"/editor/services/{service_id}", data=form, follow_redirects=False)
    assert answer.status_code == 303, answer.text
    saved = _detail(session, service_id)["holiday_schedules"]
    assert [(h["valid_from"], h["valid_to"], h["closed"], h["opens_at"], h["description"]) for h in saved] == [
        ("2026-12-24", "2026-12-24", False, "10:00", None),
        ("2026-12-25", "2026-12-26", True, None, "Christmas"),
    ]
    page = local.get(f"/editor/services/{service_id}").text
    assert 'type="date" value="2026-12-25"' in page and 'value="Christmas"' in page
    # Saved again untouched, the holidays are not re-written (no audit change for them).
    version = _detail(session, service_id)["version"]
    assert local.post(f"/editor/services/{service_id}", data=_form(page), follow_redirects=False).status_code == 303
    history = local.get(f"/editor/services/{service_id}/history").text
    assert "Holiday opening times" in history and "2026-12-25, 2026-12-26, closed all day, Christmas" in history
    assert _detail(session, service_id)["version"] == version + 1
    assert _detail(session, service_id)["holiday_schedules"] == saved


def test_bad_holiday_rows_are_named_beside_their_boxes_and_nothing_is_saved(
    local: TestClient, session: Session
) -> None:
    service_id, form = _open(local, session)
    before = _detail(session, service_id)
    form.update(
        {
            "description": "Changed, but must not be saved.",
            "holiday_schedules-0-valid_from": "2026-12-26",
            "holiday_schedules-0-valid_to": "2026-12-25",
            "holiday_schedules-1-valid_from": "2026-12-24",
            "holiday_schedules-1-closed": "no",
            "holiday_schedules-1-opens_at": "14:00",
            "holiday_schedules-1-closes_at": "10:00",
            "holiday_schedules-2-valid_from": "30/02/2026",
            "holiday_schedules-3-valid_from": "2026-12-31",
            "holiday_schedules-3-closed": "yes",
            "holiday_schedules-3-opens_at": "10:00",
        }
    )
    answer = local.post(f"/editor/services/{service_id}", data=form)
    assert answer.status_code == 422
    text = answer.text
    assert "Last day: enter a day on or after the first day" in text
    assert "Closes: enter a time after it opens" in text
    assert "First day: enter a date like 25/12/2026" in text
    assert "Opens: leave the times empty when it is closed all day" in text
    assert 'id="holiday_schedules-0-valid_to-error"' in text
    after = _detail(session, service_id)
    assert (after["version"], after["holiday_schedules"], after["description"]) == (
        before["version"],
        [],
        before["description"],
    )


def test_the_queue_shows_one_import_batch_and_the_report_links_to_it(local: TestClient, session: Session) -> None:
    sign_in(local, make_user(session, "editor"))
    word = token()
    first = oruk_service(name=f"{word} first batch", assured_date=None)
    second = oruk_service(name=f"{word} second batch", assured_date=None)
    one, two = load(session, first), load(session, second)
    session.commit()
    page = local.get(f"/editor?filter=batch&batch={one.run_id}").text
    assert f"{word} first batch" in page and f"{word} second batch" not in page
    assert re.search(rf'<option value="{one.run_id}" selected>[^<]*test \(1 service\)</option>', page)
    assert "Showing services from the import of <strong>test</strong>" in page
    # The batch narrows the other views too, and their links keep it.
    unverified = local.get(f"/editor?filter=unverified&batch={two.run_id}").text
    assert f"{word} second batch" in unverified and f"{word} first batch" not in unverified
    assert f'href="/editor?filter=suggested&amp;batch={two.run_id}"' in unverified
    # An unknown batch is no filter at all, not an error.
    assert local.get("/editor?filter=due&batch=999999999").status_code == 200

    feed = {
        "organizations": [{"id": str(uuid.uuid4()), "name": "Batch Org"}],
        "services": [{"id": str(uuid.uuid4()), "name": f"{word} uploaded", "description": "Lunch club."}],
    }
    feed["services"][0]["organization_id"] = feed["organizations"][0]["id"]
    csrf = csrf_from(local.get("/editor/import").text)
    report = local.post(
        "/editor/import",
        data={"csrf_token": csrf},
        files={"file": ("batch.json", json.dumps(feed).encode(), "application/json")},
    ).text
    link = re.search(r'<a href="/editor\?filter=batch&amp;batch=(\d+)">Review this batch</a>', report)
    assert link, report
    batch_page = local.get(f"/editor?filter=batch&batch={link.group(1)}").text
    assert f"{word} uploaded" in batch_page and f"{word} first batch" not in batch_page
