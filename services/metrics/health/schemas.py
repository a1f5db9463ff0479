"""Response bodies for territory health and market potential."""

import uuid

from pydantic import BaseModel, Field

from services.metrics.kpis.schemas import PeriodRead


class TerritoryHealthRow(BaseModel):
    potential_rank: int = Field(description="1 = the most potential")
    territory_id: uuid.UUID
    name: str
    level: int
    accounts: int = Field(description="Workload: accounts placed in the territory")
    reps: int
    capacity: int | None = Field(description="Reps' summed capacity; null if one is unlimited")
    potential: float = Field(description="Summed potential of its accounts")
    revenue: float = Field(description="Closed-won in the period")
    activities: int
    area_km2: float | None
    account_density: float | None = Field(description="Accounts per 1,000 km²")
    penetration: float | None = Field(description="revenue / potential")
    whitespace_accounts: int = Field(
        description="Accounts with no opportunity opened or closed and no activity in the "
        "whitespace window"
    )


class Balance(BaseModel):
    mean: float | None
    coefficient_of_variation: float | None = Field(description="Population std / mean")
    gini: float | None = Field(description="0 = equal, toward 1 = concentrated")
    max_min_ratio: float | None
    reason: str | None = Field(default=None, description="Why a statistic is null")


class OutOfTolerance(BaseModel):
    territory_id: uuid.UUID
    name: str
    measure: str = Field(description="accounts (workload) or potential")
    value: float
    deviation: float = Field(description="value / mean - 1")


class Adjustments(BaseModel):
    moves: list[dict[str, object]] | None = Field(
        description="Concrete account moves from the planning service's realignment"
    )
    expected_balance: dict[str, Balance] | None
    reason: str | None = Field(description="Why moves are not given")


class TerritoryHealthRead(BaseModel):
    alignment_id: uuid.UUID
    period: PeriodRead
    tolerance: float
    whitespace_days: int
    territories: list[TerritoryHealthRow] = Field(
        description="Leaf territories, ranked by potential (the market-potential summary)"
    )
    balance: dict[str, Balance] = Field(
        description="Per measure: accounts, potential, revenue, activities"
    )
    out_of_tolerance: list[OutOfTolerance]
    adjustments: Adjustments


class UnitMove(BaseModel):
    unit: str = Field(description="The planning unit's code")
    from_territory_id: uuid.UUID | None
    from_territory: str | None
    to_territory_id: uuid.UUID
    to_territory: str
    accounts: int = Field(description="Accounts located in the unit that move with it")
    potential: float = Field(description="Their summed potential")


class AdjustmentsRead(BaseModel):
    alignment_id: uuid.UUID
    tolerance: float
    status: str = Field(
        description="balanced (nothing out of tolerance), cannot (planning cannot realign this "
        "alignment: see reason), pending / running (the planning scenario is working), "
        "succeeded (moves below), failed"
    )
    reason: str | None = Field(description="Why there are no moves, in words")
    scenario_id: uuid.UUID | None = Field(description="The planning service's scenario")
    measures: list[str] = Field(description="The measures asked to be balanced")
    out_of_tolerance: list[OutOfTolerance] = Field(description="Today")
    balance_today: dict[str, Balance] = Field(description="accounts and potential today")
    moves: list[UnitMove] | None = Field(description="Units (and their accounts) from → to")
    accounts_moved: int | None
    balance_after: dict[str, Balance] | None = Field(
        description="accounts and potential per territory once the moves are made"
    )
    links: dict[str, str]
