"""CRM connectors: a tenant's HubSpot portal or Salesforce org, with its field mapping.

- ``crm_connector`` (kind, HubSpot client secret or Salesforce org id, mapping overrides,
  unmapped-field policy) under ``tenant_isolation``, granted to ``territory_app``.

Revision ID: d0edf22120ad
Revises: aa488642a742
Create Date: 2026-11-30 03:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "d0edf22120ad"
down_revision: str | None = "aa488642a742"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

APP_ROLE = "territory_app"


def upgrade() -> None:
    op.create_table(
        "crm_connector",
        sa.Column("id", sa.UUID(), server_default=sa.func.gen_random_uuid(), nullable=False),
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "hubspot",
                "salesforce",
                name="crm_kind",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("client_secret", sa.String(length=200), nullable=True),
        sa.Column("organization_id", sa.String(length=18), nullable=True),
        sa.Column(
            "field_mapping",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default="{}",
            nullable=False,
        ),
        sa.Column(
            "unmapped",
            sa.Enum(
                "error",
                "ignore",
                name="crm_unmapped_policy",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            server_default="error",
            nullable=False,
        ),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenant.id"],
            name=op.f("fk_crm_connector_tenant_id_tenant"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_crm_connector")),
    )
    op.create_index(op.f("ix_crm_connector_tenant_id"), "crm_connector", ["tenant_id"])
    op.execute("ALTER TABLE crm_connector ENABLE ROW LEVEL SECURITY")
    op.execute("ALTER TABLE crm_connector FORCE ROW LEVEL SECURITY")
    op.execute(
        "CREATE POLICY tenant_isolation ON crm_connector"
        " USING (tenant_id = current_tenant_id()) WITH CHECK (tenant_id = current_tenant_id())"
    )
    op.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON crm_connector TO {APP_ROLE}")


def downgrade() -> None:
    op.drop_table("crm_connector")
