"""The search indexes: full text over `service_search` (SQLite FTS5 or a PostgreSQL GIN index, one behaviour),
the `service_facet` rows that filters read and their `service_facet_category` links, kept by triggers on both
databases. A full-text row also carries a word for each of its service's taxonomy terms (`terms`, written with the
text by `directory.service.index_service`, the importer and categorise), which SQLite's index matches a category
search with words by.

Both full-text engines rank name above taxonomy above organisation above description, stem English words (FTS5
`porter`, PostgreSQL `english`), match every query word (AND) by prefix, and ignore the same stop words.
The full-text objects are not SQLAlchemy tables, so migration drift checks skip names starting `service_fts`.
"""

import re
from collections.abc import Iterable

from sqlalchemy import Connection, text

INDEX_PREFIX = "service_fts"

# PostgreSQL: the weighted document (name A, taxonomy B, organisation C, description D).
PG_DOCUMENT = (
    "(setweight(to_tsvector('english', coalesce(service_search.name, '')), 'A') || "
    "setweight(to_tsvector('english', coalesce(service_search.taxonomy, '')), 'B') || "
    "setweight(to_tsvector('english', coalesce(service_search.organization, '')), 'C') || "
    "setweight(to_tsvector('english', coalesce(service_search.description, '')), 'D'))"
)


def _sqlite_index(columns: list[str], options: str = "") -> list[str]:
    """The FTS5 table over `service_search` with these columns, and the triggers that keep it (FTS5 `options`)."""
    names = ", ".join(columns)
    new, old = (", ".join(f"{row}.{c}" for c in columns) for row in ("new", "old"))
    add = f"INSERT INTO service_fts(rowid, {names}) VALUES (new.id, {new});"
    remove = f"INSERT INTO service_fts(service_fts, rowid, {names}) VALUES ('delete', old.id, {old});"
    return [
        f"CREATE VIRTUAL TABLE service_fts USING fts5({names}, content='service_search', content_rowid='id', "
        f"tokenize='porter unicode61 remove_diacritics 2'{options})",
        f"CREATE TRIGGER service_fts_ai AFTER INSERT ON service_search BEGIN {add} END",
        f"CREATE TRIGGER service_fts_ad AFTER DELETE ON service_search BEGIN {remove} END",
        f"CREATE TRIGGER service_fts_au AFTER UPDATE ON service_search BEGIN {remove} {add} END",
    ]


TEXT_COLUMNS = ["name", "description", "organization", "taxonomy"]
# SQLite: the index as migration d002 made it (four columns, no prefix index); `index_with_terms` replaces it.
SQLITE_UP = _sqlite_index(TEXT_COLUMNS)
# Since migration d011 the index has a fifth column, `terms`: a word for each of the service's taxonomy terms
# (`term_words`), so a search with words and categories is one FTS5 expression, whose lists FTS5 intersects
# itself, rather than every match checked against the categories' services. Words a searcher types are matched in
# the four text columns only (`fts5_match`). And every query word is a prefix, which FTS5 answers by merging the
# rows of every word that starts with it unless it keeps an index for prefixes of that length: kept for 2 to 8
# characters (a longer word is merged, as before). What these cost and save is in bench/README.md.
SQLITE_PREFIXES = "2 3 4 5 6 7 8"
_SQLITE_WITH_TERMS = _sqlite_index([*TEXT_COLUMNS, "terms"], f", prefix='{SQLITE_PREFIXES}'")
_SQLITE_REBUILD = "INSERT INTO service_fts(service_fts) VALUES ('rebuild')"
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


# PostgreSQL: the facet's categories as an array under a GIN index, so a category search reads only its services.
# fastupdate off: a pending list (a bulk load's worth, until vacuum merges it) makes the planner scan instead.
PG_CATEGORIES = "string_to_array(btrim(service_facet.categories), ' ')"
PG_CATEGORY_INDEX = "service_facet_categories_gin"


def include_name(name: str | None, type_: str, parent_names: object) -> bool:
    """Alembic name filter: leave the index objects no model declares out of autogenerate comparisons."""
    return not (name or "").startswith(INDEX_PREFIX) and name != PG_CATEGORY_INDEX


def query_words(query: str) -> list[str]:
    """The words of a search, lower-cased, stop words dropped, at most 8."""
    words = [w.lower() for w in _WORD.findall(query)]
    return [w for w in words if w not in STOP_WORDS][:8]


def fts5_match(words: list[str], term_ids: Iterable[str] = ()) -> str:
    """An FTS5 MATCH expression: every word, each as a prefix, in the text columns; and, when `term_ids` are given,
    any one of those taxonomy terms."""
    expression = (
        "{" + " ".join(TEXT_COLUMNS) + "} : (" + " AND ".join('"' + w.replace('"', "") + '"*' for w in words) + ")"
    )
    terms = _term_words(term_ids)
    return expression + (" AND terms : (" + " OR ".join(terms) + ")" if terms else "")


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


