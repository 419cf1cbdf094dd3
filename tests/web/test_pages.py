"""Pages through the app in-process, on the test database (SQLite or PostgreSQL)."""

from fastapi.testclient import TestClient
from sqlmodel import Session, func, select

from signpost.events.models import SignpostEvent
from tests.web.factories import csrf_from, make_user, sign_in

NO_NEEDS = {
    "q-housing": "none",
    "q-money": "none",
    "q-food-worried": "LA28398-8",  # Never true (LOINC)
    "q-food-ran-out": "LA28398-8",
    "q-work": "false",
    "q-household": "none",
    "q-isolation": "false",
    "q-legal-immigration": "false",
    "q-safe-to-ask": "false",
    "q-access": "none",
    "q-consent": "true",
}


def _events(session: Session) -> int:
    return int(session.exec(select(func.count()).select_from(SignpostEvent)).one())


def test_unknown_service_page_is_an_html_404(local: TestClient, session: Session) -> None:
    sign_in(local, make_user(session, "prescriber"))
    answer = local.get("/directory/services/no-such-service")
    assert answer.status_code == 404
    assert answer.headers["content-type"].startswith("text/html")


def test_template_submission_counts_each_need_once_even_when_the_leaflet_is_reprinted(
    local: TestClient, session: Session
) -> None:
    sign_in(local, make_user(session, "clinician", practice_ods="B86001"))
    page = local.get("/template").text
    identifier = page.split('name="identifier" value="')[1].split('"')[0]
    form = {
        **NO_NEEDS,
        "q-money": "money-essentials",
        "q-benefits-check": "true",
        "identifier": identifier,
        "csrf_token": csrf_from(page),
        "action": "submit",
    }
    before = _events(session)
    result = local.post("/template", data=form)
    assert result.status_code == 200 and "Services for this patient" in result.text
    counted = _events(session) - before
    assert counted == 2  # money-essentials and benefits-check
    again = local.post("/template/leaflet", data={**form, "large_print": "1"})
    assert again.status_code == 200 and "sp-large-print" in again.text
    assert _events(session) - before == counted


def test_invalid_template_stores_nothing_and_names_the_item(local: TestClient, session: Session) -> None:
    sign_in(local, make_user(session, "clinician", practice_ods="B86001"))
    page = local.get("/template").text
    before = _events(session)
    answer = local.post(
        "/template",
        data={**NO_NEEDS, "q-housing": ["none", "overcrowding"], "csrf_token": csrf_from(page), "action": "submit"},
    )
    assert answer.status_code == 422
    assert 'id="q-housing-error"' in answer.text and "not both" in answer.text
    assert _events(session) == before


def test_follow_up_is_hidden_until_its_answer_is_given(local: TestClient, session: Session) -> None:
    sign_in(local, make_user(session, "clinician", practice_ods="B86001"))
    page = local.get("/template").text
    assert 'id="item-q-homeless-tonight"' in page
    assert page.split('id="item-q-homeless-tonight"')[1].split(">")[0].rstrip().endswith("hidden")
    shown = local.post("/template", data={"q-housing": "homeless", "csrf_token": csrf_from(page), "action": "refresh"})
    assert not shown.text.split('id="item-q-homeless-tonight"')[1].split(">")[0].rstrip().endswith("hidden")


def test_analyst_csv_carries_the_suppression_policy(local: TestClient, session: Session) -> None:
    sign_in(local, make_user(session, "analyst"))
    answer = local.get("/analytics/csv?group_by=need")
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/csv")
    assert "suppression_policy" in answer.text.splitlines()[0]
