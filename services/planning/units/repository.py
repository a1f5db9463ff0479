"""SQL for unit sets, basic units and their adjacency; every statement is filtered by tenant.

The set-wide work (adjacency, Voronoi cells, islands, imports, accounts by location) is plain
SQL on an asyncpg connection, so the request (through ``driver_connection``, in the request's
transaction) and the job worker (its own connection) run the same statements.
"""

import uuid
from collections.abc import Sequence
from typing import Any

import asyncpg
from sqlalchemy import Row, case, delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from shared.models import AdjacencyOverride, BasicUnit, UnitAdjacency, UnitImport, UnitSet
from shared.models.planning import AdjacencyKind, ImportStatus

DEFAULT_SET_NAME = "default"


async def driver_connection(session: AsyncSession) -> asyncpg.Connection:
    """The asyncpg connection under the session, in the session's transaction."""
    raw = await (await session.connection()).get_raw_connection()
    connection: asyncpg.Connection = raw.driver_connection
    return connection


# --- unit sets ------------------------------------------------------------------------------


async def add_set(
    session: AsyncSession, *, tenant_id: uuid.UUID, values: dict[str, Any]
) -> UnitSet:
    unit_set = UnitSet(id=uuid.uuid4(), tenant_id=tenant_id, **values)
    session.add(unit_set)
    await session.flush()
    await session.refresh(unit_set)
    return unit_set


async def get_set(
    session: AsyncSession, *, tenant_id: uuid.UUID, unit_set_id: uuid.UUID
) -> UnitSet | None:
    return await session.scalar(
        select(UnitSet).where(UnitSet.tenant_id == tenant_id, UnitSet.id == unit_set_id)
    )


async def get_set_by_name(
    session: AsyncSession, *, tenant_id: uuid.UUID, name: str
) -> UnitSet | None:
    return await session.scalar(
        select(UnitSet).where(UnitSet.tenant_id == tenant_id, UnitSet.name == name)
    )


async def default_set(session: AsyncSession, *, tenant_id: uuid.UUID) -> UnitSet:
    """The tenant's default set (polygons, rook), created on first use."""
    connection = await driver_connection(session)
    # Two first requests at once: one inserts, the other finds it (the partial unique index).
    await connection.execute(
        "INSERT INTO unit_set (tenant_id, name, is_default) VALUES ($1, $2, true)"
        " ON CONFLICT DO NOTHING",
        tenant_id,
        DEFAULT_SET_NAME,
    )
    unit_set = await session.scalar(
        select(UnitSet).where(UnitSet.tenant_id == tenant_id, UnitSet.is_default.is_(True))
    )
    assert unit_set is not None, "the default unit set was just created"
    return unit_set


async def list_sets(
    session: AsyncSession, *, tenant_id: uuid.UUID, limit: int, offset: int
) -> list[UnitSet]:
    statement = (
        select(UnitSet)
        .where(UnitSet.tenant_id == tenant_id)
        .order_by(UnitSet.name, UnitSet.id)
        .limit(limit)
        .offset(offset)
    )
    return list(await session.scalars(statement))


async def delete_set(
    session: AsyncSession, *, tenant_id: uuid.UUID, unit_set_id: uuid.UUID
) -> bool:
    deleted = await session.scalar(
        delete(UnitSet)
        .where(UnitSet.tenant_id == tenant_id, UnitSet.id == unit_set_id)
        .returning(UnitSet.id)
    )
    return deleted is not None


