"""`signpost directory import | export | check-links`: registered on the directory's command group."""

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table
from sqlmodel import Session

from signpost import db
from signpost.directory import importer, links
from signpost.openreferral import exporter

console = Console(stderr=True)


def import_command(
    source: Annotated[str, typer.Argument(help="A file, or the http(s) URL of a feed's /services")],
    format: Annotated[
        str | None, typer.Option("--format", help="oruk1, oruk3 or csv (default: JSON, or CSV by file name)")
    ] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Report what would change; write nothing")] = False,
    actor: Annotated[str, typer.Option(help="Who the audit trail names")] = "import (command line)",
) -> None:
    """Import an Open Referral feed: new ids created, changed ones updated, nothing duplicated."""
    report = importer.ImportReport(source=source, format=format or "auto", dry_run=dry_run)
    with Session(db.get_engine()) as session, _progress() as progress:
        task = progress.add_task("importing", total=None)
        try:
            # A local file is read once first (holding nothing) so a broken one fails before anything is
            # written, and so the bar knows its length; a remote feed is paged through as it comes.
            total = importer.scan_source(source, fmt=format)
            progress.update(task, total=total)
            importer.import_records(
                session=session,
                records=importer.load_source(source, fmt=format),
                report=report,
                actor=actor,
                on_record=lambda: progress.advance(task),
                on_batch=session.commit,  # each batch is whole; a running server's writes are not held up
            )
        except importer.FeedError as exc:
            progress.stop()
            console.print(f"[red]Cannot import: {exc}[/red]")
            if report.created or report.updated:  # a remote feed that failed part-way: earlier batches are kept
                console.print("[red]The feed stopped part-way; what was imported before that is reported below.[/red]")
                print_report(report)
            raise typer.Exit(2) from None
        progress.update(task, total=report.total, completed=report.total)
        if not dry_run:
            session.commit()
    print_report(report)


def print_report(report: importer.ImportReport) -> None:
    table = Table("outcome", "services", title=f"{'Dry run: ' if report.dry_run else ''}import of {report.source}")
    table.add_row("read", str(report.total))
    table.add_row("created", str(len(report.created)))
    table.add_row("updated", str(len(report.updated)))
    table.add_row("unchanged", str(len(report.unchanged)))
    table.add_row("possible duplicates", str(len(report.duplicates)))
    table.add_row("rejected", str(len(report.rejected)))
    table.add_row("without an organisation", str(len(report.without_organization)))
    table.add_row("warnings", str(len(report.warnings)))
    if report.categories:
        table.add_row("categorised from the feed's own categories", str(report.categories["by_feed"]))
        table.add_row("categorised by crosswalk (fhir/ConceptMap-…)", str(report.categories["by_crosswalk"]))
        table.add_row("categorised by suggestion (awaiting an editor)", str(report.categories["by_suggestion"]))
        table.add_row("not categorised", str(report.categories["uncategorised"]))
    Console().print(table)
    if report.categories:
        Console().print(report.categories["note"])
    for dup in report.duplicates[:50]:
        match = dup["matches"][0]
        Console().print(
            f"  duplicate? {dup['name']} ({dup['id']}) ~ {match['name']} ({match['id']}): {match['reason']}"
        )
    for record in report.without_organization[:50]:
        Console().print(f"  no organisation named: {record['name']} ({record['id']}); filed under its own name")
    for warning in report.warnings[:200]:
        Console().print(f"  warning: {warning['name']} ({warning['id']}): {warning['message']}")
    if len(report.warnings) > 200:
        Console().print(f"  … and {len(report.warnings) - 200} more warnings (the API's import report lists them all)")
    for rejection in report.rejected[:200]:
        Console().print(f"  rejected #{rejection.index} {rejection.id or ''} {rejection.field}: {rejection.reason}")


def export_command(
    file: Annotated[Path, typer.Argument(help="Where to write; '-' for standard output")],
    format: Annotated[str, typer.Option("--format", help="oruk3 or csv")] = "oruk3",
) -> None:
    """Export the directory as ORUK 3.0 JSON or CSV (the import command reads both back)."""
    if format not in exporter.EXPORT_FORMATS:
        console.print(f"[red]Unknown format {format}; use {' or '.join(exporter.EXPORT_FORMATS)}.[/red]")
        raise typer.Exit(2)
    with Session(db.get_engine()) as session:
        if str(file) == "-":
            count = exporter.export(session=session, fmt=format, out=sys.stdout)
        else:
            with file.open("w", encoding="utf-8", newline="") as out:
                count = exporter.export(session=session, fmt=format, out=out)
    console.print(f"Exported {count} services as {format} to {file}.")


def check_links_command(
    concurrency: Annotated[int, typer.Option(help="Requests in flight at once")] = 10,
    per_host: Annotated[int, typer.Option(help="Requests in flight to one host")] = 2,
    timeout: Annotated[float, typer.Option(help="Seconds before a website counts as not answering")] = 10.0,
) -> None:
    """Check every service's website; broken ones go to the review queue."""
    with Session(db.get_engine()) as session, _progress() as progress:
        urls = links.urls_to_check(session=session)
        task = progress.add_task("checking links", total=len(urls))
        outcomes = links.check_urls(
            urls,
            policy=links.LinkPolicy(concurrency=concurrency, per_host=per_host, timeout_s=timeout),
            on_result=lambda _outcome: progress.advance(task),
        )
        links.record_outcomes(session=session, outcomes=outcomes)
        session.commit()
    broken = [o for o in outcomes if not o.ok]
    console.print(f"Checked {len(outcomes)} websites: {len(outcomes) - len(broken)} fine, {len(broken)} broken.")
    for outcome in broken[:100]:
        console.print(f"  {outcome.url}: {outcome.error or outcome.status}")


def _progress() -> Progress:
    return Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    )


def register(directory_app: typer.Typer) -> None:
    """Add import, export and check-links to the `signpost directory` command group."""
    directory_app.command("import")(import_command)
    directory_app.command("export")(export_command)
    directory_app.command("check-links")(check_links_command)
