"""Opportunities, activities and quotas: the facts territory performance is measured on."""

import enum
import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Identity,
    Index,
    Integer,
    Numeric,
    SmallInteger,
    String,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID
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
        # Leads with tenant_id, so it also serves tenant-wide scans and the tenant's cascade:
        # no index on tenant_id alone, nor on (tenant_id, territory_id), which
        # ix_opportunity_kpi_territory covers. Each index is paid on every bulk-written row.
        Index("uq_opportunity_tenant_id_external_id", "tenant_id", "external_id", unique=True),
        # KPI sets read a subject's opportunities closed in a range, or still open at a moment,
        # from these indexes alone (index-only scans: the KPI columns are included).
        Index(
            "ix_opportunity_kpi_territory",
            "tenant_id",
            "territory_id",
            "closed_at",
            postgresql_include=[
                "status",
                "amount_reporting",
                "opened_at",
                "created_at",
                "account_id",
            ],
        ),
        Index(
            "ix_opportunity_kpi_rep",
            "tenant_id",
            "rep_id",
            "closed_at",
            postgresql_include=[
                "status",
                "amount_reporting",
                "opened_at",
                "created_at",
                "account_id",
            ],
        ),
        # Leaderboards: every opportunity closed in a period, whoever holds it.
        Index(
            "ix_opportunity_kpi_closed",
            "tenant_id",
            "closed_at",
            postgresql_include=["status", "amount_reporting", "rep_id", "territory_id"],
        ),
        # "New customer": an account's first won opportunity; this finds earlier wins.
        Index(
            "ix_opportunity_won_account",
            "tenant_id",
            "account_id",
            "closed_at",
            postgresql_where=text("status = 'won'"),
        ),
    )

    id: Mapped[UuidPk]
    tenant_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("tenant.id", ondelete="CASCADE")
    )
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
    # ISO 4217; amount is in this currency. KPIs add amount_reporting: the amount in the
    # tenant's reporting currency at the rate known when the opportunity was written.
    currency: Mapped[str] = mapped_column(String(3), server_default="USD")
    amount_reporting: Mapped[Decimal] = mapped_column(Numeric(18, 2), server_default="0")
    is_new_business: Mapped[bool] = mapped_column(server_default="true")
    opened_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[CreatedAt]
    updated_at: Mapped[UpdatedAt]


class Activity(Base):
    __tablename__ = "activity"
    __table_args__ = (
        Index("ix_activity_tenant_id_occurred_at", "tenant_id", "occurred_at"),
        Index("ix_activity_kpi_territory", "tenant_id", "territory_id", "occurred_at"),
        Index("ix_activity_kpi_rep", "tenant_id", "rep_id", "occurred_at"),
        Index(
            "uq_activity_tenant_id_external_id",
            "tenant_id",
            "external_id",
            unique=True,
            postgresql_where=text("external_id IS NOT NULL"),
        ),
    )

    id: Mapped[UuidPk]
    # No index on tenant_id alone: ix_activity_tenant_id_occurred_at leads with it.
    tenant_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("tenant.id", ondelete="CASCADE")
    )
    external_id: Mapped[str | None] = mapped_column(String(255))
    # e.g. call, email, meeting, demo, task.
    kind: Mapped[str] = mapped_column(String(50))
    rep_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("rep.id", ondelete="SET NULL"), index=True
    )
    account_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("account.id", ondelete="SET NULL"), index=True
    )
    # The territory the account was in when the activity happened (like an opportunity's).
    territory_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("territory.id", ondelete="SET NULL")
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
        Index(
            "uq_quota_tenant_id_external_id",
            "tenant_id",
            "external_id",
            unique=True,
            postgresql_where=text("external_id IS NOT NULL"),
        ),
    )

    id: Mapped[UuidPk]
    tenant_id: Mapped[TenantId]
    # The CRM's id of the quota: the bulk upsert key (quotas set one by one may have none).
    external_id: Mapped[str | None] = mapped_column(String(255))
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


class MetricsSettings(Base):
    """A tenant's calendar and money: how periods are cut and which currency KPIs are in."""

    __tablename__ = "metrics_settings"

    tenant_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("tenant.id", ondelete="CASCADE"), primary_key=True
    )
    # IANA name; period boundaries are local midnights in this zone.
    time_zone: Mapped[str] = mapped_column(String(64), server_default="UTC")
    # 1 = January. A fiscal year is named after the calendar year it ends in.
    fiscal_year_start_month: Mapped[int] = mapped_column(
        SmallInteger,
        CheckConstraint(
            "fiscal_year_start_month BETWEEN 1 AND 12", name="fiscal_year_start_month_range"
        ),
        server_default="1",
    )
    currency: Mapped[str] = mapped_column(String(3), server_default="USD")
    updated_at: Mapped[UpdatedAt]


class ExchangeRate(Base):
    """Units of the reporting currency one unit of ``currency`` is worth."""

    __tablename__ = "exchange_rate"

    tenant_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("tenant.id", ondelete="CASCADE"), primary_key=True
    )
    currency: Mapped[str] = mapped_column(String(3), primary_key=True)
    rate: Mapped[Decimal] = mapped_column(
        Numeric(20, 10), CheckConstraint("rate > 0", name="rate_positive")
    )
    updated_at: Mapped[UpdatedAt]


