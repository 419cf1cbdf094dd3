"""Link checks: every website the directory shows, checked concurrently with timeouts and a per-host limit.

The latest outcome per URL goes to `link_check`; the review queue lists services whose link failed.
"""

import asyncio
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlsplit

import httpx
from sqlmodel import Session, col, select

from signpost.directory.models import LinkCheck, Organization, Service

USER_AGENT = "Signpost link checker (+https://signpost.example.org)"
# Some servers refuse HEAD (or answer it wrongly); these answers are retried with GET.
HEAD_FALLBACK = {403, 404, 405, 429, 500, 501, 503}


@dataclass
class LinkPolicy:
    """How hard the checker pushes."""

    concurrency: int = 10
    per_host: int = 2
    timeout_s: float = 10.0
    max_redirects: int = 5


@dataclass(frozen=True)
class LinkOutcome:
    """What one URL answered."""

    url: str
    ok: bool
    status: int | None
    error: str | None
    checked_at: datetime


def urls_to_check(*, session: Session) -> list[str]:
    """Every distinct website of a service still listed, and of the organisations behind them."""
    service_urls = session.exec(
        select(Service.url).where(col(Service.retired_at).is_(None), col(Service.url).is_not(None))
    ).all()
    org_urls = session.exec(
        select(Organization.website)
        .join(Service, col(Service.organization_id) == col(Organization.id))
        .where(col(Service.retired_at).is_(None), col(Organization.website).is_not(None))
    ).all()
    return sorted({u.strip() for u in [*service_urls, *org_urls] if u and u.strip().lower().startswith("http")})


def _host(url: str) -> str:
    return (urlsplit(url).hostname or "").lower()


async def _check_one(client: httpx.AsyncClient, url: str, policy: LinkPolicy) -> LinkOutcome:
    now = datetime.now(UTC)
    try:
        response = await client.head(url)
        if response.status_code in HEAD_FALLBACK:
            async with client.stream("GET", url) as streamed:  # headers are enough; the body is not read
                response = streamed
        ok = response.status_code < 400
        return LinkOutcome(url, ok, response.status_code, None if ok else f"HTTP {response.status_code}", now)
    except httpx.TimeoutException:
        return LinkOutcome(url, False, None, f"no answer within {policy.timeout_s:g} s", now)
    except httpx.TooManyRedirects:
        return LinkOutcome(url, False, None, "too many redirects", now)
    except httpx.InvalidURL:
        return LinkOutcome(url, False, None, "not a valid web address", now)
    except httpx.HTTPError as exc:
        return LinkOutcome(url, False, None, f"could not connect ({type(exc).__name__})", now)


async def check_urls_async(
    urls: Sequence[str], *, policy: LinkPolicy, on_result: Callable[[LinkOutcome], None] | None = None
) -> list[LinkOutcome]:
    """Check URLs concurrently: at most `concurrency` in flight, and `per_host` to any one host."""
    overall = asyncio.Semaphore(policy.concurrency)
    hosts: dict[str, asyncio.Semaphore] = defaultdict(lambda: asyncio.Semaphore(policy.per_host))
    async with httpx.AsyncClient(
        timeout=policy.timeout_s,
        follow_redirects=True,
        max_redirects=policy.max_redirects,
        headers={"User-Agent": USER_AGENT},
    ) as client:

        async def guarded(url: str) -> LinkOutcome:
            async with hosts[_host(url)], overall:
                outcome = await _check_one(client, url, policy)
            if on_result:
                on_result(outcome)
            return outcome

        return list(await asyncio.gather(*(guarded(u) for u in dict.fromkeys(urls))))


def check_urls(
    urls: Sequence[str], *, policy: LinkPolicy | None = None, on_result: Callable[[LinkOutcome], None] | None = None
) -> list[LinkOutcome]:
    """The synchronous entry point for commands."""
    return asyncio.run(check_urls_async(urls, policy=policy or LinkPolicy(), on_result=on_result))


def record_outcomes(*, session: Session, outcomes: Sequence[LinkOutcome]) -> None:
    """Keep the latest outcome per URL (one row each); does not commit."""
    if not outcomes:
        return
    held = {
        row.url: row for row in session.exec(select(LinkCheck).where(col(LinkCheck.url).in_([o.url for o in outcomes])))
    }
    for outcome in outcomes:
        row = held.get(outcome.url) or LinkCheck(url=outcome.url, checked_at=outcome.checked_at, ok=outcome.ok)
        row.checked_at = outcome.checked_at
        row.ok = outcome.ok
        row.status = outcome.status
        row.error = (outcome.error or None) and outcome.error[:300]
        session.add(row)
    session.flush()
