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


_ALIGNMENT = """
SELECT id, updated_at FROM alignment
WHERE tenant_id = $1 AND id = $2
"""

_ACTIVE_ALIGNMENT = """
SELECT id, updated_at FROM alignment
WHERE tenant_id = $1 AND status = 'active'
"""


async def alignment_version(
    connection: asyncpg.Connection, *, tenant_id: uuid.UUID, alignment_id: uuid.UUID | None
) -> AlignmentVersion | None:
    """The named alignment, or the active one; None when there is none."""
    if alignment_id is None:
        row = await connection.fetchrow(_ACTIVE_ALIGNMENT, tenant_id)
    else:
        row = await connection.fetchrow(_ALIGNMENT, tenant_id, alignment_id)
    return AlignmentVersion(id=row["id"], updated_at=row["updated_at"]) if row else None


# One statement, three layers, concatenated (an MVT is a sequence of layers). Territories read
# the per-zoom prepared polygons (territory_tile_geometry), already in web Mercator; accounts
# and rep homes are points, projected on the fly. A territory's owner is its first owner
# member by weight, then name (the map colours by one rep).
# $1 tenant, $2 alignment, $3 z, $4 x, $5 y, $6 accounts' minimum zoom.
TILE_SQL = f"""
WITH bounds AS MATERIALIZED (
    SELECT ST_TileEnvelope($3, $4, $5) AS tile,
           ST_TileEnvelope($3, $4, $5, margin => {TILE_BUFFER}.0 / {TILE_EXTENT}) AS buffered,
           ST_Transform(ST_TileEnvelope($3, $4, $5, margin => {TILE_BUFFER}.0 / {TILE_EXTENT}),
                        4326) AS buffered_4326
), territories AS (
    SELECT t.id::text AS territory_id, t.name, t.level, t.parent_id::text AS parent_id,
           owner.rep_id::text AS owner_rep_id, owner.name AS owner_name,
           ST_AsMVTGeom(g.geom, bounds.tile, {TILE_EXTENT}, {TILE_BUFFER}, true) AS geom
    FROM bounds
    JOIN territory_tile_geometry g ON ST_Intersects(g.geom, bounds.buffered)
    JOIN territory t ON t.id = g.territory_id
    LEFT JOIN LATERAL (
        SELECT m.rep_id, r.name FROM territory_member m JOIN rep r ON r.id = m.rep_id
        WHERE m.territory_id = t.id AND m.role = 'owner'
        ORDER BY m.weight DESC, r.name, r.id LIMIT 1
    ) owner ON true
    WHERE g.tenant_id = $1 AND g.alignment_id = $2 AND g.band = tile_zoom_band($3)
      AND t.tenant_id = $1
    ORDER BY t.level, t.name
), accounts AS (
    SELECT a.id::text AS account_id, a.name, a.owner_rep_id::text AS owner_rep_id,
           a.industry,
           ST_AsMVTGeom(ST_Transform(a.location, 3857), bounds.tile, {TILE_EXTENT},
                        {TILE_BUFFER}, true) AS geom
    FROM bounds JOIN account a ON ST_Intersects(a.location, bounds.buffered_4326)
    WHERE a.tenant_id = $1 AND $3 >= $6
), reps AS (
    SELECT r.id::text AS rep_id, r.name, r.active,
           ST_AsMVTGeom(ST_Transform(r.home, 3857), bounds.tile, {TILE_EXTENT},
                        {TILE_BUFFER}, true) AS geom
    FROM bounds JOIN rep r ON ST_Intersects(r.home, bounds.buffered_4326)
    WHERE r.tenant_id = $1
)
SELECT coalesce((SELECT ST_AsMVT(q, 'territories', {TILE_EXTENT}, 'geom')
                 FROM territories q WHERE q.geom IS NOT NULL), '')
    || coalesce((SELECT ST_AsMVT(q, 'accounts', {TILE_EXTENT}, 'geom')
                 FROM accounts q WHERE q.geom IS NOT NULL), '')
    || coalesce((SELECT ST_AsMVT(q, 'reps', {TILE_EXTENT}, 'geom')
                 FROM reps q WHERE q.geom IS NOT NULL), '')
"""


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
        TILE_SQL, tenant_id, alignment_id, z, x, y, ACCOUNTS_MIN_ZOOM
    )
    return body


# The alignment's extent in WGS 84, from the prepared polygons (their boxes are stored with them).
_BOUNDS = """
SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e)
FROM (SELECT ST_Transform(ST_SetSRID(CAST(ST_Extent(geom) AS geometry), 3857), 4326) AS e
      FROM territory_tile_geometry
      WHERE tenant_id = $1 AND alignment_id = $2 AND band = 5) extent
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
                            ORDER BY m.weight DESC, r.name, r.id)
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
