"""SQL for territories, their members and subdivided parts; every statement is filtered by
tenant. Geometry is parsed, checked and repaired by PostGIS itself."""

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import JSON, Integer, Row, Text, any_, bindparam, delete, func, select, text, update
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.types import TypeEngine

from shared.models import MemberRole, Rep, Territory, TerritoryMember

_UUIDS = ARRAY(UUID(as_uuid=True))

# Rows reached through the id of a row already filtered by tenant (members of a territory,
# its parent, its reps) are joined by that id alone: a redundant tenant test there tempts the
# planner, whose statistics know nothing yet of a tenant that just loaded thousands of
# territories, into scanning the tenant's rows once per territory.

# Everything a territory read shows, members included, in one row per territory.
_READ_COLUMNS = """
    t.id, t.alignment_id, t.parent_id, t.name, t.level,
    CASE WHEN :include_geometry THEN ST_AsGeoJSON(t.geom, 15)::json END AS geometry,
    ST_Area(t.geom::geography) / 1e6 AS area_km2,
    t.criteria, t.priority, t.distribution_rule, t.required_skills, t.is_fallback,
    t.attributes, t.repair_note,
    COALESCE((
        SELECT json_agg(json_build_object('rep_id', m.rep_id, 'rep_name', r.name,
                                          'role', m.role, 'weight', m.weight::float8)
                        ORDER BY m.role = 'overlay', r.name, m.rep_id)
        FROM territory_member m
        JOIN rep r ON r.id = m.rep_id
        WHERE m.territory_id = t.id
    ), '[]'::json) AS members,
    t.created_at, t.updated_at
"""
_READ_TYPES: dict[str, TypeEngine[Any]] = {
    "geometry": JSON(),
    "criteria": JSONB(),
    "attributes": JSONB(),
    "members": JSON(),
    "required_skills": ARRAY(Text),
}

_READ_BY_ID = (
    text(f"SELECT {_READ_COLUMNS} FROM territory t WHERE t.tenant_id = :tenant_id AND t.id = :id")
    .bindparams(bindparam("id", type_=UUID(as_uuid=True)))
    .columns(**_READ_TYPES)
)

_READ_PAGE = text(
    f"""
    SELECT {_READ_COLUMNS} FROM territory t
    WHERE t.tenant_id = :tenant_id AND t.alignment_id = :alignment_id
    ORDER BY t.level, t.name, t.id
    LIMIT :limit OFFSET :offset
    """
).columns(**_READ_TYPES)


async def read(
    session: AsyncSession, *, tenant_id: uuid.UUID, territory_id: uuid.UUID
) -> Row[Any] | None:
    result = await session.execute(
        _READ_BY_ID, {"tenant_id": tenant_id, "id": territory_id, "include_geometry": True}
    )
    return result.first()


async def read_page(
    session: AsyncSession,
    *,
    tenant_id: uuid.UUID,
    alignment_id: uuid.UUID,
    include_geometry: bool,
    limit: int,
    offset: int,
) -> Sequence[Row[Any]]:
    result = await session.execute(
        _READ_PAGE,
        {
            "tenant_id": tenant_id,
            "alignment_id": alignment_id,
            "include_geometry": include_geometry,
            "limit": limit,
            "offset": offset,
        },
    )
    return result.all()


@dataclass(frozen=True, slots=True)
class TerritoryHead:
    """What the service needs to check an edit: identity, place in the hierarchy, flags."""

    id: uuid.UUID
    alignment_id: uuid.UUID
    parent_id: uuid.UUID | None
    name: str
    level: int
    is_fallback: bool


async def get_head(
    session: AsyncSession, *, tenant_id: uuid.UUID, territory_id: uuid.UUID
) -> TerritoryHead | None:
    row = (
        await session.execute(
            select(
                Territory.id,
                Territory.alignment_id,
                Territory.parent_id,
                Territory.name,
                Territory.level,
                Territory.is_fallback,
            ).where(Territory.tenant_id == tenant_id, Territory.id == territory_id)
        )
    ).first()
    return TerritoryHead(*row) if row is not None else None


