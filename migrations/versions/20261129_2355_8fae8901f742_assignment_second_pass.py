"""Assignment second pass: accounts know both their territory and their owner's, territories
keep their repair note and descriptive attributes, and ``assign_lead_commit`` labels escalations.

- ``account.owner_territory_id``: the owner's territory (where the account's leads go), beside
  ``territory_id`` (the territory the account falls in by rules and geography).
- ``territory.repair_note``: why the stored polygon differs from the one sent (?repair=true).
- ``territory.attributes``: descriptive properties, e.g. a GeoJSON feature's extra properties.
- ``assign_lead_commit`` is reloaded from ``migrations/sql/assign_lead_commit.8fae8901f742.sql``
  (its version of ``services/assignment/leads/sql/assign_lead_commit.sql``; it now returns
  the final matched_rule: a lead escalated to the fallback says so).

Revision ID: 8fae8901f742
Revises: a6db7127596c
Create Date: 2026-11-29 23:55:00
"""

import importlib.util
from collections.abc import Sequence
from pathlib import Path

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "8fae8901f742"
down_revision: str | None = "a6db7127596c"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ROOT = Path(__file__).resolve().parents[2]
# The function as this revision made it (the live file under services/ moved on since).
_FUNCTION = _ROOT / "migrations" / "sql" / "assign_lead_commit.8fae8901f742.sql"
_SIGNATURE = (
    "assign_lead_commit(uuid, uuid, uuid, uuid, uuid, uuid[], text, text, jsonb, uuid, text, jsonb)"
)


def _previous_function() -> str:
    """The function as revision 5d1c0a7e9b21 created it (its return type differs)."""
    path = Path(__file__).with_name("20261126_1530_5d1c0a7e9b21_assign_lead_commit.py")
    spec = importlib.util.spec_from_file_location("previous_assign_lead_commit", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return str(module.ASSIGN_LEAD_COMMIT)


def upgrade() -> None:
    op.add_column("account", sa.Column("owner_territory_id", sa.UUID(), nullable=True))
    op.create_index(
        op.f("ix_account_owner_territory_id"), "account", ["owner_territory_id"], unique=False
    )
    op.create_foreign_key(
        op.f("fk_account_owner_territory_id_territory"),
        "account",
        "territory",
        ["owner_territory_id"],
        ["id"],
        ondelete="SET NULL",
    )
    op.add_column(
        "territory",
        sa.Column(
            "attributes",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default="{}",
            nullable=False,
        ),
    )
    op.add_column("territory", sa.Column("repair_note", sa.Text(), nullable=True))
    op.execute(f"DROP FUNCTION {_SIGNATURE}")
    op.execute(_FUNCTION.read_text())


def downgrade() -> None:
    op.execute(f"DROP FUNCTION {_SIGNATURE}")
    op.execute(_previous_function())
    op.drop_column("territory", "repair_note")
    op.drop_column("territory", "attributes")
    op.drop_constraint(
        op.f("fk_account_owner_territory_id_territory"), "account", type_="foreignkey"
    )
    op.drop_index(op.f("ix_account_owner_territory_id"), table_name="account")
    op.drop_column("account", "owner_territory_id")
