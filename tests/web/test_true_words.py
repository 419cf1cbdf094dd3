"""Errors sit on the field that caused them; the date of birth is the NHS date input; consent No says so."""

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from signpost.events.models import SignpostEvent
from tests.routing.factories import make_service
from tests.web.factories import csrf_from, make_user, sign_in
from tests.web.test_pages import NO_NEEDS, _events


def _record(local: TestClient, session: Session, **fields: str) -> tuple[int, str]:
    service = make_service(session, "Jobs Club", ["employment"])
    sign_in(local, make_user(session, "prescriber"))
    page = local.get(f"/directory/services/{service.id}").text
    data = {"kind": "signposted", "needs": "unemployment", "csrf_token": csrf_from(page), **fields}
    answer = local.post(f"/directory/services/{service.id}/record", data=data)
    return answer.status_code, answer.text


def test_a_bad_postcode_on_the_record_page_is_reported_on_the_postcode(local: TestClient, session: Session) -> None:
    before = _events(session)
    status, html = _record(local, session, postcode="NOT A POSTCODE")
    assert status == 422
    assert 'id="postcode-error"' in html and "Enter a real UK postcode" in html
    assert 'id="birth_date-error"' not in html
    assert _events(session) == before


def test_the_record_page_reads_the_three_part_date_of_birth(local: TestClient, session: Session) -> None:
    before = _events(session)
    status, html = _record(
        local,
        session,
        postcode="LS9 7TF",
        **{"birth_date-day": "27", "birth_date-month": "3", "birth_date-year": "1980"},
    )
    assert status == 200 and "Recorded: one signposting" in html
    assert _events(session) == before + 1
    event = session.exec(select(SignpostEvent).order_by(SignpostEvent.id.desc())).first()  # type: ignore[union-attr]
    assert event is not None and event.age_band != "unknown"


@pytest.mark.parametrize(
    ("day", "month", "year", "message"),
    [
        ("31", "2", "1980", "Date of birth must be a real date"),
        ("", "3", "1980", "Date of birth must include a day"),
        ("1", "1", "2999", "Date of birth must be in the past"),
    ],
)
def test_a_wrong_date_of_birth_is_reported_on_the_date_alone(
    local: TestClient, session: Session, day: str, month: str, year: str, message: str
) -> None:
    before = _events(session)
    parts = {"birth_date-day": day, "birth_date-month": month, "birth_date-year": year}
    status, html = _record(local, session, postcode="LS9 7TF", **parts)
    assert status == 422
    assert 'id="birth_date-error"' in html and message in html
    assert 'id="postcode-error"' not in html
    assert (
        f'id="birth_date-day" name="birth_date-day" type="text" inputmode="numeric" autocomplete="off" value="{day}"'
        in html
    )
    assert _events(session) == before


def test_template_form_uses_the_nhs_date_input(local: TestClient, session: Session) -> None:
    sign_in(local, make_user(session, "clinician", practice_ods="B86001"))
    page = local.get("/template").text
    assert 'class="nhsuk-date-input"' in page
    assert all(f'name="birth_date-{part}"' in page for part in ("day", "month", "year"))
    answer = local.post(
        "/template",
        data={**NO_NEEDS, "birth_date-day": "40", "birth_date-month": "1", "birth_date-year": "1980",
              "csrf_token": csrf_from(page), "action": "submit"},
    )  # fmt: skip
    assert answer.status_code == 422 and 'id="birth_date-error"' in answer.text


def test_consent_no_says_the_patient_did_not_agree_and_never_that_nothing_matched(
    local: TestClient, session: Session
) -> None:
    make_service(session, "Shelter", ["homelessness"])
    sign_in(local, make_user(session, "clinician", practice_ods="B86001"))
    page = local.get("/template").text
    form = {
        **NO_NEEDS,
        "q-housing": "homeless",
        "q-homeless-tonight": "true",
        "q-consent": "false",
        "csrf_token": csrf_from(page),
        "action": "submit",
    }
    before = _events(session)
    answer = local.post("/template", data=form)
    assert answer.status_code == 200
    assert "did not agree to be signposted" in answer.text
    assert "No matching service" not in answer.text and "No service for" not in answer.text
    assert "Shelter" not in answer.text and "Act now" not in answer.text
    assert _events(session) == before
