"""`signpost directory …` commands (the importer's commands join this app)."""

import typer
from rich.console import Console
from sqlmodel import Session

from signpost import db
from signpost.directory import starter

app = typer.Typer(help="The service directory.", no_args_is_help=True)
console = Console(stderr=True)


@app.command("load")
def load() -> None:
    """Load the starter categories and services from directory/ (safe to repeat)."""
    with Session(db.get_engine()) as session:
        report = starter.load(session=session)
        session.commit()
    console.print(f"Categories: {report.terms_created} created, {report.terms_updated} updated.", soft_wrap=True)
    console.print(
        f"Services: {report.services_created} created (unverified), {report.services_present} already held.",
        soft_wrap=True,
    )
