"""Response bodies of the small GeoJSON layers (documentation: PostgreSQL builds the text)."""

import uuid
from typing import Any, Literal

from pydantic import BaseModel, Field


class PointGeometry(BaseModel):
    type: Literal["Point"]
    coordinates: list[float] = Field(description="[longitude, latitude]")


class RepHomeProperties(BaseModel):
    rep_id: uuid.UUID
    name: str
    active: bool
    capacity: int | None
    open_assignments: int
    segments: list[str]


class RepHomeFeature(BaseModel):
    type: Literal["Feature"]
    id: uuid.UUID
    geometry: PointGeometry
    properties: RepHomeProperties


class RepHomeCollection(BaseModel):
    type: Literal["FeatureCollection"]
    features: list[RepHomeFeature] = Field(description="Reps with a home location, by name")


class TerritoryOwner(BaseModel):
    rep_id: uuid.UUID
    name: str
    weight: float


class TerritoryMapProperties(BaseModel):
    territory_id: uuid.UUID
    name: str
    level: int
    parent_id: uuid.UUID | None
    alignment_id: uuid.UUID
    is_fallback: bool
    distribution_rule: str
    area_km2: float | None
    owners: list[TerritoryOwner] = Field(description="Owner members, highest weight first")


class TerritoryMapFeature(BaseModel):
    type: Literal["Feature"]
    id: uuid.UUID
    geometry: dict[str, Any] | None = Field(
        description="GeoJSON MultiPolygon (WGS 84); null for a territory without one"
    )
    properties: TerritoryMapProperties


class VectorLayer(BaseModel):
    id: str
    description: str
    minzoom: int = 0
    maxzoom: int = 22
    fields: dict[str, str] = Field(description="Property name → String, Number or Boolean")


class TileJSON(BaseModel):
    """TileJSON 3.0.0 of an alignment's vector tiles (what map libraries read to set a source)."""

    tilejson: Literal["3.0.0"] = "3.0.0"
    alignment_id: uuid.UUID
    tiles: list[str] = Field(
        description="The tile URL template, relative to the gateway (send the API key with it)"
    )
    minzoom: int = 0
    maxzoom: int = Field(description="Deeper zooms: draw this zoom's tiles larger (overzoom)")
    bounds: list[float] | None = Field(
        description="West, south, east, north of the territories (WGS 84); null without any"
    )
    center: list[float] | None = Field(description="Longitude, latitude, zoom")
    vector_layers: list[VectorLayer]
