"""The referral loop in a real browser: GP result -> token on the slip -> provider accepts and completes ->
the practice's list -> the analysts' funnel by decile (after a simulated month of referrals)."""

import random
from datetime import date, timedelta

from signpost.auth import service as keys
from signpost.directory.models import Service
from signpost.referrals import service as referrals
from tests.web.browser.test_template import _answer_no_needs
from tests.web.conftest import Browsing, LiveServer


def _provider_key(live_server: LiveServer, service_id: str) -> str:
    with live_server.session() as session:
        service = session.get(Service, service_id)
        assert service is not None
        _, secret = keys.create_key(
            session=session, role="provider", name="intake", organization_id=service.organization_id
        )
        session.commit()
    return secret


def _simulate_month(live_server: LiveServer, service_ids: list[str]) -> None:
    """300 referrals over the last 30 days, outcomes skewed by decile as a real month might be. The live server has
    no postcode directory loaded, so the simulation states each referral's decile rather than a postcode."""
    chance = random.Random(23)
    today = date.today()
    with live_server.session() as session:
        owners = {s.id: s.organization_id for s in session.query(Service).filter(Service.id.in_(service_ids))}
        for i in range(300):
            made_on = today - timedelta(days=chance.randrange(0, 30))
            decile = chance.choice([1, 1, 1, 2, 3, 5, 5, 7, 9, 10])
            service_id = service_ids[i % len(service_ids)]
            data = referrals.NewReferral(
                service_id=service_id,
                organization_id=owners[service_id],
                need_code="money-essentials",
                category_code="welfare-benefits",
                ward_code=None,
                ward_vintage=None,
                imd_decile=decile,
                imd_year=2019,
                practice_ods="B86001",
                referrer="user:simulated-gp",
                source="template",
            )
            r, _ = referrals.create(session=session, secret_key="browser-test-secret", data=data, on=made_on)
            roll = chance.random()
            if roll < 0.10 + decile * 0.015:
                referrals.move(session=session, referral=r, status="rejected", reason="at-capacity", on=made_on)
                continue
            accepted_on = min(made_on + timedelta(days=chance.randrange(0, 6)), today)
            referrals.move(session=session, referral=r, status="accepted", reason=None, on=accepted_on)
            if roll < 0.55 + decile * 0.03:
                referrals.move(session=session, referral=r, status="completed", reason=None, on=today)
        session.commit()


def test_the_whole_referral_loop(browsing: Browsing, browser, live_server: LiveServer) -> None:  # type: ignore[no-untyped-def]
    page = browsing.page
    browsing.sign_in("clinician")
    browsing.go("/template")
    _answer_no_needs(page)
    page.uncheck("#q-money-1")
    page.check("label:has-text('Trouble paying for essentials')")
    page.check("#q-benefits-check-1")
    page.fill("#postcode", "LS9 7TF")
    page.click("button:has-text('Find services')")
    refer = page.locator("form.sp-refer").first
    service_id = refer.locator("input[name=service]").get_attribute("value")
    assert service_id
    browsing.check("referral-1-gp-result")
    refer.locator("button").click()
    token = page.locator(".sp-token").inner_text().strip()
    assert len(token) == 14 and token.count("-") == 2
    assert "essentials" not in page.locator(".sp-leaflet").inner_text().lower()  # the slip names no need
    browsing.check("referral-2-token-slip")

    provider_context = browser.new_context(base_url=live_server.base_url)
    try:
        provider = Browsing(provider_context.new_page(), live_server.base_url)
        provider.go("/provider")
        provider.page.fill("#key", _provider_key(live_server, service_id))
        provider.page.click("button:has-text('Sign in')")
        provider.page.wait_for_load_state()
        assert provider.page.locator("h1").inner_text() == "Referrals to your services"
        provider.page.fill("#token", token.lower().replace("-", " "))  # as read out over the phone
        provider.page.click("button:has-text('Find referral')")
        assert provider.page.locator("[data-status]").get_attribute("data-status") == "requested"
        provider.page.click("button:has-text('Mark accepted')")
        assert provider.page.locator("[data-status]").get_attribute("data-status") == "accepted"
        provider.check("referral-3-provider-accepted")
        provider.page.click("button:has-text('Mark completed')")
        assert provider.page.locator("[data-status]").get_attribute("data-status") == "completed"
        provider.go("/provider")
        provider.page.fill("#token", "AAAA-BBBB-CCCC")
        provider.page.click("button:has-text('Find referral')")
        assert "No referral to your organisation has that token" in provider.page.locator("main").inner_text()
    finally:
        provider_context.close()

    browsing.go("/referrals")
    row = page.locator("table.sp-referrals tbody tr").first
    assert token[:4] in row.inner_text() and "Completed" in row.inner_text()
    browsing.check("referral-4-practice-list")

    with live_server.session() as session:
        ids = [s.id for s in session.query(Service).filter(Service.status == "active").limit(5)]
    _simulate_month(live_server, ids)
    analyst = browser.new_context(base_url=live_server.base_url)
    try:
        looking = Browsing(analyst.new_page(), live_server.base_url)
        looking.sign_in("analyst")
        looking.go("/analytics/referrals")
        assert looking.page.locator("svg.sp-chart").count() == 1
        funnel = looking.page.locator("table.sp-funnel").inner_text()
        assert "suppressed" in funnel or any(ch.isdigit() for ch in funnel)
        first_decile = looking.page.locator("table.sp-funnel tbody tr").first.inner_text()
        assert first_decile.split()[1].isdigit()  # decile 1 made enough referrals to be published
        looking.check("referral-5-outcome-funnel")
    finally:
        analyst.close()
