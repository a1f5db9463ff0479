"""Metrics: bulk import jobs, stage catalogue, stage history, stored potential estimates.

- ``metrics_import_job`` / ``metrics_import_error``: bulk uploads of opportunities, activities
  and quotas run on the job worker, with per-row errors (row, field, reason).
- Schema ``metrics_import`` (raw SQL of ``services/metrics/ingest`` only, no ORM model): the
  jobs' UNLOGGED staging tables, created by the services' role, and its checks
  ``is_instant`` and ``is_uuid`` (``services/metrics/ingest/sql/``).
- Three indexes the bulk write paid for per row and no query needs (each covered by another
  leading with the same columns) are dropped.
- ``quota.external_id`` (unique per tenant when set): the bulk upsert key of quotas.
- ``opportunity_stage``: a tenant's stage names and the status each means.
- ``opportunity_history``: every version of an opportunity's stage/status/amount/holder over
  ``[valid_from, valid_to)``, kept by the statement-level triggers of
  ``services/metrics/history/*.sql``; existing opportunities get their first version.
- ``potential_model_run`` / ``account_potential_estimate``: the potential model's estimates per
  run, which the planning service reads.
Every new tenant table is under the ``tenant_isolation`` policy and granted to
``territory_app``.

Revision ID: 4b9e2c7a1d63
Revises: 78903a501e39
Create Date: 2026-11-30 02:30:00
"""

from collections.abc import Sequence
from pathlib import Path

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "4b9e2c7a1d63"
down_revision: str | None = "78903a501e39"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

APP_ROLE = "territory_app"
_HISTORY = Path(__file__).resolve().parents[2] / "services" / "metrics" / "history"
HISTORY_FUNCTIONS = (_HISTORY / "history_on_insert.sql", _HISTORY / "history_on_update.sql")
_INGEST_SQL = Path(__file__).resolve().parents[2] / "services" / "metrics" / "ingest" / "sql"
INGEST_FUNCTIONS = (_INGEST_SQL / "is_instant.sql", _INGEST_SQL / "is_uuid.sql")
HISTORY_INCLUDE = ["valid_to", "status", "amount_reporting", "opened_at", "closed_at"]


def _tenant_policy(table: str) -> None:
    op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
    op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
    op.execute(
        f"CREATE POLICY tenant_isolation ON {table}"
        " USING (tenant_id = current_tenant_id()) WITH CHECK (tenant_id = current_tenant_id())"
    )
    op.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON {table} TO {APP_ROLE}")


def _tenant_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["tenant_id"], ["tenant.id"], name=op.f(f"fk_{table}_tenant_id_tenant"), ondelete="CASCADE"
    )


