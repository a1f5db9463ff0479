# mypy: disable-error-code="attr-defined"
# (GeoAlchemy2 registers its add/drop_geospatial_* operations on alembic.op at run time.)
"""Unit sets: polygon or point units, adjacency overrides, islands, bulk unit imports.

- ``unit_set`` (polygon or point units, rook/queen adjacency with a minimum shared boundary,
  required measures); every ``basic_unit``, ``unit_adjacency`` row and scenario belongs to one.
  Existing units go into a default set per tenant (``is_default``; the ``/planning/units``
  routes without a set use it). Unit codes are unique per set, not per tenant.
- ``basic_unit.point`` (point units) and a nullable ``geom`` (a point unit's Voronoi cell).
- ``unit_adjacency.kind`` (border, explicit, island), ``distance_m`` and ``island_unit_id``
  (island links), an index on ``unit_b_id`` (a cascade from a deleted unit finds its edges).
- ``adjacency_override`` (add/remove an edge), ``unit_import`` and ``unit_import_upload``
  (bulk imports on the worker), each under ``tenant_isolation`` and granted to the app role.
- ``planning_try_geometry`` and ``planning_analyze_units`` loaded from
  ``services/planning/units/sql/``.

Revision ID: a3c81f0d9e27
Revises: e1aeb0d19c95
Create Date: 2026-11-30 02:09:21
"""

from collections.abc import Sequence
from pathlib import Path

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry
from sqlalchemy.dialects import postgresql

revision: str = "a3c81f0d9e27"
down_revision: str | None = "e1aeb0d19c95"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

APP_ROLE = "territory_app"
_ROOT = Path(__file__).resolve().parents[2]
_SQL = _ROOT / "services" / "planning" / "units" / "sql"
_FUNCTIONS = (_SQL / "planning_try_geometry.sql", _SQL / "planning_analyze_units.sql")
NEW_TENANT_TABLES = ("unit_set", "unit_import", "adjacency_override", "unit_import_upload")

