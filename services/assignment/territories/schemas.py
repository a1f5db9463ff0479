"""Request and response bodies for territories, their members and GeoJSON import/export."""

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from services.assignment.rules.criteria import Criteria
from shared.models import DistributionRule, MemberRole
from shared.validation import Int32, Text, reject_nul

MAX_IMPORT_FEATURES = 100_000

Skill = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=100),
    AfterValidator(reject_nul),
]

_GEOMETRY_DESCRIPTION = (
    "A GeoJSON Polygon or MultiPolygon in WGS 84 ([longitude, latitude]); null for a territory "
    "defined by attribute rules only. Checked by PostGIS: an invalid polygon (self-intersection, "
    "unclosed ring...) is rejected with the reason, or repaired with ST_MakeValid when the "
    "request has ?repair=true."
)
_GEOMETRY_EXAMPLE = {
    "type": "Polygon",
    "coordinates": [
        [[-74.05, 40.68], [-73.9, 40.68], [-73.9, 40.88], [-74.05, 40.88], [-74.05, 40.68]]
    ],
}


class MemberSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    rep_id: uuid.UUID
    role: MemberRole = Field(
        default=MemberRole.owner, description="owner: receives leads; overlay: informed"
    )
    weight: float = Field(
        default=1.0,
        gt=0,
        le=999_999,
        allow_inf_nan=False,
        description="Share of leads under the weighted distribution rule (relative)",
    )


class MemberCreate(MemberSpec):
    """Add a rep to a territory."""


class MemberRead(BaseModel):
    rep_id: uuid.UUID
    rep_name: str
    role: MemberRole
    weight: float


class TerritoryRules(BaseModel):
    """How leads reach a territory and how the territory picks their rep."""

    criteria: Criteria | None = Field(
        default=None,
        description="Attribute criteria (AND/OR groups of in/range/prefix conditions); null: none",
    )
    priority: int = Field(
        default=100, ge=0, le=2_147_483_647, description="Among matching territories, lower wins"
    )
    distribution_rule: DistributionRule = DistributionRule.round_robin
    required_skills: list[Skill] = Field(
        default_factory=list,
        max_length=100,
        description="Only reps having all of these skills are eligible",
    )
    is_fallback: bool = Field(
        default=False,
        description="Receives the leads no other territory matches; exactly one per alignment "
        "is needed to publish",
    )


class TerritoryCreate(TerritoryRules):
    model_config = ConfigDict(extra="forbid")

    name: Text = Field(min_length=1, max_length=200, description="Unique within the alignment")
    parent_id: uuid.UUID | None = Field(
        default=None, description="A territory of the same alignment; level follows from it"
    )
    geometry: dict[str, Any] | None = Field(
        default=None, description=_GEOMETRY_DESCRIPTION, examples=[_GEOMETRY_EXAMPLE]
    )


class TerritoryUpdate(BaseModel):
    """Only the fields sent are changed; send null to clear parent, geometry or criteria."""

    model_config = ConfigDict(extra="forbid")

    name: Text | None = Field(default=None, min_length=1, max_length=200)
    parent_id: uuid.UUID | None = None
    geometry: dict[str, Any] | None = Field(default=None, description=_GEOMETRY_DESCRIPTION)
    criteria: Criteria | None = None
    priority: int | None = Field(default=None, ge=0, le=2_147_483_647)
    distribution_rule: DistributionRule | None = None
    required_skills: list[Skill] | None = Field(default=None, max_length=100)
    is_fallback: bool | None = None


class TerritoryRead(BaseModel):
    id: uuid.UUID
    alignment_id: uuid.UUID
    parent_id: uuid.UUID | None
    name: str
    level: int = Field(description="Depth in the hierarchy: 0 at the top")
    geometry: dict[str, Any] | None = Field(
        description="GeoJSON MultiPolygon; null without a polygon or with include_geometry=false"
    )
    area_km2: float | None
    criteria: dict[str, Any] | None = Field(description="The criteria tree as stored")
    priority: int
    distribution_rule: DistributionRule
    required_skills: list[str]
    is_fallback: bool
    members: list[MemberRead]
    repair_note: str | None = Field(
        default=None, description="Set when ?repair=true had to repair the polygon, and why"
    )
    created_at: datetime
    updated_at: datetime


class TerritoryFeatureProperties(TerritoryRules):
    """A territory in GeoJSON. ``id`` and ``level`` come from the export and are ignored on
    import: ids are new, levels follow from the parents."""

    model_config = ConfigDict(extra="forbid")

    id: uuid.UUID | None = None
    name: Text = Field(min_length=1, max_length=200)
    parent: Text | None = Field(
        default=None, description="The parent's name: a feature of the same collection"
    )
    level: Int32 | None = None
    members: list[MemberSpec] = Field(default_factory=list, max_length=10_000)


class TerritoryFeature(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: Literal["Feature"]
    id: uuid.UUID | str | int | None = None
    bbox: list[float] | None = None
    geometry: dict[str, Any] | None = Field(description=_GEOMETRY_DESCRIPTION)
    properties: TerritoryFeatureProperties


class TerritoryFeatureCollection(BaseModel):
    type: Literal["FeatureCollection"] = "FeatureCollection"
    features: list[TerritoryFeature]


class TerritoryImport(BaseModel):
    """A FeatureCollection shaped like the export (each feature a ``TerritoryFeature``).
    Features may come in any order; parents are referenced by name."""

    model_config = ConfigDict(extra="forbid")

    type: Literal["FeatureCollection"]
    bbox: list[float] | None = None
    # Checked feature by feature in the service, so that one answer lists every bad feature.
    features: list[dict[str, Any]] = Field(
        min_length=1,
        max_length=MAX_IMPORT_FEATURES,
        description="GeoJSON Features, each shaped like TerritoryFeature",
    )


class RepairedFeature(BaseModel):
    index: int = Field(description="Position of the feature in `features`")
    name: str
    repair_note: str


class TerritoryImportResult(BaseModel):
    alignment_id: uuid.UUID
    territories_created: int
    members_created: int
    repaired: list[RepairedFeature]
