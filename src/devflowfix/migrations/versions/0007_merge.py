"""Join the search, jobs, integrations and pull-request branches.

Revision ID: 0007_merge
Revises: 0002_search, 0003_jobs, 0004_integrations, 0006_pull_requests
Create Date: 2026-12-03 10:59:27.568102
"""

from collections.abc import Sequence

revision: str = "0007_merge"
down_revision: str | Sequence[str] | None = (
    "0002_search",
    "0003_jobs",
    "0004_integrations",
    "0006_pull_requests",
)
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
