# mypy: disable-error-code="attr-defined"
# (GeoAlchemy2 registers its create/drop_geospatial_* operations on alembic.op at run time.)
"""Initial schema: tenancy, assignment, planning, proximity and metrics tables.

Revision ID: b84fa9070aad
Revises:
Create Date: 2026-11-26 15:05:21.723022
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry
from sqlalchemy.dialects import postgresql

revision: str = "b84fa9070aad"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("CREATE EXTENSION IF NOT EXISTS postgis")
    op.create_geospatial_table(
        "postal_code",
        sa.Column("country", sa.String(length=2), nullable=False),
        sa.Column("code", sa.String(length=20), nullable=False),
        sa.Column("place_name", sa.String(length=200), nullable=True),
        sa.Column("admin_area", sa.String(length=100), nullable=True),
        sa.Column(
            "centroid",
            Geometry(
                geometry_type="POINT",
                srid=4326,
                dimension=2,
                spatial_index=False,
                from_text="ST_GeomFromEWKT",
                name="geometry",
                nullable=False,
            ),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("country", "code", name=op.f("pk_postal_code")),
    )
    op.create_geospatial_index(
        "idx_postal_code_centroid",
        "postal_code",
        ["centroid"],
        unique=False,
        postgresql_using="gist",
        postgresql_ops={},
    )
    op.create_table(
        "tenant",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("slug", sa.String(length=63), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tenant")),
        sa.UniqueConstraint("slug", name=op.f("uq_tenant_slug")),
    )
    op.create_table(
        "alignment",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "draft",
                "active",
                "archived",
                name="alignment_status",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            server_default="draft",
            nullable=False,
        ),
        sa.Column("effective_from", sa.DateTime(timezone=True), nullable=True),
        sa.Column("cloned_from_id", sa.UUID(), nullable=True),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("archived_at", sa.DateTime(timezone=True), nullable=True),
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
        sa.ForeignKeyConstraint(
            ["cloned_from_id"],
            ["alignment.id"],
            name=op.f("fk_alignment_cloned_from_id_alignment"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenant.id"],
            name=op.f("fk_alignment_tenant_id_tenant"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alignment")),
    )
    op.create_index(op.f("ix_alignment_tenant_id"), "alignment", ["tenant_id"], unique=False)
    op.create_index(
        "uq_alignment_one_active_per_tenant",
        "alignment",
        ["tenant_id"],
        unique=True,
        postgresql_where=sa.text("status = 'active'"),
    )
    op.create_table(
        "api_key",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("prefix", sa.String(length=32), nullable=False),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("scopes", postgresql.ARRAY(sa.Text()), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenant.id"],
            name=op.f("fk_api_key_tenant_id_tenant"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_key")),
        sa.UniqueConstraint("key_hash", name=op.f("uq_api_key_key_hash")),
    )
    op.create_index(op.f("ix_api_key_tenant_id"), "api_key", ["tenant_id"], unique=False)
    op.create_geospatial_table(
        "basic_unit",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("code", sa.String(length=100), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=True),
        sa.Column(
            "geom",
            Geometry(
                geometry_type="MULTIPOLYGON",
                srid=4326,
                dimension=2,
                spatial_index=False,
                from_text="ST_GeomFromEWKT",
                name="geometry",
                nullable=False,
            ),
            nullable=False,
        ),
        sa.Column(
            "measures", postgresql.JSONB(astext_type=sa.Text()), server_default="{}", nullable=False
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
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenant.id"],
            name=op.f("fk_basic_unit_tenant_id_tenant"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_basic_unit")),
        sa.UniqueConstraint("tenant_id", "code", name=op.f("uq_basic_unit_tenant_id_code")),
    )
    op.create_geospatial_index(
        "idx_basic_unit_geom",
        "basic_unit",
        ["geom"],
        unique=False,
        postgresql_using="gist",
        postgresql_ops={},
    )
    op.create_index(op.f("ix_basic_unit_tenant_id"), "basic_unit", ["tenant_id"], unique=False)
    op.create_table(
        "idempotency_record",
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("method", sa.String(length=10), nullable=False),
        sa.Column("path", sa.String(length=500), nullable=False),
        sa.Column("request_hash", sa.String(length=64), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=False),
        sa.Column("response_body", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenant.id"],
            name=op.f("fk_idempotency_record_tenant_id_tenant"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tenant_id", "key", name=op.f("pk_idempotency_record")),
    )
    op.create_geospatial_table(
        "lead",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("external_id", sa.String(length=255), nullable=True),
        sa.Column("email", sa.String(length=320), nullable=True),
        sa.Column("domain", sa.String(length=255), nullable=True),
        sa.Column(
            "location",
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
        sa.Column("postal_code", sa.String(length=20), nullable=True),
        sa.Column("country", sa.String(length=2), nullable=True),
        sa.Column("industry", sa.String(length=100), nullable=True),
        sa.Column("employee_count", sa.Integer(), nullable=True),
        sa.Column("annual_revenue", sa.Numeric(precision=18, scale=2), nullable=True),
        sa.Column(
            "attributes",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default="{}",
            nullable=False,
        ),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenant.id"], name=op.f("fk_lead_tenant_id_tenant"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lead")),
    )
    op.create_index(op.f("ix_lead_tenant_id"), "lead", ["tenant_id"], unique=False)
    op.create_index(
        "ix_lead_tenant_id_created_at", "lead", ["tenant_id", "created_at"], unique=False
    )
    op.create_geospatial_table(
        "rep",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("external_id", sa.String(length=255), nullable=True),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=True),
        sa.Column("capacity", sa.Integer(), nullable=True),
        sa.Column(
            "home",
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
        sa.Column("skills", postgresql.ARRAY(sa.Text()), server_default="{}", nullable=False),
        sa.Column("segments", postgresql.ARRAY(sa.Text()), server_default="{}", nullable=False),
        sa.Column("manager_id", sa.UUID(), nullable=True),
        sa.Column("active", sa.Boolean(), server_default=sa.text("true"), nullable=False),
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
        sa.ForeignKeyConstraint(
            ["manager_id"], ["rep.id"], name=op.f("fk_rep_manager_id_rep"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenant.id"], name=op.f("fk_rep_tenant_id_tenant"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rep")),
        sa.UniqueConstraint("tenant_id", "external_id", name=op.f("uq_rep_tenant_id_external_id")),
    )
    op.create_geospatial_index(
        "idx_rep_home", "rep", ["home"], unique=False, postgresql_using="gist", postgresql_ops={}
    )
    op.create_index(op.f("ix_rep_tenant_id"), "rep", ["tenant_id"], unique=False)
    op.create_geospatial_table(
        "account",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("external_id", sa.String(length=255), nullable=False),
        sa.Column("name", sa.String(length=300), nullable=False),
        sa.Column("domain", sa.String(length=255), nullable=True),
        sa.Column(
            "location",
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
        sa.Column("postal_code", sa.String(length=20), nullable=True),
        sa.Column("country", sa.String(length=2), nullable=True),
        sa.Column("industry", sa.String(length=100), nullable=True),
        sa.Column("employee_count", sa.Integer(), nullable=True),
        sa.Column("annual_revenue", sa.Numeric(precision=18, scale=2), nullable=True),
        sa.Column("potential", sa.Numeric(precision=18, scale=2), nullable=True),
        sa.Column(
            "attributes",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default="{}",
            nullable=False,
        ),
        sa.Column("owner_rep_id", sa.UUID(), nullable=True),
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
        sa.ForeignKeyConstraint(
            ["owner_rep_id"],
            ["rep.id"],
            name=op.f("fk_account_owner_rep_id_rep"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenant.id"],
            name=op.f("fk_account_tenant_id_tenant"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_account")),
        sa.UniqueConstraint(
            "tenant_id", "external_id", name=op.f("uq_account_tenant_id_external_id")
        ),
    )
    op.create_geospatial_index(
        "idx_account_location",
        "account",
        ["location"],
        unique=False,
        postgresql_using="gist",
        postgresql_ops={},
    )
    op.create_index(op.f("ix_account_owner_rep_id"), "account", ["owner_rep_id"], unique=False)
    op.create_index(op.f("ix_account_tenant_id"), "account", ["tenant_id"], unique=False)
    op.create_index("ix_account_tenant_id_domain", "account", ["tenant_id", "domain"], unique=False)
    op.create_table(
        "audit_event",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("api_key_id", sa.UUID(), nullable=True),
        sa.Column("action", sa.String(length=100), nullable=False),
        sa.Column("entity", sa.String(length=100), nullable=False),
        sa.Column("entity_id", sa.String(length=100), nullable=True),
        sa.Column("request_id", sa.String(length=64), nullable=True),
        sa.Column(
            "detail", postgresql.JSONB(astext_type=sa.Text()), server_default="{}", nullable=False
        ),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["api_key_id"],
            ["api_key.id"],
            name=op.f("fk_audit_event_api_key_id_api_key"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenant.id"],
            name=op.f("fk_audit_event_tenant_id_tenant"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_event")),
    )
    op.create_index(
        "ix_audit_event_tenant_id_created_at",
        "audit_event",
        ["tenant_id", "created_at"],
        unique=False,
    )
    op.create_table(
        "scenario",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("alignment_id", sa.UUID(), nullable=True),
        sa.Column("base_alignment_id", sa.UUID(), nullable=True),
        sa.Column(
            "parameters",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default="{}",
            nullable=False,
        ),
        sa.Column("statistics", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column(
            "status",
            sa.Enum(
                "pending",
                "running",
                "succeeded",
                "failed",
                "cancelled",
                name="scenario_status",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            server_default="pending",
            nullable=False,
        ),
        sa.Column("progress", sa.Float(), server_default="0", nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
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
            ["alignment_id"],
            ["alignment.id"],
            name=op.f("fk_scenario_alignment_id_alignment"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["base_alignment_id"],
            ["alignment.id"],
            name=op.f("fk_scenario_base_alignment_id_alignment"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenant.id"],
            name=op.f("fk_scenario_tenant_id_tenant"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_scenario")),
    )
    op.create_index(op.f("ix_scenario_tenant_id"), "scenario", ["tenant_id"], unique=False)
    op.create_geospatial_table(
        "territory",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("alignment_id", sa.UUID(), nullable=False),
        sa.Column("parent_id", sa.UUID(), nullable=True),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("level", sa.Integer(), server_default="0", nullable=False),
        sa.Column(
            "geom",
            Geometry(
                geometry_type="MULTIPOLYGON",
                srid=4326,
                dimension=2,
                spatial_index=False,
                from_text="ST_GeomFromEWKT",
                name="geometry",
            ),
            nullable=True,
        ),
        sa.Column("criteria", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("priority", sa.Integer(), server_default="100", nullable=False),
        sa.Column(
            "distribution_rule",
            sa.Enum(
                "round_robin",
                "weighted",
                "capacity",
                "proximity",
                name="distribution_rule",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            server_default="round_robin",
            nullable=False,
        ),
        sa.Column(
            "required_skills", postgresql.ARRAY(sa.Text()), server_default="{}", nullable=False
        ),
        sa.Column("is_fallback", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("turn_counter", sa.BigInteger(), server_default="0", nullable=False),
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
        sa.ForeignKeyConstraint(
            ["alignment_id"],
            ["alignment.id"],
            name=op.f("fk_territory_alignment_id_alignment"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["parent_id"],
            ["territory.id"],
            name=op.f("fk_territory_parent_id_territory"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenant.id"],
            name=op.f("fk_territory_tenant_id_tenant"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_territory")),
        sa.UniqueConstraint("alignment_id", "name", name=op.f("uq_territory_alignment_id_name")),
    )
    op.create_geospatial_index(
        "idx_territory_geom",
        "territory",
        ["geom"],
        unique=False,
        postgresql_using="gist",
        postgresql_ops={},
    )
    op.create_index(op.f("ix_territory_parent_id"), "territory", ["parent_id"], unique=False)
    op.create_index(op.f("ix_territory_tenant_id"), "territory", ["tenant_id"], unique=False)
    op.create_index(
        "ix_territory_tenant_id_alignment_id",
        "territory",
        ["tenant_id", "alignment_id"],
        unique=False,
    )
    op.create_table(
        "unit_adjacency",
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("unit_a_id", sa.UUID(), nullable=False),
        sa.Column("unit_b_id", sa.UUID(), nullable=False),
        sa.Column("shared_border_m", sa.Float(), server_default="0", nullable=False),
        sa.CheckConstraint("unit_a_id < unit_b_id", name=op.f("ck_unit_adjacency_ordered_pair")),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenant.id"],
            name=op.f("fk_unit_adjacency_tenant_id_tenant"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["unit_a_id"],
            ["basic_unit.id"],
            name=op.f("fk_unit_adjacency_unit_a_id_basic_unit"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["unit_b_id"],
            ["basic_unit.id"],
            name=op.f("fk_unit_adjacency_unit_b_id_basic_unit"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("unit_a_id", "unit_b_id", name=op.f("pk_unit_adjacency")),
    )
    op.create_index(
        op.f("ix_unit_adjacency_tenant_id"), "unit_adjacency", ["tenant_id"], unique=False
    )
    op.create_table(
        "assignment",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("lead_id", sa.UUID(), nullable=False),
        sa.Column("account_id", sa.UUID(), nullable=True),
        sa.Column("alignment_id", sa.UUID(), nullable=True),
        sa.Column("territory_id", sa.UUID(), nullable=True),
        sa.Column("rep_id", sa.UUID(), nullable=True),
        sa.Column("matched_rule", sa.String(length=32), nullable=False),
        sa.Column("distribution_rule", sa.String(length=32), nullable=True),
        sa.Column(
            "explanation",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default="[]",
            nullable=False,
        ),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["account.id"],
            name=op.f("fk_assignment_account_id_account"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["alignment_id"],
            ["alignment.id"],
            name=op.f("fk_assignment_alignment_id_alignment"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["lead_id"], ["lead.id"], name=op.f("fk_assignment_lead_id_lead"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["rep_id"], ["rep.id"], name=op.f("fk_assignment_rep_id_rep"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenant.id"],
            name=op.f("fk_assignment_tenant_id_tenant"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["territory_id"],
            ["territory.id"],
            name=op.f("fk_assignment_territory_id_territory"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_assignment")),
    )
    op.create_index(op.f("ix_assignment_lead_id"), "assignment", ["lead_id"], unique=False)
    op.create_index(op.f("ix_assignment_rep_id"), "assignment", ["rep_id"], unique=False)
    op.create_index(op.f("ix_assignment_tenant_id"), "assignment", ["tenant_id"], unique=False)
    op.create_index(
        "ix_assignment_tenant_id_created_at",
        "assignment",
        ["tenant_id", "created_at"],
        unique=False,
    )
    op.create_index(
        "ix_assignment_territory_id_rep_id", "assignment", ["territory_id", "rep_id"], unique=False
    )
    op.create_table(
        "opportunity",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("external_id", sa.String(length=255), nullable=False),
        sa.Column("account_id", sa.UUID(), nullable=True),
        sa.Column("rep_id", sa.UUID(), nullable=True),
        sa.Column("territory_id", sa.UUID(), nullable=True),
        sa.Column("name", sa.String(length=300), nullable=False),
        sa.Column("stage", sa.String(length=100), nullable=True),
        sa.Column(
            "status",
            sa.Enum(
                "open",
                "won",
                "lost",
                name="opportunity_status",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            server_default="open",
            nullable=False,
        ),
        sa.Column("amount", sa.Numeric(precision=18, scale=2), server_default="0", nullable=False),
        sa.Column("is_new_business", sa.Boolean(), server_default="true", nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
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
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["account.id"],
            name=op.f("fk_opportunity_account_id_account"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["rep_id"], ["rep.id"], name=op.f("fk_opportunity_rep_id_rep"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenant.id"],
            name=op.f("fk_opportunity_tenant_id_tenant"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["territory_id"],
            ["territory.id"],
            name=op.f("fk_opportunity_territory_id_territory"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_opportunity")),
    )
    op.create_index(op.f("ix_opportunity_account_id"), "opportunity", ["account_id"], unique=False)
    op.create_index(op.f("ix_opportunity_rep_id"), "opportunity", ["rep_id"], unique=False)
    op.create_index(op.f("ix_opportunity_tenant_id"), "opportunity", ["tenant_id"], unique=False)
    op.create_index(
        "ix_opportunity_tenant_id_territory_id",
        "opportunity",
        ["tenant_id", "territory_id"],
        unique=False,
    )
    op.create_index(
        "uq_opportunity_tenant_id_external_id",
        "opportunity",
        ["tenant_id", "external_id"],
        unique=True,
    )
    op.create_table(
        "person",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("external_id", sa.String(length=255), nullable=True),
        sa.Column(
            "kind",
            sa.Enum(
                "rep",
                "contact",
                name="person_kind",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("rep_id", sa.UUID(), nullable=True),
        sa.Column("account_id", sa.UUID(), nullable=True),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=True),
        sa.Column("title", sa.String(length=200), nullable=True),
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
            "kind <> 'rep' OR rep_id IS NOT NULL", name=op.f("ck_person_rep_has_rep_id")
        ),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["account.id"],
            name=op.f("fk_person_account_id_account"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["rep_id"], ["rep.id"], name=op.f("fk_person_rep_id_rep"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenant.id"],
            name=op.f("fk_person_tenant_id_tenant"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_person")),
        sa.UniqueConstraint(
            "tenant_id", "external_id", name=op.f("uq_person_tenant_id_external_id")
        ),
    )
    op.create_index(op.f("ix_person_account_id"), "person", ["account_id"], unique=False)
    op.create_index(op.f("ix_person_rep_id"), "person", ["rep_id"], unique=False)
    op.create_index(op.f("ix_person_tenant_id"), "person", ["tenant_id"], unique=False)
    op.create_table(
        "quota",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("rep_id", sa.UUID(), nullable=True),
        sa.Column("territory_id", sa.UUID(), nullable=True),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.Column("period_end", sa.Date(), nullable=False),
        sa.Column("amount", sa.Numeric(precision=18, scale=2), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "(rep_id IS NOT NULL) <> (territory_id IS NOT NULL)", name=op.f("ck_quota_one_subject")
        ),
        sa.CheckConstraint("period_end > period_start", name=op.f("ck_quota_period_order")),
        sa.ForeignKeyConstraint(
            ["rep_id"], ["rep.id"], name=op.f("fk_quota_rep_id_rep"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenant.id"], name=op.f("fk_quota_tenant_id_tenant"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["territory_id"],
            ["territory.id"],
            name=op.f("fk_quota_territory_id_territory"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_quota")),
    )
    op.create_index(op.f("ix_quota_rep_id"), "quota", ["rep_id"], unique=False)
    op.create_index(op.f("ix_quota_tenant_id"), "quota", ["tenant_id"], unique=False)
    op.create_index(op.f("ix_quota_territory_id"), "quota", ["territory_id"], unique=False)
    op.create_table(
        "territory_member",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("territory_id", sa.UUID(), nullable=False),
        sa.Column("rep_id", sa.UUID(), nullable=False),
        sa.Column(
            "role",
            sa.Enum(
                "owner",
                "overlay",
                name="member_role",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            server_default="owner",
            nullable=False,
        ),
        sa.Column("weight", sa.Numeric(precision=10, scale=4), server_default="1", nullable=False),
        sa.Column("assigned_count", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["rep_id"], ["rep.id"], name=op.f("fk_territory_member_rep_id_rep"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenant.id"],
            name=op.f("fk_territory_member_tenant_id_tenant"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["territory_id"],
            ["territory.id"],
            name=op.f("fk_territory_member_territory_id_territory"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_territory_member")),
        sa.UniqueConstraint(
            "territory_id",
            "rep_id",
            "role",
            name=op.f("uq_territory_member_territory_id_rep_id_role"),
        ),
    )
    op.create_index(
        op.f("ix_territory_member_rep_id"), "territory_member", ["rep_id"], unique=False
    )
    op.create_index(
        op.f("ix_territory_member_tenant_id"), "territory_member", ["tenant_id"], unique=False
    )
    op.create_table(
        "activity",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("external_id", sa.String(length=255), nullable=True),
        sa.Column("kind", sa.String(length=50), nullable=False),
        sa.Column("rep_id", sa.UUID(), nullable=True),
        sa.Column("account_id", sa.UUID(), nullable=True),
        sa.Column("opportunity_id", sa.UUID(), nullable=True),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("duration_minutes", sa.Integer(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["account.id"],
            name=op.f("fk_activity_account_id_account"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["opportunity_id"],
            ["opportunity.id"],
            name=op.f("fk_activity_opportunity_id_opportunity"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["rep_id"], ["rep.id"], name=op.f("fk_activity_rep_id_rep"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenant.id"],
            name=op.f("fk_activity_tenant_id_tenant"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_activity")),
    )
    op.create_index(op.f("ix_activity_account_id"), "activity", ["account_id"], unique=False)
    op.create_index(op.f("ix_activity_rep_id"), "activity", ["rep_id"], unique=False)
    op.create_index(op.f("ix_activity_tenant_id"), "activity", ["tenant_id"], unique=False)
    op.create_index(
        "ix_activity_tenant_id_occurred_at", "activity", ["tenant_id", "occurred_at"], unique=False
    )
    op.create_table(
        "connection",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("person_a_id", sa.UUID(), nullable=False),
        sa.Column("person_b_id", sa.UUID(), nullable=False),
        sa.Column("kind", sa.String(length=50), nullable=False),
        sa.Column("strength", sa.Float(), nullable=False),
        sa.Column("last_interaction_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint("person_a_id < person_b_id", name=op.f("ck_connection_ordered_pair")),
        sa.CheckConstraint(
            "strength > 0 AND strength <= 1", name=op.f("ck_connection_strength_range")
        ),
        sa.ForeignKeyConstraint(
            ["person_a_id"],
            ["person.id"],
            name=op.f("fk_connection_person_a_id_person"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["person_b_id"],
            ["person.id"],
            name=op.f("fk_connection_person_b_id_person"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenant.id"],
            name=op.f("fk_connection_tenant_id_tenant"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_connection")),
        sa.UniqueConstraint(
            "person_a_id",
            "person_b_id",
            "kind",
            name=op.f("uq_connection_person_a_id_person_b_id_kind"),
        ),
    )
    op.create_index("ix_connection_person_b_id", "connection", ["person_b_id"], unique=False)
    op.create_index(op.f("ix_connection_tenant_id"), "connection", ["tenant_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_connection_tenant_id"), table_name="connection")
    op.drop_index("ix_connection_person_b_id", table_name="connection")
    op.drop_table("connection")
    op.drop_index("ix_activity_tenant_id_occurred_at", table_name="activity")
    op.drop_index(op.f("ix_activity_tenant_id"), table_name="activity")
    op.drop_index(op.f("ix_activity_rep_id"), table_name="activity")
    op.drop_index(op.f("ix_activity_account_id"), table_name="activity")
    op.drop_table("activity")
    op.drop_index(op.f("ix_territory_member_tenant_id"), table_name="territory_member")
    op.drop_index(op.f("ix_territory_member_rep_id"), table_name="territory_member")
    op.drop_table("territory_member")
    op.drop_index(op.f("ix_quota_territory_id"), table_name="quota")
    op.drop_index(op.f("ix_quota_tenant_id"), table_name="quota")
    op.drop_index(op.f("ix_quota_rep_id"), table_name="quota")
    op.drop_table("quota")
    op.drop_index(op.f("ix_person_tenant_id"), table_name="person")
    op.drop_index(op.f("ix_person_rep_id"), table_name="person")
    op.drop_index(op.f("ix_person_account_id"), table_name="person")
    op.drop_table("person")
    op.drop_index("uq_opportunity_tenant_id_external_id", table_name="opportunity")
    op.drop_index("ix_opportunity_tenant_id_territory_id", table_name="opportunity")
    op.drop_index(op.f("ix_opportunity_tenant_id"), table_name="opportunity")
    op.drop_index(op.f("ix_opportunity_rep_id"), table_name="opportunity")
    op.drop_index(op.f("ix_opportunity_account_id"), table_name="opportunity")
    op.drop_table("opportunity")
    op.drop_index("ix_assignment_territory_id_rep_id", table_name="assignment")
    op.drop_index("ix_assignment_tenant_id_created_at", table_name="assignment")
    op.drop_index(op.f("ix_assignment_tenant_id"), table_name="assignment")
    op.drop_index(op.f("ix_assignment_rep_id"), table_name="assignment")
    op.drop_index(op.f("ix_assignment_lead_id"), table_name="assignment")
    op.drop_table("assignment")
    op.drop_index(op.f("ix_unit_adjacency_tenant_id"), table_name="unit_adjacency")
    op.drop_table("unit_adjacency")
    op.drop_index("ix_territory_tenant_id_alignment_id", table_name="territory")
    op.drop_index(op.f("ix_territory_tenant_id"), table_name="territory")
    op.drop_index(op.f("ix_territory_parent_id"), table_name="territory")
    op.drop_geospatial_index(
        "idx_territory_geom", table_name="territory", postgresql_using="gist", column_name="geom"
    )
    op.drop_geospatial_table("territory")
    op.drop_index(op.f("ix_scenario_tenant_id"), table_name="scenario")
    op.drop_table("scenario")
    op.drop_index("ix_audit_event_tenant_id_created_at", table_name="audit_event")
    op.drop_table("audit_event")
    op.drop_index("ix_account_tenant_id_domain", table_name="account")
    op.drop_index(op.f("ix_account_tenant_id"), table_name="account")
    op.drop_index(op.f("ix_account_owner_rep_id"), table_name="account")
    op.drop_geospatial_index(
        "idx_account_location",
        table_name="account",
        postgresql_using="gist",
        column_name="location",
    )
    op.drop_geospatial_table("account")
    op.drop_index(op.f("ix_rep_tenant_id"), table_name="rep")
    op.drop_geospatial_index(
        "idx_rep_home", table_name="rep", postgresql_using="gist", column_name="home"
    )
    op.drop_geospatial_table("rep")
    op.drop_index("ix_lead_tenant_id_created_at", table_name="lead")
    op.drop_index(op.f("ix_lead_tenant_id"), table_name="lead")
    op.drop_geospatial_table("lead")
    op.drop_table("idempotency_record")
    op.drop_index(op.f("ix_basic_unit_tenant_id"), table_name="basic_unit")
    op.drop_geospatial_index(
        "idx_basic_unit_geom", table_name="basic_unit", postgresql_using="gist", column_name="geom"
    )
    op.drop_geospatial_table("basic_unit")
    op.drop_index(op.f("ix_api_key_tenant_id"), table_name="api_key")
    op.drop_table("api_key")
    op.drop_index(
        "uq_alignment_one_active_per_tenant",
        table_name="alignment",
        postgresql_where=sa.text("status = 'active'"),
    )
    op.drop_index(op.f("ix_alignment_tenant_id"), table_name="alignment")
    op.drop_table("alignment")
    op.drop_table("tenant")
    op.drop_geospatial_index(
        "idx_postal_code_centroid",
        table_name="postal_code",
        postgresql_using="gist",
        column_name="centroid",
    )
    op.drop_geospatial_table("postal_code")
    op.execute("DROP EXTENSION IF EXISTS postgis")
