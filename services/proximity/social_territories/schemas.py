"""Request and response bodies for social territories."""

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from services.proximity.rankings.schemas import LONGEST_MAX_HOPS, MAX_HOPS_DESCRIPTION
from shared.validation import INT32_MAX, Text

MAX_ACCOUNT_IDS = 1_000_000
MAX_REP_IDS = 10_000


class BalanceSpec(BaseModel):
    """How even the reps' books must be: within ± ``tolerance`` of the mean (rounded outward
    to whole accounts when balancing accounts), or within explicit [``min``, ``max``]."""

    model_config = ConfigDict(extra="forbid")

    by: Literal["accounts", "potential"] = Field(
        default="accounts",
        description="accounts: the number of accounts per rep (solved as a min-cost flow); "
        "potential: the sum of the accounts' potential per rep (a MIP on HiGHS)",
    )
    tolerance: float | None = Field(
        default=0.1,
        ge=0,
        le=100,
        allow_inf_nan=False,
        description="± share of the mean per rep (0.1: ±10%); ignored when min or max is sent",
    )
    min: float | None = Field(
        default=None, ge=0, le=1e15, allow_inf_nan=False, description="Explicit minimum per rep"
    )
    max: float | None = Field(
        default=None, ge=0, le=1e15, allow_inf_nan=False, description="Explicit maximum per rep"
    )

    @model_validator(mode="after")
    def _ordered(self) -> "BalanceSpec":
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError("balance.min must not exceed balance.max")
        return self


class DraftSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Text = Field(
        default="Social territories", min_length=1, max_length=200, description="The draft's name"
    )


class SocialTerritoriesCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    account_ids: list[uuid.UUID] | None = Field(
        default=None,
        max_length=MAX_ACCOUNT_IDS,
        description="The accounts to assign; default: every account with contacts in the graph",
    )
    rep_ids: list[uuid.UUID] | None = Field(
        default=None,
        max_length=MAX_REP_IDS,
        description="The reps to assign to; default: every active rep in the graph",
    )
    max_accounts_per_rep: int | None = Field(
        default=None, ge=0, le=INT32_MAX, description="Capacity of every rep; default: none"
    )
    balance: BalanceSpec = Field(default_factory=BalanceSpec)
    max_distance_km: float | None = Field(
        default=None,
        gt=0,
        le=40_100,
        allow_inf_nan=False,
        description="Only reps owning a territory of the active alignment within this distance "
        "of the account (reps without a polygon are then never eligible)",
    )
    max_hops: int = Field(
        default=LONGEST_MAX_HOPS, ge=1, le=LONGEST_MAX_HOPS, description=MAX_HOPS_DESCRIPTION
    )
    top_k: int = Field(
        default=10,
        ge=1,
        le=200,
        description="Candidate reps per account besides its current one (the exactness is "
        "checked against the full matrix: see the result's lp_bound)",
    )
    draft: DraftSpec | None = Field(
        default=None,
        description="Also save the result as a draft alignment in the assignment service",
    )


class SocialTerritoriesJobRead(BaseModel):
    id: uuid.UUID
    status: str = Field(description="pending, running, succeeded, failed or cancelled")
    stage: str = Field(description="queued, loading, scoring, solving, comparing, drafting, done")
    progress: float = Field(description="0 to 1")
    accounts: int = Field(description="Accounts to assign (known once loading is done)")
    summary: dict[str, Any] | None = Field(
        description="Once succeeded: totals, bound, gap, comparison (the result without rows)"
    )
    error: str | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None


class AccountAssignment(BaseModel):
    account_id: uuid.UUID
    external_id: str
    rep_id: uuid.UUID | None = Field(description="null: no allowed rep could take it")
    score: float
    current_rep_id: uuid.UUID | None
    current_score: float
    moved: bool


class RepLoad(BaseModel):
    rep_id: uuid.UUID
    name: str
    accounts: int
    potential: float
    proximity: float
    current_accounts: int
    current_potential: float
    greedy_accounts: int
    minimum: float = Field(description="The balance bound applied (accounts or potential)")
    maximum: float


class Comparison(BaseModel):
    total_proximity: float
    accounts_moved: int | None = None
    proximity_gained: float | None = None
    unassigned: int
    balance_deviation: float = Field(
        description="Largest |measure - mean| / mean over the reps (accounts or potential)"
    )


class DraftSaved(BaseModel):
    alignment_id: uuid.UUID
    territories: int
    accounts_without_domain: list[uuid.UUID] = Field(
        description="Accounts the draft cannot name: its rules match accounts by domain"
    )
    shared_domains: int = Field(description="Domains of accounts given to different reps")


class SocialTerritoriesResult(BaseModel):
    job_id: uuid.UUID
    method: str = Field(description="min_cost_flow (balance by accounts) or mip_highs")
    status: str = Field(description="optimal, or time_limit for a MIP stopped early")
    proven_optimal: bool = Field(
        description="The total meets the LP bound of the full accounts × allowed reps problem"
    )
    total_proximity: float
    lp_bound: float | None = Field(
        description="An upper bound on any assignment's total (LP duality over every allowed "
        "pair, not only the candidate arcs)"
    )
    gap: float | None = Field(description="(lp_bound - total) / lp_bound")
    candidate_bound: float | None = Field(
        description="MIP only: HiGHS's bound over the candidate arcs"
    )
    candidate_arcs: int
    fallback_accounts: int = Field(
        description="Accounts placed through the fallback (no candidate rep had room)"
    )
    balance_by: str
    max_hops: int
    seconds: dict[str, float]
    current: Comparison
    greedy: Comparison
    optimised: Comparison
    reps: list[RepLoad]
    assignments: list[AccountAssignment]
    draft: DraftSaved | None
