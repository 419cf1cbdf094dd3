"""The template in a real browser: follow-ups, validation beside items, results, leaflet and SMS."""

from tests.web.conftest import Browsing, LiveServer


def _answer_no_needs(page) -> None:  # type: ignore[no-untyped-def]
    page.check("#q-housing-1")  # None of these
    page.check("#q-money-1")
    page.check("label:has-text('Never true') >> nth=0")
    page.check("label:has-text('Never true') >> nth=1")
    page.check("#q-work-2")
    page.check("#q-household-1")
    page.check("#q-isolation-2")
    page.check("#q-legal-immigration-2")
    page.check("#q-safe-to-ask-2")
    page.check("#q-access-1")
    page.check("#q-consent-1")


def test_follow_up_appears_when_its_answer_is_given(browsing: Browsing) -> None:
    browsing.sign_in("clinician")
    browsing.go("/template")
    follow_up = browsing.page.locator("#item-q-homeless-tonight")
    assert follow_up.is_hidden()
    browsing.page.check("label:has-text('Homeless') >> nth=0")
    assert follow_up.is_visible()
    browsing.check("template-form")


def test_follow_up_appears_without_javascript(browser, live_server: LiveServer) -> None:  # type: ignore[no-untyped-def]
    context = browser.new_context(base_url=live_server.base_url, java_script_enabled=False)
    try:
        browsing = Browsing(context.new_page(), live_server.base_url)
        browsing.sign_in("clinician")
        browsing.go("/template")
        browsing.page.check("label:has-text('Homeless') >> nth=0")
        assert browsing.page.locator("#item-q-homeless-tonight").is_hidden()
        browsing.page.click("button:has-text('Show follow-up questions')")
        assert browsing.page.locator("#item-q-homeless-tonight").is_visible()
        assert browsing.page.locator("label:has-text('Homeless') >> nth=0").is_checked()
    finally:
        context.close()


def test_missing_answers_are_shown_beside_items_and_in_a_summary(browsing: Browsing) -> None:
    browsing.sign_in("clinician")
    browsing.go("/template")
    browsing.page.check("#q-housing-1")
    browsing.page.click("button:has-text('Find services')")
    summary = browsing.page.locator(".nhsuk-error-summary")
    assert "There is a problem" in summary.inner_text()
    assert "Answer the question" in browsing.page.locator("#q-money-error").inner_text()
    assert browsing.page.locator("#q-housing-error").count() == 0
    browsing.check("template-errors")


def test_submission_shows_services_with_reasons_sms_and_leaflet(browsing: Browsing) -> None:
    browsing.sign_in("clinician")
    browsing.go("/template")
    _answer_no_needs(browsing.page)
    browsing.page.uncheck("#q-money-1")
    browsing.page.check("label:has-text('Trouble paying for essentials')")
    browsing.page.check("#q-benefits-check-1")
    browsing.page.fill("#postcode", "LS9 7TF")
    browsing.page.click("button:has-text('Find services')")
    assert browsing.page.locator("h1").inner_text() == "Services for this patient"
    main = browsing.page.locator("main").inner_text()
    assert "Verified" in main or "Not verified" in main or "Due for review" in main
    assert browsing.page.locator(".sp-result h3").count() >= 1
    assert browsing.page.locator(".sp-reasons li").count() >= 1
    assert browsing.page.locator("#sms-text").input_value()
    browsing.check("template-result")
    browsing.page.click("button:has-text('Large-print leaflet')")
    assert "sp-large-print" in (browsing.page.locator("body").get_attribute("class") or "")
    assert browsing.page.locator("h1, h2").first.inner_text() == "Local services that can help you"
    browsing.check("template-leaflet-large")
    browsing.page.emulate_media(media="print")
    assert browsing.page.locator("header").is_hidden()