async def heads_by_name(
    session: AsyncSession, *, tenant_id: uuid.UUID, alignment_id: uuid.UUID, names: list[str]
) -> dict[str, TerritoryHead]:
    """The alignment's territories having one of ``names`` (at most ``len(names)`` rows)."""
    if not names:
        return {}
    rows = await session.execute(
        select(
            Territory.id,
            Territory.alignment_id,
            Territory.parent_id,
            Territory.name,
            Territory.level,
            Territory.is_fallback,
        ).where(
            Territory.tenant_id == tenant_id,
            Territory.alignment_id == alignment_id,
            Territory.name == any_(bindparam("names", names, type_=ARRAY(Text))),
        )
    )
    return {row.name: TerritoryHead(*row) for row in rows}


async def fallback_name(
    session: AsyncSession,
    *,
    tenant_id: uuid.UUID,
    alignment_id: uuid.UUID,
    other_than: uuid.UUID | None = None,
) -> str | None:
    """The name of the alignment's fallback territory (other than ``other_than``), if any."""
    statement = select(Territory.name).where(
        Territory.tenant_id == tenant_id,
        Territory.alignment_id == alignment_id,
        Territory.is_fallback.is_(True),
    )
    if other_than is not None:
        statement = statement.where(Territory.id != other_than)
    return await session.scalar(statement.limit(1))


async def lock_fallback(session: AsyncSession, *, alignment_id: uuid.UUID) -> None:
    """Serialise the setting of fallback flags within one alignment until commit: two
    concurrent requests cannot both see "no fallback yet" and both set one."""
    await session.execute(
        select(func.pg_advisory_xact_lock(func.hashtextextended(f"fallback:{alignment_id}", 0)))
    )


_IS_SELF_OR_DESCENDANT = text(
    """
    WITH RECURSIVE ancestor AS (
        SELECT id, parent_id FROM territory WHERE tenant_id = :tenant_id AND id = :candidate_id
        UNION
        SELECT t.id, t.parent_id FROM territory t JOIN ancestor a ON t.id = a.parent_id
    )
    SELECT EXISTS (SELECT FROM ancestor WHERE id = :territory_id)
    """
).bindparams(
    bindparam("candidate_id", type_=UUID(as_uuid=True)),
    bindparam("territory_id", type_=UUID(as_uuid=True)),
)


async def is_self_or_descendant(
    session: AsyncSession, *, tenant_id: uuid.UUID, territory_id: uuid.UUID, candidate_id: uuid.UUID
) -> bool:
    """True if ``candidate_id`` is ``territory_id`` or below it (walks up from the candidate)."""
    result = await session.scalar(
        _IS_SELF_OR_DESCENDANT,
        {"tenant_id": tenant_id, "territory_id": territory_id, "candidate_id": candidate_id},
    )
    return bool(result)


async def child_count(
    session: AsyncSession, *, tenant_id: uuid.UUID, territory_id: uuid.UUID
) -> int:
    count = await session.scalar(
        select(func.count()).where(
            Territory.tenant_id == tenant_id, Territory.parent_id == territory_id
        )
    )
    return int(count or 0)


@dataclass(frozen=True, slots=True)
class GeometryProblem:
    """One geometry that cannot be stored as sent: ``problem`` says why it is unusable;
    otherwise it is invalid (``invalid_reason`` from ST_IsValidReason) and, under repair,
    ``nothing_left`` says whether ST_MakeValid left no polygon."""

    position: int
    problem: str | None
    invalid_reason: str | None
    nothing_left: bool | None


# Why a parsed geometry `g` cannot be used at all (NULL if it can): type, SRID, emptiness,
# coordinate ranges (NaN and infinities fail the range test too).
_GEOMETRY_PROBLEM = """
    CASE
        WHEN GeometryType(g) NOT IN ('POLYGON', 'MULTIPOLYGON') THEN
            'expected a Polygon or MultiPolygon, got ' || GeometryType(g)
        WHEN ST_SRID(g) NOT IN (0, 4326) THEN
            'the geometry declares EPSG:' || ST_SRID(g) || '; send WGS 84 '
            || '[longitude, latitude] (EPSG:4326) without a crs member'
        WHEN ST_IsEmpty(g) THEN 'the geometry has no coordinates'
        WHEN NOT (ST_XMin(g) >= -180 AND ST_XMax(g) <= 180
                  AND ST_YMin(g) >= -90 AND ST_YMax(g) <= 90) THEN
            'coordinates must be [longitude, latitude] with longitude in '
            || '[-180, 180] and latitude in [-90, 90] (swapped?)'
    END
"""

