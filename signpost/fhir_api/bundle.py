"""The one searchset Bundle builder: `total`, `self` and `next` links, all under the configured public base."""

import uuid
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from fastapi import Request

from signpost.fhir_api.search import CONFORMANCE_PARAMS, Search, elements_only, filter_shipped, parse


def fhir_base(request: Request) -> str:
    """The FHIR base URL every absolute link is written from: SIGNPOST_PUBLIC_BASE_URL, never the Host header."""
    return request.app.state.settings.public_base_url.rstrip("/") + "/fhir"


def _url(request: Request, base: str, used: list[tuple[str, str]], offset: int) -> str:
    params = list(used)
    if offset:
        params.append(("_offset", str(offset)))
    path = request.url.path.removeprefix("/fhir")
    return f"{base}{path}" + (f"?{urlencode(params)}" if params else "")


def searchset(
    request: Request,
    *,
    resources: list[dict[str, Any]],
    total: int,
    search: Search,
    included: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """A searchset Bundle of `resources` (one page), with paging links holding only the parameters used."""
    base = fhir_base(request)
    offset, count = search.offset, search.count
    links = [{"relation": "self", "url": _url(request, base, search.used, offset)}]
    bundle: dict[str, Any] = {
        "resourceType": "Bundle",
        "id": str(uuid.uuid4()),
        "meta": {"lastUpdated": datetime.now(UTC).isoformat(timespec="seconds")},
        "type": "searchset",
        "total": total,
        "link": links,
    }
    if search.summary_count:
        return bundle
    if count and offset + count < total:
        links.append({"relation": "next", "url": _url(request, base, search.used, offset + count)})
    if offset > 0:
        links.append({"relation": "previous", "url": _url(request, base, search.used, max(0, offset - count))})
    entries = [
        {
            "fullUrl": f"{base}/{r['resourceType']}/{r['id']}",
            "resource": elements_only(r, search.elements),
            "search": {"mode": "match"},
        }
        for r in resources
    ]
    entries += [
        {"fullUrl": f"{base}/{r['resourceType']}/{r['id']}", "resource": r, "search": {"mode": "include"}}
        for r in included or []
    ]
    if entries:
        bundle["entry"] = entries
    return bundle


def page(items: list[dict[str, Any]], search: Search) -> list[dict[str, Any]]:
    """One page of an in-memory result."""
    return [] if search.summary_count else items[search.offset : search.offset + search.count]


def shipped_searchset(request: Request, resources: list[dict[str, Any]]) -> dict[str, Any]:
    """A search of resources shipped in fhir/ by _id, url, version and status (filtered in memory)."""
    found = parse(request, params=CONFORMANCE_PARAMS)
    matched = filter_shipped(resources, found)
    return searchset(request, resources=page(matched, found), total=len(matched), search=found)
