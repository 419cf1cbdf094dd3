"""What `signpost serve` does before it listens: migrate, load starter content, make the first admin key."""

from collections.abc import Callable

from rich.console import Console
from sqlmodel import Session

from signpost import db
from signpost.auth import service as auth
from signpost.config import Settings

# Each loader takes (session, settings, console) and loads what it finds at hand; idempotent.
StarterLoader = Callable[[Session, Settings, Console], None]


def starter_loaders() -> list[StarterLoader]:
    """The starter content loaders of every domain, in dependency order."""
    from signpost.directory.starter import starter_loader as directory_starter
    from signpost.geography.starter import load_starter_geography

    return [load_starter_geography, directory_starter]


def prepare(settings: Settings, console: Console) -> str | None:
    """Migrate and load; returns a newly made admin key on first run (None otherwise)."""
    url = settings.effective_database_url
    db.upgrade(url)
    engine = db.get_engine(settings)
    new_key = None
    with Session(engine) as session:
        for loader in starter_loaders():
            loader(session, settings, console)
            session.commit()
        if settings.admin_bootstrap_key:
            auth.ensure_admin_from_secret(session=session, secret=settings.admin_bootstrap_key)
        elif settings.environment == "development" and not auth.has_admin(session=session):
            _, new_key = auth.create_key(session=session, role="admin", name="first admin")
        session.commit()
    return new_key
