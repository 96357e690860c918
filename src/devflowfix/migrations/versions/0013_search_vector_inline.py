"""PostgreSQL: keep `search_vector` in the incident's row, compressed with lz4.

A broad search tests the stored vector of every row it walks, and a phrase
or a relevance order reads the vectors of the rows it finds. With the default
storage most vectors of incidents with a log are moved to the TOAST table, and
each test looks them up there: about 3.4 us a row, against 1.5 us for a vector
kept in the row (`Module*` counted to 1,001 over 11,400 rows: 36 ms, 17 ms).
`MAIN` lets the server move the log out first and the vector only when the row
cannot fit otherwise. lz4 (where the server has it) decompresses faster than
pglz, which also leaves many vectors uncompressed.

The new storage applies to rows written from now on: the demo loader and new
incidents. Rows already stored keep theirs until they are written again
(`VACUUM FULL incidents` rewrites them all, with the table locked).
SQLite (FTS5) is unchanged.

Revision ID: 0013_search_vector_inline
Revises: 0012_search_vector_trigger
Create Date: 2026-12-03 21:20:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0013_search_vector_inline"
down_revision: str | Sequence[str] | None = "0012_search_vector_trigger"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UPGRADE = (
    "ALTER TABLE incidents ALTER COLUMN search_vector SET STORAGE MAIN",
    """
    DO $$
    BEGIN
        IF 'lz4' = ANY ((SELECT enumvals FROM pg_settings
                         WHERE name = 'default_toast_compression')::text[]) THEN
            ALTER TABLE incidents ALTER COLUMN search_vector SET COMPRESSION lz4;
        END IF;
    END
    $$
    """,
)
DOWNGRADE = (
    "ALTER TABLE incidents ALTER COLUMN search_vector SET STORAGE EXTENDED",
    "ALTER TABLE incidents ALTER COLUMN search_vector SET COMPRESSION default",
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
