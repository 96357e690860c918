"""Team integrations, webhook deliveries, and incident analysis details.

Revision ID: 0004_integrations
Revises: 0001
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0004_integrations"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def _when(name: str, *, nullable: bool = True) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "team_integrations",
        sa.Column("id", ID, primary_key=True),
        sa.Column(
            "team_id",
            sa.BigInteger(),
            sa.ForeignKey("teams.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("provider", sa.String(16), nullable=False),
        sa.Column("webhook_secret_encrypted", sa.Text()),
        sa.Column("token_encrypted", sa.Text()),
        sa.Column("base_url", sa.String(2048)),
        _when("created_at", nullable=False),
        _when("updated_at", nullable=False),
        sa.UniqueConstraint("team_id", "provider"),
    )
    op.create_table(
        "webhook_deliveries",
        sa.Column("id", ID, primary_key=True),
        sa.Column(
            "team_id",
            sa.BigInteger(),
            sa.ForeignKey("teams.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("provider", sa.String(16), nullable=False),
        sa.Column("delivery_id", sa.String(128), nullable=False),
        sa.Column(
            "incident_id",
            sa.BigInteger(),
            sa.ForeignKey("incidents.id", ondelete="CASCADE"),
            nullable=False,
            index=True,
        ),
        _when("received_at", nullable=False),
        sa.UniqueConstraint("team_id", "provider", "delivery_id"),
    )
    with op.batch_alter_table("incidents") as batch:
        batch.add_column(sa.Column("analysis_status", sa.String(16)))
        batch.add_column(sa.Column("analysis_error", sa.Text()))
        batch.add_column(sa.Column("error_signature", sa.String(255)))
        batch.add_column(sa.Column("provider_details", JSON))
        batch.create_index(
            "ix_incidents_team_signature", ["team_id", "error_signature"]
        )


def downgrade() -> None:
    with op.batch_alter_table("incidents") as batch:
        batch.drop_index("ix_incidents_team_signature")
        batch.drop_column("provider_details")
        batch.drop_column("error_signature")
        batch.drop_column("analysis_error")
        batch.drop_column("analysis_status")
    op.drop_table("webhook_deliveries")
    op.drop_table("team_integrations")
