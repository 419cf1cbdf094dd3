"""The edit page edits every field group, with "Add another" by a plain round trip and errors in words per box."""

import re
from typing import Any

from fastapi.testclient import TestClient
from sqlmodel import Session

from signpost.directory import service as directory
from signpost.directory.schemas import ServicePatch
from signpost.geography import service as geography
from signpost.geography.models import Postcode
from tests.directory.factories import make_service
from tests.web.factories import csrf_from, make_user, sign_in

KNOWN = "LS1 9ZZ"  # invented (ZZ inward code), placed in the test's geography


def _open(local: TestClient, session: Session) -> tuple[str, dict[str, Any]]:
    """A signed-in editor and a service; the edit form's fields as the page gives them."""
    sign_in(local, make_user(session, "editor"))
    service = make_service(session)
    session.commit()  # a savepoint here: a refused save's rollback keeps what the test set up
    return service.id, _form(local.get(f"/editor/services/{service.id}").text)


def _form(html: str) -> dict[str, Any]:
    """The edit form's current values, as a browser would post them (text boxes, hidden fields, ticked boxes)."""
    form = html.split('action="/editor/services/', 1)[1].split("</form>", 1)[0]
    data: dict[str, Any] = {"csrf_token": csrf_from(html)}
    for tag in re.findall(r"<input [^>]*>", form):
        name = re.search(r'name="([^"]+)"', tag)
        value = re.search(r'value="([^"]*)"', tag)
        if not name:
            continue
        if 'type="checkbox"' in tag or 'type="radio"' in tag:
            if " checked" in tag:
                data.setdefault(name.group(1), []).append(value.group(1) if value else "")
            continue
        data[name.group(1)] = value.group(1) if value else ""
    for name, body in re.findall(r'<textarea [^>]*name="([^"]+)"[^>]*>(.*?)</textarea>', form, re.S):
        data[name] = body
    for name, body in re.findall(r'<select [^>]*name="([^"]+)"[^>]*>(.*?)</select>', form, re.S):
        chosen = re.search(r'<option value="([^"]*)" selected', body)
        data[name] = chosen.group(1) if chosen else ""
    return data


def _detail(session: Session, service_id: str) -> dict[str, Any]:
    session.expire_all()
    record = directory.get_service(session=session, service_id=service_id)
    return directory.service_detail(session=session, service=record, review_months=12)


def _another_editor_sets_the_phone(session: Session, service_id: str) -> None:
    """Meanwhile, another editor saves a phone number (committed: a refused save's rollback keeps it)."""
    directory.update_service(
        session=session,
        service_id=service_id,
        data=ServicePatch(phones=[{"number": "0113 496 0001"}]),
        actor="another editor",
        expected_version=_detail(session, service_id)["version"],
    )
    session.commit()


