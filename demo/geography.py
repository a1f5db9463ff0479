"""Real geography for the demo: county polygons and ZIP centroids of three neighbouring states.

Why these sources: the counties are the ones libpysal ships with its examples (no download, a
well-kept package: North Carolina's 100 counties in ``sids2``, Virginia's 136 counties and
independent cities in ``virginia``, Georgia's 159 counties in ``georgia``, the last in UTM 16N and
reprojected here with pyproj; the files are read with pyogrio, without importing libpysal or
geopandas, which take seconds to import). The ZIP centroids, cities and county names come from
``zipcodes``, which the assignment service already ships for offline geocoding. Real county
polygons make honest basic units (what planners balance territories on) and real borders on the
map; the ZIP centroids place accounts and rep homes where people and businesses are.
"""

import importlib.util
import os
from collections import Counter
from dataclasses import dataclass
from functools import cache

import numpy as np
import pyogrio.raw
import pyproj
import shapely
import zipcodes
from shapely.geometry.base import BaseGeometry

# state → (shapefile under libpysal/examples, its CRS, the column holding the county FIPS code)
_SOURCES = {
    "NC": ("sids2/sids2.shp", "EPSG:4326", "FIPS"),
    "VA": ("virginia/virginia.shp", "EPSG:4326", "FIPS"),
    # The file has no .prj; its coordinates are UTM zone 16N (NAD83): checked against the
    # Latitude/Longitud columns it carries, within 0.13 degrees for every county.
    "GA": ("georgia/G_utm.shp", "EPSG:26916", "AreaKey"),
}
STATES = tuple(_SOURCES)
STATE_NAMES = {"NC": "North Carolina", "VA": "Virginia", "GA": "Georgia"}


@dataclass(frozen=True)
class County:
    code: str  # 5-digit FIPS, the basic unit's code
    name: str
    state: str
    geometry: BaseGeometry  # MultiPolygon, lon/lat WGS 84


@dataclass(frozen=True)
class ZipCentroid:
    code: str
    city: str
    state: str
    lon: float
    lat: float
    county_code: str  # the county polygon the centroid lies in
    # How many ZIP codes of any kind (standard, PO box, unique) the city has: a proxy for its
    # population and business density (unique ZIPs are given to large organisations).
    city_zip_count: int


def _multipolygon(geometry: BaseGeometry) -> BaseGeometry:
    geometry = shapely.make_valid(geometry)
    polygons = [part for part in shapely.get_parts(geometry) if part.geom_type == "Polygon"]
    return shapely.MultiPolygon(polygons)


def _examples_dir() -> str:
    """libpysal's shipped example data, found without importing libpysal."""
    spec = importlib.util.find_spec("libpysal")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("libpysal is not installed: pip install -e '.[dev]'")
    return os.path.join(spec.submodule_search_locations[0], "examples")


def _read(state: str) -> tuple[list[BaseGeometry], dict[str, list[object]]]:
    """A state's county polygons in lon/lat WGS 84, and the file's attribute columns."""
    path, crs, _fips = _SOURCES[state]
    meta, _fids, wkb, columns = pyogrio.raw.read(os.path.join(_examples_dir(), path))
    geometries = shapely.from_wkb(wkb)
    if crs != "EPSG:4326":
        to_wgs84 = pyproj.Transformer.from_crs(crs, "EPSG:4326", always_xy=True)
        geometries = shapely.transform(
            geometries, lambda xy: np.column_stack(to_wgs84.transform(xy[:, 0], xy[:, 1]))
        )
    fields = {str(name): list(values) for name, values in zip(meta["fields"], columns, strict=True)}
    return list(geometries), fields


@cache
def counties() -> tuple[County, ...]:
    """Every county of the three states, by FIPS code."""
    zip_county_names = _zip_county_names()
    result = []
    for state, (_path, _crs, fips_column) in _SOURCES.items():
        geometries, fields = _read(state)
        names = fields.get("NAME", [None] * len(geometries))
        for geometry, fips, name in zip(geometries, fields[fips_column], names, strict=True):
            code = str(fips).zfill(5)
            name = name or zip_county_names.get(code) or f"County {code}"
            result.append(County(code, str(name), state, _multipolygon(geometry)))
    return tuple(sorted(result, key=lambda county: county.code))


def _zip_county_names() -> dict[str, str]:
    """Georgia's file has FIPS codes but no names: name each county after the county that most
    of the ZIP centroids inside it give (``zipcodes`` says "Fulton County")."""
    geometries, fields = _read("GA")
    codes = [str(fips).zfill(5) for fips in fields[_SOURCES["GA"][2]]]
    rows = [row for row in zipcodes.filter_by(state="GA") if row["county"]]
    points = shapely.points([(float(row["long"]), float(row["lat"])) for row in rows])
    tree = shapely.STRtree(geometries)
    point_index, county_index = tree.query(points, predicate="within")
    votes: dict[str, Counter[str]] = {}
    for p, c in zip(point_index, county_index, strict=True):
        votes.setdefault(codes[int(c)], Counter())[rows[int(p)]["county"]] += 1
    return {
        code: counter.most_common(1)[0][0].removesuffix(" County")
        for code, counter in votes.items()
    }


@cache
def zip_centroids() -> tuple[ZipCentroid, ...]:
    """The standard ZIP codes of the three states whose centroid lies in one of their counties,
    by code (a centroid just outside every polygon, e.g. on the coast, is left out)."""
    county_list = counties()
    tree = shapely.STRtree([county.geometry for county in county_list])
    rows = [row for state in STATES for row in zipcodes.filter_by(state=state) if row["active"]]
    city_counts = Counter((row["state"], row["city"]) for row in rows)
    standard = sorted(
        (row for row in rows if row["zip_code_type"] == "STANDARD"), key=lambda r: r["zip_code"]
    )
    points = shapely.points([(float(row["long"]), float(row["lat"])) for row in standard])
    point_index, county_index = tree.query(points, predicate="within")
    county_of: dict[int, str] = {}
    for p, c in zip(point_index, county_index, strict=True):
        county_of.setdefault(int(p), county_list[int(c)].code)  # first wins where files overlap
    return tuple(
        ZipCentroid(
            code=row["zip_code"],
            city=row["city"].title(),
            state=row["state"],
            lon=float(row["long"]),
            lat=float(row["lat"]),
            county_code=county_of[i],
            city_zip_count=city_counts[(row["state"], row["city"])],
        )
        for i, row in enumerate(standard)
        if i in county_of
    )
