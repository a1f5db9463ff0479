"""HTTP endpoints for territories, their members, and GeoJSON import/export."""

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response, status
from fastapi.responses import JSONResponse

from services.assignment.territories import service
from services.assignment.territories.schemas import (
    MemberCreate,
    MemberRead,
    TerritoryCreate,
    TerritoryFeatureCollection,
    TerritoryImport,
    TerritoryImportResult,
    TerritoryRead,
    TerritoryUpdate,
)
from shared.auth import ReadPrincipal, WritePrincipal
from shared.db import SessionDep
from shared.errors import problem_doc
from shared.models import MemberRole
from shared.pagination import Page, PageDep

router = APIRouter(tags=["territories"])

_NOT_DRAFT = "The alignment is not a draft (only drafts are editable)"
_NAME_TAKEN = _NOT_DRAFT + ", or the name or a second fallback territory is taken"

RepairQuery = Annotated[
    bool,
    Query(
        description="Repair invalid polygons with ST_MakeValid (reported in the answer) "
        "instead of rejecting them"
    ),
]


class GeoJSONResponse(JSONResponse):
    """GeoJSON text built by PostGIS, sent as it is. A JSONResponse all the same, so that the
    OpenAPI document gives the body its schema (FastAPI types any other class as a string)."""

    media_type = "application/geo+json"

    def render(self, content: Any) -> bytes:
        if isinstance(content, str):
            return content.encode()
        return super().render(content)


@router.post(
    "/assignment/alignments/{alignment_id}/territories",
    status_code=status.HTTP_201_CREATED,
    operation_id="territories.create",
    responses={409: problem_doc(_NAME_TAKEN)},
)
async def create_territory(
    alignment_id: uuid.UUID,
    body: TerritoryCreate,
    session: SessionDep,
    principal: WritePrincipal,
    repair: RepairQuery = False,
) -> TerritoryRead:
    """Create a territory in a draft alignment."""
    return await service.create_territory(
        session, tenant_id=principal.tenant_id, alignment_id=alignment_id, data=body, repair=repair
    )


@router.get("/assignment/alignments/{alignment_id}/territories", operation_id="territories.list")
async def list_territories(
    alignment_id: uuid.UUID,
    session: SessionDep,
    principal: ReadPrincipal,
    page: PageDep,
    include_geometry: Annotated[
        bool, Query(description="false: leave polygons out (smaller, faster answers)")
    ] = True,
) -> Page[TerritoryRead]:
    """List an alignment's territories, top level first, then by name."""
    territories = await service.list_territories(
        session,
        tenant_id=principal.tenant_id,
        alignment_id=alignment_id,
        include_geometry=include_geometry,
        limit=page.limit + 1,
        offset=page.offset,
    )
    return Page[TerritoryRead].build(territories, page)


@router.get(
    "/assignment/alignments/{alignment_id}/territories.geojson",
    operation_id="territories.export",
    response_model=TerritoryFeatureCollection,
    response_class=GeoJSONResponse,
)
async def export_territories(
    alignment_id: uuid.UUID, session: SessionDep, principal: ReadPrincipal
) -> Response:
    """Export an alignment's territories as a GeoJSON FeatureCollection."""
    collection = await service.export_geojson(
        session, tenant_id=principal.tenant_id, alignment_id=alignment_id
    )
    return GeoJSONResponse(content=collection)


@router.post(
    "/assignment/alignments/{alignment_id}/territories:import",
    operation_id="territories.import",
    responses={409: problem_doc(_NAME_TAKEN)},
    status_code=status.HTTP_201_CREATED,
)
async def import_territories(
    alignment_id: uuid.UUID,
    body: TerritoryImport,
    request: Request,
    session: SessionDep,
    principal: WritePrincipal,
    repair: RepairQuery = False,
    name_property: Annotated[
        str | None,
        Query(
            min_length=1,
            max_length=200,
            description="The feature property holding each territory's name (default: name), "
            "e.g. NAME for a Census counties file",
        ),
    ] = None,
) -> TerritoryImportResult:
    """Import territories from a GeoJSON FeatureCollection into a draft, all or nothing."""
    # The body as sent (already read and cached by the validation above): its geometries go
    # to PostGIS untouched, rather than being re-serialised number by number.
    collection = (await request.body()).decode()
    return await service.import_territories(
        session,
        tenant_id=principal.tenant_id,
        alignment_id=alignment_id,
        data=body,
        collection=collection,
        repair=repair,
        name_property=name_property,
    )


@router.get("/assignment/territories/{territory_id}", operation_id="territories.get")
async def get_territory(
    territory_id: uuid.UUID, session: SessionDep, principal: ReadPrincipal
) -> TerritoryRead:
    """Get one territory with its polygon, area and members."""
    return await service.get_territory(
        session, tenant_id=principal.tenant_id, territory_id=territory_id
    )


@router.patch(
    "/assignment/territories/{territory_id}",
    operation_id="territories.update",
    responses={409: problem_doc(_NAME_TAKEN)},
)
async def update_territory(
    territory_id: uuid.UUID,
    body: TerritoryUpdate,
    session: SessionDep,
    principal: WritePrincipal,
    repair: RepairQuery = False,
) -> TerritoryRead:
    """Change a territory of a draft alignment; only the fields sent change."""
    return await service.update_territory(
        session, tenant_id=principal.tenant_id, territory_id=territory_id, data=body, repair=repair
    )


@router.delete(
    "/assignment/territories/{territory_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    operation_id="territories.delete",
    responses={409: problem_doc(_NOT_DRAFT + ", or the territory has child territories")},
)
async def delete_territory(
    territory_id: uuid.UUID, session: SessionDep, principal: WritePrincipal
) -> Response:
    """Delete a territory without children from a draft alignment."""
    await service.delete_territory(
        session, tenant_id=principal.tenant_id, territory_id=territory_id
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/assignment/territories/{territory_id}/members",
    status_code=status.HTTP_201_CREATED,
    operation_id="territories.add_member",
    responses={409: problem_doc(_NOT_DRAFT + ", or the rep is already a member")},
)
async def add_member(
    territory_id: uuid.UUID, body: MemberCreate, session: SessionDep, principal: WritePrincipal
) -> MemberRead:
    """Add a rep to a territory as owner or overlay, with a weight."""
    return await service.add_member(
        session, tenant_id=principal.tenant_id, territory_id=territory_id, data=body
    )


@router.delete(
    "/assignment/territories/{territory_id}/members/{rep_id}",
    operation_id="territories.remove_member",
    responses={409: problem_doc(_NOT_DRAFT)},
    status_code=status.HTTP_204_NO_CONTENT,
)
async def remove_member(
    territory_id: uuid.UUID,
    rep_id: uuid.UUID,
    session: SessionDep,
    principal: WritePrincipal,
    role: Annotated[
        MemberRole | None, Query(description="Only this role; default: every role of the rep")
    ] = None,
) -> Response:
    """Remove a rep from a territory."""
    await service.remove_member(
        session, tenant_id=principal.tenant_id, territory_id=territory_id, rep_id=rep_id, role=role
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)
