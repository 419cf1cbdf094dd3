"""Remote feeds: paged through with httpx, 5xx and timeouts retried with backoff, bad pages reported."""

import httpx
import pytest
import respx

from signpost.directory import importer

FEED = "https://feed.example.org/services"


def _policy() -> importer.FetchPolicy:
    return importer.FetchPolicy(per_page=2, attempts=3, backoff_s=0.01, sleep=lambda _s: None)


def _page(ids: list[str], number: int, total_pages: int) -> dict:
    return {
        "total_items": 5,
        "total_pages": total_pages,
        "page_number": number,
        "size": len(ids),
        "first_page": number == 1,
        "last_page": number == total_pages,
        "empty": not ids,
        "contents": [{"id": i, "name": f"Service {i}", "status": "active"} for i in ids],
    }


def _fetch() -> list:
    with httpx.Client() as client:
        return list(importer.fetch_remote(FEED, client=client, policy=_policy()))


@respx.mock
def test_remote_feed_is_paged_through_to_the_last_page():
    route = respx.get(FEED)
    route.side_effect = [
        httpx.Response(200, json=_page(["a", "b"], 1, 3)),
        httpx.Response(200, json=_page(["c", "d"], 2, 3)),
        httpx.Response(200, json=_page(["e"], 3, 3)),
    ]
    assert [r["id"] for r in _fetch()] == ["a", "b", "c", "d", "e"]
    assert [call.request.url.params["page"] for call in route.calls] == ["1", "2", "3"]


@respx.mock
def test_oruk1_page_shape_is_followed_by_its_last_flag():
    respx.get(FEED).side_effect = [
        httpx.Response(200, json={"content": [{"id": "x", "name": "X"}], "last": False, "totalPages": 2}),
        httpx.Response(200, json={"content": [{"id": "y", "name": "Y"}], "last": True, "totalPages": 2}),
    ]
    assert [r["id"] for r in _fetch()] == ["x", "y"]


@respx.mock
def test_server_errors_are_retried_then_succeed():
    route = respx.get(FEED)
    route.side_effect = [
        httpx.Response(503),
        httpx.Response(502),
        httpx.Response(200, json=_page(["a"], 1, 1)),
    ]
    assert [r["id"] for r in _fetch()] == ["a"]
    assert route.call_count == 3


@respx.mock
def test_timeouts_are_retried_then_succeed():
    route = respx.get(FEED)
    route.side_effect = [httpx.ReadTimeout("slow"), httpx.Response(200, json=_page(["a"], 1, 1))]
    assert [r["id"] for r in _fetch()] == ["a"]


@respx.mock
def test_a_feed_that_keeps_failing_stops_with_a_clear_error():
    respx.get(FEED).side_effect = [httpx.Response(500)] * 3
    with pytest.raises(importer.FeedError, match="failed 3 times"):
        _fetch()


@respx.mock
def test_malformed_page_stops_with_the_page_named():
    respx.get(FEED).side_effect = [
        httpx.Response(200, json=_page(["a", "b"], 1, 2)),
        httpx.Response(200, text="<html>oops</html>"),
    ]
    with pytest.raises(importer.FeedError, match="page 2"):
        _fetch()


@respx.mock
def test_client_errors_are_not_retried():
    route = respx.get(FEED)
    route.side_effect = [httpx.Response(404)]
    with pytest.raises(importer.FeedError, match="HTTP 404"):
        _fetch()
    assert route.call_count == 1


@respx.mock
def test_a_server_that_ignores_paging_does_not_loop_for_ever():
    respx.get(FEED).mock(return_value=httpx.Response(200, json={"contents": [{"id": "a", "name": "A"}]}))
    assert [r["id"] for r in _fetch()] == ["a"]


@respx.mock
def test_remote_feed_imports_through_load_source(session):
    respx.get(FEED).mock(return_value=httpx.Response(200, json=_page(["remote-1"], 1, 1)))
    report = importer.ImportReport(source=FEED, format="oruk3")
    records = importer.load_source(FEED, fmt="oruk3", policy=_policy())
    importer.import_records(session=session, records=records, report=report, actor="test")
    assert report.created == ["remote-1"]
