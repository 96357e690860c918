"""Full-text search over incidents, and the indexes the search plans walk.

SQLite: an FTS5 table with the incidents table as its external content, kept in
step by three triggers. PostgreSQL: a generated `tsvector` column with a GIN
index. Both tokenise the same way: every run of letters and digits is one
lower-cased word, everything else separates words (see docs/api.md, "Search").

A later batch migration that recreates the incidents table on SQLite drops its
triggers with it; such a migration must create them again (see
`devflowfix.search.fulltext`).

Revision ID: 0002_search
Revises: 0001
Create Date: 2026-12-03
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0002_search"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SQLITE_SCHEMA = (
    """
    CREATE VIRTUAL TABLE incidents_fts USING fts5(
        error_message, root_cause, error_log, repository, workflow, tags,
        content='incidents', content_rowid='id',
        tokenize='unicode61 remove_diacritics 0'
    )
    """,
    """
    CREATE TRIGGER incidents_fts_insert AFTER INSERT ON incidents BEGIN
        INSERT INTO incidents_fts (
            rowid, error_message, root_cause, error_log, repository, workflow, tags
        ) VALUES (
            new.id, new.error_message, new.root_cause, new.error_log,
            new.repository, new.workflow, new.tags
        );
    END
    """,
    """
    CREATE TRIGGER incidents_fts_delete AFTER DELETE ON incidents BEGIN
        INSERT INTO incidents_fts (
            incidents_fts, rowid,
            error_message, root_cause, error_log, repository, workflow, tags
        ) VALUES (
            'delete', old.id, old.error_message, old.root_cause, old.error_log,
            old.repository, old.workflow, old.tags
        );
    END
    """,
    """
    CREATE TRIGGER incidents_fts_update
    AFTER UPDATE OF error_message, root_cause, error_log, repository, workflow, tags
    ON incidents BEGIN
        INSERT INTO incidents_fts (
            incidents_fts, rowid,
            error_message, root_cause, error_log, repository, workflow, tags
        ) VALUES (
            'delete', old.id, old.error_message, old.root_cause, old.error_log,
            old.repository, old.workflow, old.tags
        );
        INSERT INTO incidents_fts (
            rowid, error_message, root_cause, error_log, repository, workflow, tags
        ) VALUES (
            new.id, new.error_message, new.root_cause, new.error_log,
            new.repository, new.workflow, new.tags
        );
    END
    """,
    "INSERT INTO incidents_fts (incidents_fts) VALUES ('rebuild')",
)

# ASCII punctuation, symbols and control characters become spaces before
# PostgreSQL's parser sees the text, so that it finds the same words as FTS5's
# unicode61 tokenizer instead of its own file paths, URLs and version numbers.
SEPARATORS = r"'[\x01-\x2f\x3a-\x40\x5b-\x60\x7b-\x7f]+'"


def _words(expression: str, weight: str) -> str:
    return (
        "setweight(to_tsvector('simple'::regconfig, regexp_replace("
        f"coalesce({expression}, ''), {SEPARATORS}, ' ', 'g')), '{weight}')"
    )


# Concatenated vectors continue each other's word positions, so a phrase could
# run from the end of one field into the next. Neighbours have different
# weights, and phrase queries ask for one weight throughout (as FTS5 keeps a
# phrase inside one column).
POSTGRES_VECTOR = " || ".join(
    (
        _words("error_message", "A"),
        _words("root_cause", "B"),
        _words("workflow", "C"),
        _words("repository", "B"),
        _words("error_log", "D"),
        _words("tags::text", "C"),
    )
)

POSTGRES_SCHEMA = (
    "ALTER TABLE incidents ADD COLUMN search_vector tsvector "
    f"GENERATED ALWAYS AS ({POSTGRES_VECTOR}) STORED",
    "CREATE INDEX ix_incidents_search_vector ON incidents USING gin (search_vector)",
)

# Covering indexes: the search walks the first in creation order and looks up
# full-text matches by id in the second, checking every filter inside the index
# instead of reading the wide incident rows.
FILTER_COLUMNS = ["severity", "source", "outcome", "failure_type", "confidence"]
SEARCH_INDEXES = {
    "ix_incidents_search_created": [
        "team_id",
        "created_at",
        "id",
        *FILTER_COLUMNS,
        "repository",
    ],
    "ix_incidents_search_id": [
        "id",
        "team_id",
        "created_at",
        "updated_at",
        "resolution_time_seconds",
        *FILTER_COLUMNS,
        "repository",
    ],
}


def upgrade() -> None:
    op.drop_index("ix_incidents_team_created", table_name="incidents")
    for name, columns in SEARCH_INDEXES.items():
        op.create_index(name, "incidents", columns)
    statements = (
        SQLITE_SCHEMA if op.get_bind().dialect.name == "sqlite" else POSTGRES_SCHEMA
    )
    for statement in statements:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for trigger in ("insert", "delete", "update"):
            op.execute(f"DROP TRIGGER IF EXISTS incidents_fts_{trigger}")
        op.execute("DROP TABLE IF EXISTS incidents_fts")
    else:
        op.execute("DROP INDEX IF EXISTS ix_incidents_search_vector")
        op.execute("ALTER TABLE incidents DROP COLUMN IF EXISTS search_vector")
    for name in SEARCH_INDEXES:
        op.drop_index(name, table_name="incidents")
    op.create_index(
        "ix_incidents_team_created", "incidents", ["team_id", "created_at", "id"]
    )
