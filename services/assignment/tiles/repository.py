"""SQL for vector tiles and the small GeoJSON layers (asyncpg, on the service's hot-path pool).

Every spatial filter is ``ST_Intersects``, never a bare ``&&``: under row-level security only a
LEAKPROOF qual may become an index condition, and ``st_intersects`` is marked so (migration
756e7c1b5f29) while the ``&&`` operator is not.
"""

import uuid
from dataclasses import dataclass
from datetime import datetime

import asyncpg

# Accounts are drawn from this zoom on. At zoom 8 a tile spans ~156 km (less away from the
# equator); 100,000 accounts over the contiguous US average ~0.0125 per km², a few hundred a
# tile and a few thousand over a metro, which keeps the tile small and fast (bench/map); below
# it a point layer of a whole region is neither readable nor cheap.
ACCOUNTS_MIN_ZOOM = 8
TILE_EXTENT = 4096
TILE_BUFFER = 64


@dataclass(frozen=True)
class AlignmentVersion:
    id: uuid.UUID
    updated_at: datetime
    status: str
    # The tenant's reps as tiles show them: how many, and the last change (name, home, active).
    reps_version: str


# The alignment, and the version of the tenant's reps (their count and latest updated_at: a
# write through the API bumps updated_at; the lead path's open_assignments counter does not).
_ALIGNMENT = """
SELECT a.id, a.updated_at, a.status,
       (SELECT concat(count(*), '.', coalesce(extract(epoch FROM max(r.updated_at)), 0))
        FROM rep r WHERE r.tenant_id = $1) AS reps_version
FROM alignment a
WHERE a.tenant_id = $1 AND ((CAST($2 AS uuid) IS NULL AND a.status = 'active') OR a.id = $2)
"""


async def alignment_version(
    connection: asyncpg.Connection, *, tenant_id: uuid.UUID, alignment_id: uuid.UUID | None
) -> AlignmentVersion | None:
    """The named alignment, or the active one; None when there is none."""
    row = await connection.fetchrow(_ALIGNMENT, tenant_id, alignment_id)
    if row is None:
        return None
    return AlignmentVersion(
        id=row["id"],
        updated_at=row["updated_at"],
        status=row["status"],
        reps_version=row["reps_version"],
    )


# Which prepared polygons a zoom reads (services/assignment/tiles/sql/territory_tile_geometry.sql
# simplifies band b for its deepest zoom): (deepest zoom, band); deeper than 11, band 5, as stored.
ZOOM_BANDS = ((3, 0), (5, 1), (7, 2), (9, 3), (11, 4))
FULL_DETAIL_BAND = 5


def zoom_band(z: int) -> int:
    for deepest, band in ZOOM_BANDS:
        if z <= deepest:
            return band
    return FULL_DETAIL_BAND


# One statement, three layers, concatenated (an MVT is a sequence of layers). Territories read
# the per-zoom prepared polygons (territory_tile_geometry), already in web Mercator; accounts
# and rep homes are points, projected on the fly. The band is written into the text, not bound,
# so that even the pool's generic plans use that band's partial GiST index (a bound band let
# the planner AND the GiST with a b-tree over every row of the alignment: 17 ms a tile).
# A territory's owner is its owner member of the highest weight, then the lowest rep id.
# Rows are ordered by level only: parents are drawn first, siblings do not overlap.
# $1 tenant, $2 alignment, $3 z, $4 x, $5 y, $6 accounts' minimum zoom.
_TILE_TEMPLATE = """
WITH bounds AS MATERIALIZED (
    SELECT ST_TileEnvelope($3, $4, $5) AS tile,
           ST_TileEnvelope($3, $4, $5, margin => {buffer}.0 / {extent}) AS buffered,
           ST_Transform(ST_TileEnvelope($3, $4, $5, margin => {buffer}.0 / {extent}),
                        4326) AS buffered_4326
), territories AS (
    SELECT t.id::text AS territory_id, t.name, t.level, t.parent_id::text AS parent_id,
           owner.rep_id::text AS owner_rep_id, r.name AS owner_name,
           ST_AsMVTGeom(g.geom, bounds.tile, {extent}, {buffer}, true) AS geom
    FROM bounds
    JOIN territory_tile_geometry g ON ST_Intersects(g.geom, bounds.buffered)
    JOIN territory t ON t.id = g.territory_id
    LEFT JOIN LATERAL (
        SELECT m.rep_id FROM territory_member m
        WHERE m.territory_id = t.id AND m.role = 'owner'
        ORDER BY m.weight DESC, m.rep_id LIMIT 1
    ) owner ON true
    LEFT JOIN rep r ON r.id = owner.rep_id
    WHERE g.band = {band} AND g.tenant_id = $1 AND g.alignment_id = $2 AND t.tenant_id = $1
    ORDER BY t.level
), accounts AS (
    SELECT a.id::text AS account_id, a.name, a.owner_rep_id::text AS owner_rep_id,
           a.industry,
           ST_AsMVTGeom(ST_Transform(a.location, 3857), bounds.tile, {extent}, {buffer},
                        true) AS geom
    FROM bounds JOIN account a ON ST_Intersects(a.location, bounds.buffered_4326)
    WHERE a.tenant_id = $1 AND $3 >= $6
), reps AS (
    SELECT r.id::text AS rep_id, r.name, r.active,
           ST_AsMVTGeom(ST_Transform(r.home, 3857), bounds.tile, {extent}, {buffer},
                        true) AS geom
    FROM bounds JOIN rep r ON ST_Intersects(r.home, bounds.buffered_4326)
    WHERE r.tenant_id = $1
)
-- FILTER, not WHERE: a WHERE on geom would be pushed into the scan and build each geometry twice.
SELECT coalesce((SELECT ST_AsMVT(q, 'territories', {extent}, 'geom')
                        FILTER (WHERE q.geom IS NOT NULL) FROM territories q), '')
    || coalesce((SELECT ST_AsMVT(q, 'accounts', {extent}, 'geom')
                        FILTER (WHERE q.geom IS NOT NULL) FROM accounts q), '')
    || coalesce((SELECT ST_AsMVT(q, 'reps', {extent}, 'geom')
                        FILTER (WHERE q.geom IS NOT NULL) FROM reps q), '')
"""


