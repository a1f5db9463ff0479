"""Response bodies for revenue forecasts."""

import uuid
from datetime import date
from typing import Literal

from pydantic import BaseModel, Field

from services.metrics.kpis.schemas import TimeSeriesPoint


class ForecastPoint(BaseModel):
    start: date
    end: date = Field(description="Exclusive")
    revenue: float


class ForecastRead(BaseModel):
    subject: Literal["rep", "territory"]
    subject_id: uuid.UUID
    grain: Literal["month", "quarter"]
    currency: str
    model: str = Field(
        description="holt_winters_additive (statsmodels ExponentialSmoothing, additive trend "
        "and season) with two seasons of history, else simple_exponential_smoothing"
    )
    history: list[TimeSeriesPoint]
    forecast: list[ForecastPoint]
    backtest_mape: float | None = Field(
        description="Model's one-step MAPE over the last backtest_periods periods"
    )
    baseline_mape: float | None = Field(
        description="Naive seasonal baseline's MAPE (same period a season earlier), same periods"
    )
    backtest_periods: int
    reason: str | None = Field(default=None, description="Why an error is null")