def index_with_terms(connection: Connection, *, terms: bool = True) -> None:
    """SQLite: build the full-text index again, with its `terms` column and prefix indexes or (`terms=False`) as
    d002 made it; `service_search.terms` must be filled first (used by migration d011)."""
    if connection.dialect.name != "sqlite":
        return
    for statement in SQLITE_DOWN:
        connection.execute(text(statement))
    for statement in _SQLITE_WITH_TERMS if terms else SQLITE_UP:
        connection.execute(text(statement))
    connection.execute(text(_SQLITE_REBUILD))


def taxonomy_columns(terms: Iterable[tuple[str, str]]) -> dict[str, str]:
    """A full-text row's `taxonomy` (the names) and `terms` (their words) for a service's (term id, name) pairs: one
    definition for the row's three writers (`directory.service.index_service`, the importer, categorise)."""
    pairs = list(terms)
    return {"taxonomy": " ".join(sorted(name for _, name in pairs)), "terms": term_words(t for t, _ in pairs)}


def term_words(term_ids: Iterable[str]) -> str:
    """The `terms` column of a service's full-text row: one word for each of its taxonomy terms."""
    return " ".join(_term_words(term_ids))


def _term_words(term_ids: Iterable[str]) -> list[str]:
    return sorted({term_word(term_id) for term_id in term_ids})


def term_word(term_id: str) -> str:
    """A taxonomy term's id as one FTS5 word: letters and digits only (`unicode61` splits at anything else), between
    letters no `porter` rule strips or a searcher would type."""
    return "zzt" + re.sub(r"[^0-9a-z]", "", term_id.lower()) + "zz"


def rebuild(connection: Connection) -> None:
    """Rebuild the SQLite index from `service_search` and the facets (after bulk loads that bypass triggers)."""
    if connection.dialect.name == "sqlite":
        connection.execute(text(_SQLITE_REBUILD))
    rebuild_facets(connection)


# The facet row of the services whose ids the SQL `ids` yields, computed from the source tables. One definition
# serves the triggers and the backfill, so a filter reads exactly what the normalised tables say.
FACET_COLUMNS = (
    "id, service_id, name, status, retired, minimum_age, maximum_age, in_person, by_phone, online, free, premises, "
    "categories, min_latitude, max_latitude, min_longitude, max_longitude"
)
# The service's own columns a facet copies: changing any other (a version, a verification) leaves it alone.
FACET_SERVICE_COLUMNS = (
    "name",
    "status",
    "retired_at",
    "minimum_age",
    "maximum_age",
    "in_person",
    "by_phone",
    "online",
)
_LOCATED = (
    "FROM service_at_location sal JOIN location l ON l.id = sal.location_id "
    "WHERE sal.service_id = s.id AND l.latitude IS NOT NULL AND l.longitude IS NOT NULL"
)


def _facet_rows(dialect: str, where: str) -> str:
    concat = "group_concat(st.taxonomy_term_id, ' ')" if dialect == "sqlite" else "string_agg(st.taxonomy_term_id, ' ')"
    return (
        f"INSERT INTO service_facet ({FACET_COLUMNS}) "
        "SELECT ss.id, s.id, s.name, s.status, s.retired_at IS NOT NULL, s.minimum_age, s.maximum_age, "
        "s.in_person, s.by_phone, s.online, "
        "EXISTS (SELECT 1 FROM cost_option co WHERE co.service_id = s.id AND co.amount = 0) "
        "AND NOT EXISTS (SELECT 1 FROM cost_option co WHERE co.service_id = s.id AND co.amount > 0), "
        "EXISTS (SELECT 1 FROM service_at_location sal JOIN location l ON l.id = sal.location_id "
        "WHERE sal.service_id = s.id AND l.location_type <> 'virtual'), "
        f"coalesce((SELECT ' ' || {concat} || ' ' FROM service_taxonomy st WHERE st.service_id = s.id), ''), "
        f"(SELECT min(l.latitude) {_LOCATED}), (SELECT max(l.latitude) {_LOCATED}), "
        f"(SELECT min(l.longitude) {_LOCATED}), (SELECT max(l.longitude) {_LOCATED}) "
        f"FROM service s JOIN service_search ss ON ss.service_id = s.id WHERE {where}"
    )


def _sqlite_refresh(ids: str) -> str:
    return f"DELETE FROM service_facet WHERE service_id IN ({ids}); {_facet_rows('sqlite', f's.id IN ({ids})')};"


