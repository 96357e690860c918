"""Join the analysis-jobs and pull-request-jobs branches.

Revision ID: 0010_merge
Revises: 0008_analysis_jobs, 0009_pr_jobs
Create Date: 2026-12-03 13:05:00.000000
"""

from collections.abc import Sequence

revision: str = "0010_merge"
down_revision: str | Sequence[str] | None = ("0008_analysis_jobs", "0009_pr_jobs")
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
