"""Response bodies for KPIs."""

import uuid
from datetime import date
from decimal import Decimal

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
