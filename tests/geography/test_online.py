"""The optional postcodes.io-compatible resolver: off by default, timeouts and 5xx give unknown, answers cached."""

from collections.abc import Iterator

import httpx
import pytest
import respx
from sqlmodel import Session

from signpost.config import Settings
from signpost.geography import online
from signpost.geography import service as geography
from tests.factories import load_test_geography

BASE = "http://postcodes.internal"


@pytest.fixture(autouse=True)
def fresh_cache() -> Iterator[None]:
    online.clear_cache()
    yield
    online.clear_cache()


def with_resolver(settings: Settings) -> Settings:
    return settings.model_copy(update={"postcode_resolver_url": BASE, "postcode_resolver_timeout_s": 0.5})


def answer(postcode: str, lsoa: str | None) -> dict:  # type: ignore[type-arg]
    """A postcodes.io bulk lookup answer for one postcode (lsoa None: not found)."""
    result = {
        "postcode": postcode,
        "latitude": 53.8,
        "longitude": -1.55,
        "codes": {"lsoa": lsoa, "admin_ward": "E05011390", "admin_district": "E08000035"},
    }
    return {"status": 200, "result": [{"query": postcode, "result": result if lsoa else None}]}


def test_resolver_is_off_by_default(session: Session, settings: Settings) -> None:
    assert settings.postcode_resolver_url == ""
    with respx.mock(assert_all_called=False) as mock:
        route = mock.get(url__startswith=BASE)
        assert not geography.resolve(session, "LS1 1AA", settings=settings).known
    assert not route.called


@respx.mock
def test_postcode_not_loaded_is_resolved_online_and_joined_to_loaded_lsoas(
    session: Session, settings: Settings
) -> None:
    load_test_geography(session)
    respx.post(f"{BASE}/postcodes").mock(return_value=httpx.Response(200, json=answer("LS1 1AA", "E01011376")))
    place = geography.resolve(session, "ls11aa", settings=with_resolver(settings))
    assert place.known and place.lsoa_code == "E01011376"
    assert (place.ward_code, place.imd_decile) == ("E05012841", 10)
    assert place.latitude == 53.8


@respx.mock
def test_answers_are_cached(session: Session, settings: Settings) -> None:
    route = respx.post(f"{BASE}/postcodes").mock(return_value=httpx.Response(200, json=answer("LS2 9JT", "E01011352")))
    for _ in range(3):
        assert online.lookup("LS2 9JT", base_url=BASE) is not None
    assert route.call_count == 1


@respx.mock
def test_not_found_is_unknown(session: Session, settings: Settings) -> None:
    respx.post(f"{BASE}/postcodes").mock(return_value=httpx.Response(200, json=answer("LS1 1AA", None)))
    assert not geography.resolve(session, "LS1 1AA", settings=with_resolver(settings)).known


@respx.mock
def test_timeout_is_unknown_not_an_error(session: Session, settings: Settings) -> None:
    respx.post(f"{BASE}/postcodes").mock(side_effect=httpx.ReadTimeout("slow"))
    assert not geography.resolve(session, "LS1 1AA", settings=with_resolver(settings)).known


@respx.mock
def test_server_error_is_unknown_and_not_cached(session: Session, settings: Settings) -> None:
    route = respx.post(f"{BASE}/postcodes").mock(
        side_effect=[httpx.Response(503), httpx.Response(200, json=answer("LS3 1AA", "E01011352"))]
    )
    assert online.lookup("LS3 1AA", base_url=BASE) is None
    assert online.lookup("LS3 1AA", base_url=BASE) is not None
    assert route.call_count == 2


@respx.mock
def test_answer_of_the_wrong_shape_is_unknown(session: Session, settings: Settings) -> None:
    respx.post(f"{BASE}/postcodes").mock(return_value=httpx.Response(200, text="<html>proxy</html>"))
    assert online.lookup("LS1 1AA", base_url=BASE) is None


@respx.mock
def test_postcode_goes_in_the_body_not_the_url(session: Session, settings: Settings) -> None:
    route = respx.post(f"{BASE}/postcodes").mock(return_value=httpx.Response(200, json=answer("LS1 1AA", "E01011352")))
    geography.resolve(session, "LS1 1AA", settings=with_resolver(settings))
    request = route.calls.last.request
    assert "LS1" not in str(request.url)
    assert request.read() == b'{"postcodes":["LS1 1AA"]}'


@respx.mock
def test_failures_are_logged_without_the_postcode(
    session: Session, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    respx.post(f"{BASE}/postcodes").mock(side_effect=[httpx.ConnectError("refused"), httpx.Response(500)])
    with caplog.at_level("DEBUG", logger="signpost"):
        geography.resolve(session, "LS1 1AA", settings=with_resolver(settings))
        online.lookup("LS2 2AA", base_url=BASE)
    assert "resolver" in caplog.text
    assert "LS1" not in caplog.text and "LS2" not in caplog.text
