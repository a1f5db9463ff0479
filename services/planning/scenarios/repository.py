"""SQL for design scenarios: the request's rows (SQLAlchemy, request session) and the design
job's statements (asyncpg, the job's own tenant-bound connection). Filtered by tenant."""

import uuid
from typing import Any

import asyncpg
from sqlalchemy import func, select, text, tuple_, update
from sqlalchemy.ext.asyncio import AsyncSession

from shared.models import BasicUnit, Scenario
from shared.models.planning import ScenarioStatus

# --- the request's side ------------------------------------------------------------------


async def add(
    session: AsyncSession,
    *,
    tenant_id: uuid.UUID,
    unit_set_id: uuid.UUID,
    name: str,
    parameters: dict[str, Any],
) -> Scenario:
    scenario = Scenario(
        id=uuid.uuid4(),
        tenant_id=tenant_id,
        unit_set_id=unit_set_id,
        name=name,
        parameters=parameters,
    )
    session.add(scenario)
    await session.flush()
    await session.refresh(scenario)
    return scenario


async def get(
    session: AsyncSession, *, tenant_id: uuid.UUID, scenario_id: uuid.UUID
) -> Scenario | None:
    return await session.scalar(
        select(Scenario).where(Scenario.tenant_id == tenant_id, Scenario.id == scenario_id)
    )


async def cancel(
    session: AsyncSession, *, tenant_id: uuid.UUID, scenario_id: uuid.UUID
) -> Scenario | None:
    """Mark a pending or running scenario cancelled (its job sees it within a second)."""
    scenario = await session.scalar(
        update(Scenario)
        .where(
            Scenario.tenant_id == tenant_id,
            Scenario.id == scenario_id,
            Scenario.status.in_([ScenarioStatus.pending, ScenarioStatus.running]),
        )
        .values(status=ScenarioStatus.cancelled, finished_at=func.now(), updated_at=func.now())
        .returning(Scenario)
    )
    return scenario


async def existing_codes(
    session: AsyncSession, *, tenant_id: uuid.UUID, unit_set_id: uuid.UUID, codes: list[str]
) -> set[str]:
    rows = await session.scalars(
        select(BasicUnit.code).where(
            BasicUnit.tenant_id == tenant_id,
            BasicUnit.unit_set_id == unit_set_id,
            BasicUnit.code.in_(codes),
        )
    )
    return set(rows)


async def count_units(
    session: AsyncSession, *, tenant_id: uuid.UUID, unit_set_id: uuid.UUID
) -> int:
    return (
        await session.scalar(
            select(func.count())
            .select_from(BasicUnit)
            .where(BasicUnit.tenant_id == tenant_id, BasicUnit.unit_set_id == unit_set_id)
        )
    ) or 0


async def list_page(
    session: AsyncSession,
    *,
    tenant_id: uuid.UUID,
    status: ScenarioStatus | None,
    unit_set_id: uuid.UUID | None,
    after: Scenario | None,
    limit: int,
) -> list[Scenario]:
    """Newest first; a page starts after the scenario ``after`` (keyset on created_at, id)."""
    statement = select(Scenario).where(Scenario.tenant_id == tenant_id)
    if status is not None:
        statement = statement.where(Scenario.status == status)
    if unit_set_id is not None:
        statement = statement.where(Scenario.unit_set_id == unit_set_id)
    if after is not None:
        statement = statement.where(
            tuple_(Scenario.created_at, Scenario.id) < tuple_(after.created_at, after.id)
        )
    statement = statement.order_by(Scenario.created_at.desc(), Scenario.id.desc()).limit(limit)
    return list(await session.scalars(statement))


# --- the job's side ----------------------------------------------------------------------


async def claim(
    connection: asyncpg.Connection, *, tenant_id: uuid.UUID, scenario_id: uuid.UUID
) -> asyncpg.Record | None:
    """Pending → running; None if the scenario is gone, cancelled or already claimed."""
    return await connection.fetchrow(
        "UPDATE scenario SET status = 'running', updated_at = now()"
        " WHERE tenant_id = $1 AND id = $2 AND status = 'pending' RETURNING parameters",
        tenant_id,
        scenario_id,
    )


async def status_of(
    connection: asyncpg.Connection, *, tenant_id: uuid.UUID, scenario_id: uuid.UUID
) -> str | None:
    status: str | None = await connection.fetchval(
        "SELECT status FROM scenario WHERE tenant_id = $1 AND id = $2",
        tenant_id,
        scenario_id,
    )
    return status


async def set_progress(
    connection: asyncpg.Connection, *, tenant_id: uuid.UUID, scenario_id: uuid.UUID, value: float
) -> None:
    await connection.execute(
        "UPDATE scenario SET progress = $3, updated_at = now()"
        " WHERE tenant_id = $1 AND id = $2 AND status = 'running'",
        tenant_id,
        scenario_id,
        value,
    )


