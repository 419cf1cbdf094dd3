"""`signpost indicators …`: fold pending events in, rebuild the roll-ups, push a month's MeasureReports."""

from datetime import date
from typing import Annotated

import typer
from rich.console import Console
from sqlmodel import Session

from signpost import db
from signpost.config import get_settings
from signpost.indicators import push as pushing
from signpost.indicators import retention, rollup, suppression

app = typer.Typer(help="Indicator roll-ups and the push to the indicator endpoint.", no_args_is_help=True)
console = Console(stderr=True)


@app.command()
def rebuild() -> None:
    """Recompute every roll-up from the events (in one transaction)."""
    with Session(db.get_engine()) as session:
        counted = rollup.rebuild(session)
        session.commit()
    print(f"Rebuilt the roll-ups from {counted} events.")


@app.command()
def fold() -> None:
    """Fold every pending submission's events into the roll-ups now (a server does it every SIGNPOST_FOLD_SECONDS)."""
    with console.status("Folding…") as status:
        folded = rollup.fold_all(db.get_engine(), lambda done: status.update(f"Folded {done:,} submissions…"))
    print(f"Folded {folded} submissions into the roll-ups.")


@app.command()
def retain(
    months: Annotated[
        int | None, typer.Option(help="Keep this many months of raw events (default SIGNPOST_EVENT_RETENTION_MONTHS)")
    ] = None,
) -> None:
    """Delete raw events older than the retention period that the roll-ups hold, and make the coming months' event
    partitions on PostgreSQL (servers do both periodically)."""
    keep = get_settings().event_retention_months if months is None else months
    if keep <= 0:
        print("Retention is off (0 months): no events deleted.")
        return
    with Session(db.get_engine()) as session:
        deleted = retention.maintain(session, today=date.today(), months=keep)
        session.commit()
    print(f"Deleted {deleted} events from before {retention.cutoff(date.today(), keep)}; reports read their roll-ups.")


@app.command()
def push(
    period: Annotated[str, typer.Option(help="The month to send, as YYYY-MM (e.g. 2026-10)")],
) -> None:
    """Send the month's MeasureReports to SIGNPOST_INDICATOR_ENDPOINT_URL (a repeat replaces them)."""
    settings = get_settings()
    with Session(db.get_engine()) as session:
        try:
            sent = pushing.push_month(session=session, settings=settings, period=period)
        except pushing.PushError as exc:
            console.print(f"[red]{exc}[/red]")
            raise typer.Exit(2) from None
    for item in sent:
        print(f"{item.identifier}: {item.status}")
    print(f"Sent {len(sent)} MeasureReports for {period}.")


@app.command()
def ptable() -> None:
    """Print the published perturbation table (pcv, ckey, pvalue) as CSV: the noise each count and cell key get."""
    print("pcv,ckey,pvalue")
    for row in suppression.ptable_rows():
        print(",".join(map(str, row)))
