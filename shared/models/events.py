"""Outbound integration: the transactional outbox of events, webhook subscriptions, deliveries.

The outbox (``outbox_event``) is written in the same transaction as the change it reports and
read in commit-safe order: by the writing transaction's id, then the event id (see
services/assignment/events/repository.py for why a plain sequence is not enough).
"""

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from shared.models.base import Base, CreatedAt, TenantId, UpdatedAt, UuidPk

# The writing transaction's id (xid8, epoch-extended: never wraps) as a bigint.
CURRENT_TXID = "(pg_current_xact_id())::text::bigint"
DELIVERY_STATUSES = ("pending", "delivered", "dead")


class OutboxEvent(Base):
    """One change an integrator may care about, e.g. ``lead.assigned``. Append-only; no
    foreign keys (a log of what happened, also after its subject is gone; and the bulk path
    writes a million of these in one statement)."""

    __tablename__ = "outbox_event"

    tenant_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    txid: Mapped[int] = mapped_column(
        BigInteger, primary_key=True, server_default=text(CURRENT_TXID)
    )
    id: Mapped[int] = mapped_column(BigInteger, Identity(always=True), primary_key=True)
    type: Mapped[str] = mapped_column(String(64))
    version: Mapped[int] = mapped_column(SmallInteger, server_default="1")
    # What the event is about (lead, account, alignment, territory or rep) and the key its
    # webhook deliveries are ordered by (the account, else the subject itself).
    subject_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    ordering_key: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    payload: Mapped[dict[str, Any]] = mapped_column(JSONB)
    occurred_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=text("now()")
    )


class WebhookSubscription(Base):
    __tablename__ = "webhook_subscription"

    id: Mapped[UuidPk]
    tenant_id: Mapped[TenantId]
    url: Mapped[str] = mapped_column(String(2000))
    description: Mapped[str | None] = mapped_column(String(500))
    # Empty: every type.
    event_types: Mapped[list[str]] = mapped_column(ARRAY(Text), server_default="{}")
    # Signs the deliveries; written, never read back through the API.
    secret: Mapped[str] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(Boolean, server_default=text("true"))
    # The subscription's position in the outbox: every event after it is yet to be fanned out.
    cursor_txid: Mapped[int] = mapped_column(BigInteger)
    cursor_event_id: Mapped[int] = mapped_column(BigInteger, server_default="0")
    created_at: Mapped[CreatedAt]
    updated_at: Mapped[UpdatedAt]


class WebhookDelivery(Base):
    """One event to one subscription: pending (due at ``next_attempt_at``; leased while in
    flight), delivered (a 2xx) or dead (``max attempts`` failures; replayable)."""

    __tablename__ = "webhook_delivery"
    __table_args__ = (
        UniqueConstraint("subscription_id", "event_id"),
        CheckConstraint("status IN ('pending', 'delivered', 'dead')", name="status_known"),
        # The pending deliveries of a subscription in event order: the window the pump
        # picks each ordering key's head from.
        Index(
            "ix_webhook_delivery_pending",
            "subscription_id",
            "event_txid",
            "event_id",
            postgresql_where=text("status = 'pending'"),
        ),
        Index("ix_webhook_delivery_listing", "subscription_id", "status", "created_at"),
    )

    id: Mapped[UuidPk]
    tenant_id: Mapped[TenantId]
    subscription_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("webhook_subscription.id", ondelete="CASCADE")
    )
    event_txid: Mapped[int] = mapped_column(BigInteger)
    event_id: Mapped[int] = mapped_column(BigInteger)
    event_type: Mapped[str] = mapped_column(String(64))
    ordering_key: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    status: Mapped[str] = mapped_column(String(16), server_default="pending")
    attempts: Mapped[int] = mapped_column(Integer, server_default="0")
    next_attempt_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=text("now()")
    )
    leased_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # The pump session (backend pid) sending it: gone = the pump died, the lease is void.
    leased_by: Mapped[int | None] = mapped_column(Integer)
    last_status_code: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[CreatedAt]
    delivered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    dead_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