async def set_counts(
    connection: asyncpg.Connection, *, tenant_id: uuid.UUID, unit_set_id: uuid.UUID
) -> asyncpg.Record:
    return await connection.fetchrow(
        "SELECT (SELECT count(*) FROM basic_unit WHERE tenant_id = $1 AND unit_set_id = $2)"
        " AS units,"
        " (SELECT count(*) FROM unit_adjacency WHERE tenant_id = $1 AND unit_set_id = $2"
        "  AND kind = 'border') AS border_edges,"
        " (SELECT count(*) FROM unit_adjacency WHERE tenant_id = $1 AND unit_set_id = $2"
        "  AND kind = 'explicit') AS explicit_edges,"
        " (SELECT count(*) FROM adjacency_override WHERE tenant_id = $1 AND unit_set_id = $2)"
        " AS overrides",
        tenant_id,
        unit_set_id,
    )


async def mark_adjacency_built(
    connection: asyncpg.Connection, *, tenant_id: uuid.UUID, unit_set_id: uuid.UUID
) -> None:
    await connection.execute(
        "UPDATE unit_set SET adjacency_built_at = now(), updated_at = now()"
        " WHERE tenant_id = $1 AND id = $2",
        tenant_id,
        unit_set_id,
    )


# --- units ----------------------------------------------------------------------------------


async def get(
    session: AsyncSession, *, tenant_id: uuid.UUID, unit_id: uuid.UUID
) -> BasicUnit | None:
    return await session.scalar(
        select(BasicUnit).where(BasicUnit.tenant_id == tenant_id, BasicUnit.id == unit_id)
    )


async def get_by_code(
    session: AsyncSession, *, tenant_id: uuid.UUID, unit_set_id: uuid.UUID, code: str
) -> BasicUnit | None:
    return await session.scalar(
        select(BasicUnit).where(
            BasicUnit.tenant_id == tenant_id,
            BasicUnit.unit_set_id == unit_set_id,
            BasicUnit.code == code,
        )
    )


async def ids_by_code(
    session: AsyncSession, *, tenant_id: uuid.UUID, unit_set_id: uuid.UUID, codes: list[str]
) -> dict[str, uuid.UUID]:
    rows = await session.execute(
        select(BasicUnit.code, BasicUnit.id).where(
            BasicUnit.tenant_id == tenant_id,
            BasicUnit.unit_set_id == unit_set_id,
            BasicUnit.code.in_(codes),
        )
    )
    return {code: unit_id for code, unit_id in rows.tuples()}


async def list_page(
    session: AsyncSession, *, tenant_id: uuid.UUID, unit_set_id: uuid.UUID, limit: int, offset: int
) -> list[BasicUnit]:
    statement = (
        select(BasicUnit)
        .where(BasicUnit.tenant_id == tenant_id, BasicUnit.unit_set_id == unit_set_id)
        .order_by(BasicUnit.code, BasicUnit.id)
        .limit(limit)
        .offset(offset)
    )
    return list(await session.scalars(statement))


async def add(session: AsyncSession, *, tenant_id: uuid.UUID, values: dict[str, Any]) -> BasicUnit:
    unit = BasicUnit(id=uuid.uuid4(), tenant_id=tenant_id, **values)
    session.add(unit)
    await session.flush()
    await session.refresh(unit)
    return unit


async def delete_unit(session: AsyncSession, *, tenant_id: uuid.UUID, unit_id: uuid.UUID) -> bool:
    """Delete one unit (its adjacency rows cascade); False if the tenant has no such unit."""
    deleted = await session.scalar(
        delete(BasicUnit)
        .where(BasicUnit.tenant_id == tenant_id, BasicUnit.id == unit_id)
        .returning(BasicUnit.id)
    )
    return deleted is not None


async def list_neighbours(
    session: AsyncSession, *, tenant_id: uuid.UUID, unit_id: uuid.UUID, limit: int, offset: int
) -> Sequence[Row[uuid.UUID, str, float, AdjacencyKind]]:
    """The units adjacent to ``unit_id``, longest shared border first."""
    other_id = case(
        (UnitAdjacency.unit_a_id == unit_id, UnitAdjacency.unit_b_id),
        else_=UnitAdjacency.unit_a_id,
    )
    statement = (
        select(BasicUnit.id, BasicUnit.code, UnitAdjacency.shared_border_m, UnitAdjacency.kind)
        .join(BasicUnit, BasicUnit.id == other_id)
        .where(
            UnitAdjacency.tenant_id == tenant_id,
            BasicUnit.tenant_id == tenant_id,
            or_(UnitAdjacency.unit_a_id == unit_id, UnitAdjacency.unit_b_id == unit_id),
        )
        .order_by(UnitAdjacency.shared_border_m.desc(), BasicUnit.code)
        .limit(limit)
        .offset(offset)
    )
    return (await session.execute(statement)).all()