# From parsed geometries `parsed (position, g)`: `judged` adds the problem and validity (each
# computed once: MATERIALIZED), `flagged` keeps the geometries that are unusable or invalid,
# with ST_IsValidReason and, under repair, whether ST_MakeValid leaves no polygon.
_JUDGE = f"""
    judged AS MATERIALIZED (
        SELECT position, g, problem, CASE WHEN problem IS NULL THEN ST_IsValid(g) END AS valid
        FROM (SELECT position, g, {_GEOMETRY_PROBLEM} AS problem FROM parsed) checked
    ), flagged AS MATERIALIZED (
        SELECT position, problem,
               CASE WHEN valid = false THEN ST_IsValidReason(g) END AS invalid_reason,
               CASE WHEN valid = false AND :repair
                    THEN ST_IsEmpty(ST_CollectionExtract(ST_MakeValid(g), 3)) END AS nothing_left
        FROM judged
        WHERE problem IS NOT NULL OR valid = false
    )
"""

_CHECK_GEOMETRIES = text(
    f"""
    WITH parsed AS MATERIALIZED (
        SELECT f.position, ST_Force2D(ST_GeomFromGeoJSON(f.geometry)) AS g
        FROM json_to_recordset(CAST(:payload AS json)) AS f (position int, geometry json)
    ), {_JUDGE}
    SELECT position, problem, invalid_reason, nothing_left FROM flagged ORDER BY position
    """
)


async def check_geometries(
    session: AsyncSession, *, geometries: list[tuple[int, dict[str, Any]]], repair: bool
) -> list[GeometryProblem]:
    """Check ``(position, GeoJSON geometry)`` pairs in one statement. Raises the database
    error if PostGIS cannot parse one of them at all (the caller narrows down which)."""
    payload = json.dumps([{"position": p, "geometry": g} for p, g in geometries])
    rows = await session.execute(_CHECK_GEOMETRIES, {"payload": payload, "repair": repair})
    return [GeometryProblem(*row) for row in rows]


# Check every geometry and insert the territories in one statement, writing nothing unless
# :write and no geometry is rejected (unusable; invalid without :repair; nothing left after
# repair). Geometries are read from the FeatureCollection text as the client sent it, at the
# given positions (no float round trip through Python), and parsed once; the other columns
# come from :territories, which names each territory's feature position.
_CHECK_AND_INSERT = text(
    f"""
    WITH parsed AS MATERIALIZED (
        SELECT (f.ordinality - 1)::int AS position,
               ST_Force2D(ST_GeomFromGeoJSON(f.geometry)) AS g
        FROM ROWS FROM (
            json_to_recordset(CAST(:collection AS json) -> 'features') AS (geometry json)
        ) WITH ORDINALITY AS f (geometry, ordinality)
        WHERE (f.ordinality - 1)::int = ANY(:positions)
    ), {_JUDGE}, written AS (
        INSERT INTO territory (id, tenant_id, alignment_id, parent_id, name, level, geom,
                               criteria, priority, distribution_rule, required_skills,
                               is_fallback, attributes)
        SELECT t.id, :tenant_id, :alignment_id, t.parent_id, t.name, t.level,
               CASE WHEN j.g IS NULL THEN NULL
                    WHEN j.valid THEN ST_Multi(ST_SetSRID(j.g, 4326))
                    ELSE ST_Multi(ST_CollectionExtract(ST_MakeValid(ST_SetSRID(j.g, 4326)), 3))
               END,
               t.criteria, t.priority, t.distribution_rule,
               ARRAY(SELECT json_array_elements_text(t.required_skills)), t.is_fallback,
               coalesce(t.attributes, '{{}}')
        FROM json_to_recordset(CAST(:territories AS json)) AS t (
            position int, id uuid, parent_id uuid, name text, level int, criteria jsonb,
            priority int, distribution_rule text, required_skills json, is_fallback boolean,
            attributes jsonb)
        LEFT JOIN judged j ON j.position = t.position
        WHERE :write AND NOT EXISTS (
            SELECT FROM flagged WHERE problem IS NOT NULL OR NOT :repair OR nothing_left)
    )
    SELECT position, problem, invalid_reason, nothing_left FROM flagged ORDER BY position
    """
).bindparams(
    bindparam("alignment_id", type_=UUID(as_uuid=True)),
    bindparam("positions", type_=ARRAY(Integer)),
)