def test_phones_times_a_location_by_postcode_languages_areas_and_costs_are_saved_from_the_page(
    local: TestClient, session: Session
) -> None:
    session.add(Postcode(postcode=KNOWN, local_authority="E08000035", latitude=53.7997, longitude=-1.5492))
    session.flush()
    geography.invalidate_cache()
    service_id, form = _open(local, session)
    form.update(
        {
            "alternate_name": "The money clinic",
            "interpretation_services": "Interpreters booked on request",
            "phones-0-number": "0113 496 0000",
            "phones-0-description": "Advice line",
            "contacts-0-name": "Advice team",
            "contacts-0-email": "team@example.org",
            "schedules-0-byday": "TU",
            "schedules-0-opens_at": "9:30",
            "schedules-0-closes_at": "16:00",
            "locations-0-address_1": "1 Park Row",
            "locations-0-postal_code": "ls1 9zz",
            "locations-0-accessibility": "Step-free entrance; Hearing loop",
            "languages-0-code": "pl",
            "service_areas-0-scope": "local_authority",
            "service_areas-0-area_code": "E08000035",
            "cost_options-0-option": "Room hire",
            "cost_options-0-amount": "£2.50",
        }
    )
    answer = local.post(f"/editor/services/{service_id}", data=form, follow_redirects=False)
    assert answer.status_code == 303, answer.text
    saved = _detail(session, service_id)
    assert [(p["number"], p["description"]) for p in saved["phones"]] == [("0113 496 0000", "Advice line")]
    assert saved["contacts"][0]["email"] == "team@example.org"
    assert [(s["byday"], s["opens_at"], s["closes_at"]) for s in saved["schedules"]] == [("TU", "09:30", "16:00")]
    place = saved["locations"][0]
    assert (place["postal_code"], place["latitude"], place["longitude"]) == (KNOWN, 53.7997, -1.5492)
    assert [a["description"] for a in place["accessibility"]] == ["Step-free entrance", "Hearing loop"]
    assert saved["languages"] == [{"code": "pl", "name": "Polish", "note": None}]
    assert saved["service_areas"][0]["area_code"] == "E08000035"
    assert saved["cost_options"][0]["amount"] == 2.5
    assert saved["alternate_name"] == "The money clinic"
    assert saved["interpretation_services"] == "Interpreters booked on request"
    page = local.get(f"/editor/services/{service_id}").text
    assert 'value="0113 496 0000"' in page and 'value="09:30"' in page and f'value="{KNOWN}"' in page
    # Saving the page again unchanged leaves the lists as held: the located place keeps its position.
    version = saved["version"]
    again = local.post(f"/editor/services/{service_id}", data=_form(page), follow_redirects=False)
    assert again.status_code == 303 and _detail(session, service_id)["version"] == version + 1
    assert _detail(session, service_id)["locations"][0]["latitude"] == 53.7997


def test_add_another_comes_back_with_one_more_row_and_saves_nothing(local: TestClient, session: Session) -> None:
    service_id, form = _open(local, session)
    version = _detail(session, service_id)["version"]
    form.update({"phones-0-number": "0113 496 0000", "add": "phones"})
    answer = local.post(f"/editor/services/{service_id}", data=form)
    assert answer.status_code == 200
    assert 'name="phones-1-number"' in answer.text and 'value="0113 496 0000"' in answer.text
    assert _detail(session, service_id)["version"] == version and _detail(session, service_id)["phones"] == []
    assert "<script>" not in answer.text and " style=" not in answer.text


def test_bad_input_in_every_group_is_named_beside_its_box_and_nothing_is_saved(
    local: TestClient, session: Session
) -> None:
    service_id, form = _open(local, session)
    before = _detail(session, service_id)
    form.update(
        {
            "description": "Changed, but must not be saved.",
            "phones-0-number": "ring us",
            "contacts-0-email": "team at example",
            "schedules-0-byday": "MO",
            "schedules-0-opens_at": "9am",
            "schedules-0-closes_at": "17:00",
            "schedules-1-byday": "TU",
            "schedules-1-opens_at": "17:00",
            "schedules-1-closes_at": "09:00",
            "locations-0-postal_code": "LS1",
            "service_areas-0-scope": "ward",
            "service_areas-0-area_code": "Leeds",
            "cost_options-0-amount": "five pounds",
        }
    )
    answer = local.post(f"/editor/services/{service_id}", data=form)
    assert answer.status_code == 422
    html = answer.text
    expected = {
        "phones-0-number": "Phone number: enter a UK phone number, like 0113 496 0000",
        "contacts-0-email": "Email: enter an email address like name@example.org",
        "schedules-0-opens_at": "Opens: enter a time like 09:00",
        "schedules-1-closes_at": "Closes: enter a time after it opens",
        "locations-0-postal_code": "Postcode: enter a full postcode, like LS1 4AP",
        "service_areas-0-area_code": "Area code: enter the area&#39;s GSS code, like E08000035",
        "service_areas-0-area_vintage": "Ward year: enter the year of the ward boundaries, like 2024",
        "cost_options-0-amount": "Amount in pounds: enter an amount in pounds, like 5 or 2.50",
    }
    summary = html.split('class="nhsuk-error-summary"', 1)[1].split("</ul>", 1)[0]
    for box, words in expected.items():
        assert f'href="#{box}"' in summary and words in summary, box
        assert re.search(rf'id="{box}-error">.*?{re.escape(words)}', html, re.S), box
    after = _detail(session, service_id)
    assert after["version"] == before["version"] and after["description"] == before["description"]
    # What was typed is shown again to be put right.
    assert 'value="ring us"' in html and 'value="five pounds"' in html


