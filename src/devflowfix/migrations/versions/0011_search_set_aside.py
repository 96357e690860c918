"""The schema objects a bulk load has set aside, kept until it puts them back.

Revision ID: 0011_search_set_aside
Revises: 0010_merge
Create Date: 2026-12-03 17:15:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011_search_set_aside"
down_revision: str | Sequence[str] | None = "0010_merge"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "search_set_aside",
        sa.Column("name", sa.String(255), primary_key=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("definition", sa.Text(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("search_set_aside")
