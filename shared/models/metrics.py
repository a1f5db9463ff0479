"""Opportunities, activities and quotas: the facts territory performance is measured on."""

import enum
import uuid
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import CheckConstraint, Date, DateTime, ForeignKey, Index, Integer, Numeric, String
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column

from shared.models.assignment import _enum
from shared.models.base import Base, CreatedAt, TenantId, UpdatedAt, UuidPk


class OpportunityStatus(enum.StrEnum):
    open = "open"
    won = "won"
    lost = "lost"


class Opportunity(Base):
    __tablename__ = "opportunity"
    __table_args__ = (
        Index("uq_opportunity_tenant_id_external_id", "tenant_id", "external_id", unique=True),
        Index("ix_opportunity_tenant_id_territory_id", "tenant_id", "territory_id"),
    )

    id: Mapped[UuidPk]
    tenant_id: Mapped[TenantId]
    external_id: Mapped[str] = mapped_column(String(255))
    account_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("account.id", ondelete="SET NULL"), index=True
    )
    rep_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("rep.id", ondelete="SET NULL"), index=True
    )
    territory_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("territory.id", ondelete="SET NULL")
    )
    name: Mapped[str] = mapped_column(String(300))
    stage: Mapped[str | None] = mapped_column(String(100))
    status: Mapped[OpportunityStatus] = mapped_column(
        _enum(OpportunityStatus, "opportunity_status"), server_default="open"
    )
    amount: Mapped[Decimal] = mapped_column(Numeric(18, 2), server_default="0")
    is_new_business: Mapped[bool] = mapped_column(server_default="true")
    opened_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[CreatedAt]
    updated_at: Mapped[UpdatedAt]


class Activity(Base):
    __tablename__ = "activity"
    __table_args__ = (Index("ix_activity_tenant_id_occurred_at", "tenant_id", "occurred_at"),)

    id: Mapped[UuidPk]
    tenant_id: Mapped[TenantId]
    external_id: Mapped[str | None] = mapped_column(String(255))
    # e.g. call, email, meeting, demo, task.
    kind: Mapped[str] = mapped_column(String(50))
    rep_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("rep.id", ondelete="SET NULL"), index=True
    )
    account_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("account.id", ondelete="SET NULL"), index=True
    )
    opportunity_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("opportunity.id", ondelete="SET NULL")
    )
    occurred_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    duration_minutes: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[CreatedAt]


class Quota(Base):
    __tablename__ = "quota"
    __table_args__ = (
        CheckConstraint("(rep_id IS NOT NULL) <> (territory_id IS NOT NULL)", name="one_subject"),
        CheckConstraint("period_end > period_start", name="period_order"),
    )

    id: Mapped[UuidPk]
    tenant_id: Mapped[TenantId]
    rep_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("rep.id", ondelete="CASCADE"), index=True
    )
    territory_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("territory.id", ondelete="CASCADE"), index=True
    )
    period_start: Mapped[date] = mapped_column(Date)
    # Exclusive end, so consecutive periods never overlap.
    period_end: Mapped[date] = mapped_column(Date)
    amount: Mapped[Decimal] = mapped_column(
        Numeric(18, 2), CheckConstraint("amount >= 0", name="amount_non_negative")
    )
    created_at: Mapped[CreatedAt]
