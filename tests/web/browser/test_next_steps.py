"""Issue 18 in the browser: five patients' stories through the GP's result page. Every need ends with a next step,
urgent needs open with Act now, the printed leaflet lists each service once and each link once."""

import re
from collections.abc import Callable
from typing import Any

import pytest

from tests.web.browser.test_template import _answer_no_needs
from tests.web.conftest import ARTIFACTS, Browsing


def _food_today_no_phone_alone(page: Any) -> None:
    """Mrs A, 78, LS9 7TF: ran out of food, none today; lonely; no internet and no phone."""
    page.check("label:has-text('Often true') >> nth=1")
    page.check("#q-food-today-1")
    page.check("#q-isolation-1")
    page.uncheck("#q-access-1")
    page.check("#q-access-4")


def _harm_now_homeless_phone_only(page: Any) -> None:
    """Ms B, 29: at risk of harm now at home and nowhere safe to sleep tonight; a phone but no internet."""
    page.uncheck("#q-housing-1")
    page.check("#q-housing-2")
    page.check("#q-homeless-tonight-1")
    page.check("#q-safe-to-ask-1")
    page.check("#q-domestic-abuse-1")
    page.check("#q-at-risk-now-1")
    page.uncheck("#q-access-1")
    page.check("#q-access-3")


def _debts_work_urdu(page: Any) -> None:
    """Mr C, 45: council tax arrears, out of work; needs an Urdu interpreter."""
    page.uncheck("#q-money-1")
    page.check("#q-money-3")
    page.check("label:has-text('Council tax arrears')")
    page.check("#q-work-1")
    page.uncheck("#q-access-1")
    page.check("#q-access-2")
    page.check("label:has-text('Urdu')")


def _carer_cold_home_consent_no(page: Any) -> None:
    """Mr D, 52: an unpaid carer who cannot heat the home, and does not want to be signposted today."""
    page.uncheck("#q-household-1")
    page.check("#q-household-2")
    page.uncheck("#q-money-1")
    page.check("#q-money-4")
    page.check("#q-consent-2")


def _young_children_overcrowded_immigration(page: Any) -> None:
    """Ms E, 34: a baby and a toddler in an overcrowded flat; needs immigration advice."""
    page.uncheck("#q-household-1")
    page.check("#q-household-3")
    page.uncheck("#q-housing-1")
    page.check("#q-housing-6")
    page.check("#q-legal-immigration-1")


STORIES: list[tuple[str, Callable[[Any], None]]] = [
    ("a-food-today-no-phone", _food_today_no_phone_alone),
    ("b-harm-now-homeless-phone-only", _harm_now_homeless_phone_only),
    ("c-debts-work-urdu", _debts_work_urdu),
    ("d-carer-cold-home-consent-no", _carer_cold_home_consent_no),
    ("e-young-children-overcrowded-immigration", _young_children_overcrowded_immigration),
]


def _submit(browsing: Browsing, story: Callable[[Any], None], postcode: str = "LS9 7TF") -> Any:
    browsing.sign_in("clinician")
    browsing.go("/template")
    _answer_no_needs(browsing.page)
    story(browsing.page)
    browsing.page.fill("#postcode", postcode)
    browsing.page.click("button:has-text('Find services')")
    page = browsing.page
    assert page.locator("h1").inner_text() == "Services for this patient"
    return page


@pytest.mark.parametrize(("name", "story"), STORIES, ids=[n for n, _ in STORIES])
def test_every_need_on_the_result_page_has_a_next_step(
    browsing: Browsing, name: str, story: Callable[[Any], None]
) -> None:
    page = _submit(browsing, story)
    main = page.locator("main").inner_text()
    assert "No matching service is in the directory" not in main
    if name.endswith("consent-no"):
        assert "did not agree to be signposted" in main
        assert page.locator(".sp-need").count() == 0 and page.locator(".sp-leaflet").count() == 0
    else:
        sections = page.locator(".sp-need")
        assert sections.count() >= 2
        for i in range(sections.count()):
            section = sections.nth(i)
            # Each need holds offers or, at its top, a plain statement of why not and what to do instead.
            assert section.locator(".sp-result").count() or section.locator(".sp-need-note").count(), (
                section.inner_text()
            )
            for result in section.locator(".sp-result").all():
                reach = result.locator(".sp-reach").inner_text()
                assert re.search(r"Phone:|Website:|km away|ask reception", reach), reach
    browsing.check(f"issue18-story-{name}")


def test_urgent_needs_open_with_act_now_and_999_for_a_risk_of_harm(browsing: Browsing) -> None:
    page = _submit(browsing, _harm_now_homeless_phone_only)
    first_section = page.locator("main section").first
    assert "Act now" in first_section.inner_text()
    act_now = page.locator(".sp-act-now").first.inner_text()
    assert "If the patient is in danger now, call 999." in act_now
    # The risk of harm comes first in the card, before the homeless need: its first line is 999.
    assert act_now.index("call 999") < act_now.index("Leeds Housing Options")
    assert "0113 246 0401" in act_now  # the Leeds 24-hour line, marked 24-hour in the starter directory
    assert "Leeds Housing Options" in act_now and "Not verified" in act_now
    leaflet = page.locator(".sp-leaflet").inner_text()
    assert "999" not in leaflet and "abuse" not in leaflet.lower()


def test_the_no_phone_patient_gets_near_misses_marked_and_no_text_message(browsing: Browsing) -> None:
    page = _submit(browsing, _food_today_no_phone_alone)
    food = page.locator("#need-food-insecurity").locator("xpath=..")
    assert "No service for food insecurity fits no phone or internet" in food.inner_text()
    assert food.locator(".sp-miss").count() >= 1
    assert page.locator("#sms-text").count() == 0


def test_printed_leaflet_lists_each_service_once_and_each_link_once(browsing: Browsing) -> None:
    page = _submit(browsing, _debts_work_urdu)
    page.emulate_media(media="print")
    ARTIFACTS.mkdir(exist_ok=True)
    page.pdf(path=str(ARTIFACTS / "issue18-leaflet.pdf"))
    printed = page.locator("body").inner_text()  # what print media shows: the leaflet alone
    assert "Services for this patient" not in printed
    names = [n.strip() for n in page.locator(".sp-leaflet li > strong").all_inner_texts()]
    assert len(names) == len(set(names)) >= 2
    links = page.locator(".sp-leaflet a[href^='http']").evaluate_all("links => links.map(a => a.href)")
    assert len(links) == len(set(links)) >= 1
    assert "Help with debts and bills" in printed and "Help with finding work" in printed
    assert re.search(r"From your GP practice, \d{1,2} [A-Z][a-z]+ \d{4}\.", printed)


def test_none_of_these_is_exclusive_in_the_page_itself(browsing: Browsing) -> None:
    browsing.sign_in("clinician")
    browsing.go("/template")
    page = browsing.page
    page.check("#q-housing-1")  # None of these
    page.check("#q-housing-5")  # Poor housing conditions
    assert not page.locator("#q-housing-1").is_checked()
    page.check("#q-housing-6")
    page.check("#q-housing-1")
    assert page.locator("#q-housing-1").is_checked()
    assert not page.locator("#q-housing-5").is_checked() and not page.locator("#q-housing-6").is_checked()
    browsing.check("issue18-none-of-these")
