"""SQLite's full-text index keeps prefixes of 2 to 8 characters (since d011): the same searches find the same services
as with the index d002 made."""

import pytest
from sqlalchemy import text

from signpost.directory import fulltext
from signpost.directory.search import ServiceQuery, search_services
from tests.directory.factories import make_service, token


def _found(session, words: list[str]) -> dict[str, list[str]]:  # type: ignore[no-untyped-def]
    return {w: [h.service.id for h in search_services(session=session, query=ServiceQuery(text=w)).hits] for w in words}


def test_prefix_searches_find_the_same_services_with_and_without_the_index(session) -> None:  # type: ignore[no-untyped-def]
    if session.get_bind().dialect.name != "sqlite":
        pytest.skip("the prefix index is SQLite's (PostgreSQL matches prefixes in its GIN index)")
    word = token()  # a word of its own, so only this test's services match it
    make_service(session, name=f"{word} housing advice", description="Befriending for tenants in arrears.")
    make_service(session, name=f"{word} homelessness hostel")
    make_service(session, name=f"{word} food bank", description="Emergency parcels.")
    # Prefixes of every indexed length, one longer than any (merged as before), and whole words.
    searches = [f"{word} {p}" for p in ("ho", "hou", "hous", "house", "housin", "housing", "homeless", "befriending")]
    searches += [f"{word} {p}" for p in ("emergency parcels", "arrears", "x")]

    connection = session.connection()
    definition = "SELECT sql FROM sqlite_master WHERE name = 'service_fts'"
    assert f"prefix='{fulltext.SQLITE_PREFIXES}'" in connection.execute(text(definition)).scalar_one()
    with_index = _found(session, searches)
    fulltext.index_with_terms(connection, terms=False)
    assert "prefix" not in connection.execute(text(definition)).scalar_one()
    without = _found(session, searches)
    fulltext.index_with_terms(connection)

    assert with_index == without
    assert [len(with_index[f"{word} {p}"]) for p in ("ho", "hous", "housing", "homeless", "befriending", "x")] == [
        2, 1, 1, 1, 1, 0
    ]  # fmt: skip
