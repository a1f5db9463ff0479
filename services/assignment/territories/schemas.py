"""Request and response bodies for territories, their members and GeoJSON import/export."""

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints, WithJsonSchema

from services.assignment.rules.criteria import Criteria
from shared.geo import AREA_GEOMETRY_SCHEMA
from shared.models import DistributionRule, MemberRole
from shared.patch import NotNull
from shared.validation import Int32, Text, reject_nul

MAX_IMPORT_FEATURES = 100_000
# The coordinate reference systems that mean GeoJSON's own: WGS 84 longitude, latitude.
WGS84_CRS_NAMES = frozenset(
    {
        "urn:ogc:def:crs:OGC:1.3:CRS84",
        "urn:ogc:def:crs:OGC::CRS84",
        "http://www.opengis.net/def/crs/OGC/1.3/CRS84",
        "CRS84",
        "OGC:CRS84",
        "EPSG:4326",
        "urn:ogc:def:crs:EPSG::4326",
        "urn:ogc:def:crs:EPSG:6.6:4326",
        "http://www.opengis.net/def/crs/EPSG/0/4326",
    }
)
_ATTRIBUTES_DESCRIPTION = (
    "Descriptive properties of your own (a FIPS code, a population...): kept and exported, "
    "never used to route leads (use criteria for that)"
)

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
# Geometries are read as dicts (shapely and PostGIS check them); documented as what they must be.
AreaGeometry = Annotated[
    dict[str, Any] | None,
    WithJsonSchema({"anyOf": [AREA_GEOMETRY_SCHEMA, {"type": "null"}]}),
]
_IMPORT_FEATURE_SCHEMA: dict[str, Any] = {
    "title": "GeoJSON Feature",
    "type": "object",
    "properties": {
        "type": {"const": "Feature"},
        "id": {"anyOf": [{"type": "string"}, {"type": "number"}, {"type": "null"}]},
        "geometry": {"anyOf": [AREA_GEOMETRY_SCHEMA, {"type": "null"}]},
        "properties": {
            "type": "object",
            "description": "The territory, as in the export's features "
            "(TerritoryFeatureProperties): name, parent (another feature's name), criteria, "
            "priority, distribution_rule, required_skills, is_fallback, members",
        },
    },
    "required": ["type", "geometry", "properties"],
}
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
    attributes: dict[str, Any] = Field(default_factory=dict, description=_ATTRIBUTES_DESCRIPTION)


class TerritoryUpdate(BaseModel):
    """Only the fields sent are changed; send null to clear parent, geometry or criteria."""

    model_config = ConfigDict(extra="forbid")

    name: NotNull[Annotated[Text, Field(min_length=1, max_length=200)]] = None
    parent_id: uuid.UUID | None = None
    geometry: dict[str, Any] | None = Field(default=None, description=_GEOMETRY_DESCRIPTION)
    criteria: Criteria | None = None
    priority: NotNull[Annotated[int, Field(ge=0, le=2_147_483_647)]] = None
    distribution_rule: NotNull[DistributionRule] = None
    required_skills: NotNull[Annotated[list[Skill], Field(max_length=100)]] = None
    is_fallback: NotNull[bool] = None
    attributes: NotNull[dict[str, Any]] = Field(
        default=None, description=_ATTRIBUTES_DESCRIPTION + "; replaced as a whole"
    )


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
    attributes: dict[str, Any] = Field(description=_ATTRIBUTES_DESCRIPTION)
    repair_note: str | None = Field(
        default=None,
        description="Set when ?repair=true had to repair the stored polygon, and why; kept "
        "until the geometry is replaced",
    )
    created_at: datetime
    updated_at: datetime


class TerritoryFeatureProperties(TerritoryRules):
    """A territory in GeoJSON. ``id`` and ``level`` come from the export and are ignored on
    import: ids are new, levels follow from the parents. On import, any other property joins
    ``attributes`` (a non-UUID ``id`` too), and ``?name_property=`` names the property holding
    the name."""

    model_config = ConfigDict(extra="forbid")

    id: uuid.UUID | None = None
    name: Text = Field(min_length=1, max_length=200)
    parent: Text | None = Field(
        default=None, description="The parent's name: a feature of the same collection"
    )
    level: Int32 | None = None
    members: list[MemberSpec] = Field(default_factory=list, max_length=10_000)
    attributes: dict[str, Any] = Field(default_factory=dict, description=_ATTRIBUTES_DESCRIPTION)


class TerritoryFeature(BaseModel):
    # RFC 7946 §6.1: foreign members are legal; ignored.
    model_config = ConfigDict(extra="ignore")

    type: Literal["Feature"]
    id: uuid.UUID | str | int | None = None
    bbox: list[float] | None = None
    geometry: AreaGeometry = Field(description=_GEOMETRY_DESCRIPTION)
    properties: TerritoryFeatureProperties


class TerritoryFeatureCollection(BaseModel):
    type: Literal["FeatureCollection"] = "FeatureCollection"
    features: list[TerritoryFeature]


class TerritoryImport(BaseModel):
    """A GeoJSON FeatureCollection (RFC 7946), e.g. the export (each feature a
    ``TerritoryFeature``). Features may come in any order; parents are referenced by name.
    Foreign members (``name``, ...) are ignored; a legacy ``crs`` must name WGS 84."""

    model_config = ConfigDict(extra="ignore")

    type: Literal["FeatureCollection"]
    bbox: list[float] | None = None
    crs: dict[str, Any] | None = Field(
        default=None,
        description="Legacy (GeoJSON 2008) crs member: accepted when it names WGS 84 "
        "(urn:ogc:def:crs:OGC:1.3:CRS84, EPSG:4326); any other is a 422",
    )
    # Checked feature by feature in the service, so that one answer lists every bad feature.
    features: list[Annotated[dict[str, Any], WithJsonSchema(_IMPORT_FEATURE_SCHEMA)]] = Field(
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
