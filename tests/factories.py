"""Plain factory functions for tests."""

from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, Engine, event
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool

from signpost import db


@contextmanager
def sql_sent(target: Connection | Engine) -> Iterator[list[tuple[str, Any]]]:
    """The statements `target` sends while the block runs, each with its parameters."""
    sent: list[tuple[str, Any]] = []

    def keep(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        sent.append((statement, parameters))

    event.listen(target, "before_cursor_execute", keep)
    try:
        yield sent
    finally:
        event.remove(target, "before_cursor_execute", keep)


def request_session(session: Session) -> Callable[[], AsyncIterator[Session]]:
    """A stand-in for db.get_session that lends each request the test's (rolled-back) session, ending the request's
    work as get_session does: committed when the route succeeds, rolled back when it raises. What the test set up
    before the request is committed first (a savepoint released), so a request's rollback undoes only its own work."""

    async def lend() -> AsyncIterator[Session]:
        await run_in_threadpool(session.commit)
        async with db.request_transaction(session):
            yield session

    return lend


def make_key(session: Session, role: str, *, name: str = "test", practice_ods: str | None = None) -> str:
    """A fresh key of the given role (a plain factory, as the style guide asks)."""
    from signpost.auth import service

    _, secret = service.create_key(session=session, role=role, name=name, practice_ods=practice_ods)
    session.flush()
    return secret


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


def load_test_geography(session: Session) -> None:
    """Load the real Leeds lookups from ../shared/data/geo/ and a small synthetic NSPL into the test session.

    Skips the test when the shared data is absent. Ward codes resolve to the 2021 vintage (via the crosswalk);
    IMD is 2019 on 2011 LSOAs. Postcodes of tests/geography/data/nspl_synthetic_leeds.csv (invented):

    | postcode | LSOA (2011) | ward (2021 code) | IMD 2019 decile | note |
    |---|---|---|---|---|
    | LS11 0ZA | E01011370 | E05012647 Beeston & Holbeck | 1 | ward code changed in 2019 |
    | LS16 0ZB | E01011376 | E05012841 Adel & Wharfedale | 10 | ward code changed in 2019 |
    | LS25 0ZC | E01011401 | E05013830 Garforth & Swillington | 10 | ward code changed in 2021 |
    | LS7 0ZD | E01011352 | E05011390 Chapel Allerton | 5 | |
    | LS11 0ZE | (E01011317) | | | terminated: resolves as unknown |
    | BD7 0ZF | (E01010667) | | | Bradford (E08000032): not loaded, unknown |

    Any other well-formed postcode (e.g. `LS1 1AA`) resolves as unknown.
    """
    from tests.geography.support import load_leeds_geography

    load_leeds_geography(session)
