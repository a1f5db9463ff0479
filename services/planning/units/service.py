"""Basic-unit rules: codes unique per tenant, valid (or explicitly repaired) polygons."""

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from services.planning.units import repository
from services.planning.units.errors import DuplicateCode, UnitNotFound
from services.planning.units.schemas import NeighbourRead, UnitCreate, UnitCreated, UnitRead
from shared.geo import geometry_to_geojson, multipolygon_from_geojson
from shared.models import BasicUnit


def to_read(unit: BasicUnit) -> UnitRead:
    return UnitRead(
        id=unit.id,
        code=unit.code,
        name=unit.name,
        measures=unit.measures,
        geometry=geometry_to_geojson(unit.geom) or {},
        created_at=unit.created_at,
        updated_at=unit.updated_at,
    )


async def create_unit(
    session: AsyncSession, *, tenant_id: uuid.UUID, data: UnitCreate, repair: bool
) -> UnitCreated:
    geom, repair_note = multipolygon_from_geojson(data.geometry, field="geometry", repair=repair)
    if await repository.get_by_code(session, tenant_id=tenant_id, code=data.code):
        raise DuplicateCode(data.code)
    unit = await repository.add(
        session,
        tenant_id=tenant_id,
        values={"code": data.code, "name": data.name, "measures": data.measures, "geom": geom},
    )
    return UnitCreated(**to_read(unit).model_dump(), repair_note=repair_note)


async def get_unit(session: AsyncSession, *, tenant_id: uuid.UUID, unit_id: uuid.UUID) -> UnitRead:
    unit = await repository.get(session, tenant_id=tenant_id, unit_id=unit_id)
    if unit is None:
        raise UnitNotFound(unit_id)
    return to_read(unit)


async def list_units(
    session: AsyncSession, *, tenant_id: uuid.UUID, limit: int, offset: int
) -> list[UnitRead]:
    units = await repository.list_page(session, tenant_id=tenant_id, limit=limit, offset=offset)
    return [to_read(unit) for unit in units]


async def delete_unit(session: AsyncSession, *, tenant_id: uuid.UUID, unit_id: uuid.UUID) -> None:
    if not await repository.delete_unit(session, tenant_id=tenant_id, unit_id=unit_id):
        raise UnitNotFound(unit_id)


async def rebuild_adjacency(session: AsyncSession, *, tenant_id: uuid.UUID) -> int:
    return await repository.rebuild_adjacency(session, tenant_id=tenant_id)


async def list_neighbours(
    session: AsyncSession, *, tenant_id: uuid.UUID, unit_id: uuid.UUID, limit: int, offset: int
) -> list[NeighbourRead]:
    if await repository.get(session, tenant_id=tenant_id, unit_id=unit_id) is None:
        raise UnitNotFound(unit_id)
    rows = await repository.list_neighbours(
        session, tenant_id=tenant_id, unit_id=unit_id, limit=limit, offset=offset
    )
    return [
        NeighbourRead(unit_id=neighbour_id, code=code, shared_border_m=shared_border_m)
        for neighbour_id, code, shared_border_m in rows
    ]
