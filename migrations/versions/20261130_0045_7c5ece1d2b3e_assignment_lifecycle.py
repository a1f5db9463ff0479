"""The lead lifecycle: an assignment's status and every transition, and indexes for listing.

- ``assignment.status`` (open, worked, converted, closed, reassigned; existing rows are open,
  which is what ``rep.open_assignments`` already counted), the last transition's time, key and
  reason, and ``replaces_assignment_id`` / ``replaced_by_assignment_id`` (a reassignment's
  two ends).
- ``assignment_transition``: one row per status change, with its row-level security policy.
- Keyset indexes for ``GET /assignment/assignments`` filters: (tenant, created_at, id) replaces
  (tenant, created_at); (rep, created_at, id) replaces (rep); (territory, created_at, id) and
  (tenant, status, created_at, id) are new; ``lead (tenant_id, external_id)``.

Revision ID: 7c5ece1d2b3e
Revises: 756e7c1b5f29
Create Date: 2026-11-30 00:45:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "7c5ece1d2b3e"
down_revision: str | None = "756e7c1b5f29"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

APP_ROLE = "territory_app"


def upgrade() -> None:
    op.add_column(
        "assignment",
        sa.Column(
            "status",
            sa.Enum(
                "open",
                "worked",
                "converted",
                "closed",
                "reassigned",
                name="assignment_status",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            server_default="open",
            nullable=False,
        ),
    )
    op.add_column(
        "assignment", sa.Column("status_changed_at", sa.DateTime(timezone=True), nullable=True)
    )
    op.add_column("assignment", sa.Column("status_changed_by_key_id", sa.UUID(), nullable=True))
    op.add_column("assignment", sa.Column("status_reason", sa.Text(), nullable=True))
    for column in ("replaces_assignment_id", "replaced_by_assignment_id"):
        op.add_column("assignment", sa.Column(column, sa.UUID(), nullable=True))
        op.create_foreign_key(
            op.f(f"fk_assignment_{column}_assignment"),
            "assignment",
            "assignment",
            [column],
            ["id"],
            ondelete="SET NULL",
        )

    op.drop_index("ix_assignment_tenant_id_created_at", table_name="assignment")
    op.drop_index(op.f("ix_assignment_rep_id"), table_name="assignment")
    op.create_index(
        "ix_assignment_tenant_id_created_at_id", "assignment", ["tenant_id", "created_at", "id"]
    )
    op.create_index(
        "ix_assignment_rep_id_created_at_id", "assignment", ["rep_id", "created_at", "id"]
    )
    op.create_index(
        "ix_assignment_territory_id_created_at_id",
        "assignment",
        ["territory_id", "created_at", "id"],
    )
    op.create_index(
        "ix_assignment_tenant_id_status_created_at_id",
        "assignment",
        ["tenant_id", "status", "created_at", "id"],
    )
    op.create_index("ix_lead_tenant_id_external_id", "lead", ["tenant_id", "external_id"])

    op.create_table(
        "assignment_transition",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("assignment_id", sa.UUID(), nullable=False),
        sa.Column(
            "from_status",
            sa.Enum(
                "open",
                "worked",
                "converted",
                "closed",
                "reassigned",
                name="assignment_transition_from_status",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column(
            "to_status",
            sa.Enum(
                "open",
                "worked",
                "converted",
                "closed",
                "reassigned",
                name="assignment_transition_to_status",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("api_key_id", sa.UUID(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("request_id", sa.String(length=64), nullable=True),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["assignment_id"],
            ["assignment.id"],
            name=op.f("fk_assignment_transition_assignment_id_assignment"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenant.id"],
            name=op.f("fk_assignment_transition_tenant_id_tenant"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_assignment_transition")),
    )
    op.create_index(
        op.f("ix_assignment_transition_tenant_id"), "assignment_transition", ["tenant_id"]
    )
    op.create_index(
        "ix_assignment_transition_assignment_id_id",
        "assignment_transition",
        ["assignment_id", "id"],
    )
    # Row-level security as migration 756e7c1b5f29 set it up for every tenant table.
    op.execute("ALTER TABLE assignment_transition ENABLE ROW LEVEL SECURITY")
    op.execute("ALTER TABLE assignment_transition FORCE ROW LEVEL SECURITY")
    op.execute(
        "CREATE POLICY tenant_isolation ON assignment_transition"
        " USING (tenant_id = current_tenant_id()) WITH CHECK (tenant_id = current_tenant_id())"
    )
    # The history is append-only for the services.
    op.execute(f"REVOKE ALL ON assignment_transition FROM {APP_ROLE}")
    op.execute(f"GRANT SELECT, INSERT ON assignment_transition TO {APP_ROLE}")
    op.execute(f"GRANT USAGE, SELECT ON SEQUENCE assignment_transition_id_seq TO {APP_ROLE}")


def downgrade() -> None:
    op.drop_table("assignment_transition")
    op.drop_index("ix_lead_tenant_id_external_id", table_name="lead")
    op.drop_index("ix_assignment_tenant_id_status_created_at_id", table_name="assignment")
    op.drop_index("ix_assignment_territory_id_created_at_id", table_name="assignment")
    op.drop_index("ix_assignment_rep_id_created_at_id", table_name="assignment")
    op.drop_index("ix_assignment_tenant_id_created_at_id", table_name="assignment")
    op.create_index(op.f("ix_assignment_rep_id"), "assignment", ["rep_id"])
    op.create_index("ix_assignment_tenant_id_created_at", "assignment", ["tenant_id", "created_at"])
    for column in ("replaced_by_assignment_id", "replaces_assignment_id"):
        op.drop_constraint(
            op.f(f"fk_assignment_{column}_assignment"), "assignment", type_="foreignkey"
        )
        op.drop_column("assignment", column)
    op.drop_column("assignment", "status_reason")
    op.drop_column("assignment", "status_changed_by_key_id")
    op.drop_column("assignment", "status_changed_at")
    op.drop_column("assignment", "status")
