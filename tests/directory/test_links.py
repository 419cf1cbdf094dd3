"""Link checks: concurrent, time-limited, per-host limited; outcomes recorded; broken links reach the review queue."""

import asyncio
from datetime import date

import httpx
import respx
from sqlmodel import select

from signpost.directory import links
from signpost.directory.models import LinkCheck
from tests.openreferral.factories import load, oruk_service


def _check(urls, **policy):
    return {o.url: o for o in links.check_urls(urls, policy=links.LinkPolicy(**policy))}


@respx.mock
def test_working_and_broken_links_are_told_apart():
    respx.head("https://fine.example.org/").mock(return_value=httpx.Response(200))
    respx.head("https://gone.example.org/").mock(return_value=httpx.Response(410))
    respx.get("https://gone.example.org/").mock(return_value=httpx.Response(410))
    outcomes = _check(["https://fine.example.org/", "https://gone.example.org/"])
    assert outcomes["https://fine.example.org/"].ok is True
    gone = outcomes["https://gone.example.org/"]
    assert (gone.ok, gone.status, gone.error) == (False, 410, "HTTP 410")


@respx.mock
def test_servers_refusing_head_are_checked_with_get():
    respx.head("https://nohead.example.org/").mock(return_value=httpx.Response(405))
    respx.get("https://nohead.example.org/").mock(return_value=httpx.Response(200))
    assert _check(["https://nohead.example.org/"])["https://nohead.example.org/"].ok is True


@respx.mock
def test_a_site_that_does_not_answer_in_time_is_broken():
    respx.head("https://slow.example.org/").mock(side_effect=httpx.ConnectTimeout("slow"))
    outcome = _check(["https://slow.example.org/"], timeout_s=2)["https://slow.example.org/"]
    assert (outcome.ok, outcome.status) == (False, None)
    assert "no answer within 2 s" in outcome.error


@respx.mock
def test_unreachable_host_is_broken_with_a_reason():
    respx.head("https://nowhere.example.org/").mock(side_effect=httpx.ConnectError("dns"))
    outcome = _check(["https://nowhere.example.org/"])["https://nowhere.example.org/"]
    assert outcome.ok is False and "could not connect" in outcome.error


@respx.mock
def test_requests_to_one_host_never_exceed_the_per_host_limit():
    in_flight = {"now": 0, "most": 0}

    async def slow(request):
        in_flight["now"] += 1
        in_flight["most"] = max(in_flight["most"], in_flight["now"])
        await asyncio.sleep(0.01)
        in_flight["now"] -= 1
        return httpx.Response(200)

    respx.head(host="busy.example.org").mock(side_effect=slow)
    urls = [f"https://busy.example.org/page{i}" for i in range(8)]
    outcomes = _check(urls, concurrency=8, per_host=2)
    assert all(o.ok for o in outcomes.values())
    assert in_flight["most"] == 2


@respx.mock
def test_outcomes_are_recorded_once_per_url_and_broken_services_enter_the_review_queue(session):
    from signpost.directory import service as directory

    # Verified today, so only the broken link can put it in the queue.
    record = oruk_service(url="https://broken-link-test.example.org/", assured_date=date.today().isoformat())
    load(session, record)
    respx.head("https://broken-link-test.example.org/").mock(return_value=httpx.Response(404))
    respx.get("https://broken-link-test.example.org/").mock(return_value=httpx.Response(404))
    outcomes = links.check_urls(["https://broken-link-test.example.org/"])
    links.record_outcomes(session=session, outcomes=outcomes)
    links.record_outcomes(session=session, outcomes=outcomes)  # a second run updates the same row
    rows = session.exec(select(LinkCheck).where(LinkCheck.url == "https://broken-link-test.example.org/")).all()
    assert len(rows) == 1 and rows[0].ok is False and rows[0].status == 404

    items, _total = directory.review_queue(session=session, review_months=12, limit=100_000)
    mine = [item for item in items if item.service.id == record["id"]]
    assert mine and any("website link failed" in reason for reason in mine[0].reasons)


def test_urls_to_check_are_the_distinct_websites_of_listed_services(session):
    load(session, oruk_service(url="https://one.example.org/"), oruk_service(url="https://one.example.org/"))
    urls = links.urls_to_check(session=session)
    assert urls.count("https://one.example.org/") == 1
    assert "https://trust.example.org" in urls