# --- adjacency --------------------------------------------------------------------------------


async def lock_set(
    connection: asyncpg.Connection, *, tenant_id: uuid.UUID, unit_set_id: uuid.UUID
) -> None:
    """Rebuilds, imports and override changes of one set take turns (they replace its edges)."""
    await connection.execute(
        "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))",
        f"unit_set:{tenant_id}:{unit_set_id}",
    )


async def analyze_units(connection: asyncpg.Connection) -> None:
    """Planner statistics that count the units just written (sql/planning_analyze_units.sql)."""
    await connection.execute("SELECT planning_analyze_units()")


# The boundaries' shared length on the spheroid: the test of rook adjacency and of the
# minimum shared length. GiST join on ST_Intersects (leakproof, so the index is used under
# row-level security); a pair of overlapping polygons (sloppy source data) is rook-adjacent
# too, though their boundaries only cross at points. ``uuid_lt(a.id, b.id)``, not ``a.id <
# b.id``: the operator lets the planner AND a primary-key range (half the set) into every
# GiST probe, quadratic in the set (minutes at 50,000 units); the function is no index
# condition. ``OFFSET 0`` keeps the length one computation per pair (pulled up, it was
# copied into each test of it).
_BORDER_ADJACENCY = """
INSERT INTO unit_adjacency (tenant_id, unit_set_id, unit_a_id, unit_b_id, shared_border_m, kind)
SELECT $1, $2, a.id, b.id, shared.length_m, 'border'
FROM basic_unit AS a
JOIN basic_unit AS b
    ON b.tenant_id = $1 AND b.unit_set_id = $2 AND uuid_lt(a.id, b.id)
    AND ST_Intersects(a.geom, b.geom)
CROSS JOIN LATERAL (
    SELECT ST_Length(ST_CollectionExtract(
        ST_Intersection(ST_Boundary(a.geom), ST_Boundary(b.geom)), 2)::geography) AS length_m
    OFFSET 0
) AS shared
WHERE a.tenant_id = $1 AND a.unit_set_id = $2 AND shared.length_m >= $4
    AND ($3 = 'queen' OR shared.length_m > 0 OR ST_Relate(a.geom, b.geom, '2********'))
"""


async def rebuild_border_adjacency(
    connection: asyncpg.Connection,
    *,
    tenant_id: uuid.UUID,
    unit_set_id: uuid.UUID,
    rule: str,
    min_shared_border_m: float,
) -> int:
    """Replace the set's computed edges with every pair of units sharing a border."""
    # JIT compiles the geometry expressions for ~1 s (measured on 5,000 units) and gains
    # nothing: the time goes to GEOS, not to the executor.
    await connection.execute("SET LOCAL jit = off")
    await connection.execute(
        "DELETE FROM unit_adjacency WHERE tenant_id = $1 AND unit_set_id = $2"
        " AND kind IN ('border', 'island')",
        tenant_id,
        unit_set_id,
    )
    status = await connection.execute(
        _BORDER_ADJACENCY, tenant_id, unit_set_id, rule, min_shared_border_m
    )
    return int(status.split()[-1])


