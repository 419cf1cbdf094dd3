"""Sending a month's MeasureReports to the city's indicator endpoint (a FHIR server).

Each report goes as a conditional update on its identifier (`PUT MeasureReport?identifier=system|value`),
so sending a month again replaces what was sent, never duplicates it. 5xx answers and timeouts are
retried with exponential backoff; a 4xx means the request itself is wrong, so it stops at once.
"""

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

import httpx
from sqlmodel import Session

from signpost.config import Settings
from signpost.indicators import measures
from signpost.indicators.service import month_end
from signpost.indicators.suppression import policy_for


class PushError(Exception):
    """The push stopped; the message says why and what to do."""


@dataclass(frozen=True)
class Pushed:
    measure_id: str
    identifier: str
    status: int


def month_period(text: str) -> tuple[date, date]:
    """`2026-10` -> (2026-10-01, 2026-10-31)."""
    try:
        year, month = (int(part) for part in text.split("-"))
        start = date(year, month, 1)
    except ValueError:
        raise PushError(f"--period must be a month as YYYY-MM (e.g. 2026-10), not '{text}'.") from None
    return start, month_end(start)


def _outcome_text(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:200]
    issues = body.get("issue", []) if isinstance(body, dict) else []
    return "; ".join(str(i.get("diagnostics") or i.get("code")) for i in issues) or response.text[:200]


def _send(
    client: httpx.Client,
    url: str,
    identifier: str,
    resource: dict,  # type: ignore[type-arg]
    *,
    attempts: int,
    backoff_s: float,
    sleep: Callable[[float], None],
    headers: dict[str, str],
) -> int:
    for attempt in range(attempts):
        last_error: str
        try:
            response = client.put(url, params={"identifier": identifier}, content=json.dumps(resource), headers=headers)
        except httpx.TimeoutException:
            last_error = "timed out"
        except httpx.TransportError as exc:
            last_error = f"could not connect ({exc.__class__.__name__})"
        else:
            if response.status_code < 300:
                return response.status_code
            if response.status_code < 500:
                hint = " Check SIGNPOST_INDICATOR_ENDPOINT_TOKEN." if response.status_code in (401, 403) else ""
                raise PushError(
                    f"The indicator endpoint refused {identifier} with {response.status_code}: "
                    f"{_outcome_text(response)}.{hint}"
                )
            last_error = f"answered {response.status_code}"
        if attempt + 1 < attempts:
            sleep(backoff_s * 2**attempt)
    raise PushError(f"The indicator endpoint {last_error} for {identifier} after {attempts} attempts; try again later.")


def push_month(
    *,
    session: Session,
    settings: Settings,
    period: str,
    client: httpx.Client | None = None,
    attempts: int = 4,
    backoff_s: float = 0.5,
    sleep: Callable[[float], None] = time.sleep,
) -> list[Pushed]:
    """Evaluate every Measure for the month and send each MeasureReport; raises PushError to stop."""
    if not settings.indicator_endpoint_url:
        raise PushError("No indicator endpoint is configured: set SIGNPOST_INDICATOR_ENDPOINT_URL.")
    start, end = month_period(period)
    policy = policy_for(
        name=settings.suppression_policy, threshold=settings.suppression_threshold, admin=False, export=True
    )
    headers = {"Content-Type": "application/fhir+json", "Accept": "application/fhir+json"}
    if settings.indicator_endpoint_token:
        headers["Authorization"] = f"Bearer {settings.indicator_endpoint_token}"
    url = settings.indicator_endpoint_url.rstrip("/") + "/MeasureReport"
    own_client = client is None
    client = client or httpx.Client(timeout=30)
    pushed = []
    try:
        for measure_id, measure in measures.load_measures().items():
            report = measures.evaluate(session=session, measure=measure, start=start, end=end, policy=policy)
            identifier = report["identifier"][0]
            token = f"{identifier['system']}|{identifier['value']}"
            # The server names the resource on a conditional create; our id would clash with its own.
            body = {k: v for k, v in report.items() if k != "id"}
            status = _send(
                client,
                url,
                token,
                body,
                attempts=attempts,
                backoff_s=backoff_s,
                sleep=sleep,
                headers=headers,
            )
            pushed.append(Pushed(measure_id, identifier["value"], status))
    finally:
        if own_client:
            client.close()
    return pushed