async def check_and_insert(
    session: AsyncSession,
    *,
    tenant_id: uuid.UUID,
    alignment_id: uuid.UUID,
    collection: str,
    positions: list[int],
    territories: list[dict[str, Any]],
    repair: bool,
    write: bool,
) -> list[GeometryProblem]:
    """Check the geometries of ``collection`` (FeatureCollection JSON text) at ``positions``
    and, if ``write`` and none is rejected, insert ``territories`` (dicts with the keys of the
    :territories recordset above; ids chosen by the caller, so parents may come after their
    children). Returns the unusable or invalid geometries. Raises the database error if
    PostGIS cannot parse a geometry at all."""
    rows = await session.execute(
        _CHECK_AND_INSERT,
        {
            "tenant_id": tenant_id,
            "alignment_id": alignment_id,
            "collection": collection,
            "positions": positions,
            "territories": json.dumps(territories, default=str),
            "repair": repair,
            "write": write,
        },
    )
    return [GeometryProblem(*row) for row in rows]


_SET_REPAIR_NOTES = text(
    """
    UPDATE territory t SET repair_note = n.note
      FROM unnest(CAST(:territory_ids AS uuid[]), CAST(:notes AS text[])) AS n (id, note)
     WHERE t.tenant_id = :tenant_id AND t.id = n.id
       AND t.repair_note IS DISTINCT FROM n.note
    """
)


async def set_repair_notes(
    session: AsyncSession, *, tenant_id: uuid.UUID, notes: dict[uuid.UUID, str | None]
) -> None:
    """Store why each territory's polygon was repaired (None: it was not)."""
    if not notes:
        return
    await session.execute(
        _SET_REPAIR_NOTES,
        {
            "tenant_id": tenant_id,
            "territory_ids": [str(territory_id) for territory_id in notes],
            "notes": list(notes.values()),
        },
    )


# The geometry stored for a checked GeoJSON geometry `p.g`: a MultiPolygon, repaired on request.
_STORED_GEOMETRY = """
    CASE WHEN p.g IS NULL THEN NULL
         WHEN :repair AND NOT ST_IsValid(p.g)
              THEN ST_Multi(ST_CollectionExtract(ST_MakeValid(p.g), 3))
         ELSE ST_Multi(p.g)
    END
"""


async def update_fields(
    session: AsyncSession, *, tenant_id: uuid.UUID, territory_id: uuid.UUID, values: dict[str, Any]
) -> None:
    await session.execute(
        update(Territory)
        .where(Territory.tenant_id == tenant_id, Territory.id == territory_id)
        .values(**values)
        .execution_options(synchronize_session=False)
    )


_SET_GEOMETRY = text(
    f"""
    UPDATE territory t SET geom = {_STORED_GEOMETRY}, updated_at = now()
    FROM (SELECT ST_SetSRID(ST_Force2D(ST_GeomFromGeoJSON(CAST(:geometry AS text))), 4326) AS g
          OFFSET 0) p
    WHERE t.tenant_id = :tenant_id AND t.id = :territory_id
    """
).bindparams(bindparam("territory_id", type_=UUID(as_uuid=True)))


async def set_geometry(
    session: AsyncSession,
    *,
    tenant_id: uuid.UUID,
    territory_id: uuid.UUID,
    geometry: dict[str, Any] | None,
    repair: bool,
) -> None:
    await session.execute(
        _SET_GEOMETRY,
        {
            "tenant_id": tenant_id,
            "territory_id": territory_id,
            "geometry": json.dumps(geometry) if geometry is not None else None,
            "repair": repair,
        },
    )


