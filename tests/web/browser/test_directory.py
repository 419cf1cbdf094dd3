"""Directory search, a service's page, recording a signpost, and names rendered as text, in a real browser."""

from sqlmodel import select

from signpost.directory import service as directory
from signpost.directory.schemas import ServiceIn
from signpost.events.models import SignpostEvent
from tests.web.conftest import Browsing, LiveServer

XSS_NAME = "<script>window.__xss = 1</script><img src=x onerror=window.__xss=2> Food Help"


def _service_named(live_server: LiveServer, name: str) -> str:
    with live_server.session() as session:
        service = directory.create_service(
            session=session,
            data=ServiceIn(
                name=name,
                organization={"name": "Test Org " + name[:20]},
                categories=["food"],
                delivery_modes=["phone"],
                phones=[{"number": "0113 000 0000"}],
            ),
            actor="test",
            allow_duplicate=True,
        )
        session.commit()
        return service.id


def test_search_by_text_shows_results_with_reasons_and_verification(browsing: Browsing) -> None:
    browsing.sign_in("prescriber")
    browsing.go("/directory")
    browsing.page.fill("#text", "debt")
    browsing.page.click("button:has-text('Search')")
    assert "found" in browsing.page.locator("#results-heading").inner_text()
    first = browsing.page.locator(".sp-result").first
    assert first.locator("h3 a").inner_text()
    assert "erified" in first.inner_text() or "review" in first.inner_text()
    browsing.check("directory-search")


def test_bad_age_is_shown_beside_the_field(browsing: Browsing) -> None:
    browsing.sign_in("prescriber")
    browsing.go("/directory?search=1&age=old")
    assert "whole years" in browsing.page.locator("#age-error").inner_text()
    browsing.check("directory-search-error")


def test_service_page_records_a_referral_as_an_anonymised_count(browsing: Browsing, live_server: LiveServer) -> None:
    service_id = _service_named(live_server, "Leeds Pantry Network")
    browsing.sign_in("prescriber")
    browsing.go(f"/directory/services/{service_id}")
    assert browsing.page.locator("h1").inner_text() == "Leeds Pantry Network"
    browsing.check("directory-service")
    browsing.page.check("#kind-2")
    browsing.page.check("label:has-text('Food insecurity')")
    browsing.page.click("button:has-text('Record')")
    assert "Recorded: one referral for 1 need" in browsing.page.locator(".sp-notice").inner_text()
    with live_server.session() as session:
        events = session.exec(select(SignpostEvent).where(SignpostEvent.kind == "referred")).all()
        assert any(service_id in e.services_offered for e in events)


def test_recording_without_a_need_is_refused_beside_the_field(browsing: Browsing, live_server: LiveServer) -> None:
    service_id = _service_named(live_server, "Warm Spaces Leeds")
    browsing.sign_in("prescriber")
    browsing.go(f"/directory/services/{service_id}")
    browsing.page.check("#kind")
    browsing.page.click("button:has-text('Record')")
    assert "at least one need" in browsing.page.locator("#needs-error").inner_text()


def test_clinician_sees_the_service_but_no_record_form(browsing: Browsing, live_server: LiveServer) -> None:
    service_id = _service_named(live_server, "Carers Leeds Test")
    browsing.sign_in("clinician")
    browsing.go(f"/directory/services/{service_id}")
    assert browsing.page.locator("h1").inner_text() == "Carers Leeds Test"
    assert browsing.page.locator("button:has-text('Record')").count() == 0


def test_a_service_named_like_a_script_renders_as_text(browsing: Browsing, live_server: LiveServer) -> None:
    service_id = _service_named(live_server, XSS_NAME)
    browsing.sign_in("prescriber")
    browsing.go(f"/directory/services/{service_id}")
    assert browsing.page.locator("h1").inner_text() == XSS_NAME
    browsing.go("/directory?text=Food+Help&search=1")
    assert XSS_NAME in browsing.page.locator("main").inner_text()
    assert browsing.page.evaluate("window.__xss") is None
    browsing.check("directory-xss")
