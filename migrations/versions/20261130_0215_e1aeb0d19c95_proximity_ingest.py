"""Proximity ingestion and tenant kind weights.

- ``connection``: first interaction, interaction count, ``updated_at`` (bulk upserts change rows).
- ``proximity_settings``: a tenant's weight per connection kind (scoring/model.py defaults).
- ``proximity_import`` and ``proximity_import_error``: bulk uploads of people and connections
  run on the job worker, with per-row errors. All three under ``tenant_isolation``.
- Schema ``proximity_ingest``: the uploads' UNLOGGED staging tables (created by the API as
  ``territory_app``, read by the worker) and ``is_timestamp`` and ``try_jsonb`` (ingest/sql/), and
  ``graph_versions`` (scoring/sql/: which tenants' graphs the service builds at startup).

Revision ID: e1aeb0d19c95
Revises: b9c052b49d4c
Create Date: 2026-11-30 02:15:00
"""

from collections.abc import Sequence
from pathlib import Path

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "e1aeb0d19c95"
down_revision: str | None = "b9c052b49d4c"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

APP_ROLE = "territory_app"
PROXIMITY = Path(__file__).resolve().parents[2] / "services" / "proximity"
SQL_FILES = {
    "is_timestamp": PROXIMITY / "ingest" / "sql" / "is_timestamp.sql",
    "try_jsonb": PROXIMITY / "ingest" / "sql" / "try_jsonb.sql",
    "graph_versions": PROXIMITY / "scoring" / "sql" / "graph_versions.sql",
}


def _isolate(table: str) -> None:
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


def _now(name: str) -> sa.Column:
    return sa.Column(
        name, sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
    )


def _count(name: str) -> sa.Column:
    return sa.Column(name, sa.BigInteger(), server_default=sa.text("0"), nullable=False)


def upgrade() -> None:
    op.add_column(
        "connection", sa.Column("first_interaction_at", sa.DateTime(timezone=True), nullable=True)
    )
    op.add_column(
        "connection",
        sa.Column("interaction_count", sa.Integer(), server_default=sa.text("0"), nullable=False),
    )
    op.add_column("connection", _now("updated_at"))
    op.create_check_constraint(
        op.f("ck_connection_interaction_count_range"), "connection", "interaction_count >= 0"
    )

    op.create_table(
        "proximity_settings",
        sa.Column("tenant_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column(
            "kind_weights",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        _now("updated_at"),
        _tenant_fk("proximity_settings"),
        sa.PrimaryKeyConstraint("tenant_id", name=op.f("pk_proximity_settings")),
    )
    _isolate("proximity_settings")

    op.create_table(
        "proximity_import",
        sa.Column(
            "id",
            postgresql.UUID(as_uuid=True),
            server_default=sa.text("gen_random_uuid()"),
            nullable=False,
        ),
        sa.Column("tenant_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("target", sa.String(length=16), nullable=False),
        sa.Column("format", sa.String(length=8), nullable=False),
        sa.Column("mode", sa.String(length=8), nullable=False),
        sa.Column("skip_bad_rows", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column(
            "status", sa.String(length=16), server_default=sa.text("'pending'"), nullable=False
        ),
        sa.Column("stage", sa.String(length=32), nullable=True),
        _count("total_rows"),
        _count("valid_rows"),
        _count("error_count"),
        _count("inserted"),
        _count("updated"),
        _count("deleted"),
        sa.Column("error", sa.Text(), nullable=True),
        _now("created_at"),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        _tenant_fk("proximity_import"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_proximity_import")),
    )
    op.create_index(op.f("ix_proximity_import_tenant_id"), "proximity_import", ["tenant_id"])
    _isolate("proximity_import")

    op.create_table(
        "proximity_import_error",
        sa.Column("import_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("row_number", sa.BigInteger(), nullable=False),
        sa.Column("tenant_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("field", sa.String(length=64), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["import_id"],
            ["proximity_import.id"],
            name=op.f("fk_proximity_import_error_import_id_proximity_import"),
            ondelete="CASCADE",
        ),
        _tenant_fk("proximity_import_error"),
        sa.PrimaryKeyConstraint("import_id", "row_number", name=op.f("pk_proximity_import_error")),
    )
    op.create_index(
        op.f("ix_proximity_import_error_tenant_id"), "proximity_import_error", ["tenant_id"]
    )
    _isolate("proximity_import_error")

    op.execute("CREATE SCHEMA proximity_ingest")
    op.execute(f"GRANT USAGE, CREATE ON SCHEMA proximity_ingest TO {APP_ROLE}")
    # The driver's own execute: the function's text holds colons SQLAlchemy would bind.
    for name, path in SQL_FILES.items():
        op.get_bind().exec_driver_sql(path.read_text())
        arguments = "" if name == "graph_versions" else "text"
        op.execute(f"REVOKE ALL ON FUNCTION proximity_ingest.{name}({arguments}) FROM PUBLIC")
        op.execute(f"GRANT EXECUTE ON FUNCTION proximity_ingest.{name}({arguments}) TO {APP_ROLE}")


def downgrade() -> None:
    op.execute("DROP SCHEMA proximity_ingest CASCADE")
    op.drop_index(op.f("ix_proximity_import_error_tenant_id"), table_name="proximity_import_error")
    op.drop_table("proximity_import_error")
    op.drop_index(op.f("ix_proximity_import_tenant_id"), table_name="proximity_import")
    op.drop_table("proximity_import")
    op.drop_table("proximity_settings")
    op.drop_constraint(op.f("ck_connection_interaction_count_range"), "connection", type_="check")
    op.drop_column("connection", "updated_at")
    op.drop_column("connection", "interaction_count")
    op.drop_column("connection", "first_interaction_at")
