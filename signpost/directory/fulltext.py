"""The full-text index over `service_search`: SQLite FTS5 or a PostgreSQL GIN index, one behaviour.

Both rank name above taxonomy above organisation above description, stem English words (FTS5 `porter`,
PostgreSQL `english`), match every query word (AND) by prefix, and ignore the same stop words.
The index objects are not SQLAlchemy tables, so migration drift checks skip names starting `service_fts`.
"""

import re

from sqlalchemy import Connection, text

INDEX_PREFIX = "service_fts"

# PostgreSQL: the weighted document (name A, taxonomy B, organisation C, description D).
PG_DOCUMENT = (
    "(setweight(to_tsvector('english', coalesce(service_search.name, '')), 'A') || "
    "setweight(to_tsvector('english', coalesce(service_search.taxonomy, '')), 'B') || "
    "setweight(to_tsvector('english', coalesce(service_search.organization, '')), 'C') || "
    "setweight(to_tsvector('english', coalesce(service_search.description, '')), 'D'))"
)

SQLITE_UP = [
    "CREATE VIRTUAL TABLE service_fts USING fts5(name, description, organization, taxonomy, "
    "content='service_search', content_rowid='id', tokenize='porter unicode61 remove_diacritics 2')",
    "CREATE TRIGGER service_fts_ai AFTER INSERT ON service_search BEGIN "
    "INSERT INTO service_fts(rowid, name, description, organization, taxonomy) "
    "VALUES (new.id, new.name, new.description, new.organization, new.taxonomy); END",
    "CREATE TRIGGER service_fts_ad AFTER DELETE ON service_search BEGIN "
    "INSERT INTO service_fts(service_fts, rowid, name, description, organization, taxonomy) "
    "VALUES ('delete', old.id, old.name, old.description, old.organization, old.taxonomy); END",
    "CREATE TRIGGER service_fts_au AFTER UPDATE ON service_search BEGIN "
    "INSERT INTO service_fts(service_fts, rowid, name, description, organization, taxonomy) "
    "VALUES ('delete', old.id, old.name, old.description, old.organization, old.taxonomy); "
    "INSERT INTO service_fts(rowid, name, description, organization, taxonomy) "
    "VALUES (new.id, new.name, new.description, new.organization, new.taxonomy); END",
]
SQLITE_DOWN = [
    "DROP TRIGGER IF EXISTS service_fts_au",
    "DROP TRIGGER IF EXISTS service_fts_ad",
    "DROP TRIGGER IF EXISTS service_fts_ai",
    "DROP TABLE IF EXISTS service_fts",
]
# PostgreSQL keeps the weighted document as a stored generated column, so ranking never re-parses the text.
PG_VECTOR = "service_search.service_fts_vector"
PG_UP = [
    f"ALTER TABLE service_search ADD COLUMN service_fts_vector tsvector GENERATED ALWAYS AS ({PG_DOCUMENT}) STORED",
    "CREATE INDEX service_fts_document ON service_search USING gin (service_fts_vector)",
]
PG_DOWN = [
    "DROP INDEX IF EXISTS service_fts_document",
    "ALTER TABLE service_search DROP COLUMN IF EXISTS service_fts_vector",
]

# Words PostgreSQL's english configuration drops; dropped here too so FTS5 behaves the same.
STOP_WORDS = frozenset(
    [
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "but",
        "by",
        "for",
        "from",
        "has",
        "have",
        "i",
        "if",
        "in",
        "into",
        "is",
        "it",
        "its",
        "of",
        "on",
        "or",
        "our",
        "so",
        "such",
        "that",
        "the",
        "their",
        "then",
        "there",
        "these",
        "they",
        "this",
        "to",
        "was",
        "we",
        "were",
        "which",
        "will",
        "with",
        "you",
        "your",
    ]
)
_WORD = re.compile(r"\w+", re.UNICODE)


def include_name(name: str | None, type_: str, parent_names: object) -> bool:
    """Alembic name filter: leave the full-text index objects out of autogenerate comparisons."""
    return not (name or "").startswith(INDEX_PREFIX)


def query_words(query: str) -> list[str]:
    """The words of a search, lower-cased, stop words dropped, at most 8."""
    words = [w.lower() for w in _WORD.findall(query)]
    return [w for w in words if w not in STOP_WORDS][:8]


def fts5_match(words: list[str]) -> str:
    """An FTS5 MATCH expression: every word, each as a prefix."""
    return " AND ".join('"' + w.replace('"', "") + '"*' for w in words)


def pg_tsquery(words: list[str]) -> str:
    """A to_tsquery text: every word, each as a prefix."""
    return " & ".join(re.sub(r"[^\w]", "", w) + ":*" for w in words if re.sub(r"[^\w]", "", w))


def create(connection: Connection) -> None:
    """Create the index for this connection's database (used by the migration)."""
    for statement in SQLITE_UP if connection.dialect.name == "sqlite" else PG_UP:
        connection.execute(text(statement))


def drop(connection: Connection) -> None:
    for statement in SQLITE_DOWN if connection.dialect.name == "sqlite" else PG_DOWN:
        connection.execute(text(statement))


def rebuild(connection: Connection) -> None:
    """Rebuild the SQLite index from `service_search` (after bulk loads that bypass triggers)."""
    if connection.dialect.name == "sqlite":
        connection.execute(text("INSERT INTO service_fts(service_fts) VALUES ('rebuild')"))
