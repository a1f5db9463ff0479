"""Request and response bodies for basic units and their adjacency."""

import uuid
from datetime import datetime
from typing import Annotated, Any

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
    geometry: dict[str, Any] = Field(description="GeoJSON MultiPolygon")
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
