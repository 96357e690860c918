"""Teams, users, incidents with their tags, and jobs.

Revision ID: 0001
Revises:
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def _when(name: str, *, nullable: bool = True) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "teams",
        sa.Column("id", ID, primary_key=True),
        sa.Column("public_id", sa.String(24), nullable=False, unique=True),
        sa.Column("name", sa.String(64), nullable=False, unique=True),
        _when("created_at", nullable=False),
    )
    op.create_table(
        "users",
        sa.Column("id", ID, primary_key=True),
        sa.Column("public_id", sa.String(24), nullable=False, unique=True),
        sa.Column("email", sa.String(320), nullable=False, unique=True),
        sa.Column("password_hash", sa.String(255), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column(
            "team_id",
            sa.BigInteger(),
            sa.ForeignKey("teams.id", ondelete="CASCADE"),
            nullable=False,
            index=True,
        ),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        _when("created_at", nullable=False),
    )
    op.create_table(
        "incidents",
        sa.Column("id", ID, primary_key=True),
        sa.Column("public_id", sa.String(24), nullable=False, unique=True),
        sa.Column(
            "team_id",
            sa.BigInteger(),
            sa.ForeignKey("teams.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("source", sa.String(32), nullable=False),
        sa.Column("severity", sa.SmallInteger(), nullable=False),
        sa.Column("failure_type", sa.String(32), nullable=False),
        sa.Column("outcome", sa.String(32), nullable=False),
        sa.Column("repository", sa.String(255)),
        sa.Column("branch", sa.String(255)),
        sa.Column("commit_sha", sa.String(64)),
        sa.Column("workflow", sa.String(255)),
        sa.Column("job", sa.String(255)),
        sa.Column("run_url", sa.String(2048)),
        sa.Column("external_id", sa.String(255)),
        sa.Column("error_message", sa.Text(), nullable=False),
        sa.Column("error_log", sa.Text()),
        sa.Column("root_cause", sa.Text()),
        sa.Column("suggested_fix", sa.Text()),
        sa.Column("confidence", sa.Float()),
        sa.Column("tags", JSON, nullable=False),
        _when("timestamp", nullable=False),
        _when("created_at", nullable=False),
        _when("updated_at", nullable=False),
        _when("resolved_at"),
        sa.Column("resolution_time_seconds", sa.Integer()),
        _when("analysed_at"),
        sa.Column("matched_rules", JSON),
        sa.Column("similar_incidents", JSON),
        sa.Column(
            "created_by_id",
            sa.BigInteger(),
            sa.ForeignKey("users.id", ondelete="SET NULL"),
        ),
        sa.UniqueConstraint("team_id", "source", "external_id"),
    )
    for name, columns in (
        ("ix_incidents_team_created", ["team_id", "created_at", "id"]),
        ("ix_incidents_team_updated", ["team_id", "updated_at", "id"]),
        ("ix_incidents_team_severity", ["team_id", "severity", "id"]),
        ("ix_incidents_team_confidence", ["team_id", "confidence", "id"]),
        ("ix_incidents_team_resolution", ["team_id", "resolution_time_seconds", "id"]),
        ("ix_incidents_team_source_created", ["team_id", "source", "created_at"]),
        ("ix_incidents_team_outcome_created", ["team_id", "outcome", "created_at"]),
        (
            "ix_incidents_team_failure_created",
            ["team_id", "failure_type", "created_at"],
        ),
        ("ix_incidents_team_repository", ["team_id", "repository", "created_at"]),
    ):
        op.create_index(name, "incidents", columns)

    op.create_table(
        "incident_tags",
        sa.Column(
            "incident_id",
            sa.BigInteger(),
            sa.ForeignKey("incidents.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("tag", sa.String(64), primary_key=True),
        sa.Column("team_id", sa.BigInteger(), nullable=False),
    )
    op.create_index(
        "ix_incident_tags_team_tag", "incident_tags", ["team_id", "tag", "incident_id"]
    )

    op.create_table(
        "jobs",
        sa.Column("id", ID, primary_key=True),
        sa.Column("public_id", sa.String(24), nullable=False, unique=True),
        sa.Column(
            "user_id",
            sa.BigInteger(),
            sa.ForeignKey("users.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column(
            "team_id",
            sa.BigInteger(),
            sa.ForeignKey("teams.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("job_type", sa.String(32), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("progress", sa.Integer(), nullable=False),
        sa.Column("current_step", sa.String(255)),
        sa.Column("parameters", JSON, nullable=False),
        sa.Column("result", JSON),
        sa.Column("error_message", sa.Text()),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("max_attempts", sa.Integer(), nullable=False),
        _when("run_after"),
        sa.Column("claim_token", sa.String(64)),
        sa.Column("claimed_by", sa.String(128)),
        _when("lease_expires_at"),
        sa.Column("checkpoint", JSON),
        sa.Column("cancel_requested", sa.Boolean(), nullable=False),
        sa.Column("engine_job_id", sa.BigInteger()),
        sa.Column("idempotency_key", sa.String(255)),
        sa.Column("request_fingerprint", sa.String(64)),
        sa.Column("result_path", sa.String(1024)),
        sa.Column("result_filename", sa.String(255)),
        sa.Column("result_content_type", sa.String(255)),
        sa.Column("result_size_bytes", sa.BigInteger()),
        _when("result_expires_at"),
        _when("created_at", nullable=False),
        _when("updated_at", nullable=False),
        _when("started_at"),
        _when("completed_at"),
        _when("estimated_completion"),
        sa.UniqueConstraint("user_id", "idempotency_key"),
    )
    op.create_index("ix_jobs_user_created", "jobs", ["user_id", "created_at", "id"])
    op.create_index("ix_jobs_status_run_after", "jobs", ["status", "run_after"])
    op.create_index("ix_jobs_status_lease", "jobs", ["status", "lease_expires_at"])


def downgrade() -> None:
    op.drop_table("jobs")
    op.drop_table("incident_tags")
    op.drop_table("incidents")
    op.drop_table("users")
    op.drop_table("teams")
