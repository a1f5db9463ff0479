"""HTTP endpoints for basic units and their adjacency."""

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from services.planning.units import service
from services.planning.units.schemas import (
    AdjacencyRebuilt,
    NeighbourRead,
    UnitCreate,
    UnitCreated,
    UnitRead,
)
from shared.auth import ReadPrincipal, WritePrincipal
from shared.db import SessionDep
from shared.pagination import Page, PageDep

router = APIRouter(prefix="/planning/units", tags=["units"])


@router.post("", status_code=status.HTTP_201_CREATED, operation_id="units.create")
async def create_unit(
    body: UnitCreate,
    session: SessionDep,
    principal: WritePrincipal,
    repair: Annotated[
        bool, Query(description="Repair an invalid polygon instead of rejecting it")
    ] = False,
) -> UnitCreated:
    """Create a basic unit; rebuild adjacency afterwards to connect it to its neighbours."""
    return await service.create_unit(
        session, tenant_id=principal.tenant_id, data=body, repair=repair
    )


@router.get("", operation_id="units.list")
async def list_units(
    session: SessionDep, principal: ReadPrincipal, page: PageDep
) -> Page[UnitRead]:
    """List basic units, by code."""
    units = await service.list_units(
        session, tenant_id=principal.tenant_id, limit=page.limit + 1, offset=page.offset
    )
    return Page[UnitRead].build(units, page)


@router.post("/adjacency:rebuild", operation_id="units.rebuild_adjacency")
async def rebuild_adjacency(session: SessionDep, principal: WritePrincipal) -> AdjacencyRebuilt:
    """Recompute which units share a border (a corner alone does not count)."""
    pairs = await service.rebuild_adjacency(session, tenant_id=principal.tenant_id)
    return AdjacencyRebuilt(pairs=pairs)


@router.get("/{unit_id}", operation_id="units.get")
async def get_unit(unit_id: uuid.UUID, session: SessionDep, principal: ReadPrincipal) -> UnitRead:
    """Get one basic unit."""
    return await service.get_unit(session, tenant_id=principal.tenant_id, unit_id=unit_id)


@router.delete("/{unit_id}", status_code=status.HTTP_204_NO_CONTENT, operation_id="units.delete")
async def delete_unit(
    unit_id: uuid.UUID, session: SessionDep, principal: WritePrincipal
) -> Response:
    """Delete a basic unit and its adjacency rows."""
    await service.delete_unit(session, tenant_id=principal.tenant_id, unit_id=unit_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/{unit_id}/neighbours", operation_id="units.list_neighbours")
async def list_neighbours(
    unit_id: uuid.UUID, session: SessionDep, principal: ReadPrincipal, page: PageDep
) -> Page[NeighbourRead]:
    """List the units sharing a border with this one, longest border first."""
    neighbours = await service.list_neighbours(
        session,
        tenant_id=principal.tenant_id,
        unit_id=unit_id,
        limit=page.limit + 1,
        offset=page.offset,
    )
    return Page[NeighbourRead].build(neighbours, page)
