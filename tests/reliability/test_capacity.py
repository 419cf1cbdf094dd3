"""Capacity: what lets the service keep answering when more clients arrive than it has connections for."""

import anyio
import anyio.to_thread

from signpost import db


def test_the_connection_pool_is_at_least_as_large_as_the_thread_pool(settings) -> None:  # type: ignore[no-untyped-def]
    pool = db.make_engine(settings.database_url).pool
    capacity = pool.size() + pool._max_overflow  # type: ignore[attr-defined]
    assert capacity >= anyio.run(_thread_limit)


async def _thread_limit() -> float:
    return anyio.to_thread.current_default_thread_limiter().total_tokens