async def compute_point_cells(
    connection: asyncpg.Connection, *, tenant_id: uuid.UUID, unit_set_id: uuid.UUID
) -> None:
    """Each point unit's Voronoi cell (clipped to the points' hull, widened a little) as its
    shape: for maps, dissolved territories and accounts by location."""
    # The cells in an indexed table of their own: matching 50,000 points to 50,000 cells is
    # then one GiST probe per point, not a scan of the cells per point.
    await connection.execute("DROP TABLE IF EXISTS voronoi_cell")
    await connection.execute(
        """
        CREATE TEMP TABLE voronoi_cell ON COMMIT DROP AS
        WITH sites AS (
            SELECT ST_Collect(point) AS points FROM basic_unit
            WHERE tenant_id = $1 AND unit_set_id = $2
        ), frame AS MATERIALIZED (
            SELECT points, ST_Buffer(ST_ConvexHull(points), 0.05) AS hull FROM sites
        ), cells AS (
            SELECT (ST_Dump(ST_VoronoiPolygons(points, 0, hull))).geom AS cell, hull FROM frame
        )
        SELECT ST_Multi(ST_CollectionExtract(ST_Intersection(cell, hull), 3)) AS cell
        FROM cells
        """,
        tenant_id,
        unit_set_id,
    )
    await connection.execute("CREATE INDEX ON voronoi_cell USING gist (cell)")
    await connection.execute("ANALYZE voronoi_cell")
    await connection.execute(
        """
        UPDATE basic_unit AS unit SET geom = voronoi_cell.cell
        FROM voronoi_cell
        WHERE unit.tenant_id = $1 AND unit.unit_set_id = $2
            AND ST_Intersects(voronoi_cell.cell, unit.point)
        """,
        tenant_id,
        unit_set_id,
    )
    await connection.execute("DROP TABLE voronoi_cell")
    # One or two sites make no Voronoi diagram: a 5 km disc stands in.
    await connection.execute(
        "UPDATE basic_unit SET geom = ST_Multi(ST_Buffer(point::geography, 5000)::geometry)"
        " WHERE tenant_id = $1 AND unit_set_id = $2 AND (geom IS NULL OR ST_IsEmpty(geom))",
        tenant_id,
        unit_set_id,
    )


async def insert_explicit_edges(
    connection: asyncpg.Connection,
    *,
    tenant_id: uuid.UUID,
    unit_set_id: uuid.UUID,
    a_codes: list[str],
    b_codes: list[str],
) -> int:
    """Add edges between units given by code (both known, checked before); count new ones."""
    status = await connection.execute(
        """
        INSERT INTO unit_adjacency (tenant_id, unit_set_id, unit_a_id, unit_b_id, kind)
        SELECT DISTINCT $1::uuid, $2::uuid, least(a.id, b.id), greatest(a.id, b.id), 'explicit'
        FROM unnest($3::text[], $4::text[]) AS edge(a_code, b_code)
        JOIN basic_unit AS a ON a.tenant_id = $1 AND a.unit_set_id = $2 AND a.code = edge.a_code
        JOIN basic_unit AS b ON b.tenant_id = $1 AND b.unit_set_id = $2 AND b.code = edge.b_code
        WHERE a.id <> b.id
        ON CONFLICT (unit_a_id, unit_b_id) DO UPDATE SET kind = 'explicit'
            WHERE unit_adjacency.kind = 'island'
        """,
        tenant_id,
        unit_set_id,
        a_codes,
        b_codes,
    )
    return int(status.split()[-1])


async def delete_explicit_edges(
    connection: asyncpg.Connection, *, tenant_id: uuid.UUID, unit_set_id: uuid.UUID
) -> None:
    await connection.execute(
        "DELETE FROM unit_adjacency WHERE tenant_id = $1 AND unit_set_id = $2"
        " AND kind IN ('explicit', 'island')",
        tenant_id,
        unit_set_id,
    )


