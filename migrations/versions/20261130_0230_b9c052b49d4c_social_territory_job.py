"""Proximity: social territory jobs (accounts assigned to reps by proximity on the worker).

Revision ID: b9c052b49d4c
Revises: 51fa9c9a3c03
Create Date: 2026-11-30 02:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "b9c052b49d4c"
down_revision: str | None = "51fa9c9a3c03"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

APP_ROLE = "territory_app"


def upgrade() -> None:
    op.create_table(
        "social_territory_job",
        sa.Column(
            "id",
            postgresql.UUID(as_uuid=True),
            server_default=sa.text("gen_random_uuid()"),
            nullable=False,
        ),
        sa.Column("tenant_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column(
            "status", sa.String(length=16), server_default=sa.text("'pending'"), nullable=False
        ),
        sa.Column(
            "stage", sa.String(length=32), server_default=sa.text("'queued'"), nullable=False
        ),
        sa.Column("progress", sa.Float(), server_default=sa.text("0"), nullable=False),
        sa.Column(
            "cancel_requested", sa.Boolean(), server_default=sa.text("false"), nullable=False
        ),
        sa.Column("parameters", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("accounts", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("summary", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("result_json_gzip", sa.LargeBinary(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenant.id"],
            name=op.f("fk_social_territory_job_tenant_id_tenant"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_social_territory_job")),
    )
    op.create_index(
        op.f("ix_social_territory_job_tenant_id"), "social_territory_job", ["tenant_id"]
    )
    op.execute("ALTER TABLE social_territory_job ENABLE ROW LEVEL SECURITY")
    op.execute("ALTER TABLE social_territory_job FORCE ROW LEVEL SECURITY")
    op.execute(
        "CREATE POLICY tenant_isolation ON social_territory_job"
        " USING (tenant_id = current_tenant_id()) WITH CHECK (tenant_id = current_tenant_id())"
    )
    op.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON social_territory_job TO {APP_ROLE}")


def downgrade() -> None:
    op.drop_index(op.f("ix_social_territory_job_tenant_id"), table_name="social_territory_job")
    op.drop_table("social_territory_job")
