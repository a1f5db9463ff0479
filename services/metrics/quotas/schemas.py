"""Request and response bodies for quotas."""

import uuid
from datetime import date, datetime
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field

from services.metrics.health.schemas import Balance


class QuotaBase(BaseModel):
    rep_id: uuid.UUID | None = Field(
        default=None, description="The rep the quota is for; send this or territory_id"
    )
    territory_id: uuid.UUID | None = Field(
        default=None, description="The territory the quota is for; send this or rep_id"
    )
    period_start: date = Field(description="First day of the period")
    period_end: date = Field(description="Day after the last day of the period (exclusive end)")
    amount: Decimal = Field(ge=0, max_digits=18, decimal_places=2)


class QuotaCreate(QuotaBase):
    model_config = ConfigDict(extra="forbid")


class QuotaRead(QuotaBase):
    id: uuid.UUID
    created_at: datetime


class QuotaSuggestionRow(BaseModel):
    territory_id: uuid.UUID
    name: str
    potential_share: float | None
    trailing_revenue: float
    trailing_revenue_share: float | None
    current_quota: float | None = Field(description="Quotas set within the period today")
    suggested_quota: float
    expected_attainment_now: float | None = Field(description="trailing_revenue / current_quota")
    expected_attainment_suggested: float | None = Field(
        description="trailing_revenue / suggested_quota"
    )


class QuotaSuggestionsRead(BaseModel):
    model: str
    period_start: date
    period_end: date
    trailing_start: date
    trailing_end: date
    team_target: Decimal
    potential_weight: float
    territories: list[QuotaSuggestionRow]
    fairness_now: Balance = Field(description="Spread of expected attainment with today's quotas")
    fairness_suggested: Balance = Field(
        description="Spread of expected attainment with the suggested quotas"
    )