async def known_codes(
    connection: asyncpg.Connection,
    *,
    tenant_id: uuid.UUID,
    unit_set_id: uuid.UUID,
    codes: list[str],
) -> set[str]:
    rows = await connection.fetch(
        "SELECT code FROM basic_unit WHERE tenant_id = $1 AND unit_set_id = $2"
        " AND code = ANY($3::text[])",
        tenant_id,
        unit_set_id,
        codes,
    )
    return {row["code"] for row in rows}


# Computed or given edges, minus the removed ones, plus the added ones: the adjacency a design
# runs on (island links are added to it by ``islands.py``).
EFFECTIVE_EDGES = """
SELECT adjacency.unit_a_id, adjacency.unit_b_id, adjacency.shared_border_m
FROM unit_adjacency AS adjacency
WHERE adjacency.tenant_id = $1 AND adjacency.unit_set_id = $2 AND adjacency.kind <> 'island'
    AND NOT EXISTS (
        SELECT FROM adjacency_override AS removed
        WHERE removed.tenant_id = $1 AND removed.unit_set_id = $2 AND removed.action = 'remove'
            AND removed.unit_a_id = adjacency.unit_a_id AND removed.unit_b_id = adjacency.unit_b_id)
UNION ALL
SELECT added.unit_a_id, added.unit_b_id, 0.0
FROM adjacency_override AS added
WHERE added.tenant_id = $1 AND added.unit_set_id = $2 AND added.action = 'add'
    AND NOT EXISTS (
        SELECT FROM unit_adjacency AS adjacency
        WHERE adjacency.tenant_id = $1 AND adjacency.unit_set_id = $2
            AND adjacency.kind <> 'island'
            AND adjacency.unit_a_id = added.unit_a_id AND adjacency.unit_b_id = added.unit_b_id)
"""


async def unit_ids(
    connection: asyncpg.Connection, *, tenant_id: uuid.UUID, unit_set_id: uuid.UUID
) -> list[uuid.UUID]:
    """The set's units in the order the edge indexes below refer to (by code)."""
    rows = await connection.fetch(
        "SELECT id FROM basic_unit WHERE tenant_id = $1 AND unit_set_id = $2 ORDER BY code, id",
        tenant_id,
        unit_set_id,
    )
    return [row["id"] for row in rows]


async def effective_edge_index(
    connection: asyncpg.Connection,
    *,
    tenant_id: uuid.UUID,
    unit_set_id: uuid.UUID,
    with_islands: bool,
) -> asyncpg.Record:
    """The effective edges as arrays of unit positions (in ``unit_ids`` order) and lengths:
    ``a``, ``b``, ``length_m`` (and ``island``: whether the edge joins an island)."""
    islands = (
        "UNION ALL SELECT unit_a_id, unit_b_id, 0.0, true FROM unit_adjacency"
        " WHERE tenant_id = $1 AND unit_set_id = $2 AND kind = 'island'"
        if with_islands
        else ""
    )
    return await connection.fetchrow(
        f"""
        WITH unit AS (
            SELECT id, (row_number() OVER (ORDER BY code, id) - 1)::int AS position
            FROM basic_unit WHERE tenant_id = $1 AND unit_set_id = $2
        ), edge AS (
            SELECT effective.*, false AS island FROM ({EFFECTIVE_EDGES}) AS effective
            {islands}
        )
        SELECT coalesce(array_agg(a.position), '{{}}') AS a,
            coalesce(array_agg(b.position), '{{}}') AS b,
            coalesce(array_agg(edge.shared_border_m), '{{}}') AS length_m,
            coalesce(array_agg(edge.island), '{{}}') AS island
        FROM edge
        JOIN unit AS a ON a.id = edge.unit_a_id
        JOIN unit AS b ON b.id = edge.unit_b_id
        """,
        tenant_id,
        unit_set_id,
    )


