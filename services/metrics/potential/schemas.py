"""Response bodies for the account-potential model."""

import uuid
from datetime import date, datetime

from pydantic import BaseModel, Field


class AccountPotential(BaseModel):
    account_id: uuid.UUID
    name: str
    territory_id: uuid.UUID | None
    stated_potential: float | None = Field(description="As the account carries it")
    estimated_potential: float = Field(description="The model's revenue estimate for the window")
    revenue: float = Field(description="Closed-won in the window")
    untapped: float = Field(description="estimated_potential - revenue, at least 0")


class PotentialModelRead(BaseModel):
    model: str
    features: list[str]
    window_start: date
    window_end: date = Field(description="Exclusive")
    currency: str
    trained_on: int
    held_out: int
    held_out_mape: float | None = Field(description="On held-out accounts' revenue")
    held_out_r2: float | None
    reason: str | None = Field(default=None, description="Why there is no model")
    accounts: list[AccountPotential] = Field(description="Most untapped first")


class PotentialRunRead(BaseModel):
    id: uuid.UUID
    model: str
    window_start: date
    window_end: date = Field(description="Exclusive")
    currency: str
    trained_on: int
    held_out: int
    held_out_mape: float | None
    held_out_r2: float | None
    accounts: int = Field(description="Accounts estimated in this run")
    created_at: datetime


class AccountEstimate(BaseModel):
    account_id: uuid.UUID
    estimate: float = Field(description="Potential (won revenue over the window) estimated")


class PotentialEstimatesRead(BaseModel):
    run: PotentialRunRead | None = Field(description="The latest run; null before any")
    reason: str | None = Field(default=None, description="Why there are no estimates")
    items: list[AccountEstimate]
    limit: int
    offset: int
    next_offset: int | None
