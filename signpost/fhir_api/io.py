"""FHIR wire format: media types, `_format`, request bodies, `_count`."""

import hashlib
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any

import orjson
from fastapi import Query, Request
from fastapi.responses import JSONResponse, Response

from signpost.config import get_settings
from signpost.errors import FHIR_JSON, Problem

JSON_FORMATS = {"json", "application/json", "application/fhir+json", "application/json+fhir"}


class FhirResponse(JSONResponse):
    media_type = FHIR_JSON

    def render(self, content: Any) -> bytes:
        # orjson: a $signpost Bundle is over 20 KB, and the standard library took a tenth of the request to write it.
        return orjson.dumps(content)


async def check_format(request: Request, _format: str | None = Query(default=None)) -> None:
    """Honour `_format` and Accept: JSON only; anything else is 406."""
    if _format is not None and _format.split(";")[0].strip().lower() not in JSON_FORMATS:
        raise Problem(406, f"_format={_format} is not supported; this server speaks application/fhir+json.")
    accept = request.headers.get("accept", "")
    if accept and _format is None:
        kinds = {part.split(";")[0].strip().lower() for part in accept.split(",")}
        if not kinds & (JSON_FORMATS | {"*/*", "application/*"}):
            raise Problem(406, f"Cannot answer as {accept}; this server speaks application/fhir+json.")


async def read_json_body(request: Request) -> Any:
    """The request body as JSON, after checking its media type (415) and syntax (400)."""
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media not in JSON_FORMATS:
        raise Problem(415, f"Send the body as application/fhir+json, not {media or 'an unnamed type'}.")
    raw = await request.body()
    if not raw:
        raise Problem(400, "The body is empty; a FHIR resource was expected.")
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        if "UTF-8" in exc.msg:
            raise Problem(400, "The body is not valid UTF-8.") from None
        raise Problem(400, f"The body is not valid JSON: {exc.msg}.") from None


def page_size(count: int | None) -> int:
    """`_count` bounded by the configured maximum (FHIR lets a server return fewer)."""
    settings = get_settings()
    if count is None:
        return settings.fhir_default_count
    if count < 0:
        raise Problem(400, "_count must not be negative.")
    return min(count, settings.fhir_max_count)


def _etags(header: str) -> set[str]:
    return {tag.strip().removeprefix("W/") for tag in header.split(",") if tag.strip()}


def read_response(request: Request, resource: dict[str, Any], *, etag: str | None = None) -> Response:
    """A read: ETag (the versionId, else `etag`), Last-Modified, 304 for If-None-Match."""
    meta = resource.get("meta") or {}
    tag = meta.get("versionId") or etag
    headers: dict[str, str] = {}
    if tag:
        headers["ETag"] = f'W/"{tag}"'
    # meta.lastUpdated where the server keeps it; a shipped artifact's own `date` (when it last changed) otherwise.
    if updated := meta.get("lastUpdated") or resource.get("date"):
        when = datetime.fromisoformat(updated.replace("Z", "+00:00"))
        when = when if when.tzinfo else when.replace(tzinfo=UTC)
        headers["Last-Modified"] = format_datetime(when.astimezone(UTC), usegmt=True)
    wanted = request.headers.get("if-none-match")
    if tag and wanted and ("*" in wanted or f'"{tag}"' in _etags(wanted)):
        return Response(status_code=304, headers=headers)
    return FhirResponse(resource, headers=headers)


def content_tag(resource: dict[str, Any]) -> str:
    """An ETag for a resource the server does not version (a shipped file): a digest of its content."""
    return hashlib.sha256(orjson.dumps(resource, option=orjson.OPT_SORT_KEYS)).hexdigest()[:16]
