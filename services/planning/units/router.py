"""HTTP endpoints for unit sets, basic units and their adjacency."""

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response, status

from services.planning.scenarios.client import AssignmentClientDep
from services.planning.units import service
from services.planning.units.errors import PayloadTooLarge, UnsupportedMediaType
from services.planning.units.schemas import (
    AccountAggregation,
    AccountsAggregated,
    AdjacencyBuilt,
    EdgeList,
    EdgesAdded,
    ImportRead,
    NeighbourRead,
    OverrideCreate,
    OverrideCreated,
    OverrideRead,
    UnitCreate,
    UnitCreated,
    UnitRead,
    UnitSetCreate,
    UnitSetRead,
    UnitSetSummary,
)
from shared.auth import ReadPrincipal, WritePrincipal
from shared.db import SessionDep
from shared.errors import problem_doc
from shared.jobs.app import QueueDep
from shared.pagination import Page, PageDep

router = APIRouter(prefix="/planning/units", tags=["units"])
sets_router = APIRouter(prefix="/planning/unit-sets", tags=["unit sets"])

MAX_IMPORT_BYTES = 512 * 1024 * 1024
_MEDIA_TYPES = {
    "application/geo+json": "geojson",
    "application/json": "geojson",
    "application/x-ndjson": "ndjson",
    "application/ndjson": "ndjson",
    "application/geo+json-seq": "ndjson",
}

UnitSetQuery = Annotated[
    uuid.UUID | None,
    Query(description="The unit set (the tenant's default set when left out)"),
]
_SET_404: dict[int | str, dict[str, Any]] = {404: problem_doc("No such unit set in this tenant")}


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    operation_id="units.create",
    responses={
        404: problem_doc("No such unit set in this tenant"),
        409: problem_doc("A unit with this code already exists in the set"),
    },
)
async def create_unit(
    body: UnitCreate,
    session: SessionDep,
    principal: WritePrincipal,
    unit_set_id: UnitSetQuery = None,
    repair: Annotated[
        bool, Query(description="Repair an invalid polygon instead of rejecting it")
    ] = False,
) -> UnitCreated:
    """Create a polygon unit; rebuild adjacency afterwards to connect it to its neighbours."""
    return await service.create_unit(
        session, tenant_id=principal.tenant_id, unit_set_id=unit_set_id, data=body, repair=repair
    )


@router.get("", operation_id="units.list", responses=_SET_404)
async def list_units(
    session: SessionDep, principal: ReadPrincipal, page: PageDep, unit_set_id: UnitSetQuery = None
) -> Page[UnitRead]:
    """List the basic units of a set, by code."""
    units = await service.list_units(
        session,
        tenant_id=principal.tenant_id,
        unit_set_id=unit_set_id,
        limit=page.limit + 1,
        offset=page.offset,
    )
    return Page[UnitRead].build(units, page)


@router.post("/adjacency:rebuild", operation_id="units.rebuild_adjacency", responses=_SET_404)
async def rebuild_adjacency(
    session: SessionDep, principal: WritePrincipal, unit_set_id: UnitSetQuery = None
) -> AdjacencyBuilt:
    """Recompute the default (or named) set's adjacency and islands."""
    return await service.rebuild_adjacency(
        session, tenant_id=principal.tenant_id, unit_set_id=unit_set_id
    )


@router.get(
    "/{unit_id}",
    operation_id="units.get",
    responses={404: problem_doc("No such unit in this tenant")},
)
async def get_unit(unit_id: uuid.UUID, session: SessionDep, principal: ReadPrincipal) -> UnitRead:
    """Get one basic unit."""
    return await service.get_unit(session, tenant_id=principal.tenant_id, unit_id=unit_id)


