"""Plain factory functions for tests."""

from sqlmodel import Session


def make_key(session: Session, role: str, *, name: str = "test", practice_ods: str | None = None) -> str:
    """A fresh key of the given role (a plain factory, as the style guide asks)."""
    from signpost.auth import service

    _, secret = service.create_key(session=session, role=role, name=name, practice_ods=practice_ods)
    session.flush()
    return secret


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}
