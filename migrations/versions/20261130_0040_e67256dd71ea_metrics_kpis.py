"""Metrics KPIs: tenant calendar and currency, exchange rates, reporting amounts, KPI indexes.

- ``metrics_settings`` (one row per tenant: time zone, fiscal-year start month, reporting
  currency) and ``exchange_rate`` (tenant, currency → rate to the reporting currency), both
  under the ``tenant_isolation`` policy and granted to ``territory_app``.
- ``opportunity.currency`` and ``opportunity.amount_reporting`` (existing rows: reporting
  currency, so the same amount). The backfill lifts FORCE ROW LEVEL SECURITY for its one
  statement, so a non-superuser owner backfills every tenant's rows, not none.
- ``activity.territory_id`` (territory at the time) and a unique external id per tenant, the
  activity upsert key.
- Covering indexes for the KPI set of one subject (rep or territory) and period.

Revision ID: e67256dd71ea
Revises: 20b1bebcae2d
Create Date: 2026-11-30 00:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "e67256dd71ea"
down_revision: str | None = "20b1bebcae2d"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

APP_ROLE = "territory_app"
KPI_INCLUDE = ["status", "amount_reporting", "opened_at", "created_at", "account_id"]


def _tenant_policy(table: str) -> None:
    op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
    op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
    op.execute(
        f"CREATE POLICY tenant_isolation ON {table}"
        " USING (tenant_id = current_tenant_id()) WITH CHECK (tenant_id = current_tenant_id())"
    )
    op.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON {table} TO {APP_ROLE}")


def upgrade() -> None:
    op.create_table(
        "metrics_settings",
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("time_zone", sa.String(length=64), server_default="UTC", nullable=False),
        sa.Column(
            "fiscal_year_start_month",
            sa.SmallInteger(),
            sa.CheckConstraint(
                "fiscal_year_start_month BETWEEN 1 AND 12",
                name=op.f("ck_metrics_settings_fiscal_year_start_month_range"),
            ),
            server_default="1",
            nullable=False,
        ),
        sa.Column("currency", sa.String(length=3), server_default="USD", nullable=False),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenant.id"],
            name=op.f("fk_metrics_settings_tenant_id_tenant"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tenant_id", name=op.f("pk_metrics_settings")),
    )
    op.create_table(
        "exchange_rate",
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column(
            "rate",
            sa.Numeric(20, 10),
            sa.CheckConstraint("rate > 0", name=op.f("ck_exchange_rate_rate_positive")),
            nullable=False,
        ),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenant.id"],
            name=op.f("fk_exchange_rate_tenant_id_tenant"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tenant_id", "currency", name=op.f("pk_exchange_rate")),
    )
    _tenant_policy("metrics_settings")
    _tenant_policy("exchange_rate")

    op.add_column(
        "opportunity",
        sa.Column("currency", sa.String(length=3), server_default="USD", nullable=False),
    )
    op.add_column(
        "opportunity",
        sa.Column("amount_reporting", sa.Numeric(18, 2), server_default="0", nullable=False),
    )
    op.execute("ALTER TABLE opportunity NO FORCE ROW LEVEL SECURITY")
    op.execute("UPDATE opportunity SET amount_reporting = amount")
    op.execute("ALTER TABLE opportunity FORCE ROW LEVEL SECURITY")
    op.create_index(
        "ix_opportunity_kpi_territory",
        "opportunity",
        ["tenant_id", "territory_id", "closed_at"],
        postgresql_include=KPI_INCLUDE,
    )
    op.create_index(
        "ix_opportunity_kpi_rep",
        "opportunity",
        ["tenant_id", "rep_id", "closed_at"],
        postgresql_include=KPI_INCLUDE,
    )
    op.create_index(
        "ix_opportunity_kpi_closed",
        "opportunity",
        ["tenant_id", "closed_at"],
        postgresql_include=["status", "amount_reporting", "rep_id", "territory_id"],
    )
    op.create_index(
        "ix_opportunity_won_account",
        "opportunity",
        ["tenant_id", "account_id", "closed_at"],
        postgresql_where=sa.text("status = 'won'"),
    )

    op.add_column("activity", sa.Column("territory_id", sa.UUID(), nullable=True))
    op.create_foreign_key(
        op.f("fk_activity_territory_id_territory"),
        "activity",
        "territory",
        ["territory_id"],
        ["id"],
        ondelete="SET NULL",
    )
    op.create_index(
        "ix_activity_kpi_territory", "activity", ["tenant_id", "territory_id", "occurred_at"]
    )
    op.create_index("ix_activity_kpi_rep", "activity", ["tenant_id", "rep_id", "occurred_at"])
    op.create_index(
        "uq_activity_tenant_id_external_id",
        "activity",
        ["tenant_id", "external_id"],
        unique=True,
        postgresql_where=sa.text("external_id IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_index("uq_activity_tenant_id_external_id", table_name="activity")
    op.drop_index("ix_activity_kpi_rep", table_name="activity")
    op.drop_index("ix_activity_kpi_territory", table_name="activity")
    op.drop_constraint(op.f("fk_activity_territory_id_territory"), "activity", type_="foreignkey")
    op.drop_column("activity", "territory_id")
    op.drop_index("ix_opportunity_won_account", table_name="opportunity")
    op.drop_index("ix_opportunity_kpi_closed", table_name="opportunity")
    op.drop_index("ix_opportunity_kpi_rep", table_name="opportunity")
    op.drop_index("ix_opportunity_kpi_territory", table_name="opportunity")
    op.drop_column("opportunity", "amount_reporting")
    op.drop_column("opportunity", "currency")
    op.drop_table("exchange_rate")
    op.drop_table("metrics_settings")
