"""Plain factories for page tests through the TestClient."""

import re
import uuid

from fastapi.testclient import TestClient
from sqlmodel import Session

from signpost.auth import users

PASSWORD = "a long enough password"


def make_user(session: Session, role: str, *, username: str | None = None, practice_ods: str | None = None) -> str:
    """A user of the role; returns the username (the password is PASSWORD)."""
    name = username or f"{role}-{uuid.uuid4().hex[:10]}"
    users.create_user(session=session, username=name, password=PASSWORD, role=role, practice_ods=practice_ods)
    session.flush()
    return name


def csrf_from(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "the page has no CSRF token"
    return found.group(1)


def sign_in(client: TestClient, username: str, password: str = PASSWORD) -> None:
    token = csrf_from(client.get("/sign-in").text)
    answer = client.post(
        "/sign-in",
        data={"csrf_token": token, "username": username, "password": password, "next": "/"},
        follow_redirects=False,
    )
    assert answer.status_code == 303, answer.text