# FORCEd row security applies to a non-superuser owner too: backfill each tenant with it set.
_BACKFILL = """
DO $$
DECLARE
    v_tenant uuid;
    v_set uuid;
BEGIN
    FOR v_tenant IN SELECT id FROM tenant LOOP
        PERFORM set_config('app.tenant_id', v_tenant::text, true);
        IF EXISTS (SELECT FROM basic_unit WHERE tenant_id = v_tenant) THEN
            INSERT INTO unit_set (tenant_id, name, is_default)
            VALUES (v_tenant, 'default', true) RETURNING id INTO v_set;
            UPDATE basic_unit SET unit_set_id = v_set WHERE tenant_id = v_tenant;
            UPDATE unit_adjacency SET unit_set_id = v_set WHERE tenant_id = v_tenant;
            UPDATE scenario SET unit_set_id = v_set WHERE tenant_id = v_tenant;
        END IF;
    END LOOP;
    PERFORM set_config('app.tenant_id', '', true);
END
$$
"""


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
        "unit_set",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "polygon",
                "point",
                name="unit_set_kind",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            server_default="polygon",
            nullable=False,
        ),
        sa.Column(
            "adjacency",
            sa.Enum(
                "rook",
                "queen",
                name="adjacency_rule",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            server_default="rook",
            nullable=False,
        ),
        sa.Column("min_shared_border_m", sa.Float(), server_default="0", nullable=False),
        sa.Column(
            "required_measures",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default="[]",
            nullable=False,
        ),
        sa.Column("is_default", sa.Boolean(), server_default="false", nullable=False),
        sa.Column("adjacency_built_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "min_shared_border_m >= 0", name=op.f("ck_unit_set_min_shared_border_non_negative")
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenant.id"],
            name=op.f("fk_unit_set_tenant_id_tenant"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_unit_set")),
        sa.UniqueConstraint("tenant_id", "name", name=op.f("uq_unit_set_tenant_id_name")),
    )
    op.create_index(op.f("ix_unit_set_tenant_id"), "unit_set", ["tenant_id"], unique=False)
    op.create_index(
        "uq_unit_set_default",
        "unit_set",
        ["tenant_id"],
        unique=True,
        postgresql_where=sa.text("is_default"),
    )
    op.create_table(
        "unit_import",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("unit_set_id", sa.UUID(), nullable=False),
        sa.Column("format", sa.String(length=16), nullable=False),
        sa.Column("skip_invalid", sa.Boolean(), server_default="false", nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "pending",
                "running",
                "succeeded",
                "failed",
                name="unit_import_status",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            server_default="pending",
            nullable=False,
        ),
        sa.Column("stage", sa.String(length=64), nullable=True),
        sa.Column("progress", sa.Float(), server_default="0", nullable=False),
        sa.Column("features", sa.Integer(), nullable=True),
        sa.Column("imported", sa.Integer(), server_default="0", nullable=False),
        sa.Column("error_count", sa.Integer(), server_default="0", nullable=False),
        sa.Column(
            "errors", postgresql.JSONB(astext_type=sa.Text()), server_default="[]", nullable=False
        ),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column(
            "timings", postgresql.JSONB(astext_type=sa.Text()), server_default="{}", nullable=False
        ),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenant.id"],
            name=op.f("fk_unit_import_tenant_id_tenant"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["unit_set_id"],
            ["unit_set.id"],
            name=op.f("fk_unit_import_unit_set_id_unit_set"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_unit_import")),
    )
    op.create_index(op.f("ix_unit_import_tenant_id"), "unit_import", ["tenant_id"], unique=False)
    op.create_index(
        op.f("ix_unit_import_unit_set_id"), "unit_import", ["unit_set_id"], unique=False
    )
    op.create_table(
        "adjacency_override",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("unit_set_id", sa.UUID(), nullable=False),
        sa.Column("unit_a_id", sa.UUID(), nullable=False),
        sa.Column("unit_b_id", sa.UUID(), nullable=False),
        sa.Column(
            "action",
            sa.Enum(
                "add",
                "remove",
                name="override_action",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("reason", sa.String(length=500), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "unit_a_id < unit_b_id", name=op.f("ck_adjacency_override_ordered_pair")
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenant.id"],
            name=op.f("fk_adjacency_override_tenant_id_tenant"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["unit_a_id"],
            ["basic_unit.id"],
            name=op.f("fk_adjacency_override_unit_a_id_basic_unit"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["unit_b_id"],
            ["basic_unit.id"],
            name=op.f("fk_adjacency_override_unit_b_id_basic_unit"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["unit_set_id"],
            ["unit_set.id"],
            name=op.f("fk_adjacency_override_unit_set_id_unit_set"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_adjacency_override")),
        sa.UniqueConstraint(
            "unit_set_id",
            "unit_a_id",
            "unit_b_id",
            name=op.f("uq_adjacency_override_unit_set_id_unit_a_id_unit_b_id"),
        ),
    )
    op.create_index(
        op.f("ix_adjacency_override_tenant_id"), "adjacency_override", ["tenant_id"], unique=False
    )
    op.create_index(
        op.f("ix_adjacency_override_unit_a_id"), "adjacency_override", ["unit_a_id"], unique=False
    )
    op.create_index(
        op.f("ix_adjacency_override_unit_b_id"), "adjacency_override", ["unit_b_id"], unique=False
    )
    op.create_table(
        "unit_import_upload",
        sa.Column("import_id", sa.UUID(), nullable=False),
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["import_id"],
            ["unit_import.id"],
            name=op.f("fk_unit_import_upload_import_id_unit_import"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenant.id"],
            name=op.f("fk_unit_import_upload_tenant_id_tenant"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("import_id", name=op.f("pk_unit_import_upload")),
    )
    op.create_index(
        op.f("ix_unit_import_upload_tenant_id"), "unit_import_upload", ["tenant_id"], unique=False
    )
    op.add_column("basic_unit", sa.Column("unit_set_id", sa.UUID(), nullable=True))
    op.add_geospatial_column(
        "basic_unit",
        sa.Column(
            "point",
            Geometry(
                geometry_type="POINT",
                srid=4326,
                dimension=2,
                spatial_index=False,
                from_text="ST_GeomFromEWKT",
                name="geometry",
            ),
            nullable=True,
        ),
    )
    op.alter_column(
        "basic_unit",
        "geom",
        existing_type=Geometry(
            geometry_type="MULTIPOLYGON",
            srid=4326,
            dimension=2,
            from_text="ST_GeomFromEWKT",
            name="geometry",
            nullable=False,
            _spatial_index_reflected=True,
        ),
        nullable=True,
    )
    op.drop_constraint(op.f("uq_basic_unit_tenant_id_code"), "basic_unit", type_="unique")
    op.create_geospatial_index(
        "idx_basic_unit_point",
        "basic_unit",
        ["point"],
        unique=False,
        postgresql_using="gist",
        postgresql_ops={},
    )
    op.create_index(op.f("ix_basic_unit_unit_set_id"), "basic_unit", ["unit_set_id"], unique=False)
    op.create_unique_constraint(
        op.f("uq_basic_unit_tenant_id_unit_set_id_code"),
        "basic_unit",
        ["tenant_id", "unit_set_id", "code"],
    )
    op.create_foreign_key(
        op.f("fk_basic_unit_unit_set_id_unit_set"),
        "basic_unit",
        "unit_set",
        ["unit_set_id"],
        ["id"],
        ondelete="CASCADE",
    )
    op.add_column("scenario", sa.Column("unit_set_id", sa.UUID(), nullable=True))
    op.create_index(op.f("ix_scenario_unit_set_id"), "scenario", ["unit_set_id"], unique=False)
    op.create_foreign_key(
        op.f("fk_scenario_unit_set_id_unit_set"),
        "scenario",
        "unit_set",
        ["unit_set_id"],
        ["id"],
        ondelete="CASCADE",
    )
    op.add_column("unit_adjacency", sa.Column("unit_set_id", sa.UUID(), nullable=True))
    op.add_column(
        "unit_adjacency",
        sa.Column(
            "kind",
            sa.Enum(
                "border",
                "explicit",
                "island",
                name="adjacency_kind",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            server_default="border",
            nullable=False,
        ),
    )
    op.add_column("unit_adjacency", sa.Column("distance_m", sa.Float(), nullable=True))
    op.add_column("unit_adjacency", sa.Column("island_unit_id", sa.UUID(), nullable=True))
    op.create_index(
        op.f("ix_unit_adjacency_unit_b_id"), "unit_adjacency", ["unit_b_id"], unique=False
    )
    op.create_index(
        op.f("ix_unit_adjacency_unit_set_id"), "unit_adjacency", ["unit_set_id"], unique=False
    )
    op.create_foreign_key(
        op.f("fk_unit_adjacency_unit_set_id_unit_set"),
        "unit_adjacency",
        "unit_set",
        ["unit_set_id"],
        ["id"],
        ondelete="CASCADE",
    )
    for table in NEW_TENANT_TABLES:
        _tenant_policy(table)
    op.execute(_BACKFILL)
    op.alter_column("basic_unit", "unit_set_id", nullable=False)
    op.alter_column("unit_adjacency", "unit_set_id", nullable=False)
    for path in _FUNCTIONS:
        op.execute(path.read_text())
    op.execute("REVOKE ALL ON FUNCTION planning_analyze_units() FROM PUBLIC")
    op.execute(f"GRANT EXECUTE ON FUNCTION planning_analyze_units() TO {APP_ROLE}")


def downgrade() -> None:
    op.execute("DROP FUNCTION IF EXISTS planning_try_geometry(jsonb)")
    op.execute("DROP FUNCTION IF EXISTS planning_analyze_units()")
    # Codes were unique per set; only the default set's units fit the old per-tenant rule.
    op.execute("ALTER TABLE basic_unit NO FORCE ROW LEVEL SECURITY")
    op.execute(
        "DELETE FROM basic_unit WHERE unit_set_id NOT IN (SELECT id FROM unit_set WHERE is_default)"
    )
    op.execute("DELETE FROM basic_unit WHERE geom IS NULL")
    op.execute("ALTER TABLE basic_unit FORCE ROW LEVEL SECURITY")
    op.drop_constraint(
        op.f("fk_unit_adjacency_unit_set_id_unit_set"), "unit_adjacency", type_="foreignkey"
    )
    op.drop_index(op.f("ix_unit_adjacency_unit_set_id"), table_name="unit_adjacency")
    op.drop_index(op.f("ix_unit_adjacency_unit_b_id"), table_name="unit_adjacency")
    op.drop_column("unit_adjacency", "island_unit_id")
    op.drop_column("unit_adjacency", "distance_m")
    op.drop_column("unit_adjacency", "kind")
    op.drop_column("unit_adjacency", "unit_set_id")
    op.drop_constraint(op.f("fk_scenario_unit_set_id_unit_set"), "scenario", type_="foreignkey")
    op.drop_index(op.f("ix_scenario_unit_set_id"), table_name="scenario")
    op.drop_column("scenario", "unit_set_id")
    op.drop_constraint(op.f("fk_basic_unit_unit_set_id_unit_set"), "basic_unit", type_="foreignkey")
    op.drop_constraint(
        op.f("uq_basic_unit_tenant_id_unit_set_id_code"), "basic_unit", type_="unique"
    )
    op.drop_index(op.f("ix_basic_unit_unit_set_id"), table_name="basic_unit")
    op.drop_geospatial_index(
        "idx_basic_unit_point",
        table_name="basic_unit",
        postgresql_using="gist",
        column_name="point",
    )
    op.create_unique_constraint(
        op.f("uq_basic_unit_tenant_id_code"),
        "basic_unit",
        ["tenant_id", "code"],
        postgresql_nulls_not_distinct=False,
    )
    op.alter_column(
        "basic_unit",
        "geom",
        existing_type=Geometry(
            geometry_type="MULTIPOLYGON",
            srid=4326,
            dimension=2,
            from_text="ST_GeomFromEWKT",
            name="geometry",
            nullable=False,
            _spatial_index_reflected=True,
        ),
        nullable=False,
    )
    op.drop_geospatial_column("basic_unit", "point")
    op.drop_column("basic_unit", "unit_set_id")
    op.drop_index(op.f("ix_unit_import_upload_tenant_id"), table_name="unit_import_upload")
    op.drop_table("unit_import_upload")
    op.drop_index(op.f("ix_adjacency_override_unit_b_id"), table_name="adjacency_override")
    op.drop_index(op.f("ix_adjacency_override_unit_a_id"), table_name="adjacency_override")
    op.drop_index(op.f("ix_adjacency_override_tenant_id"), table_name="adjacency_override")
    op.drop_table("adjacency_override")
    op.drop_index(op.f("ix_unit_import_unit_set_id"), table_name="unit_import")
    op.drop_index(op.f("ix_unit_import_tenant_id"), table_name="unit_import")
    op.drop_table("unit_import")
    op.drop_index(
        "uq_unit_set_default", table_name="unit_set", postgresql_where=sa.text("is_default")
    )
    op.drop_index(op.f("ix_unit_set_tenant_id"), table_name="unit_set")
    op.drop_table("unit_set")