# The nearest unit outside each island component (KNN on the GiST index, a few candidates
# re-ranked by the distance on the spheroid), one row per component; never across an edge a
# planner removed (the river stays uncrossed: the island joins its next nearest unit).
_NEAREST_OUTSIDE = """
WITH member AS (
    SELECT * FROM unnest($3::uuid[], $4::int[]) AS m(unit_id, component)
)
SELECT DISTINCT ON (member.component) member.component, member.unit_id AS from_id,
    near.id AS to_id, near.distance_m
FROM member
JOIN basic_unit AS unit ON unit.tenant_id = $1 AND unit.id = member.unit_id
CROSS JOIN LATERAL (
    SELECT candidate.id,
        ST_Distance(unit.{column}::geography, candidate.{column}::geography) AS distance_m
    FROM (
        SELECT other.id, other.{column} FROM basic_unit AS other
        WHERE other.tenant_id = $1 AND other.unit_set_id = $2
            AND NOT EXISTS (
                SELECT FROM member AS same
                WHERE same.unit_id = other.id AND same.component = member.component)
            AND NOT EXISTS (
                SELECT FROM adjacency_override AS removed
                WHERE removed.tenant_id = $1 AND removed.unit_set_id = $2
                    AND removed.action = 'remove'
                    AND removed.unit_a_id = least(unit.id, other.id)
                    AND removed.unit_b_id = greatest(unit.id, other.id))
        ORDER BY other.{column} <-> unit.{column}
        LIMIT 4
    ) AS candidate
    ORDER BY distance_m, candidate.id
    LIMIT 1
) AS near
ORDER BY member.component, near.distance_m, member.unit_id
"""


async def nearest_outside(
    connection: asyncpg.Connection,
    *,
    tenant_id: uuid.UUID,
    unit_set_id: uuid.UUID,
    column: str,
    members: list[uuid.UUID],
    components: list[int],
) -> list[asyncpg.Record]:
    if column not in ("geom", "point"):
        raise ValueError(column)
    return await connection.fetch(
        _NEAREST_OUTSIDE.format(column=column),
        tenant_id,
        unit_set_id,
        members,
        components,
    )


async def replace_island_links(
    connection: asyncpg.Connection,
    *,
    tenant_id: uuid.UUID,
    unit_set_id: uuid.UUID,
    a_ids: list[uuid.UUID],
    b_ids: list[uuid.UUID],
    distances: list[float],
) -> None:
    await connection.execute(
        "DELETE FROM unit_adjacency WHERE tenant_id = $1 AND unit_set_id = $2 AND kind = 'island'",
        tenant_id,
        unit_set_id,
    )
    await connection.execute(
        "INSERT INTO unit_adjacency"
        " (tenant_id, unit_set_id, unit_a_id, unit_b_id, kind, distance_m, island_unit_id)"
        " SELECT $1, $2, least(a, b), greatest(a, b), 'island', d, a"
        " FROM unnest($3::uuid[], $4::uuid[], $5::float8[]) AS link(a, b, d)",
        tenant_id,
        unit_set_id,
        a_ids,
        b_ids,
        distances,
    )


async def island_links(
    connection: asyncpg.Connection, *, tenant_id: uuid.UUID, unit_set_id: uuid.UUID
) -> list[asyncpg.Record]:
    return await connection.fetch(
        "SELECT island.code AS a_code, attached.code AS b_code, adjacency.distance_m"
        " FROM unit_adjacency AS adjacency"
        " JOIN basic_unit AS island ON island.tenant_id = $1"
        " AND island.id = adjacency.island_unit_id"
        " JOIN basic_unit AS attached ON attached.tenant_id = $1 AND attached.id ="
        " CASE WHEN adjacency.unit_a_id = adjacency.island_unit_id THEN adjacency.unit_b_id"
        " ELSE adjacency.unit_a_id END"
        " WHERE adjacency.tenant_id = $1 AND adjacency.unit_set_id = $2"
        " AND adjacency.kind = 'island' ORDER BY island.code, attached.code",
        tenant_id,
        unit_set_id,
    )


# --- overrides ----------------------------------------------------------------------------