# (table, event, the service ids it touches); SQLite runs these per row, so they stay a few index look-ups each.
_SQLITE_FACET_EVENTS = [
    ("service_search", "INSERT", "NEW.service_id"),
    ("service_search", "UPDATE OF id, service_id", "OLD.service_id, NEW.service_id"),
    ("service", "UPDATE OF " + ", ".join(FACET_SERVICE_COLUMNS), "NEW.id"),
    ("location", "UPDATE OF location_type, latitude, longitude",
     "SELECT service_id FROM service_at_location WHERE location_id = NEW.id"),
] + [
    (child, event, ids)
    for child in ("cost_option", "service_taxonomy", "service_at_location")
    for event, ids in (("INSERT", "NEW.service_id"), ("UPDATE", "OLD.service_id, NEW.service_id"),
                       ("DELETE", "OLD.service_id"))
]  # fmt: skip


def _trigger_name(table: str, event: str) -> str:
    return f"service_facet_{table}_{event.split()[0].lower()}"


SQLITE_FACET_UP = [
    f"CREATE TRIGGER {_trigger_name(table, event)} AFTER {event} ON {table} BEGIN {_sqlite_refresh(ids)} END"
    for table, event, ids in _SQLITE_FACET_EVENTS
] + [
    "CREATE TRIGGER service_facet_service_search_delete AFTER DELETE ON service_search BEGIN "
    "DELETE FROM service_facet WHERE id = OLD.id; END"
]
SQLITE_FACET_DOWN = [f"DROP TRIGGER IF EXISTS {_trigger_name(t, e)}" for t, e, _ in _SQLITE_FACET_EVENTS] + [
    "DROP TRIGGER IF EXISTS service_facet_service_search_delete"
]

# PostgreSQL: row triggers calling one PL/pgSQL function, whose plans stay prepared for the session. (Drivers
# send a bulk insert as one statement per row, so statement triggers would gain nothing and cost a transition
# table per row.) WHEN clauses skip updates that change nothing a filter reads, such as a version bump.
_PG_REFRESH = (
    "CREATE FUNCTION service_facet_refresh(sid text) RETURNS void LANGUAGE plpgsql AS $$ BEGIN "
    "DELETE FROM service_facet WHERE service_id = sid; "
    f"{_facet_rows('postgresql', 's.id = sid')}; END $$"
)
# A change to a service's parts refreshes its facet only if it has one: a bulk load writes the parts before the
# search row that creates the facet, and then each part costs one index probe.
_PG_TOUCH = (
    "CREATE FUNCTION service_facet_touch(sid text) RETURNS void LANGUAGE plpgsql AS $$ BEGIN "
    "IF EXISTS (SELECT 1 FROM service_facet WHERE service_id = sid) THEN PERFORM service_facet_refresh(sid); "
    "END IF; END $$"
)
_PG_FUNCTIONS = {
    "service_facet_on_child": (
        "IF TG_OP <> 'INSERT' THEN PERFORM service_facet_touch(OLD.service_id); END IF; "
        "IF TG_OP <> 'DELETE' THEN PERFORM service_facet_touch(NEW.service_id); END IF;"
    ),
    "service_facet_on_service": "PERFORM service_facet_touch(NEW.id);",
    "service_facet_on_search": (
        "IF TG_OP = 'DELETE' THEN DELETE FROM service_facet WHERE id = OLD.id; RETURN NULL; END IF; "
        "IF TG_OP = 'UPDATE' THEN DELETE FROM service_facet WHERE id = OLD.id; END IF; "
        "PERFORM service_facet_refresh(NEW.service_id);"
    ),
    "service_facet_on_location": (
        "PERFORM service_facet_touch(sal.service_id) FROM service_at_location sal WHERE sal.location_id = NEW.id;"
    ),
}


def _changed(*columns: str) -> str:
    return " OR ".join(f"OLD.{c} IS DISTINCT FROM NEW.{c}" for c in columns)


_PG_TRIGGERS = [
    ("service_search", "INSERT", "service_facet_on_search", ""),
    ("service_search", "UPDATE", "service_facet_on_search", _changed("id", "service_id")),
    ("service_search", "DELETE", "service_facet_on_search", ""),
    ("service", "UPDATE", "service_facet_on_service", _changed(*FACET_SERVICE_COLUMNS)),
    ("location", "UPDATE", "service_facet_on_location", _changed("location_type", "latitude", "longitude")),
] + [
    (child, event, "service_facet_on_child", "")
    for child in ("cost_option", "service_taxonomy", "service_at_location")
    for event in ("INSERT", "UPDATE", "DELETE")
]

