# mypy: disable-error-code="attr-defined"
# (GeoAlchemy2 registers its create/drop_geospatial_* operations on alembic.op at run time.)
"""Assignment engine: subdivided territory parts, bulk jobs, rep load, account territory.

Revision ID: 21f4126aff18
Revises: b84fa9070aad
Create Date: 2026-11-26 15:14:25.982640
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry
from sqlalchemy.dialects import postgresql

revision: str = "21f4126aff18"
down_revision: str | None = "b84fa9070aad"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "assignment_job",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "pending",
                "running",
                "succeeded",
                "failed",
                name="assignment_job_status",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            server_default="pending",
            nullable=False,
        ),
        sa.Column("alignment_id", sa.UUID(), nullable=True),
        sa.Column("total_rows", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("processed_rows", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("assigned_rows", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("failed_rows", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("stage", sa.String(length=32), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column(
            "summary", postgresql.JSONB(astext_type=sa.Text()), server_default="{}", nullable=False
        ),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["alignment_id"],
            ["alignment.id"],
            name=op.f("fk_assignment_job_alignment_id_alignment"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenant.id"],
            name=op.f("fk_assignment_job_tenant_id_tenant"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_assignment_job")),
    )
    op.create_index(
        op.f("ix_assignment_job_tenant_id"), "assignment_job", ["tenant_id"], unique=False
    )
    op.create_table(
        "assignment_job_error",
        sa.Column("job_id", sa.UUID(), nullable=False),
        sa.Column("row_number", sa.BigInteger(), nullable=False),
        sa.Column("field", sa.String(length=100), nullable=True),
        sa.Column("message", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["job_id"],
            ["assignment_job.id"],
            name=op.f("fk_assignment_job_error_job_id_assignment_job"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("job_id", "row_number", name=op.f("pk_assignment_job_error")),
    )
    op.create_geospatial_table(
        "territory_part",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("alignment_id", sa.UUID(), nullable=False),
        sa.Column("territory_id", sa.UUID(), nullable=False),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("territory_area_m2", sa.Float(), nullable=False),
        sa.Column(
            "geom",
            Geometry(
                geometry_type="POLYGON",
                srid=4326,
                dimension=2,
                spatial_index=False,
                from_text="ST_GeomFromEWKT",
                name="geometry",
                nullable=False,
            ),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["alignment_id"],
            ["alignment.id"],
            name=op.f("fk_territory_part_alignment_id_alignment"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenant.id"],
            name=op.f("fk_territory_part_tenant_id_tenant"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["territory_id"],
            ["territory.id"],
            name=op.f("fk_territory_part_territory_id_territory"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_territory_part")),
    )
    op.create_geospatial_index(
        "idx_territory_part_geom",
        "territory_part",
        ["geom"],
        unique=False,
        postgresql_using="gist",
        postgresql_ops={},
    )
    op.create_index(
        "ix_territory_part_alignment_id", "territory_part", ["alignment_id"], unique=False
    )
    op.create_index(
        op.f("ix_territory_part_tenant_id"), "territory_part", ["tenant_id"], unique=False
    )
    op.create_index(
        op.f("ix_territory_part_territory_id"), "territory_part", ["territory_id"], unique=False
    )
    op.add_column("account", sa.Column("territory_id", sa.UUID(), nullable=True))
    op.create_index(op.f("ix_account_territory_id"), "account", ["territory_id"], unique=False)
    op.create_foreign_key(
        op.f("fk_account_territory_id_territory"),
        "account",
        "territory",
        ["territory_id"],
        ["id"],
        ondelete="SET NULL",
    )
    op.add_column("lead", sa.Column("job_id", sa.UUID(), nullable=True))
    op.create_foreign_key(
        op.f("fk_lead_job_id_assignment_job"),
        "lead",
        "assignment_job",
        ["job_id"],
        ["id"],
        ondelete="SET NULL",
    )
    op.create_index(
        "uq_person_tenant_id_rep_id",
        "person",
        ["tenant_id", "rep_id"],
        unique=True,
        postgresql_where=sa.text("rep_id IS NOT NULL"),
    )
    op.add_column(
        "rep", sa.Column("open_assignments", sa.BigInteger(), server_default="0", nullable=False)
    )


def downgrade() -> None:
    op.drop_column("rep", "open_assignments")
    op.drop_index(
        "uq_person_tenant_id_rep_id",
        table_name="person",
        postgresql_where=sa.text("rep_id IS NOT NULL"),
    )
    op.drop_constraint(op.f("fk_lead_job_id_assignment_job"), "lead", type_="foreignkey")
    op.drop_column("lead", "job_id")
    op.drop_constraint(op.f("fk_account_territory_id_territory"), "account", type_="foreignkey")
    op.drop_index(op.f("ix_account_territory_id"), table_name="account")
    op.drop_column("account", "territory_id")
    op.drop_index(op.f("ix_territory_part_territory_id"), table_name="territory_part")
    op.drop_index(op.f("ix_territory_part_tenant_id"), table_name="territory_part")
    op.drop_index("ix_territory_part_alignment_id", table_name="territory_part")
    op.drop_geospatial_index(
        "idx_territory_part_geom",
        table_name="territory_part",
        postgresql_using="gist",
        column_name="geom",
    )
    op.drop_geospatial_table("territory_part")
    op.drop_table("assignment_job_error")
    op.drop_index(op.f("ix_assignment_job_tenant_id"), table_name="assignment_job")
    op.drop_table("assignment_job")