@router.delete(
    "/{unit_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    operation_id="units.delete",
    responses={404: problem_doc("No such unit in this tenant")},
)
async def delete_unit(
    unit_id: uuid.UUID, session: SessionDep, principal: WritePrincipal
) -> Response:
    """Delete a basic unit and its adjacency rows."""
    await service.delete_unit(session, tenant_id=principal.tenant_id, unit_id=unit_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get(
    "/{unit_id}/neighbours",
    operation_id="units.list_neighbours",
    responses={404: problem_doc("No such unit in this tenant")},
)
async def list_neighbours(
    unit_id: uuid.UUID, session: SessionDep, principal: ReadPrincipal, page: PageDep
) -> Page[NeighbourRead]:
    """List the units adjacent to this one (computed, given or island links), longest first."""
    neighbours = await service.list_neighbours(
        session,
        tenant_id=principal.tenant_id,
        unit_id=unit_id,
        limit=page.limit + 1,
        offset=page.offset,
    )
    return Page[NeighbourRead].build(neighbours, page)


# --- unit sets ------------------------------------------------------------------------------


@sets_router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    operation_id="unit_sets.create",
    responses={409: problem_doc("A unit set with this name exists")},
)
async def create_unit_set(
    body: UnitSetCreate, session: SessionDep, principal: WritePrincipal
) -> UnitSetRead:
    """Create a set of polygon or point units."""
    return await service.create_set(session, tenant_id=principal.tenant_id, data=body)


@sets_router.get("", operation_id="unit_sets.list")
async def list_unit_sets(
    session: SessionDep, principal: ReadPrincipal, page: PageDep
) -> Page[UnitSetRead]:
    """List the tenant's unit sets, by name."""
    sets = await service.list_sets(
        session, tenant_id=principal.tenant_id, limit=page.limit + 1, offset=page.offset
    )
    return Page[UnitSetRead].build(sets, page)


@sets_router.get("/{unit_set_id}", operation_id="unit_sets.get", responses=_SET_404)
async def get_unit_set(
    unit_set_id: uuid.UUID, session: SessionDep, principal: ReadPrincipal
) -> UnitSetSummary:
    """A unit set with its counts of units, edges and overrides, and its islands."""
    return await service.get_set(session, tenant_id=principal.tenant_id, unit_set_id=unit_set_id)


