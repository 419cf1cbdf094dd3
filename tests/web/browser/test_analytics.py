"""Analytics in a real browser: charts as SVG, suppression labelled, CSV of exactly what is shown."""

import csv
import io
from datetime import date

import httpx

from signpost import events
from signpost.geography import service as geography
from tests.web.conftest import Browsing, LiveServer


def _record_events(live_server: LiveServer) -> None:
    """40 housing signposts in decile 1 of the first ward, and 3 food ones (suppressed) in decile 5."""
    today = date.today()
    with live_server.session() as session:
        ward = geography.list_wards(session)[0]
        batch = [
            events.NewEvent(
                occurred_on=today,
                kind="signposted",
                source="template",
                need_code="housing-at-risk",
                category_code="housing",
                ward_code=ward.code,
                ward_vintage=ward.vintage,
                imd_decile=1,
                imd_year=2019,
                age_band="25-34",
            )
            for _ in range(40)
        ] + [
            events.NewEvent(
                occurred_on=today,
                kind="referred",
                source="prescriber",
                need_code="food-insecurity",
                category_code="food",
                ward_code=ward.code,
                ward_vintage=ward.vintage,
                imd_decile=5,
                imd_year=2019,
                age_band="45-54",
            )
            for _ in range(3)
        ]
        events.record(
            session=session, key=events.key_hmac("k", "web-test", "analytics"), source="template", events=batch
        )
        session.commit()


def test_analytics_draws_charts_labels_suppression_and_downloads_what_is_shown(
    browsing: Browsing, live_server: LiveServer
) -> None:
    _record_events(live_server)
    browsing.sign_in("analyst")
    browsing.go("/analytics")
    page = browsing.page
    assert page.locator("svg.sp-chart").count() == 3
    assert "Small numbers are suppressed" in page.locator(".nhsuk-inset-text").inner_text()
    decile_chart = page.locator("#h-decile + svg").inner_html()
    assert "Decile 1" in decile_chart and ">40<" in decile_chart and "suppressed" in decile_chart
    assert "suppressed" in page.locator(".sp-grid").inner_text()
    browsing.check("analytics")
    href = page.locator("section:has(#h-decile) a:has-text('Download this as CSV')").get_attribute("href")
    cookies = {c["name"]: c["value"] for c in page.context.cookies()}
    answer = httpx.get(live_server.base_url + href, cookies=cookies)
    rows = {r["imd_decile"]: r["count"] for r in csv.DictReader(io.StringIO(answer.text))}
    assert rows["1"] == "40" and rows["5"] == "suppressed"


def test_a_bad_date_is_shown_beside_the_field(browsing: Browsing) -> None:
    browsing.sign_in("analyst")
    browsing.go("/analytics?start=2026-13-40")
    assert "year-month-day" in browsing.page.locator("#start-error").inner_text()


def test_clinicians_cannot_see_analytics(browsing: Browsing) -> None:
    browsing.sign_in("clinician")
    assert browsing.go("/analytics").status == 403
