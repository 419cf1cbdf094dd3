"""`signpost referrals …`: the referral loop's housekeeping."""

from typing import Annotated

import typer
from sqlmodel import Session

from signpost import db
from signpost.config import get_settings
from signpost.referrals import service as referrals

app = typer.Typer(help="The referral loop's housekeeping.", no_args_is_help=True)


@app.command()
def purge(
    months: Annotated[
        int | None, typer.Option(min=1, help="Override SIGNPOST_REFERRAL_RETENTION_MONTHS (default 6)")
    ] = None,
) -> None:
    """Delete referrals (and their tokens) closed longer ago than the retention period; their counts stay."""
    kept_for = months or get_settings().referral_retention_months
    with Session(db.get_engine()) as session:
        deleted = referrals.purge(session=session, on=referrals.today(), months=kept_for)
        session.commit()
    print(f"Deleted {deleted} referrals closed more than {kept_for} months ago; their counts stay in the roll-up.")


@app.command()
def remind() -> None:
    """E-mail each provider with referrals past the reply deadline how many are waiting (needs SIGNPOST_SMTP_HOST)."""
    from signpost.referrals import notices

    settings = get_settings()
    if not settings.smtp_host:
        print("SIGNPOST_SMTP_HOST is not set: no e-mail is sent.")
        raise typer.Exit(2)
    with Session(db.get_engine()) as session:
        sent = notices.remind_late(session=session, settings=settings)
    print(f"Sent {sent} reminders.")
