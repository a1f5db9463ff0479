"""Request and response bodies for basic units and their adjacency."""

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from shared.validation import Text

Measure = Annotated[float, Field(ge=0, allow_inf_nan=False)]

_SQUARE = {
    "type": "Polygon",
    "coordinates": [[[0.0, 0.0], [0.1, 0.0], [0.1, 0.1], [0.0, 0.1], [0.0, 0.0]]],
}


class UnitBase(BaseModel):
    code: Text = Field(
        min_length=1, max_length=100, description="Your id for the unit (postal code, county…)"
    )
    name: Text | None = Field(default=None, max_length=200)
    measures: dict[Text, Measure] = Field(
        default_factory=dict,
        max_length=50,
        description="Balancing measures, each a non-negative number",
        examples=[{"accounts": 120, "workload": 340.5}],
    )


class UnitCreate(UnitBase):
    model_config = ConfigDict(extra="forbid")

    geometry: dict[str, Any] = Field(
        description="GeoJSON Polygon or MultiPolygon, [longitude, latitude] in WGS 84",
        examples=[_SQUARE],
    )


class UnitRead(UnitBase):
    id: uuid.UUID
    unit_set_id: uuid.UUID
    geometry: dict[str, Any] | None = Field(
        description="GeoJSON MultiPolygon (a point unit's Voronoi cell once computed)"
    )
    point: dict[str, Any] | None = Field(default=None, description="A point unit's location")
    created_at: datetime
    updated_at: datetime


class UnitCreated(UnitRead):
    repair_note: str | None = Field(
        default=None, description="What was repaired when the unit was sent with repair=true"
    )


class AdjacencyRebuilt(BaseModel):
    pairs: int = Field(description="Pairs of units that share a border of positive length")


class NeighbourRead(BaseModel):
    unit_id: uuid.UUID
    code: str
    shared_border_m: float = Field(description="Length of the shared border in metres")
    kind: str = Field(description="border (computed), explicit (given) or island (joined)")


# --- unit sets --------------------------------------------------------------------------------

MeasureName = Annotated[Text, Field(min_length=1, max_length=100, pattern=r"^[A-Za-z_][\w.-]*$")]


class UnitSetCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Text = Field(min_length=1, max_length=200)
    kind: Literal["polygon", "point"] = Field(
        default="polygon",
        description="polygon: adjacency from shared boundaries; point (e.g. ZIP centroids):"
        " adjacency given as an edge list",
    )
    adjacency: Literal["rook", "queen"] = Field(
        default="rook",
        description="Polygon units: rook = a shared boundary of positive length; queen ="
        " touching at a point is enough",
    )
    min_shared_border_m: float = Field(
        default=0.0,
        ge=0,
        le=1e7,
        allow_inf_nan=False,
        description="Polygon units: neighbours share at least this length of boundary (metres)",
    )
    required_measures: list[MeasureName] = Field(
        default_factory=list,
        max_length=50,
        description="Measures every imported unit must carry as a number of 0 or more",
    )


class IslandRead(BaseModel):
    unit: str = Field(description="Code of the island's unit the link starts from")
    attached_to: str = Field(description="Code of its nearest unit outside the island")
    distance_m: float = Field(description="Distance between the two units (metres)")


class UnitSetRead(BaseModel):
    id: uuid.UUID
    name: str
    kind: str
    adjacency: str
    min_shared_border_m: float
    required_measures: list[str]
    is_default: bool
    adjacency_built_at: datetime | None
    created_at: datetime
    updated_at: datetime


class UnitSetSummary(UnitSetRead):
    units: int
    border_edges: int = Field(description="Edges from shared boundaries (polygon units)")
    explicit_edges: int = Field(description="Edges given in an edge list (point units)")
    overrides: int
    islands: list[IslandRead] = Field(
        description="Units or groups of units with no neighbour, each joined to its nearest unit"
    )


class AdjacencyBuilt(BaseModel):
    pairs: int = Field(description="Computed or given edges")
    islands: list[IslandRead]


class EdgeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    a: Text = Field(min_length=1, max_length=100, description="Code of one unit")
    b: Text = Field(min_length=1, max_length=100, description="Code of the other unit")


class EdgeList(BaseModel):
    model_config = ConfigDict(extra="forbid")

    edges: list[EdgeIn] = Field(max_length=500_000)
    replace: bool = Field(
        default=False, description="true: these edges replace the set's given edges"
    )


class EdgesAdded(BaseModel):
    added: int
    islands: list[IslandRead]


class OverrideCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    a: Text = Field(min_length=1, max_length=100, description="Code of one unit")
    b: Text = Field(min_length=1, max_length=100, description="Code of the other unit")
    action: Literal["add", "remove"] = Field(
        description="add: they are neighbours (a bridge); remove: they are not (a river)"
    )
    reason: Text | None = Field(default=None, max_length=500)


class OverrideRead(BaseModel):
    id: uuid.UUID
    a: str
    b: str
    action: str
    reason: str | None
    created_at: datetime


class OverrideCreated(OverrideRead):
    islands: list[IslandRead] = Field(description="The set's islands with the override applied")


class FeatureError(BaseModel):
    feature: int = Field(description="1-based: the feature's index, or the NDJSON line")
    id: str | None = Field(description="The feature's unit id, when it has one")
    field: str
    message: str


class ImportRead(BaseModel):
    id: uuid.UUID
    unit_set_id: uuid.UUID
    format: str
    skip_invalid: bool
    status: str = Field(description="pending, running, succeeded or failed")
    stage: str | None
    progress: float
    features: int | None
    imported: int
    error_count: int
    errors: list[FeatureError] = Field(description="The first 1,000 features with a problem")
    error: str | None
    timings: dict[str, float] = Field(description="Seconds per stage of the job")
    created_at: datetime
    finished_at: datetime | None


AccountField = Annotated[
    Text,
    Field(
        min_length=1,
        max_length=100,
        pattern=r"^(annual_revenue|potential|employee_count|attributes\.[A-Za-z_][A-Za-z0-9_]*)$",
    ),
]


class AccountAggregation(BaseModel):
    model_config = ConfigDict(extra="forbid")

    count_measure: MeasureName = Field(
        default="accounts", description="The measure that receives each unit's account count"
    )
    sums: dict[MeasureName, AccountField] = Field(
        default_factory=dict,
        max_length=20,
        description="Measure → the accounts' numeric field summed into it (annual_revenue,"
        " potential, employee_count or attributes.<key>)",
        examples=[{"revenue": "annual_revenue"}],
    )


class AccountsAggregated(BaseModel):
    units: int
    accounts: int = Field(description="Accounts with a location read from the assignment service")
    placed: int = Field(description="Accounts that fell in a unit (point units: all)")
    unplaced: int = Field(description="Accounts outside every unit (polygon units)")
    measures: list[str]
