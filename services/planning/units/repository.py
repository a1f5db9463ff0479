"""SQL for basic units and their adjacency; every statement is filtered by tenant."""

import uuid
from collections.abc import Sequence
from typing import Any

from geoalchemy2 import Geography
from sqlalchemy import Row, case, cast, delete, func, insert, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from shared.models import BasicUnit, UnitAdjacency

# DE-9IM: the two boundaries meet along a line (dimension 1), so units that touch only at a
# corner are not neighbours ("rook", not "queen", adjacency).
_SHARES_A_BORDER = "****1****"


async def get(
    session: AsyncSession, *, tenant_id: uuid.UUID, unit_id: uuid.UUID
) -> BasicUnit | None:
    return await session.scalar(
        select(BasicUnit).where(BasicUnit.tenant_id == tenant_id, BasicUnit.id == unit_id)
    )


async def get_by_code(
    session: AsyncSession, *, tenant_id: uuid.UUID, code: str
) -> BasicUnit | None:
    return await session.scalar(
        select(BasicUnit).where(BasicUnit.tenant_id == tenant_id, BasicUnit.code == code)
    )


async def list_page(
    session: AsyncSession, *, tenant_id: uuid.UUID, limit: int, offset: int
) -> list[BasicUnit]:
    statement = (
        select(BasicUnit)
        .where(BasicUnit.tenant_id == tenant_id)
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


async def rebuild_adjacency(session: AsyncSession, *, tenant_id: uuid.UUID) -> int:
    """Replace the tenant's adjacency with every pair of units sharing a border; count them."""
    # Concurrent rebuilds for one tenant would both insert the same pairs; take turns instead.
    await session.execute(
        select(func.pg_advisory_xact_lock(func.hashtextextended(f"unit_adjacency:{tenant_id}", 0)))
    )
    await session.execute(delete(UnitAdjacency).where(UnitAdjacency.tenant_id == tenant_id))
    unit_a, unit_b = aliased(BasicUnit), aliased(BasicUnit)
    shared_border = func.ST_CollectionExtract(func.ST_Intersection(unit_a.geom, unit_b.geom), 2)
    pairs = select(
        unit_a.tenant_id,
        unit_a.id,
        unit_b.id,
        func.ST_Length(cast(shared_border, Geography(srid=4326))),
    ).where(
        unit_a.tenant_id == tenant_id,
        unit_b.tenant_id == tenant_id,
        unit_a.id < unit_b.id,
        func.ST_Intersects(unit_a.geom, unit_b.geom),
        func.ST_Relate(unit_a.geom, unit_b.geom, _SHARES_A_BORDER),
    )
    inserted = (
        insert(UnitAdjacency)
        .from_select(["tenant_id", "unit_a_id", "unit_b_id", "shared_border_m"], pairs)
        .returning(UnitAdjacency.unit_a_id)
        .cte("inserted")
    )
    return (await session.execute(select(func.count()).select_from(inserted))).scalar_one()


async def list_neighbours(
    session: AsyncSession, *, tenant_id: uuid.UUID, unit_id: uuid.UUID, limit: int, offset: int
) -> Sequence[Row[uuid.UUID, str, float]]:
    """The units adjacent to ``unit_id``, longest shared border first."""
    other_id = case(
        (UnitAdjacency.unit_a_id == unit_id, UnitAdjacency.unit_b_id),
        else_=UnitAdjacency.unit_a_id,
    )
    statement = (
        select(BasicUnit.id, BasicUnit.code, UnitAdjacency.shared_border_m)
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
