"""PostgreSQL: keep `search_vector` and the log in the incident's row.

A broad search tests the stored vector of every row it walks, and a phrase
or a relevance order reads the vectors of the rows it finds. By default a row
over 2 kB has its widest values moved to the TOAST table, and most incidents
with a log are that wide, so each test looked its vector up there. Same
100,000 demo incidents, counting `Module*` to 1,001 by walking the newest
rows, and the CSV export's rate:

- default storage: 33 ms, 112,000-123,000 rows/s;
- the vector `MAIN` only: 12 ms, but 53,000 rows/s, because the log then
  goes to the TOAST table instead and the export reads every log;
- the vector `MAIN` and rows kept whole up to a page (`toast_tuple_target`
  8160, this migration): 18 ms, 106,000 rows/s. The table's heap is 346 MB
  instead of 148 MB, the whole of it 463 MB instead of 409 MB.

The vector is compressed with lz4 where the server has it, which
decompresses faster than pglz (and pglz leaves many vectors uncompressed).
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
    "ALTER TABLE incidents SET (toast_tuple_target = 8160)",
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
    "ALTER TABLE incidents RESET (toast_tuple_target)",
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
