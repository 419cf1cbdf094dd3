"""`signpost geography …`: import the official files, show what is loaded."""

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table
from sqlmodel import Session

from signpost import db
from signpost.config import get_settings
from signpost.geography import importers, status

app = typer.Typer(help="Geography: postcode directory, LSOA → ward lookups, deprivation, ward populations.")
import_app = typer.Typer(help="Import an official file (all or nothing; safe to repeat).", no_args_is_help=True)
app.add_typer(import_app, name="import")

console = Console(stderr=True)

FileArg = Annotated[Path, typer.Argument(help="The CSV file", show_default=False)]
LaOption = Annotated[
    list[str] | None,
    typer.Option("--la", help="Local authority code to keep (repeat); default SIGNPOST_LOCAL_AUTHORITIES"),
]
YearOption = Annotated[int | None, typer.Option(help="The year, when the file's columns and name do not say")]


def _run(
    kind: str, path: Path, *, la: list[str] | None, year: int | None = None, lsoa_vintage: int | None = None
) -> None:
    settings = get_settings()
    las = la or settings.local_authorities
    size = path.stat().st_size if path.is_file() else 0
    with Session(db.get_engine()) as session:
        with Progress(
            TextColumn(f"{kind} {path.name}"),
            BarColumn(),
            DownloadColumn(),
            TimeRemainingColumn(),
            console=console,
            transient=True,
        ) as progress:
            task = progress.add_task(kind, total=size or None)
            try:
                summary = importers.import_file(
                    session,
                    kind,
                    path,
                    local_authorities=las,
                    year=year,
                    lsoa_vintage=lsoa_vintage,
                    progress=lambda done: progress.update(task, completed=done),
                )
            except importers.GeographyImportError as exc:
                session.rollback()
                console.print(f"Not imported: {exc}", style="red", markup=False, soft_wrap=True)
                console.print("Nothing was changed.")
                raise typer.Exit(2) from None
        session.commit()
    table = Table("", "", title=f"Imported {kind}: {path.name}", show_header=False)
    table.add_row("rows read", f"{summary.rows_read:,}")
    for what, count in summary.loaded.items():
        table.add_row(f"loaded: {what}", f"{count:,}")
    for why, count in summary.skipped.items():
        table.add_row(f"skipped: {why}", f"{count:,}")
    if summary.vintage:
        table.add_row("vintage", str(summary.vintage))
    if summary.year:
        table.add_row("year", str(summary.year))
    table.add_row("local authorities", ", ".join(las))
    Console().print(table)


@import_app.command("nspl")
def import_nspl(
    file: FileArg,
    la: LaOption = None,
    lsoa_vintage: Annotated[
        int | None, typer.Option(help="2011 or 2021: which LSOA column to keep (default: the vintage loaded)")
    ] = None,
) -> None:
    """The ONS postcode directory (NSPL or ONSPD CSV): live postcodes of the configured local authorities."""
    _run("nspl", file, la=la, lsoa_vintage=lsoa_vintage)


@import_app.command("lsoa-ward")
def import_lsoa_ward(file: FileArg, la: LaOption = None) -> None:
    """An ONS LSOA → ward lookup of any year (LSOA11CD/LSOA21CD, WDyyCD, WDyyNM, LADyyCD)."""
    _run("lsoa-ward", file, la=la)


@import_app.command("imd")
def import_imd(file: FileArg, la: LaOption = None, year: YearOption = None) -> None:
    """English Indices of Deprivation, File 1 or File 7 (2019, 2025) or a simplified LSOA file."""
    _run("imd", file, la=la, year=year)


@import_app.command("ward-population")
def import_ward_population(file: FileArg, la: LaOption = None, year: YearOption = None) -> None:
    """Ward population estimates (WDyyCD, a population column)."""
    _run("ward-population", file, la=la, year=year)


@import_app.command("ward-crosswalk")
def import_ward_crosswalk(file: FileArg) -> None:
    """A ward code crosswalk: one ward per row, its WDyyCD codes in two or more years."""
    _run("ward-crosswalk", file, la=None)


@app.command("status")
def show_status() -> None:
    """What is loaded: per table, vintage, rows, local authorities, IMD year."""
    with Session(db.get_engine()) as session:
        lines = status.table_status(session)
        recent = status.last_imports(session)
    out = Console()
    if not lines:
        out.print("No geography loaded: every postcode resolves as unknown. See README, 'Geography'.")
        return
    table = Table("table", "vintage", "rows", "local authorities", "detail", title="Geography loaded")
    for line in lines:
        table.add_row(
            line.table, str(line.vintage or ""), f"{line.rows:,}", ", ".join(line.local_authorities), line.detail
        )
    out.print(table)
    history = Table("imported at", "kind", "file", "rows", title="Recent imports")
    for item in recent:
        history.add_row(item.imported_at.isoformat(timespec="seconds"), item.kind, item.source_name, f"{item.rows:,}")
    out.print(history)