async def add_override(
    session: AsyncSession, *, tenant_id: uuid.UUID, values: dict[str, Any]
) -> AdjacencyOverride:
    override = AdjacencyOverride(id=uuid.uuid4(), tenant_id=tenant_id, **values)
    session.add(override)
    await session.flush()
    await session.refresh(override)
    return override


async def find_override(
    session: AsyncSession,
    *,
    tenant_id: uuid.UUID,
    unit_set_id: uuid.UUID,
    unit_a_id: uuid.UUID,
    unit_b_id: uuid.UUID,
) -> AdjacencyOverride | None:
    return await session.scalar(
        select(AdjacencyOverride).where(
            AdjacencyOverride.tenant_id == tenant_id,
            AdjacencyOverride.unit_set_id == unit_set_id,
            AdjacencyOverride.unit_a_id == unit_a_id,
            AdjacencyOverride.unit_b_id == unit_b_id,
        )
    )


async def list_overrides(
    session: AsyncSession, *, tenant_id: uuid.UUID, unit_set_id: uuid.UUID, limit: int, offset: int
) -> Sequence[Row[AdjacencyOverride, str, str]]:
    unit_a, unit_b = BasicUnit.__table__.alias("unit_a"), BasicUnit.__table__.alias("unit_b")
    statement = (
        select(AdjacencyOverride, unit_a.c.code, unit_b.c.code)
        .join(unit_a, unit_a.c.id == AdjacencyOverride.unit_a_id)
        .join(unit_b, unit_b.c.id == AdjacencyOverride.unit_b_id)
        .where(
            AdjacencyOverride.tenant_id == tenant_id,
            AdjacencyOverride.unit_set_id == unit_set_id,
            unit_a.c.tenant_id == tenant_id,
            unit_b.c.tenant_id == tenant_id,
        )
        .order_by(AdjacencyOverride.created_at, AdjacencyOverride.id)
        .limit(limit)
        .offset(offset)
    )
    return (await session.execute(statement)).all()


async def delete_override(
    session: AsyncSession, *, tenant_id: uuid.UUID, unit_set_id: uuid.UUID, override_id: uuid.UUID
) -> bool:
    deleted = await session.scalar(
        delete(AdjacencyOverride)
        .where(
            AdjacencyOverride.tenant_id == tenant_id,
            AdjacencyOverride.unit_set_id == unit_set_id,
            AdjacencyOverride.id == override_id,
        )
        .returning(AdjacencyOverride.id)
    )
    return deleted is not None


# --- imports --------------------------------------------------------------------------------


async def add_import(
    session: AsyncSession,
    *,
    tenant_id: uuid.UUID,
    unit_set_id: uuid.UUID,
    fmt: str,
    skip_invalid: bool,
    body: str,
) -> UnitImport:
    unit_import = UnitImport(
        id=uuid.uuid4(),
        tenant_id=tenant_id,
        unit_set_id=unit_set_id,
        format=fmt,
        skip_invalid=skip_invalid,
    )
    session.add(unit_import)
    await session.flush()
    # The body goes in as one parameter of one statement (no ORM object holding 50 MB).
    connection = await driver_connection(session)
    await connection.execute(
        "INSERT INTO unit_import_upload (import_id, tenant_id, body) VALUES ($1, $2, $3)",
        unit_import.id,
        tenant_id,
        body,
    )
    await session.refresh(unit_import)
    return unit_import


async def get_import(
    session: AsyncSession, *, tenant_id: uuid.UUID, unit_set_id: uuid.UUID, import_id: uuid.UUID
) -> UnitImport | None:
    return await session.scalar(
        select(UnitImport).where(
            UnitImport.tenant_id == tenant_id,
            UnitImport.unit_set_id == unit_set_id,
            UnitImport.id == import_id,
        )
    )


