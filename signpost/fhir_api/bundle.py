"""The one searchset Bundle builder: `total`, `self` and `next` links."""

import uuid
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from fastapi import Request


def _url(request: Request, offset: int) -> str:
    params = [(k, v) for k, v in request.query_params.multi_items() if k != "_offset"]
    if offset:
        params.append(("_offset", str(offset)))
    query = urlencode(params)
    return str(request.url.replace(query=query)) if query else str(request.url.replace(query=""))


def searchset(
    request: Request,
    *,
    resources: list[dict[str, Any]],
    total: int,
    offset: int,
    count: int,
    base: str,
    included: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """A searchset Bundle of `resources` (one page), with paging links."""
    links = [{"relation": "self", "url": _url(request, offset)}]
    if count and offset + count < total:
        links.append({"relation": "next", "url": _url(request, offset + count)})
    if offset > 0:
        links.append({"relation": "previous", "url": _url(request, max(0, offset - count))})
    entries = [
        {"fullUrl": f"{base}/{r['resourceType']}/{r['id']}", "resource": r, "search": {"mode": "match"}}
        for r in resources
    ]
    entries += [
        {"fullUrl": f"{base}/{r['resourceType']}/{r['id']}", "resource": r, "search": {"mode": "include"}}
        for r in included or []
    ]
    return {
        "resourceType": "Bundle",
        "id": str(uuid.uuid4()),
        "meta": {"lastUpdated": datetime.now(UTC).isoformat(timespec="seconds")},
        "type": "searchset",
        "total": total,
        "link": links,
        "entry": entries,
    }


def fhir_base(request: Request) -> str:
    return str(request.base_url).rstrip("/") + "/fhir"