def tile_sql(z: int) -> str:
    """The tile statement for a zoom (its band's text)."""
    return _TILE_SQL_BY_BAND[zoom_band(z)]


_TILE_SQL_BY_BAND = {
    band: _TILE_TEMPLATE.format(band=band, extent=TILE_EXTENT, buffer=TILE_BUFFER)
    for band in range(FULL_DETAIL_BAND + 1)
}


async def tile(
    connection: asyncpg.Connection,
    *,
    tenant_id: uuid.UUID,
    alignment_id: uuid.UUID,
    z: int,
    x: int,
    y: int,
) -> bytes:
    """The tile's bytes (empty when nothing lies in it)."""
    body: bytes = await connection.fetchval(
        tile_sql(z), tenant_id, alignment_id, z, x, y, ACCOUNTS_MIN_ZOOM
    )
    return body


# The alignment's extent in WGS 84 (the polygons' stored boxes), within web Mercator's latitudes.
_BOUNDS = """
SELECT ST_XMin(e), greatest(ST_YMin(e), -85.0511), ST_XMax(e), least(ST_YMax(e), 85.0511)
FROM (SELECT CAST(ST_Extent(geom) AS geometry) AS e
      FROM territory WHERE tenant_id = $1 AND alignment_id = $2) extent
WHERE e IS NOT NULL
"""


async def alignment_bounds(
    connection: asyncpg.Connection, *, tenant_id: uuid.UUID, alignment_id: uuid.UUID
) -> tuple[float, float, float, float] | None:
    """West, south, east, north of the alignment's territories; None without polygons."""
    row = await connection.fetchrow(_BOUNDS, tenant_id, alignment_id)
    return (row[0], row[1], row[2], row[3]) if row else None


# The small layers as GeoJSON text, built by PostgreSQL in one statement each.
_REPS_GEOJSON = """
SELECT json_build_object(
    'type', 'FeatureCollection',
    'features', coalesce(json_agg(json_build_object(
        'type', 'Feature',
        'id', r.id,
        'geometry', ST_AsGeoJSON(r.home, 7)::json,
        'properties', json_build_object(
            'rep_id', r.id, 'name', r.name, 'active', r.active, 'capacity', r.capacity,
            'open_assignments', r.open_assignments, 'segments', to_json(r.segments)
        )
    ) ORDER BY r.name, r.id), '[]'::json)
)::text
FROM rep r
WHERE r.tenant_id = $1 AND r.home IS NOT NULL AND ($2::boolean IS NULL OR r.active = $2)
"""


async def reps_feature_collection(
    connection: asyncpg.Connection, *, tenant_id: uuid.UUID, active: bool | None
) -> str:
    return str(await connection.fetchval(_REPS_GEOJSON, tenant_id, active))


# One territory: its polygon (simplified by ST_SimplifyPreserveTopology when asked, in degrees
# derived from metres at the equator: a display aid, not a measurement), its parent, owners.
_TERRITORY_GEOJSON = """
SELECT json_build_object(
    'type', 'Feature',
    'id', t.id,
    'geometry', ST_AsGeoJSON(
        CASE WHEN $3::float8 > 0 THEN ST_SimplifyPreserveTopology(t.geom, $3 / 111319.49)
             ELSE t.geom END, 7)::json,
    'properties', json_build_object(
        'territory_id', t.id, 'name', t.name, 'level', t.level, 'parent_id', t.parent_id,
        'alignment_id', t.alignment_id, 'is_fallback', t.is_fallback,
        'distribution_rule', t.distribution_rule,
        'area_km2', ST_Area(t.geom::geography) / 1e6,
        'owners', coalesce((
            SELECT json_agg(json_build_object('rep_id', m.rep_id, 'name', r.name,
                                              'weight', m.weight::float8)
                            ORDER BY m.weight DESC, m.rep_id)
            FROM territory_member m JOIN rep r ON r.id = m.rep_id
            WHERE m.territory_id = t.id AND m.role = 'owner'), '[]'::json)
    )
)::text
FROM territory t
WHERE t.tenant_id = $1 AND t.id = $2
"""


async def territory_feature(
    connection: asyncpg.Connection,
    *,
    tenant_id: uuid.UUID,
    territory_id: uuid.UUID,
    simplify_m: float,
) -> str | None:
    value = await connection.fetchval(_TERRITORY_GEOJSON, tenant_id, territory_id, simplify_m)
    return None if value is None else str(value)