@sets_router.delete(
    "/{unit_set_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    operation_id="unit_sets.delete",
    responses=_SET_404,
)
async def delete_unit_set(
    unit_set_id: uuid.UUID, session: SessionDep, principal: WritePrincipal
) -> Response:
    """Delete a unit set with its units, edges, overrides, imports and scenarios."""
    await service.delete_set(session, tenant_id=principal.tenant_id, unit_set_id=unit_set_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@sets_router.post(
    "/{unit_set_id}/adjacency:rebuild", operation_id="unit_sets.rebuild", responses=_SET_404
)
async def rebuild_unit_set_adjacency(
    unit_set_id: uuid.UUID, session: SessionDep, principal: WritePrincipal
) -> AdjacencyBuilt:
    """Recompute shared-border adjacency (polygons) or Voronoi cells (points), then islands."""
    return await service.rebuild_adjacency(
        session, tenant_id=principal.tenant_id, unit_set_id=unit_set_id
    )


@sets_router.post(
    "/{unit_set_id}/edges",
    operation_id="unit_sets.add_edges",
    responses={
        404: problem_doc("No such unit set in this tenant"),
        422: problem_doc(
            "An edge names a unit the set does not hold: `errors` lists each (row, field,"
            " message) and nothing was written"
        ),
    },
)
async def add_edges(
    unit_set_id: uuid.UUID, body: EdgeList, session: SessionDep, principal: WritePrincipal
) -> EdgesAdded:
    """Give the set's adjacency as an edge list (point units: a neighbour table)."""
    return await service.add_edges(
        session, tenant_id=principal.tenant_id, unit_set_id=unit_set_id, data=body
    )


@sets_router.post(
    "/{unit_set_id}/overrides",
    status_code=status.HTTP_201_CREATED,
    operation_id="unit_sets.add_override",
    responses={
        404: problem_doc("No such unit set in this tenant"),
        409: problem_doc("The pair already has an override"),
    },
)
async def add_override(
    unit_set_id: uuid.UUID, body: OverrideCreate, session: SessionDep, principal: WritePrincipal
) -> OverrideCreated:
    """Add or remove an edge on top of the computed adjacency (a bridge, a river)."""
    return await service.add_override(
        session, tenant_id=principal.tenant_id, unit_set_id=unit_set_id, data=body
    )


@sets_router.get(
    "/{unit_set_id}/overrides", operation_id="unit_sets.list_overrides", responses=_SET_404
)
async def list_overrides(
    unit_set_id: uuid.UUID, session: SessionDep, principal: ReadPrincipal, page: PageDep
) -> Page[OverrideRead]:
    """List the set's adjacency overrides, oldest first."""
    overrides = await service.list_overrides(
        session,
        tenant_id=principal.tenant_id,
        unit_set_id=unit_set_id,
        limit=page.limit + 1,
        offset=page.offset,
    )
    return Page[OverrideRead].build(overrides, page)


@sets_router.delete(
    "/{unit_set_id}/overrides/{override_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    operation_id="unit_sets.delete_override",
    responses={404: problem_doc("No such unit set or override in this tenant")},
)
async def delete_override(
    unit_set_id: uuid.UUID, override_id: uuid.UUID, session: SessionDep, principal: WritePrincipal
) -> Response:
    """Delete an adjacency override: the computed adjacency applies again."""
    await service.delete_override(
        session, tenant_id=principal.tenant_id, unit_set_id=unit_set_id, override_id=override_id
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@sets_router.post(
    "/{unit_set_id}/units:import",
    status_code=status.HTTP_202_ACCEPTED,
    operation_id="unit_sets.import_units",
    openapi_extra={
        "requestBody": {
            "required": True,
            "description": "A GeoJSON FeatureCollection, or one GeoJSON Feature per line"
            " (NDJSON). Each feature: `id` (or property `code`) is the unit id; the set's"
            " required measures as numeric properties (or under `properties.measures`);"
            " point units may list `properties.neighbours` (unit ids).",
            "content": {
                media: {"schema": {"type": "string", "format": "binary", "minLength": 1}}
                for media in ("application/geo+json", "application/x-ndjson")
            },
        }
    },
    responses={
        404: problem_doc("No such unit set in this tenant"),
        413: problem_doc("Over 512 MiB"),
        415: problem_doc("Neither GeoJSON nor NDJSON"),
        422: problem_doc("The body is empty, not UTF-8 or holds a NUL byte"),
    },
)
async def import_units(
    unit_set_id: uuid.UUID,
    request: Request,
    session: SessionDep,
    principal: WritePrincipal,
    queue: QueueDep,
    skip_invalid: Annotated[
        bool,
        Query(
            description="true: import the good features and report the bad; false: any bad"
            " feature imports nothing"
        ),
    ] = False,
) -> ImportRead:
    """Queue an import of up to 200,000 units; poll the import for progress and errors."""
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    fmt = _MEDIA_TYPES.get(media_type)
    if fmt is None:
        raise UnsupportedMediaType(media_type)
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_IMPORT_BYTES:
        raise PayloadTooLarge(MAX_IMPORT_BYTES)
    chunks, received = [], 0
    async for chunk in request.stream():
        received += len(chunk)
        if received > MAX_IMPORT_BYTES:
            raise PayloadTooLarge(MAX_IMPORT_BYTES)
        chunks.append(chunk)
    return await service.queue_import(
        session,
        queue,
        tenant_id=principal.tenant_id,
        unit_set_id=unit_set_id,
        fmt=fmt,
        skip_invalid=skip_invalid,
        body=service.decode_upload(b"".join(chunks)),
    )


@sets_router.get(
    "/{unit_set_id}/imports/{import_id}",
    operation_id="unit_sets.get_import",
    responses={404: problem_doc("No such import in this unit set")},
)
async def get_import(
    unit_set_id: uuid.UUID, import_id: uuid.UUID, session: SessionDep, principal: ReadPrincipal
) -> ImportRead:
    """An import's status, progress, counts and per-feature errors."""
    return await service.get_import(
        session, tenant_id=principal.tenant_id, unit_set_id=unit_set_id, import_id=import_id
    )


@sets_router.post(
    "/{unit_set_id}/measures:aggregate",
    operation_id="unit_sets.aggregate_accounts",
    responses={
        404: problem_doc("No such unit set in this tenant"),
        503: problem_doc("The assignment service did not answer"),
    },
)
async def aggregate_accounts(
    unit_set_id: uuid.UUID,
    body: AccountAggregation,
    session: SessionDep,
    principal: WritePrincipal,
    assignment: AssignmentClientDep,
) -> AccountsAggregated:
    """Set each unit's account count (and sums of account fields) from the accounts' locations."""
    return await service.aggregate_accounts(
        session,
        assignment,
        tenant_id=principal.tenant_id,
        api_key=principal.token,
        unit_set_id=unit_set_id,
        data=body,
    )
