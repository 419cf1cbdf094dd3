"""Every geography test starts from no geography loaded, whatever other tests left in the shared database."""

from collections.abc import Iterator

import pytest
from sqlmodel import Session

from signpost.geography import service as geography
from tests.geography.support import clear_geography


@pytest.fixture(autouse=True)
def no_geography(session: Session) -> Iterator[None]:
    # On SQLite, SAVEPOINT without BEGIN lets a route's commit outlive the rollback: start clean regardless.
    clear_geography(session)
    yield
    geography.invalidate_cache()
