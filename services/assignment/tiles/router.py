"""HTTP endpoints for map layers: vector tiles of an alignment, rep homes and one territory as
GeoJSON."""

import uuid
from typing import Annotated

import asyncpg
from fastapi import APIRouter, Depends, Header, Query, Request, Response

from services.assignment.territories.router import GeoJSONResponse
from services.assignment.tiles import service
from services.assignment.tiles.errors import MAX_ZOOM
from services.assignment.tiles.schemas import RepHomeCollection, TerritoryMapFeature, TileJSON
from shared.auth import ReadPrincipal
from shared.errors import problem_doc
from shared.validation import Int32

router = APIRouter(tags=["map"])

MVT_MEDIA_TYPE = "application/vnd.mapbox-vector-tile"
# Tiles are one tenant's (the key decides what they show): browsers may keep them, shared caches
# may not, and every reuse is revalidated with the ETag (a 304 costs no transfer).
TILE_CACHE_CONTROL = "private, no-cache"


def get_pool(request: Request) -> asyncpg.Pool:
    """The service's asyncpg pool (the lead hot path's: JIT off, generic plans), whose
    connections bind to the request's tenant on checkout."""
    pool: asyncpg.Pool = request.app.state.lead_pool
    return pool


PoolDep = Annotated[asyncpg.Pool, Depends(get_pool)]


@router.get(
    "/assignment/tiles/{z}/{x}/{y}.mvt",
    operation_id="tiles.get",
    response_class=Response,
    responses={
        200: {
            "description": "A Mapbox Vector Tile (layers territories, accounts from zoom 8, "
            "reps); empty when nothing lies in the tile",
            "content": {MVT_MEDIA_TYPE: {"schema": {"type": "string", "format": "binary"}}},
        },
        304: {"description": "Not modified: the If-None-Match entity tag is still current"},
        400: problem_doc(f"Not a tile: z outside 0..{MAX_ZOOM}, or x or y outside 0..2^z-1"),
        404: problem_doc("No such alignment, or no active alignment (name one)"),
    },
)
async def get_tile(
    z: Int32,
    x: Int32,
    y: Int32,
    pool: PoolDep,
    principal: ReadPrincipal,
    alignment_id: Annotated[
        uuid.UUID | None, Query(description="Whose territories; default: the active alignment")
    ] = None,
    if_none_match: Annotated[str | None, Header(description="A previous ETag")] = None,
) -> Response:
    """A vector tile of an alignment's territories (owner, level, parent), accounts and rep
    homes."""
    async with pool.acquire() as connection:
        tile = await service.render_tile(
            connection,
            tenant_id=principal.tenant_id,
            alignment_id=alignment_id,
            z=z,
            x=x,
            y=y,
        )
    headers = {
        "ETag": tile.etag,
        "Cache-Control": TILE_CACHE_CONTROL,
        "Vary": "X-API-Key, Authorization",
    }
    if service.etag_matches(if_none_match, tile.etag):
        return Response(status_code=304, headers=headers)
    return Response(content=tile.body, media_type=MVT_MEDIA_TYPE, headers=headers)


@router.get(
    "/assignment/tiles.json",
    operation_id="tiles.tilejson",
    responses={404: problem_doc("No such alignment, or no active alignment (name one)")},
)
async def get_tilejson(
    pool: PoolDep,
    principal: ReadPrincipal,
    alignment_id: Annotated[
        uuid.UUID | None, Query(description="Whose territories; default: the active alignment")
    ] = None,
) -> TileJSON:
    """TileJSON of an alignment's vector tiles: URL template, layers and fields, bounds."""
    async with pool.acquire() as connection:
        return await service.tilejson(
            connection, tenant_id=principal.tenant_id, alignment_id=alignment_id
        )


@router.get(
    "/assignment/reps.geojson",
    operation_id="reps.export",
    response_model=RepHomeCollection,
    response_class=GeoJSONResponse,
)
async def export_rep_homes(
    pool: PoolDep,
    principal: ReadPrincipal,
    active: Annotated[bool | None, Query(description="Only active or inactive reps")] = None,
) -> Response:
    """Reps with a home location as a GeoJSON FeatureCollection (a map's rep layer)."""
    async with pool.acquire() as connection:
        collection = await service.reps_geojson(
            connection, tenant_id=principal.tenant_id, active=active
        )
    return GeoJSONResponse(content=collection)


@router.get(
    "/assignment/territories/{territory_id}.geojson",
    operation_id="territories.feature",
    response_model=TerritoryMapFeature,
    response_class=GeoJSONResponse,
    responses={404: problem_doc("No such territory in this tenant")},
)
async def export_territory(
    territory_id: uuid.UUID,
    pool: PoolDep,
    principal: ReadPrincipal,
    simplify_m: Annotated[
        float,
        Query(
            ge=0,
            le=100_000,
            description="Simplify the outline to about this many metres (0: as stored)",
        ),
    ] = 0,
) -> Response:
    """One territory as a GeoJSON Feature: outline, level, parent, owners, area."""
    async with pool.acquire() as connection:
        feature = await service.territory_geojson(
            connection,
            tenant_id=principal.tenant_id,
            territory_id=territory_id,
            simplify_m=simplify_m,
        )
    return GeoJSONResponse(content=feature)