PG_FACET_UP = (
    [
        f"CREATE INDEX {PG_CATEGORY_INDEX} ON service_facet USING gin ((({PG_CATEGORIES}))) WITH (fastupdate = off)",
        _PG_REFRESH,
        _PG_TOUCH,
    ]
    + [
        f"CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN {body} RETURN NULL; END $$"
        for name, body in _PG_FUNCTIONS.items()
    ]
    + [
        f"CREATE TRIGGER {_trigger_name(table, event)} AFTER {event} ON {table} FOR EACH ROW "
        + (f"WHEN ({when}) " if when else "")
        + f"EXECUTE FUNCTION {function}()"
        for table, event, function, when in _PG_TRIGGERS
    ]
)
PG_FACET_DOWN = (
    [f"DROP TRIGGER IF EXISTS {_trigger_name(t, e)} ON {t}" for t, e, _, _ in _PG_TRIGGERS]
    + [f"DROP FUNCTION IF EXISTS {name}()" for name in _PG_FUNCTIONS]
    + ["DROP FUNCTION IF EXISTS service_facet_touch(text)", "DROP FUNCTION IF EXISTS service_facet_refresh(text)"]
    + [f"DROP INDEX IF EXISTS {PG_CATEGORY_INDEX}"]
)


# `service_facet_category`: one row per taxonomy term of each facet. Facets are only ever deleted and inserted (a
# refresh replaces the row), so a trigger on each keeps the links equal to the facet's service's terms.
_FACET_CATEGORY_INSERT = (
    "INSERT INTO service_facet_category (taxonomy_term_id, facet_id) "
    "SELECT DISTINCT st.taxonomy_term_id, NEW.id FROM service_taxonomy st WHERE st.service_id = NEW.service_id"
)
_FACET_CATEGORY_DELETE = "DELETE FROM service_facet_category WHERE facet_id = OLD.id"
SQLITE_FACET_CATEGORY_UP = [
    f"CREATE TRIGGER service_facet_category_insert AFTER INSERT ON service_facet BEGIN {_FACET_CATEGORY_INSERT}; END",
    f"CREATE TRIGGER service_facet_category_delete AFTER DELETE ON service_facet BEGIN {_FACET_CATEGORY_DELETE}; END",
]
SQLITE_FACET_CATEGORY_DOWN = [
    "DROP TRIGGER IF EXISTS service_facet_category_delete",
    "DROP TRIGGER IF EXISTS service_facet_category_insert",
]
PG_FACET_CATEGORY_UP = [
    "CREATE FUNCTION service_facet_category_on_facet() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
    f"IF TG_OP = 'DELETE' THEN {_FACET_CATEGORY_DELETE}; ELSE {_FACET_CATEGORY_INSERT}; END IF; RETURN NULL; END $$",
    "CREATE TRIGGER service_facet_category_insert AFTER INSERT ON service_facet FOR EACH ROW "
    "EXECUTE FUNCTION service_facet_category_on_facet()",
    "CREATE TRIGGER service_facet_category_delete AFTER DELETE ON service_facet FOR EACH ROW "
    "EXECUTE FUNCTION service_facet_category_on_facet()",
]
PG_FACET_CATEGORY_DOWN = [
    "DROP TRIGGER IF EXISTS service_facet_category_delete ON service_facet",
    "DROP TRIGGER IF EXISTS service_facet_category_insert ON service_facet",
    "DROP FUNCTION IF EXISTS service_facet_category_on_facet()",
]


def create_facet_categories(connection: Connection) -> None:
    """Create the triggers that keep `service_facet_category` and fill it from the facets (used by the migration)."""
    sqlite = connection.dialect.name == "sqlite"
    for statement in SQLITE_FACET_CATEGORY_UP if sqlite else PG_FACET_CATEGORY_UP:
        connection.execute(text(statement))
    connection.execute(text("DELETE FROM service_facet_category"))
    connection.execute(
        text(
            "INSERT INTO service_facet_category (taxonomy_term_id, facet_id) SELECT DISTINCT st.taxonomy_term_id, f.id "
            "FROM service_facet f JOIN service_taxonomy st ON st.service_id = f.service_id"
        )
    )


def drop_facet_categories(connection: Connection) -> None:
    sqlite = connection.dialect.name == "sqlite"
    for statement in SQLITE_FACET_CATEGORY_DOWN if sqlite else PG_FACET_CATEGORY_DOWN:
        connection.execute(text(statement))


def create_facets(connection: Connection) -> None:
    """Create the facet triggers and fill `service_facet` from what is held (used by the migration)."""
    sqlite = connection.dialect.name == "sqlite"
    for statement in SQLITE_FACET_UP if sqlite else PG_FACET_UP:
        connection.execute(text(statement))
    rebuild_facets(connection)


def drop_facets(connection: Connection) -> None:
    for statement in SQLITE_FACET_DOWN if connection.dialect.name == "sqlite" else PG_FACET_DOWN:
        connection.execute(text(statement))


def rebuild_facets(connection: Connection) -> None:
    """Recompute every `service_facet` row (after bulk loads that bypass triggers)."""
    connection.execute(text("DELETE FROM service_facet"))
    connection.execute(text(_facet_rows(connection.dialect.name, "1 = 1")))