def upgrade() -> None:
    def status_enum() -> sa.Enum:
        # Text with a CHECK, like opportunity.status (shared/models/assignment._enum).
        return sa.Enum(
            "open",
            "won",
            "lost",
            name="opportunity_status",
            native_enum=False,
            create_constraint=True,
            length=32,
        )

    op.create_table(
        "opportunity_stage",
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("status", status_enum(), server_default="open", nullable=False),
        sa.Column("position", sa.SmallInteger(), server_default="0", nullable=False),
        _tenant_fk("opportunity_stage"),
        sa.PrimaryKeyConstraint("tenant_id", "name", name=op.f("pk_opportunity_stage")),
    )
    op.create_table(
        "opportunity_history",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("opportunity_id", sa.UUID(), nullable=False),
        sa.Column("territory_id", sa.UUID(), nullable=True),
        sa.Column("rep_id", sa.UUID(), nullable=True),
        sa.Column("stage", sa.String(length=100), nullable=True),
        sa.Column("status", status_enum(), nullable=False),
        sa.Column("amount_reporting", sa.Numeric(18, 2), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("valid_from", sa.DateTime(timezone=True), nullable=False),
        sa.Column("valid_to", sa.DateTime(timezone=True), nullable=True),
        _tenant_fk("opportunity_history"),
        sa.ForeignKeyConstraint(
            ["opportunity_id"],
            ["opportunity.id"],
            name=op.f("fk_opportunity_history_opportunity_id_opportunity"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_opportunity_history")),
    )
    op.create_index(
        "ix_opportunity_history_territory",
        "opportunity_history",
        ["tenant_id", "territory_id", "valid_from"],
        postgresql_include=HISTORY_INCLUDE,
    )
    op.create_index(
        "ix_opportunity_history_rep",
        "opportunity_history",
        ["tenant_id", "rep_id", "valid_from"],
        postgresql_include=HISTORY_INCLUDE,
    )
    op.create_index(
        "uq_opportunity_history_current",
        "opportunity_history",
        ["opportunity_id"],
        unique=True,
        postgresql_where=sa.text("valid_to IS NULL"),
    )
    op.create_table(
        "metrics_import_job",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("format", sa.String(length=10), nullable=False),
        sa.Column("mode", sa.String(length=20), nullable=False),
        sa.Column("status", sa.String(length=20), server_default="pending", nullable=False),
        sa.Column("stage", sa.String(length=40), nullable=True),
        *[
            sa.Column(name, sa.BigInteger(), server_default="0", nullable=False)
            for name in (
                "total_rows",
                "processed_rows",
                "inserted_rows",
                "updated_rows",
                "unchanged_rows",
                "failed_rows",
            )
        ],
        sa.Column("error", sa.String(length=2000), nullable=True),
        sa.Column(
            "summary",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default="{}",
            nullable=False,
        ),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        _tenant_fk("metrics_import_job"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_metrics_import_job")),
    )
    op.create_index(op.f("ix_metrics_import_job_tenant_id"), "metrics_import_job", ["tenant_id"])
    op.create_table(
        "metrics_import_error",
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("job_id", sa.UUID(), nullable=False),
        sa.Column("row_number", sa.BigInteger(), nullable=False),
        sa.Column("field", sa.String(length=100), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=False),
        _tenant_fk("metrics_import_error"),
        sa.ForeignKeyConstraint(
            ["job_id"],
            ["metrics_import_job.id"],
            name=op.f("fk_metrics_import_error_job_id_metrics_import_job"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "job_id", "row_number", "field", name=op.f("pk_metrics_import_error")
        ),
    )
    op.create_index(
        op.f("ix_metrics_import_error_tenant_id"), "metrics_import_error", ["tenant_id"]
    )
    op.create_table(
        "potential_model_run",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("model", sa.String(length=500), nullable=False),
        sa.Column("window_start", sa.Date(), nullable=False),
        sa.Column("window_end", sa.Date(), nullable=False),
        sa.Column("trained_on", sa.Integer(), nullable=False),
        sa.Column("held_out", sa.Integer(), nullable=False),
        sa.Column("held_out_mape", sa.Float(), nullable=True),
        sa.Column("held_out_r2", sa.Float(), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        _tenant_fk("potential_model_run"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_potential_model_run")),
    )
    op.create_index(op.f("ix_potential_model_run_tenant_id"), "potential_model_run", ["tenant_id"])
    op.create_table(
        "account_potential_estimate",
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("run_id", sa.UUID(), nullable=False),
        sa.Column("account_id", sa.UUID(), nullable=False),
        sa.Column("estimate", sa.Float(), nullable=False),
        _tenant_fk("account_potential_estimate"),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["potential_model_run.id"],
            name=op.f("fk_account_potential_estimate_run_id_potential_model_run"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["account.id"],
            name=op.f("fk_account_potential_estimate_account_id_account"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("run_id", "account_id", name=op.f("pk_account_potential_estimate")),
    )
    op.create_index(
        op.f("ix_account_potential_estimate_tenant_id"),
        "account_potential_estimate",
        ["tenant_id"],
    )
    for table in (
        "opportunity_stage",
        "opportunity_history",
        "metrics_import_job",
        "metrics_import_error",
        "potential_model_run",
        "account_potential_estimate",
    ):
        _tenant_policy(table)
    op.execute(f"GRANT USAGE, SELECT ON SEQUENCE opportunity_history_id_seq TO {APP_ROLE}")

    op.add_column("quota", sa.Column("external_id", sa.String(length=255), nullable=True))
    op.create_index(
        "uq_quota_tenant_id_external_id",
        "quota",
        ["tenant_id", "external_id"],
        unique=True,
        postgresql_where=sa.text("external_id IS NOT NULL"),
    )

    # Indexes every bulk-written row paid for and no query needs: each is covered by an index
    # leading with the same columns (uq_opportunity_tenant_id_external_id,
    # ix_opportunity_kpi_territory, ix_activity_tenant_id_occurred_at).
    op.drop_index("ix_opportunity_tenant_id_territory_id", table_name="opportunity")
    op.drop_index("ix_opportunity_tenant_id", table_name="opportunity")
    op.drop_index("ix_activity_tenant_id", table_name="activity")

    op.execute("CREATE SCHEMA metrics_import")
    op.execute(f"GRANT USAGE, CREATE ON SCHEMA metrics_import TO {APP_ROLE}")
    for function in INGEST_FUNCTIONS:
        op.execute(function.read_text())

    for function in HISTORY_FUNCTIONS:
        op.execute(function.read_text())
    op.execute(
        "CREATE TRIGGER opportunity_history_insert AFTER INSERT ON opportunity"
        " REFERENCING NEW TABLE AS new_rows"
        " FOR EACH STATEMENT EXECUTE FUNCTION opportunity_history_on_insert()"
    )
    op.execute(
        "CREATE TRIGGER opportunity_history_update AFTER UPDATE ON opportunity"
        " REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows"
        " FOR EACH STATEMENT EXECUTE FUNCTION opportunity_history_on_update()"
    )
    # History is kept even when a bulk write turns per-row triggers (foreign keys) off with
    # session_replication_role = replica.
    op.execute("ALTER TABLE opportunity ENABLE ALWAYS TRIGGER opportunity_history_insert")
    op.execute("ALTER TABLE opportunity ENABLE ALWAYS TRIGGER opportunity_history_update")
    # Existing opportunities' first versions, for every tenant (FORCE lifted for this statement).
    op.execute("ALTER TABLE opportunity NO FORCE ROW LEVEL SECURITY")
    op.execute("ALTER TABLE opportunity_history NO FORCE ROW LEVEL SECURITY")
    op.execute(
        """
        INSERT INTO opportunity_history (tenant_id, opportunity_id, territory_id, rep_id, stage,
                                         status, amount_reporting, opened_at, closed_at,
                                         valid_from)
        SELECT tenant_id, id, territory_id, rep_id, stage, status, amount_reporting, opened_at,
               closed_at, least(coalesce(opened_at, created_at), now())
          FROM opportunity
        """
    )
    op.execute("ALTER TABLE opportunity_history FORCE ROW LEVEL SECURITY")
    op.execute("ALTER TABLE opportunity FORCE ROW LEVEL SECURITY")


def downgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS opportunity_history_update ON opportunity")
    op.execute("DROP TRIGGER IF EXISTS opportunity_history_insert ON opportunity")
    op.execute("DROP FUNCTION IF EXISTS opportunity_history_on_update()")
    op.execute("DROP FUNCTION IF EXISTS opportunity_history_on_insert()")
    op.execute("DROP SCHEMA metrics_import CASCADE")
    op.create_index("ix_activity_tenant_id", "activity", ["tenant_id"])
    op.create_index("ix_opportunity_tenant_id", "opportunity", ["tenant_id"])
    op.create_index(
        "ix_opportunity_tenant_id_territory_id", "opportunity", ["tenant_id", "territory_id"]
    )
    op.drop_index("uq_quota_tenant_id_external_id", table_name="quota")
    op.drop_column("quota", "external_id")
    op.drop_table("account_potential_estimate")
    op.drop_table("potential_model_run")
    op.drop_table("metrics_import_error")
    op.drop_table("metrics_import_job")
    op.drop_table("opportunity_history")
    op.drop_table("opportunity_stage")