async def finish(
    connection: asyncpg.Connection,
    *,
    tenant_id: uuid.UUID,
    scenario_id: uuid.UUID,
    status: str,
    statistics: dict[str, Any] | None,
    error: str | None,
) -> None:
    """Record the outcome; a scenario cancelled meanwhile stays cancelled (with its best plan)."""
    await connection.execute(
        "UPDATE scenario SET status = CASE WHEN status = 'cancelled' THEN status"
        " ELSE $3 END, statistics = $4, error = $5, progress = 1,"
        " finished_at = coalesce(finished_at, now()), updated_at = now()"
        " WHERE tenant_id = $1 AND id = $2",
        tenant_id,
        scenario_id,
        status,
        statistics,
        error,
    )


async def load_units(
    connection: asyncpg.Connection, *, tenant_id: uuid.UUID, unit_set_id: uuid.UUID
) -> list[asyncpg.Record]:
    """Every unit of the set with its measures and its location in degrees (a point unit's
    point, a polygon's point on its surface), in the order of ``unit_ids`` (code, id)."""
    return await connection.fetch(
        "SELECT id, code, measures,"
        " ST_X(coalesce(point, ST_PointOnSurface(geom))) AS lon,"
        " ST_Y(coalesce(point, ST_PointOnSurface(geom))) AS lat"
        " FROM basic_unit WHERE tenant_id = $1 AND unit_set_id = $2 ORDER BY code, id",
        tenant_id,
        unit_set_id,
    )


async def load_plan(
    connection: asyncpg.Connection, *, tenant_id: uuid.UUID, scenario_id: uuid.UUID
) -> dict[str, int] | None:
    plan: dict[str, int] | None = await connection.fetchval(
        "SELECT statistics -> 'assignment' FROM scenario WHERE tenant_id = $1 AND id = $2",
        tenant_id,
        scenario_id,
    )
    return plan


async def dissolve(
    connection: asyncpg.Connection,
    *,
    tenant_id: uuid.UUID,
    unit_ids: list[uuid.UUID],
    territories: list[int],
) -> list[asyncpg.Record]:
    """Each territory's units dissolved into one shape, with its area and perimeter (metres)."""
    return await connection.fetch(
        "WITH plan AS (SELECT * FROM unnest($2::uuid[], $3::int[]) AS p(unit_id, territory)),"
        " shapes AS (SELECT plan.territory, ST_Union(unit.geom) AS geom FROM plan"
        " JOIN basic_unit AS unit ON unit.id = plan.unit_id AND unit.tenant_id = $1"
        " GROUP BY plan.territory)"
        " SELECT territory, ST_AsGeoJSON(geom, 6)::jsonb AS geometry,"
        " ST_Area(geom::geography) AS area_m2, ST_Perimeter(geom::geography) AS perimeter_m"
        " FROM shapes ORDER BY territory",
        tenant_id,
        unit_ids,
        territories,
    )


async def set_alignment(
    session: AsyncSession, *, tenant_id: uuid.UUID, scenario_id: uuid.UUID, alignment_id: uuid.UUID
) -> None:
    await session.execute(
        update(Scenario)
        .where(Scenario.tenant_id == tenant_id, Scenario.id == scenario_id)
        .values(alignment_id=alignment_id, updated_at=func.now())
        # The scenario loaded earlier in the request is not refreshed in place: the audit
        # hook's refresh listener (shared/db.py) has no execution context on that path.
        .execution_options(synchronize_session=False)
    )


async def dissolve_moves(
    session: AsyncSession,
    *,
    tenant_id: uuid.UUID,
    unit_set_id: uuid.UUID,
    codes: list[str],
    from_territories: list[int],
    to_territories: list[int],
) -> list[tuple[int, int, int, dict[str, Any]]]:
    """The moved units dissolved per (from, to) pair: (from, to, units, GeoJSON geometry)."""
    rows = await session.execute(
        text(
            "WITH moved AS (SELECT * FROM unnest(CAST(:codes AS text[]),"
            " CAST(:from_t AS int[]), CAST(:to_t AS int[])) AS m(code, from_t, to_t))"
            " SELECT moved.from_t, moved.to_t, count(*),"
            " CAST(ST_AsGeoJSON(ST_Union(unit.geom), 6) AS jsonb)"
            " FROM moved JOIN basic_unit AS unit"
            " ON unit.code = moved.code AND unit.tenant_id = :tenant_id"
            " AND unit.unit_set_id = :unit_set_id"
            " GROUP BY moved.from_t, moved.to_t ORDER BY moved.from_t, moved.to_t"
        ),
        {
            "codes": codes,
            "from_t": from_territories,
            "to_t": to_territories,
            "tenant_id": tenant_id,
            "unit_set_id": unit_set_id,
        },
    )
    return [(row[0], row[1], row[2], row[3]) for row in rows]
