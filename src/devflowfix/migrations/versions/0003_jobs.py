"""Jobs: the owner and status index, and Procrastinate's schema on PostgreSQL.

Procrastinate (the scaled deployment's job engine) keeps its queue in tables,
types, functions and triggers of its own. They are created here from the SQL
that ships with the installed Procrastinate, so `devflowfix migrate` is the only
schema command an operator runs. SQLite has no use for them.

Revision ID: 0003_jobs
Revises: 0001
Create Date: 2026-12-03
"""

import re
from collections.abc import Sequence

from alembic import op
from procrastinate.schema import SchemaManager

revision: str = "0003_jobs"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_CREATED = re.compile(r"^CREATE (TABLE|TYPE|FUNCTION) (\w+)", re.MULTILINE)


def _is_postgres() -> bool:
    return op.get_bind().dialect.name == "postgresql"


def upgrade() -> None:
    op.create_index("ix_jobs_user_status", "jobs", ["user_id", "status"])
    if _is_postgres():
        # TODO: a Procrastinate release that changes its schema needs a new
        # revision applying its migration files; this one only creates it.
        # SQLAlchemy hands psycopg an empty parameter set, which makes psycopg
        # read `%` as a placeholder; doubled, it stays a literal `%`.
        op.get_bind().exec_driver_sql(SchemaManager.get_schema().replace("%", "%%"))


def downgrade() -> None:
    if _is_postgres():
        created = _CREATED.findall(SchemaManager.get_schema())
        for kind in ("TABLE", "FUNCTION", "TYPE"):
            for found_kind, name in created:
                if found_kind == kind:
                    op.execute(f"DROP {kind} IF EXISTS {name} CASCADE")
    op.drop_index("ix_jobs_user_status", table_name="jobs")
