"""Proximity: its jobs (the accounts × reps matrix on the worker), and a graph version per
tenant, bumped by every write to ``person`` or ``connection``, so the proximity service knows
when its cached sparse graph is stale.

Statement-level triggers (one per event: transition tables allow one event per trigger) upsert
one row per tenant touched by the statement, so a bulk load of a million ties bumps once.

Revision ID: 3f9c2a7d81b4
Revises: 7c5ece1d2b3e
Create Date: 2026-11-30 00:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "3f9c2a7d81b4"
down_revision: str | None = "7c5ece1d2b3e"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

APP_ROLE = "territory_app"
TABLES = ("person", "connection")
EVENTS = {"insert": ("NEW",), "update": ("NEW",), "delete": ("OLD",)}

BUMP_FUNCTION = """
CREATE FUNCTION bump_proximity_graph_version() RETURNS trigger
LANGUAGE plpgsql SET search_path = public, pg_temp AS $fn$
BEGIN
    INSERT INTO proximity_graph_version AS v (tenant_id, version)
    SELECT DISTINCT changed.tenant_id, 1 FROM changed_rows changed
    ON CONFLICT (tenant_id) DO UPDATE SET version = v.version + 1;
    RETURN NULL;
END
$fn$;
"""


def upgrade() -> None:
    op.create_table(
        "proximity_graph_version",
        sa.Column("tenant_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("version", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenant.id"],
            name=op.f("fk_proximity_graph_version_tenant_id_tenant"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tenant_id", name=op.f("pk_proximity_graph_version")),
    )
    op.execute("ALTER TABLE proximity_graph_version ENABLE ROW LEVEL SECURITY")
    op.execute("ALTER TABLE proximity_graph_version FORCE ROW LEVEL SECURITY")
    op.execute(
        "CREATE POLICY tenant_isolation ON proximity_graph_version"
        " USING (tenant_id = current_tenant_id()) WITH CHECK (tenant_id = current_tenant_id())"
    )
    op.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON proximity_graph_version TO {APP_ROLE}")
    op.create_table(
        "proximity_job",
        sa.Column(
            "id",
            postgresql.UUID(as_uuid=True),
            server_default=sa.text("gen_random_uuid()"),
            nullable=False,
        ),
        sa.Column("tenant_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column(
            "status", sa.String(length=16), server_default=sa.text("'pending'"), nullable=False
        ),
        sa.Column("max_hops", sa.Integer(), nullable=False),
        sa.Column("total_accounts", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("result_rows", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("result_csv_gzip", sa.LargeBinary(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenant.id"],
            name=op.f("fk_proximity_job_tenant_id_tenant"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_proximity_job")),
    )
    op.create_index(op.f("ix_proximity_job_tenant_id"), "proximity_job", ["tenant_id"])
    op.execute("ALTER TABLE proximity_job ENABLE ROW LEVEL SECURITY")
    op.execute("ALTER TABLE proximity_job FORCE ROW LEVEL SECURITY")
    op.execute(
        "CREATE POLICY tenant_isolation ON proximity_job"
        " USING (tenant_id = current_tenant_id()) WITH CHECK (tenant_id = current_tenant_id())"
    )
    op.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON proximity_job TO {APP_ROLE}")
    op.execute(BUMP_FUNCTION)
    for table in TABLES:
        for event, (transition,) in EVENTS.items():
            op.execute(
                f"CREATE TRIGGER {table}_{event}_bumps_graph_version"
                f" AFTER {event.upper()} ON {table}"
                f" REFERENCING {transition} TABLE AS changed_rows FOR EACH STATEMENT"
                " EXECUTE FUNCTION bump_proximity_graph_version()"
            )


def downgrade() -> None:
    for table in TABLES:
        for event in EVENTS:
            op.execute(f"DROP TRIGGER {table}_{event}_bumps_graph_version ON {table}")
    op.execute("DROP FUNCTION bump_proximity_graph_version()")
    op.drop_table("proximity_graph_version")
    op.drop_index(op.f("ix_proximity_job_tenant_id"), table_name="proximity_job")
    op.drop_table("proximity_job")
