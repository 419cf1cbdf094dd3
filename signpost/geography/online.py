"""Optional lookup of postcodes not loaded, on a self-hosted service compatible with postcodes.io.

Uses the postcodes.io bulk lookup, `POST /postcodes {"postcodes": [...]}`, so the postcode travels in the body.
Off unless `SIGNPOST_POSTCODE_RESOLVER_URL` is set. Patient postcodes must never go to a third party, so point
it only at a service you run. Failures (timeouts, 5xx, bad JSON) give "unknown", never an error, and the
postcode is never logged.
"""

import logging
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass

import httpx

log = logging.getLogger(__name__)

_CACHE_SIZE = 50_000
_FOUND_TTL_S = 24 * 3600.0
_MISSING_TTL_S = 3600.0


@dataclass(frozen=True, slots=True)
class Found:
    """What the remote service says about a postcode."""

    postcode: str
    lsoa_code: str | None
    ward_code: str | None
    local_authority: str | None
    latitude: float | None
    longitude: float | None


_cache: "OrderedDict[tuple[str, str], tuple[float, Found | None]]" = OrderedDict()
_lock = threading.Lock()
_clients: dict[tuple[str, float], httpx.Client] = {}


def clear_cache() -> None:
    """Forget remembered answers (tests; after the remote service is repointed)."""
    with _lock:
        _cache.clear()


def _client(base_url: str, timeout: float) -> httpx.Client:
    key = (base_url, timeout)
    client = _clients.get(key)
    if client is None:
        client = httpx.Client(base_url=base_url.rstrip("/"), timeout=httpx.Timeout(timeout), follow_redirects=False)
        _clients[key] = client
    return client


def lookup(postcode: str, *, base_url: str, timeout: float = 2.0) -> Found | None:
    """POST {base_url}/postcodes (bulk form); None when not found or when the service fails (not cached then)."""
    key = (base_url, postcode)
    now = time.monotonic()
    with _lock:
        hit = _cache.get(key)
        if hit is not None and hit[0] > now:
            _cache.move_to_end(key)
            return hit[1]
    try:
        # The bulk POST keeps the postcode out of URLs, so out of proxies' and servers' access logs.
        response = _client(base_url, timeout).post("/postcodes", json={"postcodes": [postcode]})
    except httpx.TimeoutException:
        log.warning("postcode resolver timed out after %.1f s", timeout)
        return None
    except httpx.HTTPError as exc:
        log.warning("postcode resolver unreachable: %s", exc.__class__.__name__)
        return None
    if response.status_code == 404:
        _remember(key, None, _MISSING_TTL_S)
        return None
    if response.status_code != 200:
        log.warning("postcode resolver answered %d", response.status_code)
        return None
    try:
        result = response.json()["result"][0]["result"]
        if result is None:
            _remember(key, None, _MISSING_TTL_S)
            return None
        codes = result.get("codes") or {}
        found = Found(
            postcode=postcode,
            lsoa_code=codes.get("lsoa") or None,
            ward_code=codes.get("admin_ward") or None,
            local_authority=codes.get("admin_district") or None,
            latitude=float(result["latitude"]) if result.get("latitude") is not None else None,
            longitude=float(result["longitude"]) if result.get("longitude") is not None else None,
        )
    except (ValueError, KeyError, TypeError, AttributeError):
        log.warning("postcode resolver gave an answer not in the postcodes.io shape")
        return None
    _remember(key, found, _FOUND_TTL_S)
    return found


def _remember(key: tuple[str, str], found: Found | None, ttl: float) -> None:
    with _lock:
        _cache[key] = (time.monotonic() + ttl, found)
        _cache.move_to_end(key)
        while len(_cache) > _CACHE_SIZE:
            _cache.popitem(last=False)
