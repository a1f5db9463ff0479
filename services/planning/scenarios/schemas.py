"""Request and response bodies for design scenarios."""

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from shared.validation import Text


class MeasureRule(BaseModel):
    model_config = ConfigDict(extra="forbid")

    measure: Text = Field(min_length=1, max_length=100, description="A key of the units' measures")
    tolerance: float | None = Field(
        default=None,
        ge=0,
        le=10,
        allow_inf_nan=False,
        description="Every territory within target × (1 ± tolerance), e.g. 0.05",
    )
    lower: float | None = Field(default=None, allow_inf_nan=False, description="Absolute floor")
    upper: float | None = Field(default=None, allow_inf_nan=False, description="Absolute ceiling")


class RepSeed(BaseModel):
    model_config = ConfigDict(extra="forbid")

    home_unit: Text = Field(min_length=1, max_length=100, description="Code of the rep's home unit")
    capacity: float | None = Field(
        default=None, gt=0, le=1e6, allow_inf_nan=False, description="Relative share (default 1)"
    )


class ObjectiveWeights(BaseModel):
    model_config = ConfigDict(extra="forbid")

    compactness: Literal["cut_edges", "inertia", "diameter"] = "cut_edges"
    compactness_weight: float = Field(default=1.0, ge=0, le=1e6, allow_inf_nan=False)
    travel_weight: float = Field(default=0.0, ge=0, le=1e6, allow_inf_nan=False)
    disruption_weight: float = Field(default=0.0, ge=0, le=1e6, allow_inf_nan=False)


class ScenarioCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Text = Field(min_length=1, max_length=200)
    unit_set_id: uuid.UUID | None = Field(
        default=None, description="The unit set to design (the tenant's default set if left out)"
    )
    accounts_measure: Text = Field(
        default="accounts",
        min_length=1,
        max_length=100,
        description="The units' measure holding account counts: accounts moved are its sum"
        " over the moved units",
    )
    territories: int | None = Field(
        default=None, ge=1, le=10_000, description="k territories (or give reps)"
    )
    reps: list[RepSeed] | None = Field(
        default=None, min_length=1, max_length=10_000, description="One territory per rep"
    )
    balance: list[MeasureRule] = Field(default_factory=list, max_length=50)
    locked: dict[Text, int] = Field(
        default_factory=dict, description="Unit code → territory index (0-based), kept there"
    )
    current: dict[Text, int] | None = Field(
        default=None,
        description="The current alignment, unit code → territory index: realign from it",
    )
    base_scenario_id: uuid.UUID | None = Field(
        default=None, description="Realign from this scenario's plan (instead of ``current``)"
    )
    objective: ObjectiveWeights = Field(default_factory=ObjectiveWeights)
    time_limit_seconds: float = Field(default=10.0, gt=0, le=600, allow_inf_nan=False)
    random_seed: int = Field(default=0, ge=0, le=2**31 - 1)

    @model_validator(mode="after")
    def territories_or_reps(self) -> "ScenarioCreate":
        if self.territories is None and self.reps is None:
            raise ValueError("give either territories (k) or reps (one territory per rep)")
        if self.territories is not None and self.reps is not None:
            if self.territories != len(self.reps):
                raise ValueError("territories must equal the number of reps when both are given")
        return self

    @property
    def k(self) -> int:
        return self.territories if self.territories is not None else len(self.reps or [])


class ScenarioSummary(BaseModel):
    id: uuid.UUID
    name: str
    unit_set_id: uuid.UUID | None
    status: str = Field(description="pending, running, succeeded, failed or cancelled")
    progress: float
    error: str | None
    created_at: datetime
    finished_at: datetime | None


class ScenarioPage(BaseModel):
    items: list[ScenarioSummary]
    next_after: uuid.UUID | None = Field(
        description="Pass as `after` for the next page (newest first); null on the last page"
    )


class ScenarioRead(BaseModel):
    id: uuid.UUID
    name: str
    unit_set_id: uuid.UUID | None
    status: str = Field(description="pending, running, succeeded, failed or cancelled")
    progress: float = Field(description="Fraction of the time budget spent, 0..1")
    error: str | None
    parameters: dict[str, Any]
    result: dict[str, Any] | None = Field(
        description="When finished: feasible, violations, per-territory statistics, the plan"
        " (unit code → territory) and the territories as GeoJSON"
    )
    created_at: datetime
    updated_at: datetime
    finished_at: datetime | None


class ScenarioDraft(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Text | None = Field(default=None, min_length=1, max_length=200)
    owners: list[uuid.UUID | None] | None = Field(
        default=None,
        max_length=10_000,
        description="The assignment service's rep owning each territory, by territory index",
    )
    fallback_territory: int | None = Field(
        default=0, ge=0, description="The territory that takes leads matching no other"
    )


class ScenarioDrafted(BaseModel):
    scenario_id: uuid.UUID
    alignment_id: uuid.UUID
    territories: int


class ScenarioComparison(BaseModel):
    scenario_id: uuid.UUID
    other_scenario_id: uuid.UUID
    statistics: dict[str, dict[str, Any]] = Field(
        description="Each overall statistic: this scenario's value and the other's"
    )
    territories: list[dict[str, Any]] = Field(
        description="Per territory, each measure and compactness figure in both scenarios"
    )
    units_moved: int
    moves: list[dict[str, Any]] = Field(description="unit, territory here, territory there")
    difference: dict[str, Any] = Field(
        description="GeoJSON: the moved units dissolved by (from, to) pair, map-ready"
    )
