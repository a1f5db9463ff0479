"""Response bodies for KPIs."""

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, Field


class AttainmentRead(BaseModel):
    rep_id: uuid.UUID
    period_start: date
    period_end: date = Field(description="Exclusive end")
    quota_amount: Decimal | None = Field(
        description="Sum of the rep's quotas whose period lies within the period; null when none"
    )
    won_amount: Decimal = Field(description="Won opportunities closed within the period")
    won_count: int
    lost_count: int = Field(description="Lost opportunities closed within the period")
    attainment: float | None = Field(
        description="won_amount / quota_amount; null when the quota is missing or 0"
    )
    win_rate: float | None = Field(
        description="won_count / (won_count + lost_count); null when none closed in the period"
    )
    open_pipeline_amount: Decimal = Field(description="All of the rep's open opportunities now")


class Kpi(BaseModel):
    value: float | None
    reason: str | None = Field(default=None, description="Why value is null; null otherwise")


class PeriodRead(BaseModel):
    label: str = Field(description="FY2026, FY2026-Q1, 2026-03 or start..end")
    start: date = Field(description="First local day")
    end: date = Field(description="Day after the last local day (exclusive)")
    time_zone: str
    currency: str = Field(description="Reporting currency of every amount")


class KpiSetRead(BaseModel):
    subject: Literal["rep", "territory"]
    subject_id: uuid.UUID
    territories_included: int | None = Field(
        description="For a territory: itself and its descendants, all rolled up"
    )
    period: PeriodRead
    previous_period: PeriodRead
    year_ago_period: PeriodRead
    revenue: Kpi = Field(description="Closed-won amount in the period")
    previous_revenue: Kpi
    growth_vs_previous: Kpi = Field(description="revenue / previous_revenue - 1")
    year_ago_revenue: Kpi
    growth_year_over_year: Kpi = Field(description="revenue / year_ago_revenue - 1")
    quota: Kpi = Field(
        description="Quotas whose period lies within the period; for a territory its own, "
        "else its descendants' summed"
    )
    attainment: Kpi = Field(description="revenue / quota")
    won_count: int
    lost_count: int
    win_rate: Kpi = Field(description="won / (won + lost), closed in the period")
    average_deal_size: Kpi = Field(description="revenue / won_count")
    sales_cycle_days: Kpi = Field(description="Mean days from opened_at to closed_at of wins")
    pipeline_as_of: datetime = Field(
        description="as_of if asked (from the stage history), else the end of the period or now "
        "if earlier"
    )
    open_pipeline: Kpi = Field(description="Amount of opportunities open at pipeline_as_of")
    open_count: int
    remaining_quota: Kpi = Field(description="quota - revenue")
    pipeline_coverage: Kpi = Field(description="open_pipeline / remaining_quota")
    new_customers: int = Field(description="Accounts whose first win closed in the period")
    activities: int
    accounts: int = Field(description="Accounts owned by the rep, or placed in the territory")
    reps: int = Field(description="1 for a rep; a territory's member reps")
    accounts_per_rep: Kpi
    capacity: Kpi = Field(description="Summed capacity of the reps")
    capacity_used: Kpi = Field(description="accounts / capacity")


class LeaderboardRow(BaseModel):
    rank: int = Field(description="1 is best; equal values share a rank")
    subject_id: uuid.UUID
    name: str
    revenue: float
    quota: float | None
    attainment: float | None = Field(description="null without a quota in the period")
    won_count: int
    lost_count: int
    win_rate: float | None = Field(description="null when nothing closed in the period")


class LeaderboardRead(BaseModel):
    by: Literal["rep", "territory"]
    order_by: Literal["revenue", "attainment", "win_rate"]
    period: PeriodRead
    rows: list[LeaderboardRow]


class TimeSeriesPoint(BaseModel):
    start: date
    end: date = Field(description="Exclusive")
    revenue: float
    won_count: int
    lost_count: int
    activities: int


class TimeSeriesRead(BaseModel):
    subject: Literal["rep", "territory"]
    subject_id: uuid.UUID
    grain: Literal["month", "quarter", "year"]
    period: PeriodRead
    points: list[TimeSeriesPoint]


class PipelineStage(BaseModel):
    stage: str | None
    open_count: int
    open_amount: float


class PipelineRead(BaseModel):
    subject: Literal["rep", "territory"]
    subject_id: uuid.UUID
    as_of: datetime
    currency: str
    open_count: int
    open_amount: float = Field(description="Open at as_of, in the reporting currency")
    stages: list[PipelineStage] = Field(
        description="Per stage, in the tenant's stage order (GET /metrics/stages), then by name"
    )
