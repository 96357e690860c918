"""PostgreSQL: `search_vector` becomes a plain column that a trigger fills.

A generated column is computed by the server for every row, also for rows a
bulk loader could give it ready-made; most of a big `COPY`'s time went there.
Now an insert trigger computes the same expression only for rows that arrive
without a vector, and an update trigger computes it again when one of the six
text columns changes. `DROP EXPRESSION` keeps every row's stored vector.
SQLite (FTS5) is unchanged.

Revision ID: 0012_search_vector_trigger
Revises: 0011_search_set_aside
Create Date: 2026-12-03 18:10:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0012_search_vector_trigger"
down_revision: str | Sequence[str] | None = "0011_search_set_aside"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SEPARATORS = r"'[\x01-\x2f\x3a-\x40\x5b-\x60\x7b-\x7f]+'"
# Field, weight and the field's text, as migration 0002_search indexed them.
FIELDS = (
    ("error_message", "A", "{}error_message"),
    ("root_cause", "B", "{}root_cause"),
    ("workflow", "C", "{}workflow"),
    ("repository", "B", "{}repository"),
    ("error_log", "D", "{}error_log"),
    ("tags", "C", "{}tags::text"),
)


def _vector(prefix: str) -> str:
    return " || ".join(
        "setweight(to_tsvector('simple'::regconfig, regexp_replace("
        f"coalesce({value.format(prefix)}, ''), {SEPARATORS}, ' ', 'g')), "
        f"'{weight}')"
        for _, weight, value in FIELDS
    )


CHANGED = " OR ".join(
    f"OLD.{field} IS DISTINCT FROM NEW.{field}" for field, _, _ in FIELDS
)
COLUMNS = ", ".join(field for field, _, _ in FIELDS)

UPGRADE = (
    "ALTER TABLE incidents ALTER COLUMN search_vector DROP EXPRESSION",
    f"""
    CREATE FUNCTION incidents_search_vector() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        NEW.search_vector := {_vector("NEW.")};
        RETURN NEW;
    END
    $$
    """,
    # A loader that writes the vector itself costs no function call per row.
    "CREATE TRIGGER incidents_search_vector_insert BEFORE INSERT ON incidents "
    "FOR EACH ROW WHEN (NEW.search_vector IS NULL) "
    "EXECUTE FUNCTION incidents_search_vector()",
    f"CREATE TRIGGER incidents_search_vector_update BEFORE UPDATE OF {COLUMNS} "
    f"ON incidents FOR EACH ROW WHEN ({CHANGED}) "
    "EXECUTE FUNCTION incidents_search_vector()",
)
DOWNGRADE = (
    "DROP TRIGGER IF EXISTS incidents_search_vector_update ON incidents",
    "DROP TRIGGER IF EXISTS incidents_search_vector_insert ON incidents",
    "DROP FUNCTION IF EXISTS incidents_search_vector()",
    # A generated column cannot be given its expression back in place.
    "ALTER TABLE incidents DROP COLUMN search_vector",
    "ALTER TABLE incidents ADD COLUMN search_vector tsvector "
    f"GENERATED ALWAYS AS ({_vector('')}) STORED",
    # Dropping the column dropped its index, also one a killed load set aside.
    "DELETE FROM search_set_aside WHERE name = 'ix_incidents_search_vector'",
    "CREATE INDEX ix_incidents_search_vector ON incidents USING gin (search_vector)",
)


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        return
    for statement in UPGRADE:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        return
    for statement in DOWNGRADE:
        op.execute(statement)