# One statement replaces the parts of the given territories: the old ones are deleted and the
# polygons cut again (at most 128 vertices a piece) from the territory rows just written. The
# area is computed once per territory (MATERIALIZED), not once per piece.
_REBUILD_PARTS = text(
    """
    WITH cleared AS (
        DELETE FROM territory_part
        WHERE tenant_id = :tenant_id AND territory_id = ANY(:territory_ids)
    ), chosen AS MATERIALIZED (
        SELECT t.tenant_id, t.alignment_id, t.id, t.level, t.geom,
               ST_Area(t.geom::geography) AS area_m2
        FROM territory t
        WHERE t.tenant_id = :tenant_id AND t.id = ANY(:territory_ids) AND t.geom IS NOT NULL
    )
    INSERT INTO territory_part (tenant_id, alignment_id, territory_id, level, territory_area_m2,
                                geom)
    SELECT c.tenant_id, c.alignment_id, c.id, c.level, c.area_m2, piece.geom
    FROM chosen c
    CROSS JOIN LATERAL ST_Subdivide(c.geom, 128) AS cut (geom)
    CROSS JOIN LATERAL ST_Dump(cut.geom) AS piece
    WHERE GeometryType(piece.geom) = 'POLYGON'
    """
).bindparams(bindparam("territory_ids", type_=_UUIDS))


async def rebuild_parts(
    session: AsyncSession, *, tenant_id: uuid.UUID, territory_ids: list[uuid.UUID]
) -> None:
    await session.execute(_REBUILD_PARTS, {"tenant_id": tenant_id, "territory_ids": territory_ids})


# After a parent change: the moved territory and everything below it get their new depth, in
# the territory rows and in their parts. The depth bound only guards against a corrupt cycle.
_RELEVEL_SUBTREE = text(
    """
    WITH RECURSIVE subtree AS (
        SELECT id, CAST(:level AS int) AS level FROM territory
        WHERE tenant_id = :tenant_id AND id = :territory_id
        UNION ALL
        SELECT c.id, s.level + 1 FROM territory c JOIN subtree s ON c.parent_id = s.id
        WHERE s.level < 10000
    ), relevelled AS (
        UPDATE territory t SET level = s.level, updated_at = now()
        FROM subtree s WHERE t.id = s.id AND t.level <> s.level
    )
    UPDATE territory_part p SET level = s.level
    FROM subtree s WHERE p.territory_id = s.id
    """
).bindparams(bindparam("territory_id", type_=UUID(as_uuid=True)))


async def relevel_subtree(
    session: AsyncSession, *, tenant_id: uuid.UUID, territory_id: uuid.UUID, level: int
) -> None:
    await session.execute(
        _RELEVEL_SUBTREE, {"tenant_id": tenant_id, "territory_id": territory_id, "level": level}
    )


async def delete_territory(
    session: AsyncSession, *, tenant_id: uuid.UUID, territory_id: uuid.UUID
) -> None:
    """Delete one territory; its members and parts cascade."""
    await session.execute(
        delete(Territory)
        .where(Territory.tenant_id == tenant_id, Territory.id == territory_id)
        .execution_options(synchronize_session=False)
    )


async def missing_reps(
    session: AsyncSession, *, tenant_id: uuid.UUID, rep_ids: list[uuid.UUID]
) -> set[uuid.UUID]:
    """Those of ``rep_ids`` that are not reps of the tenant."""
    if not rep_ids:
        return set()
    found = await session.scalars(
        select(Rep.id).where(
            Rep.tenant_id == tenant_id, Rep.id == any_(bindparam("rep_ids", rep_ids, type_=_UUIDS))
        )
    )
    return set(rep_ids) - set(found)


async def member_exists(
    session: AsyncSession,
    *,
    tenant_id: uuid.UUID,
    territory_id: uuid.UUID,
    rep_id: uuid.UUID,
    role: MemberRole,
) -> bool:
    found = await session.scalar(
        select(TerritoryMember.id).where(
            TerritoryMember.tenant_id == tenant_id,
            TerritoryMember.territory_id == territory_id,
            TerritoryMember.rep_id == rep_id,
            TerritoryMember.role == role,
        )
    )
    return found is not None


