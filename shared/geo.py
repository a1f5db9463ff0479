"""GeoJSON in and out of the API (SRID 4326, longitude first), validated with shapely."""

from typing import Any, Literal

import shapely
from geoalchemy2.elements import WKBElement
from geoalchemy2.shape import from_shape, to_shape
from pydantic import BaseModel, Field, field_validator
from shapely.geometry import mapping, shape
from shapely.validation import explain_validity

from shared.errors import InvalidGeometry

SRID = 4326

# JSON schemas for the OpenAPI document of bodies read as plain dicts (checked by shapely/PostGIS).
_POSITION: dict[str, Any] = {
    "type": "array",
    "items": {"type": "number"},
    "minItems": 2,
    "maxItems": 3,
    "description": "[longitude, latitude] in WGS 84",
}
_POLYGON_COORDINATES: dict[str, Any] = {
    "type": "array",
    "items": {"type": "array", "items": _POSITION, "minItems": 4},
    "minItems": 1,
    "description": "Linear rings, closed (last position = first): the shell, then any holes",
}
AREA_GEOMETRY_SCHEMA: dict[str, Any] = {
    "title": "GeoJSON Polygon or MultiPolygon",
    "oneOf": [
        {
            "type": "object",
            "properties": {"type": {"const": "Polygon"}, "coordinates": _POLYGON_COORDINATES},
            "required": ["type", "coordinates"],
        },
        {
            "type": "object",
            "properties": {
                "type": {"const": "MultiPolygon"},
                "coordinates": {"type": "array", "items": _POLYGON_COORDINATES},
            },
            "required": ["type", "coordinates"],
        },
    ],
}


class GeoJSONPoint(BaseModel):
    type: Literal["Point"] = "Point"
    coordinates: tuple[float, float] = Field(
        description="[longitude, latitude] in WGS 84", examples=[[-73.9857, 40.7484]]
    )

    @field_validator("coordinates")
    @classmethod
    def _in_range(cls, value: tuple[float, float]) -> tuple[float, float]:
        longitude, latitude = value
        if not -180 <= longitude <= 180 or not -90 <= latitude <= 90:
            raise ValueError(
                "coordinates are [longitude, latitude] with longitude in [-180, 180] and "
                f"latitude in [-90, 90]; got {list(value)} (swapped?)"
            )
        return value

    def to_wkb(self) -> WKBElement:
        return from_shape(shapely.Point(self.coordinates), srid=SRID)


def point_from_db(element: WKBElement | None) -> GeoJSONPoint | None:
    if element is None:
        return None
    point = to_shape(element)
    return GeoJSONPoint(coordinates=(point.x, point.y))


def geometry_to_geojson(element: WKBElement | None) -> dict[str, Any] | None:
    return None if element is None else dict(mapping(to_shape(element)))


def multipolygon_from_geojson(
    geometry: dict[str, Any], *, field: str = "geometry", repair: bool = False
) -> tuple[WKBElement, str | None]:
    """Parse a Polygon/MultiPolygon; invalid rings are repaired (and reported) or rejected."""
    # Checked before shapely, whose errors for a malformed object are Python's own
    # ("'NoneType' object has no attribute 'lower'" for {}).
    kind = geometry.get("type")
    if kind not in ("Polygon", "MultiPolygon"):
        got = f"type {kind!r}" if isinstance(kind, str) else "no type"
        raise InvalidGeometry(
            f"expected a GeoJSON Polygon or MultiPolygon, got {got}: send "
            '{"type": "Polygon", "coordinates": [[[longitude, latitude], ...]]}',
            field=field,
        )
    if not isinstance(geometry.get("coordinates"), list):
        raise InvalidGeometry(
            f"a {kind} needs 'coordinates': a list of rings of [longitude, latitude] positions",
            field=field,
        )
    try:
        parsed = shape(geometry)
    except Exception as error:
        raise InvalidGeometry(
            f"the {kind}'s coordinates cannot be read ({error}): each ring is a list of at "
            "least 4 [longitude, latitude] positions, the last equal to the first",
            field=field,
        ) from error
    if parsed.is_empty:
        raise InvalidGeometry("the geometry is empty", field=field)
    minx, miny, maxx, maxy = parsed.bounds
    if minx < -180 or maxx > 180 or miny < -90 or maxy > 90:
        raise InvalidGeometry(
            "coordinates must be [longitude, latitude] in WGS 84 (EPSG:4326)", field=field
        )
    repair_note = None
    if not parsed.is_valid:
        reason = explain_validity(parsed)
        if not repair:
            raise InvalidGeometry(
                f"invalid polygon: {reason}; fix it or resend with repair=true", field=field
            )
        parsed = shapely.make_valid(parsed)
        polygons = [part for part in getattr(parsed, "geoms", [parsed]) if part.area > 0]
        parsed = shapely.MultiPolygon(
            [
                p
                for part in polygons
                for p in getattr(part, "geoms", [part])
                if p.geom_type == "Polygon"
            ]
        )
        if parsed.is_empty:
            raise InvalidGeometry(f"invalid polygon with no area left: {reason}", field=field)
        repair_note = f"repaired: {reason}"
    if parsed.geom_type == "Polygon":
        parsed = shapely.MultiPolygon([parsed])
    return from_shape(parsed, srid=SRID), repair_note