class OpportunityStage(Base):
    """A tenant's stage names and the status each means; a bulk row naming another is refused
    (while the tenant has none, any stage name is taken)."""

    __tablename__ = "opportunity_stage"

    tenant_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("tenant.id", ondelete="CASCADE"), primary_key=True
    )
    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    status: Mapped[OpportunityStatus] = mapped_column(
        _enum(OpportunityStatus, "opportunity_status"), server_default="open"
    )
    position: Mapped[int] = mapped_column(SmallInteger, server_default="0")


class OpportunityHistory(Base):
    """Every version of an opportunity's stage, status, amount and holder, valid over
    ``[valid_from, valid_to)`` (valid_to NULL: current). Written by statement-level triggers on
    ``opportunity`` (services/metrics/history/), so single and bulk writes share it."""

    __tablename__ = "opportunity_history"
    __table_args__ = (
        # Pipeline as of an instant for one territory or rep: versions started by then.
        Index(
            "ix_opportunity_history_territory",
            "tenant_id",
            "territory_id",
            "valid_from",
            postgresql_include=["valid_to", "status", "amount_reporting", "opened_at", "closed_at"],
        ),
        Index(
            "ix_opportunity_history_rep",
            "tenant_id",
            "rep_id",
            "valid_from",
            postgresql_include=["valid_to", "status", "amount_reporting", "opened_at", "closed_at"],
        ),
        # The current version of an opportunity, closed when the next one starts.
        Index(
            "uq_opportunity_history_current",
            "opportunity_id",
            unique=True,
            postgresql_where=text("valid_to IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    tenant_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("tenant.id", ondelete="CASCADE")
    )
    opportunity_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("opportunity.id", ondelete="CASCADE")
    )
    territory_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    rep_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    stage: Mapped[str | None] = mapped_column(String(100))
    status: Mapped[OpportunityStatus] = mapped_column(
        _enum(OpportunityStatus, "opportunity_status")
    )
    amount_reporting: Mapped[Decimal] = mapped_column(Numeric(18, 2))
    opened_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    valid_from: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    valid_to: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class ImportJob(Base):
    """A bulk upload of opportunities, activities or quotas run on the job worker."""

    __tablename__ = "metrics_import_job"

    id: Mapped[UuidPk]
    tenant_id: Mapped[TenantId]
    kind: Mapped[str] = mapped_column(String(20))
    format: Mapped[str] = mapped_column(String(10))
    # all-or-nothing (default) or skip_bad_rows.
    mode: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20), server_default="pending")
    stage: Mapped[str | None] = mapped_column(String(40))
    total_rows: Mapped[int] = mapped_column(BigInteger, server_default="0")
    processed_rows: Mapped[int] = mapped_column(BigInteger, server_default="0")
    inserted_rows: Mapped[int] = mapped_column(BigInteger, server_default="0")
    updated_rows: Mapped[int] = mapped_column(BigInteger, server_default="0")
    unchanged_rows: Mapped[int] = mapped_column(BigInteger, server_default="0")
    failed_rows: Mapped[int] = mapped_column(BigInteger, server_default="0")
    error: Mapped[str | None] = mapped_column(String(2000))
    summary: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default="{}")
    created_at: Mapped[CreatedAt]
    updated_at: Mapped[UpdatedAt]
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class ImportJobError(Base):
    """One problem of one row of an upload: its row number (1 = the first data row), the field
    and why."""

    __tablename__ = "metrics_import_error"

    tenant_id: Mapped[TenantId]
    job_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True),
        ForeignKey("metrics_import_job.id", ondelete="CASCADE"),
        primary_key=True,
    )
    row_number: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    field: Mapped[str] = mapped_column(String(100), primary_key=True)
    reason: Mapped[str] = mapped_column(String(500))


class PotentialModelRun(Base):
    """One fit of the account-potential model, with its validation error."""

    __tablename__ = "potential_model_run"

    id: Mapped[UuidPk]
    tenant_id: Mapped[TenantId]
    model: Mapped[str] = mapped_column(String(500))
    window_start: Mapped[date] = mapped_column(Date)
    window_end: Mapped[date] = mapped_column(Date)
    trained_on: Mapped[int] = mapped_column(Integer)
    held_out: Mapped[int] = mapped_column(Integer)
    held_out_mape: Mapped[float | None] = mapped_column(Float)
    held_out_r2: Mapped[float | None] = mapped_column(Float)
    currency: Mapped[str] = mapped_column(String(3))
    created_at: Mapped[CreatedAt]


class AccountPotentialEstimate(Base):
    """The model's estimate of an account's potential (reporting currency) in one run."""

    __tablename__ = "account_potential_estimate"

    tenant_id: Mapped[TenantId]
    run_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True),
        ForeignKey("potential_model_run.id", ondelete="CASCADE"),
        primary_key=True,
    )
    account_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("account.id", ondelete="CASCADE"), primary_key=True
    )
    estimate: Mapped[float] = mapped_column(Float)