def test_an_unknown_postcode_is_saved_with_a_warning_on_the_page(local: TestClient, session: Session) -> None:
    service_id, form = _open(local, session)
    form.update({"locations-0-address_1": "2 Moor Lane", "locations-0-postal_code": "LS99 9ZZ"})
    answer = local.post(f"/editor/services/{service_id}", data=form)
    assert answer.status_code == 200
    assert "Postcode LS99 9ZZ is not known to Signpost" in answer.text
    assert _detail(session, service_id)["locations"][0]["postal_code"] == "LS99 9ZZ"


def test_a_page_opened_before_another_edit_keeps_the_other_editors_phone(local: TestClient, session: Session) -> None:
    service_id, form = _open(local, session)
    _another_editor_sets_the_phone(session, service_id)
    form.update({"description": "Now with evening sessions.", "languages-0-code": "ur"})
    answer = local.post(f"/editor/services/{service_id}", data=form, follow_redirects=False)
    assert answer.status_code == 303, answer.text
    saved = _detail(session, service_id)
    assert saved["description"] == "Now with evening sessions."
    assert [p["number"] for p in saved["phones"]] == ["0113 496 0001"]
    assert [x["code"] for x in saved["languages"]] == ["ur"]


def test_both_editors_changing_the_phones_is_a_conflict_that_carries_every_row(
    local: TestClient, session: Session
) -> None:
    service_id, form = _open(local, session)
    _another_editor_sets_the_phone(session, service_id)
    form.update(
        {
            "phones-0-number": "0113 496 0002",
            "schedules-0-byday": "FR",
            "schedules-0-opens_at": "10:00",
            "schedules-0-closes_at": "14:00",
        }
    )
    answer = local.post(f"/editor/services/{service_id}", data=form)
    assert answer.status_code == 409, answer.text[-3000:]
    assert 'name="resolve_phones"' in answer.text
    chosen = _form(answer.text)
    chosen["resolve_phones"] = "mine"
    saved = local.post(f"/editor/services/{service_id}", data=chosen, follow_redirects=False)
    assert saved.status_code == 303, saved.text
    after = _detail(session, service_id)
    assert [p["number"] for p in after["phones"]] == ["0113 496 0002"]
    assert [(s["byday"], s["opens_at"]) for s in after["schedules"]] == [("FR", "10:00")]


def test_adding_a_service_from_the_page_warns_of_one_held_at_the_same_postcode(
    local: TestClient, session: Session
) -> None:
    sign_in(local, make_user(session, "editor"))
    held = make_service(session, locations=[{"address_1": "1 Park Row", "postal_code": "LS1 4AP"}])
    html = local.get("/editor/services/new").text
    form = {
        "csrf_token": csrf_from(html),
        "organization": "A different trust",
        "name": held.name,
        "locations-0-address_1": "1 Park Row",
        "locations-0-postal_code": "ls1 4ap",
        "phones-0-number": "0113 496 0000",
    }
    answer = local.post("/editor/services/new", data=form)
    assert answer.status_code == 422
    assert f'href="/editor/services/{held.id}"' in answer.text
    assert 'value="0113 496 0000"' in answer.text  # the rows typed are kept for the second try
