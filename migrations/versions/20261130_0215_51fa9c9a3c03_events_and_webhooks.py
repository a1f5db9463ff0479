"""Outbound events: the transactional outbox, webhook subscriptions and deliveries.

- ``outbox_event``: written in the transaction of each change an integrator cares about; its
  key ``(tenant_id, txid, id)`` is the feed's order (the writer's transaction id first: see
  services/assignment/events/repository.py). No foreign keys: an append-only log.
- ``webhook_subscription`` (URL, event types, secret, its cursor in the outbox) and
  ``webhook_delivery`` (one event to one subscription: pending, delivered or dead).
- All three under the ``tenant_isolation`` policy (forced) and granted to ``territory_app``.
- ``outbox_horizon()`` (services/assignment/events/sql/): the txid below which the feed
  serves events (the snapshot's xmin, leaving out transactions of other databases).
- ``tenant.active_webhooks``, kept by a trigger on ``webhook_subscription``, and the SECURITY
  DEFINER ``webhook_pump_tenants()``: the tenants the worker's delivery pump visits
  (services/assignment/webhooks/sql/).

Revision ID: 51fa9c9a3c03
Revises: 4b9e2c7a1d63
Create Date: 2026-11-30 02:15:00
"""

from collections.abc import Sequence
from pathlib import Path

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "51fa9c9a3c03"
down_revision: str | None = "4b9e2c7a1d63"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

APP_ROLE = "territory_app"
CURRENT_TXID = "(pg_current_xact_id())::text::bigint"
_SERVICE = Path(__file__).resolve().parents[2] / "services" / "assignment"
_FUNCTIONS = (
    _SERVICE / "events" / "sql" / "outbox_horizon.sql",
    _SERVICE / "webhooks" / "sql" / "webhook_count_active.sql",
    _SERVICE / "webhooks" / "sql" / "webhook_pump_tenants.sql",
)


def _tenant_policy(table: str) -> None:
    op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
    op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
    op.execute(
        f"CREATE POLICY tenant_isolation ON {table}"
        " USING (tenant_id = current_tenant_id()) WITH CHECK (tenant_id = current_tenant_id())"
    )
    op.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON {table} TO {APP_ROLE}")


def upgrade() -> None:
    op.add_column(
        "tenant",
        sa.Column("active_webhooks", sa.Integer(), server_default="0", nullable=False),
    )
    op.create_table(
        "outbox_event",
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("txid", sa.BigInteger(), server_default=sa.text(CURRENT_TXID), nullable=False),
        sa.Column("id", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column("type", sa.String(length=64), nullable=False),
        sa.Column("version", sa.SmallInteger(), server_default="1", nullable=False),
        sa.Column("subject_id", sa.UUID(), nullable=False),
        sa.Column("ordering_key", sa.UUID(), nullable=False),
        sa.Column("payload", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column(
            "occurred_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("tenant_id", "txid", "id", name=op.f("pk_outbox_event")),
    )
    op.create_table(
        "webhook_subscription",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("url", sa.String(length=2000), nullable=False),
        sa.Column("description", sa.String(length=500), nullable=True),
        sa.Column("event_types", postgresql.ARRAY(sa.Text()), server_default="{}", nullable=False),
        sa.Column("secret", sa.String(length=200), nullable=False),
        sa.Column("active", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("cursor_txid", sa.BigInteger(), nullable=False),
        sa.Column("cursor_event_id", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenant.id"],
            name=op.f("fk_webhook_subscription_tenant_id_tenant"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_subscription")),
    )
    op.create_index(
        op.f("ix_webhook_subscription_tenant_id"), "webhook_subscription", ["tenant_id"]
    )
    op.create_table(
        "webhook_delivery",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("subscription_id", sa.UUID(), nullable=False),
        sa.Column("event_txid", sa.BigInteger(), nullable=False),
        sa.Column("event_id", sa.BigInteger(), nullable=False),
        sa.Column("event_type", sa.String(length=64), nullable=False),
        sa.Column("ordering_key", sa.UUID(), nullable=False),
        sa.Column("status", sa.String(length=16), server_default="pending", nullable=False),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column(
            "next_attempt_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("leased_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("leased_by", sa.Integer(), nullable=True),
        sa.Column("last_status_code", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.String(length=500), nullable=True),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("dead_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "status IN ('pending', 'delivered', 'dead')",
            name=op.f("ck_webhook_delivery_status_known"),
        ),
        sa.ForeignKeyConstraint(
            ["subscription_id"],
            ["webhook_subscription.id"],
            name=op.f("fk_webhook_delivery_subscription_id_webhook_subscription"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenant.id"],
            name=op.f("fk_webhook_delivery_tenant_id_tenant"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_delivery")),
        sa.UniqueConstraint(
            "subscription_id",
            "event_id",
            name=op.f("uq_webhook_delivery_subscription_id_event_id"),
        ),
    )
    op.create_index(op.f("ix_webhook_delivery_tenant_id"), "webhook_delivery", ["tenant_id"])
    op.create_index(
        "ix_webhook_delivery_pending",
        "webhook_delivery",
        ["subscription_id", "event_txid", "event_id"],
        postgresql_where=sa.text("status = 'pending'"),
    )
    op.create_index(
        "ix_webhook_delivery_listing",
        "webhook_delivery",
        ["subscription_id", "status", "created_at"],
    )
    for table in ("outbox_event", "webhook_subscription", "webhook_delivery"):
        _tenant_policy(table)
    op.execute(f"GRANT USAGE, SELECT ON SEQUENCE outbox_event_id_seq TO {APP_ROLE}")

    for path in _FUNCTIONS:
        op.execute(path.read_text())
    op.execute(
        "CREATE TRIGGER webhook_count_active AFTER INSERT OR UPDATE OF active OR DELETE"
        " ON webhook_subscription FOR EACH ROW EXECUTE FUNCTION webhook_count_active()"
    )
    for function in ("webhook_pump_tenants()", "outbox_horizon()"):
        op.execute(f"REVOKE ALL ON FUNCTION {function} FROM PUBLIC")
        op.execute(f"GRANT EXECUTE ON FUNCTION {function} TO {APP_ROLE}")


def downgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS webhook_count_active ON webhook_subscription")
    op.execute("DROP FUNCTION IF EXISTS webhook_count_active()")
    op.execute("DROP FUNCTION IF EXISTS webhook_pump_tenants()")
    op.execute("DROP FUNCTION IF EXISTS outbox_horizon()")
    op.drop_index("ix_webhook_delivery_listing", table_name="webhook_delivery")
    op.drop_index("ix_webhook_delivery_pending", table_name="webhook_delivery")
    op.drop_index(op.f("ix_webhook_delivery_tenant_id"), table_name="webhook_delivery")
    op.drop_table("webhook_delivery")
    op.drop_index(op.f("ix_webhook_subscription_tenant_id"), table_name="webhook_subscription")
    op.drop_table("webhook_subscription")
    op.drop_table("outbox_event")
    op.drop_column("tenant", "active_webhooks")
