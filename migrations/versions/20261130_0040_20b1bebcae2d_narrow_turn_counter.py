"""Turn counters in a narrow table; the assignment engine's functions loaded from .sql files.

- ``territory_turn`` (territory_id, tenant_id, turn_counter): the round-robin counter moves off
  ``territory``. Every single-lead turn rewrote the ~2 KB territory row (a new row version, new
  entries in its GiST and other indexes: no HOT update, since the row rarely fits its page
  twice); the narrow row, at fillfactor 50 and with no index on the counter, updates in place.
  Its row lock now serialises a territory's turns. Rows are created on the first turn
  (``assign_lead_commit`` upserts; bulk ``reserve`` inserts the missing ones before locking).
  Row-level security as every tenant table.
- ``assign_lead_commit`` is reloaded from ``services/assignment/leads/sql/assign_lead_commit.sql``
  (the counter above; its steps are typed data, the text is rendered by the service).
- ``bulk_try_jsonb`` and ``assignment_bulk.domain_of`` are (re)loaded from
  ``services/assignment/bulk/sql/`` (same definitions: from now on a change is a diff of a file).

Revision ID: 20b1bebcae2d
Revises: 3f9c2a7d81b4
Create Date: 2026-11-30 00:40:00
"""

from collections.abc import Sequence
from pathlib import Path

import sqlalchemy as sa
from alembic import op

revision: str = "20b1bebcae2d"
down_revision: str | None = "3f9c2a7d81b4"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

APP_ROLE = "territory_app"
_ROOT = Path(__file__).resolve().parents[2]
_ASSIGNMENT = _ROOT / "services" / "assignment"
_FUNCTIONS = (
    _ASSIGNMENT / "leads" / "sql" / "assign_lead_commit.sql",
    _ASSIGNMENT / "bulk" / "sql" / "bulk_try_jsonb.sql",
    _ASSIGNMENT / "bulk" / "sql" / "domain_of.sql",
)
# The version this revision replaces, for the downgrade.
_PREVIOUS_COMMIT = _ROOT / "migrations" / "sql" / "assign_lead_commit.8fae8901f742.sql"

# FORCEd row security applies to a non-superuser owner too: copy each tenant's counters with
# that tenant set.
_PER_TENANT = """
DO $$
DECLARE
    v_tenant uuid;
BEGIN
    FOR v_tenant IN SELECT id FROM tenant LOOP
        PERFORM set_config('app.tenant_id', v_tenant::text, true);
        {statement}
    END LOOP;
    PERFORM set_config('app.tenant_id', '', true);
END
$$
"""


def upgrade() -> None:
    op.create_table(
        "territory_turn",
        sa.Column("territory_id", sa.UUID(), nullable=False),
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("turn_counter", sa.BigInteger(), server_default="0", nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenant.id"],
            name=op.f("fk_territory_turn_tenant_id_tenant"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["territory_id"],
            ["territory.id"],
            name=op.f("fk_territory_turn_territory_id_territory"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("territory_id", name=op.f("pk_territory_turn")),
    )
    op.create_index(
        op.f("ix_territory_turn_tenant_id"), "territory_turn", ["tenant_id"], unique=False
    )
    op.execute("ALTER TABLE territory_turn SET (fillfactor = 50)")
    op.execute("ALTER TABLE territory_turn ENABLE ROW LEVEL SECURITY")
    op.execute("ALTER TABLE territory_turn FORCE ROW LEVEL SECURITY")
    op.execute(
        "CREATE POLICY tenant_isolation ON territory_turn"
        " USING (tenant_id = current_tenant_id()) WITH CHECK (tenant_id = current_tenant_id())"
    )
    op.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON territory_turn TO {APP_ROLE}")
    op.execute(
        _PER_TENANT.format(
            statement="INSERT INTO territory_turn (territory_id, tenant_id, turn_counter)"
            " SELECT id, tenant_id, turn_counter FROM territory"
            " WHERE tenant_id = v_tenant AND turn_counter > 0;"
        )
    )
    op.drop_column("territory", "turn_counter")
    for path in _FUNCTIONS:
        op.execute(path.read_text())


def downgrade() -> None:
    op.add_column(
        "territory",
        sa.Column("turn_counter", sa.BigInteger(), server_default="0", nullable=False),
    )
    op.execute(
        _PER_TENANT.format(
            statement="UPDATE territory t SET turn_counter = tt.turn_counter"
            " FROM territory_turn tt WHERE tt.territory_id = t.id AND tt.tenant_id = v_tenant;"
        )
    )
    previous = _PREVIOUS_COMMIT.read_text()
    op.execute(previous.replace("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION", 1))
    op.drop_index(op.f("ix_territory_turn_tenant_id"), table_name="territory_turn")
    op.drop_table("territory_turn")
