"""Change requests with approval, their history, comments, and the planning approval policy.

- ``change_request`` (a scenario proposed for publishing; one live request per scenario by a
  partial unique index), ``change_request_event`` (its history, append-only), ``comment``
  (on a territory, scenario or change request; replies), ``planning_settings`` (whether every
  publish needs an approved request). All under ``tenant_isolation`` and granted to
  ``territory_app``.

Revision ID: aa488642a742
Revises: e67256dd71ea
Create Date: 2026-11-30 03:00:00
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "aa488642a742"
down_revision: str | None = "e67256dd71ea"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

APP_ROLE = "territory_app"
TABLES = ["change_request", "change_request_event", "comment", "planning_settings"]


def _tenant_policy(table: str) -> None:
    op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
    op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
    op.execute(
        f"CREATE POLICY tenant_isolation ON {table}"
        " USING (tenant_id = current_tenant_id()) WITH CHECK (tenant_id = current_tenant_id())"
    )
    op.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON {table} TO {APP_ROLE}")


def _timestamp(name: str) -> "sa.Column[Any]":
    return sa.Column(name, sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False)


def _tenant(table: str) -> list[Any]:
    return [
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenant.id"],
            name=op.f(f"fk_{table}_tenant_id_tenant"),
            ondelete="CASCADE",
        ),
    ]


def _key(table: str, column: str) -> list[Any]:
    return [
        sa.Column(column, sa.UUID(), nullable=True),
        sa.ForeignKeyConstraint(
            [column], ["api_key.id"], name=op.f(f"fk_{table}_{column}_api_key"), ondelete="SET NULL"
        ),
    ]


def upgrade() -> None:
    op.create_table(
        "change_request",
        sa.Column("id", sa.UUID(), server_default=sa.func.gen_random_uuid(), nullable=False),
        *_tenant("change_request"),
        sa.Column("scenario_id", sa.UUID(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column(
            "status",
            sa.Enum(
                "proposed",
                "approved",
                "rejected",
                "withdrawn",
                "published",
                name="change_request_status",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            server_default="proposed",
            nullable=False,
        ),
        *_key("change_request", "proposed_by"),
        *_key("change_request", "decided_by"),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        _timestamp("created_at"),
        _timestamp("updated_at"),
        sa.ForeignKeyConstraint(
            ["scenario_id"],
            ["scenario.id"],
            name=op.f("fk_change_request_scenario_id_scenario"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_change_request")),
    )
    op.create_index(op.f("ix_change_request_tenant_id"), "change_request", ["tenant_id"])
    op.create_index(op.f("ix_change_request_scenario_id"), "change_request", ["scenario_id"])
    op.create_index(
        "uq_change_request_open_per_scenario",
        "change_request",
        ["tenant_id", "scenario_id"],
        unique=True,
        postgresql_where=sa.text("status IN ('proposed', 'approved')"),
    )
    op.create_table(
        "change_request_event",
        sa.Column("id", sa.UUID(), server_default=sa.func.gen_random_uuid(), nullable=False),
        *_tenant("change_request_event"),
        sa.Column("change_request_id", sa.UUID(), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        *_key("change_request_event", "actor_key_id"),
        sa.Column("comment", sa.Text(), nullable=True),
        _timestamp("created_at"),
        sa.ForeignKeyConstraint(
            ["change_request_id"],
            ["change_request.id"],
            name=op.f("fk_change_request_event_change_request_id_change_request"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_change_request_event")),
    )
    op.create_index(
        op.f("ix_change_request_event_tenant_id"), "change_request_event", ["tenant_id"]
    )
    op.create_index(
        op.f("ix_change_request_event_change_request_id"),
        "change_request_event",
        ["change_request_id"],
    )
    op.create_table(
        "comment",
        sa.Column("id", sa.UUID(), server_default=sa.func.gen_random_uuid(), nullable=False),
        *_tenant("comment"),
        sa.Column(
            "subject_type",
            sa.Enum(
                "territory",
                "scenario",
                "change_request",
                name="comment_subject",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("subject_id", sa.UUID(), nullable=False),
        sa.Column("reply_to", sa.UUID(), nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        *_key("comment", "author_key_id"),
        _timestamp("created_at"),
        _timestamp("updated_at"),
        sa.ForeignKeyConstraint(
            ["reply_to"],
            ["comment.id"],
            name=op.f("fk_comment_reply_to_comment"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_comment")),
    )
    op.create_index(op.f("ix_comment_tenant_id"), "comment", ["tenant_id"])
    op.create_index(
        "ix_comment_subject", "comment", ["tenant_id", "subject_type", "subject_id", "created_at"]
    )
    op.create_table(
        "planning_settings",
        *_tenant("planning_settings"),
        sa.Column("require_approval", sa.Boolean(), server_default="false", nullable=False),
        _timestamp("updated_at"),
        sa.PrimaryKeyConstraint("tenant_id", name=op.f("pk_planning_settings")),
    )
    for table in TABLES:
        _tenant_policy(table)


def downgrade() -> None:
    for table in reversed(TABLES):
        op.drop_table(table)
