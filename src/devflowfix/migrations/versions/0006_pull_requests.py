"""The fix pull request of an incident: its URL, branch and commit.

Revision ID: 0006_pull_requests
Revises: 0001
Create Date: 2026-12-10
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006_pull_requests"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("incidents") as batch:
        batch.add_column(sa.Column("fix_pull_request_url", sa.String(2048)))
        batch.add_column(sa.Column("fix_branch", sa.String(255)))
        batch.add_column(sa.Column("fix_commit_sha", sa.String(64)))


def downgrade() -> None:
    with op.batch_alter_table("incidents") as batch:
        batch.drop_column("fix_commit_sha")
        batch.drop_column("fix_branch")
        batch.drop_column("fix_pull_request_url")
