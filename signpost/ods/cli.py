"""`signpost ods import epraccur.csv`: load NHS Digital's list of GP practices."""

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from sqlmodel import Session

from signpost import db
from signpost.ods import service

app = typer.Typer(help="GP practices (ODS): the list practice codes are checked against.", no_args_is_help=True)
console = Console(stderr=True)


@app.command("import")
def import_(
    path: Annotated[Path, typer.Argument(help="epraccur.csv from NHS Digital's ODS data (no header row)")],
) -> None:
    """Replace the list of GP practices with an epraccur file; practice codes must then be in it."""
    with Session(db.get_engine()) as session:
        try:
            found = service.import_epraccur(session=session, path=path)
        except (service.EpraccurError, OSError) as exc:
            console.print(f"[red]{path}: {exc}[/red]")
            raise typer.Exit(2) from None
        session.commit()
    statuses = ", ".join(f"{status} {n}" for status, n in sorted(found.by_status.items()))
    print(f"Loaded {found.practices} GP practices ({statuses}).")
