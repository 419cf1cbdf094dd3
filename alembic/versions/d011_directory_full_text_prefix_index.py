"""directory: the full-text rows carry a word for each taxonomy term; SQLite's index matches them (a category
search with words is then one FTS5 expression) and keeps prefixes of 2 to 8 characters

Revision ID: d011
Revises: d010
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op
from signpost.directory import fulltext

revision: str = "d011"
down_revision: str | Sequence[str] | None = "d010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    connection = op.get_bind()
    if connection.dialect.name == "sqlite":
        fulltext.drop(connection)  # so filling the new column does not index every row twice
    op.add_column("service_search", sa.Column("terms", sa.Text(), nullable=False, server_default=""))
    links: dict[str, list[str]] = {}
    for service_id, term_id in connection.execute(
        sa.text(
            "SELECT st.service_id, st.taxonomy_term_id FROM service_taxonomy st "
            "JOIN taxonomy_term t ON t.id = st.taxonomy_term_id"
        )
    ):
        links.setdefault(service_id, []).append(term_id)
    if links:
        connection.execute(
            sa.text("UPDATE service_search SET terms = :terms WHERE service_id = :service_id"),
            [{"service_id": sid, "terms": fulltext.term_words(ids)} for sid, ids in links.items()],
        )
    fulltext.index_with_terms(connection)


def downgrade() -> None:
    connection = op.get_bind()
    fulltext.index_with_terms(connection, terms=False)
    # In place on SQLite too (3.35 and later): a batch copy of the table would lose the triggers on it.
    op.execute("ALTER TABLE service_search DROP COLUMN terms")
