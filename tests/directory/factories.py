"""Plain factory functions for directory tests.

Names carry a unique token, so a test can search for exactly its own records.
"""

import uuid
from typing import Any

from sqlmodel import Session

from signpost.directory import service as directory
from signpost.directory import starter
from signpost.directory.models import Service
from signpost.directory.schemas import ServiceIn


def load_categories(session: Session) -> None:
    starter.load_taxonomy(session=session)


def token() -> str:
    """A word no other record holds."""
    return "zq" + uuid.uuid4().hex[:10]


def service_data(**overrides: Any) -> dict[str, Any]:
    """A valid create-service body; overrides replace fields."""
    data: dict[str, Any] = {
        "name": f"Hyde Park Debt Advice {token()}",
        "description": "Free debt advice for people in Leeds.",
        "organization": {"name": "Hyde Park Advice Centre"},
        "categories": ["debt"],
        "delivery_modes": ["phone"],
        "service_areas": [{"scope": "local_authority", "area_code": "E08000035"}],
    }
    data.update(overrides)
    return data


def make_service(session: Session, *, allow_duplicate: bool = True, **overrides: Any) -> Service:
    """A service written through the service layer (categories loaded first)."""
    load_categories(session)
    service = directory.create_service(
        session=session,
        data=ServiceIn.model_validate(service_data(**overrides)),
        actor="test editor",
        allow_duplicate=allow_duplicate,
    )
    session.flush()
    return service
