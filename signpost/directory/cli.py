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


@app.command("recategorise")
def recategorise(
    only_if_changed: bool = typer.Option(
        False, "--only-if-changed", help="Do nothing unless a category map or the classifier's rules changed"
    ),
) -> None:
    """Re-apply the category maps in fhir/ and the classifier to every service (safe to repeat)."""
    from signpost.directory import categorise

    with Session(db.get_engine()) as session:
        changed = categorise.stale_maps(session=session)
        report = categorise.recategorise(
            session=session, actor="recategorise (command line)", only_if_changed=only_if_changed
        )
        session.commit()
    if report is None:
        console.print("No category map or rule changed since they were last applied; nothing to do.")
        return
    figures = report.summary()
    console.print(f"Maps changed since last applied: {', '.join(changed) or 'none'}.", soft_wrap=True)
    console.print(
        f"Services: {figures['services']}; categorised from the feed {figures['by_feed']}, by crosswalk "
        f"{figures['by_crosswalk']}, by suggestion {figures['by_suggestion']}; links added {report.links_added}, "
        f"removed {report.links_removed}.",
        soft_wrap=True,
    )
    console.print(figures["note"], soft_wrap=True)