async def fail_import(
    session: AsyncSession, *, tenant_id: uuid.UUID, import_id: uuid.UUID, error: str
) -> None:
    await session.execute(
        update(UnitImport)
        .where(UnitImport.tenant_id == tenant_id, UnitImport.id == import_id)
        .values(status=ImportStatus.failed, error=error, finished_at=func.now())
        .execution_options(synchronize_session=False)
    )


# --- measures from accounts ---------------------------------------------------------------


async def aggregate_accounts(
    connection: asyncpg.Connection,
    *,
    tenant_id: uuid.UUID,
    unit_set_id: uuid.UUID,
    point_units: bool,
    count_measure: str,
    sum_measures: list[str],
    longitudes: list[float],
    latitudes: list[float],
    amounts: list[float | None],
) -> int:
    """Per unit of the set: the count of accounts whose location falls in it (point units: the
    nearest unit, i.e. its Voronoi cell) and the sums of their amounts (``amounts`` holds each
    account's values of ``sum_measures`` in a row), written into the units' measures, 0 where
    none falls. Returns the accounts placed."""
    if point_units:
        placement = """
            SELECT account.n, near.id AS unit_id
            FROM account
            CROSS JOIN LATERAL (
                SELECT unit.id FROM basic_unit AS unit
                WHERE unit.tenant_id = $1 AND unit.unit_set_id = $2
                ORDER BY unit.point <-> account.location LIMIT 1
            ) AS near"""
    else:
        # A point on a shared border falls in one unit only: the first by id.
        placement = """
            SELECT DISTINCT ON (account.n) account.n, unit.id AS unit_id
            FROM account
            JOIN basic_unit AS unit ON unit.tenant_id = $1 AND unit.unit_set_id = $2
                AND ST_Intersects(unit.geom, account.location)
            ORDER BY account.n, unit.id"""
    placed = await connection.fetchval(
        f"""
        WITH account AS MATERIALIZED (
            SELECT xy.n, ST_SetSRID(ST_MakePoint(xy.lon, xy.lat), 4326) AS location
            FROM unnest($5::float8[], $6::float8[]) WITH ORDINALITY AS xy(lon, lat, n)
        ), placed AS MATERIALIZED ({placement}
        ), counts AS (
            SELECT unit_id, count(*) AS accounts FROM placed GROUP BY unit_id
        ), sums AS (
            SELECT per_measure.unit_id, jsonb_object_agg(per_measure.measure, per_measure.total)
                AS totals
            FROM (
                SELECT placed.unit_id, name.measure,
                    coalesce(sum(($7::float8[])[(placed.n - 1) * cardinality($4::text[]) + name.j]),
                        0) AS total
                FROM placed CROSS JOIN unnest($4::text[]) WITH ORDINALITY AS name(measure, j)
                GROUP BY placed.unit_id, name.measure
            ) AS per_measure
            GROUP BY per_measure.unit_id
        ), zeros AS (
            SELECT coalesce(jsonb_object_agg(measure, 0), '{{}}'::jsonb) AS totals
            FROM unnest($4::text[]) AS measure
        ), written AS (
            UPDATE basic_unit AS unit SET updated_at = now(),
                measures = unit.measures || zeros.totals || coalesce(sums.totals, '{{}}'::jsonb)
                    || jsonb_build_object($3::text, coalesce(counts.accounts, 0))
            FROM zeros, basic_unit AS target
            LEFT JOIN counts ON counts.unit_id = target.id
            LEFT JOIN sums ON sums.unit_id = target.id
            WHERE target.tenant_id = $1 AND target.unit_set_id = $2
                AND unit.tenant_id = $1 AND unit.id = target.id
            RETURNING 1
        )
        SELECT (SELECT count(*) FROM placed) + 0 * (SELECT count(*) FROM written)
        """,
        tenant_id,
        unit_set_id,
        count_measure,
        sum_measures,
        longitudes,
        latitudes,
        amounts,
    )
    return int(placed)
