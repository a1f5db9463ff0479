"""Request and response bodies for quotas."""

import uuid
from datetime import date, datetime
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field


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