_INSERT_MEMBERS = text(
    """
    INSERT INTO territory_member (tenant_id, territory_id, rep_id, role, weight)
    SELECT :tenant_id, m.territory_id, m.rep_id, m.role, m.weight
    FROM json_to_recordset(CAST(:payload AS json))
         AS m (territory_id uuid, rep_id uuid, role text, weight numeric)
    """
)


async def insert_members(
    session: AsyncSession, *, tenant_id: uuid.UUID, members: list[dict[str, Any]]
) -> None:
    """Insert members in one statement: dicts of territory_id, rep_id, role, weight."""
    if members:
        await session.execute(
            _INSERT_MEMBERS,
            {"tenant_id": tenant_id, "payload": json.dumps(members, default=str)},
        )


async def delete_members(
    session: AsyncSession,
    *,
    tenant_id: uuid.UUID,
    territory_id: uuid.UUID,
    rep_id: uuid.UUID,
    role: MemberRole | None,
) -> int:
    """Remove the rep from the territory (in ``role``, or in every role); how many rows went."""
    statement = delete(TerritoryMember).where(
        TerritoryMember.tenant_id == tenant_id,
        TerritoryMember.territory_id == territory_id,
        TerritoryMember.rep_id == rep_id,
    )
    if role is not None:
        statement = statement.where(TerritoryMember.role == role)
    result = await session.execute(
        statement.returning(TerritoryMember.id).execution_options(synchronize_session=False)
    )
    return len(result.all())


_MEMBER = text(
    """
    SELECT m.rep_id, r.name AS rep_name, m.role, m.weight::float8 AS weight
    FROM territory_member m JOIN rep r ON r.id = m.rep_id AND r.tenant_id = :tenant_id
    WHERE m.tenant_id = :tenant_id AND m.territory_id = :territory_id AND m.rep_id = :rep_id
      AND m.role = :role
    """
).bindparams(
    bindparam("territory_id", type_=UUID(as_uuid=True)),
    bindparam("rep_id", type_=UUID(as_uuid=True)),
)


async def read_member(
    session: AsyncSession,
    *,
    tenant_id: uuid.UUID,
    territory_id: uuid.UUID,
    rep_id: uuid.UUID,
    role: MemberRole,
) -> Row[Any]:
    result = await session.execute(
        _MEMBER,
        {
            "tenant_id": tenant_id,
            "territory_id": territory_id,
            "rep_id": rep_id,
            "role": role.value,
        },
    )
    return result.one()


# The whole FeatureCollection is built by PostgreSQL: one statement, one text value.
_EXPORT = text(
    """
    SELECT json_build_object(
        'type', 'FeatureCollection',
        'features', COALESCE(json_agg(json_build_object(
            'type', 'Feature',
            'id', t.id,
            'geometry', ST_AsGeoJSON(t.geom, 15)::json,
            'properties', json_build_object(
                'id', t.id,
                'name', t.name,
                'parent', parent.name,
                'level', t.level,
                'priority', t.priority,
                'distribution_rule', t.distribution_rule,
                'criteria', t.criteria,
                'is_fallback', t.is_fallback,
                'required_skills', to_json(t.required_skills),
                'attributes', t.attributes,
                'members', COALESCE(members.list, '[]'::json)
            )
        ) ORDER BY t.level, t.name, t.id), '[]'::json)
    )::text
    FROM territory t
    LEFT JOIN territory parent ON parent.id = t.parent_id
    LEFT JOIN LATERAL (
        SELECT json_agg(json_build_object('rep_id', m.rep_id, 'role', m.role,
                                          'weight', m.weight::float8)
                        ORDER BY m.role = 'overlay', m.rep_id) AS list
        FROM territory_member m
        WHERE m.territory_id = t.id
    ) members ON true
    WHERE t.tenant_id = :tenant_id AND t.alignment_id = :alignment_id
    """
).bindparams(bindparam("alignment_id", type_=UUID(as_uuid=True)))


async def export_feature_collection(
    session: AsyncSession, *, tenant_id: uuid.UUID, alignment_id: uuid.UUID
) -> str:
    """The alignment's territories as GeoJSON FeatureCollection text."""
    result = await session.scalar(_EXPORT, {"tenant_id": tenant_id, "alignment_id": alignment_id})
    return str(result)
