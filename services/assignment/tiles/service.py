"""Vector tiles and small GeoJSON layers: address checks, the alignment to draw, ETags."""

import hashlib
import uuid
from dataclasses import dataclass

import asyncpg
from cachetools import TTLCache

from services.assignment.tiles import repository
from services.assignment.tiles.errors import (
    MAX_ZOOM,
    InvalidTile,
    MapTerritoryNotFound,
    NoActiveAlignment,
    TileAlignmentNotFound,
)
from services.assignment.tiles.schemas import TileJSON, VectorLayer

# Clients overzoom beyond it: zoom 14 tiles already hold the polygons as stored (band 5).
TILEJSON_MAX_ZOOM = 14
VECTOR_LAYERS = [
    VectorLayer(
        id="territories",
        description="The alignment's territories, parents first",
        fields={
            "territory_id": "String",
            "name": "String",
            "level": "Number",
            "parent_id": "String",
            "owner_rep_id": "String",
            "owner_name": "String",
        },
    ),
    VectorLayer(
        id="accounts",
        description=f"Accounts, from zoom {repository.ACCOUNTS_MIN_ZOOM}",
        minzoom=repository.ACCOUNTS_MIN_ZOOM,
        fields={
            "account_id": "String",
            "name": "String",
            "owner_rep_id": "String",
            "industry": "String",
        },
    ),
    VectorLayer(
        id="reps",
        description="Rep homes",
        fields={"rep_id": "String", "name": "String", "active": "Boolean"},
    ),
]


@dataclass(frozen=True)
class Tile:
    body: bytes
    etag: str


# Tiles below the accounts' zoom of a published (active or archived) alignment: built from its
# territories and owners, which never change once published, and from the tenant's reps, whose
# version is in the key. They are the costly ones (a zoom-3 tile holds thousands of
# territories, ~100+ ms to build) and the fewest (the whole US is ~400 tiles up to zoom 7), so
# each process keeps them; a draft's tiles, edited as planners work, are always built afresh.
LOW_ZOOM_CACHE_BYTES = 64 * 1024 * 1024
LOW_ZOOM_CACHE_SECONDS = 600
TileKey = tuple[uuid.UUID, uuid.UUID, str, str, int, int, int]
_low_zoom_tiles: TTLCache[TileKey, Tile] = TTLCache(
    maxsize=LOW_ZOOM_CACHE_BYTES,
    ttl=LOW_ZOOM_CACHE_SECONDS,
    getsizeof=lambda tile: len(tile.body) + 200,
)


def check_address(*, z: int, x: int, y: int) -> None:
    if not 0 <= z <= MAX_ZOOM or not 0 <= x < 2**z or not 0 <= y < 2**z:
        raise InvalidTile(z=z, x=x, y=y)


def tile_etag(
    *, alignment: repository.AlignmentVersion, z: int, x: int, y: int, body: bytes
) -> str:
    """A strong validator: the alignment and its version, the address, and a digest of the bytes.
    The digest is what makes it strong: a tile also shows reps and accounts, which change
    without the alignment changing, so the alignment's version alone would vouch for a stale
    tile."""
    version = int(alignment.updated_at.timestamp() * 1_000_000)
    digest = hashlib.blake2b(body, digest_size=12).hexdigest()
    return f'"{alignment.id}.{version}.{z}.{x}.{y}.{digest}"'


def etag_matches(if_none_match: str | None, etag: str) -> bool:
    """RFC 9110 §13.1.2: a list of entity tags or "*", compared weakly."""
    if not if_none_match:
        return False
    candidates = [candidate.strip() for candidate in if_none_match.split(",")]
    return any(candidate == "*" or candidate.removeprefix("W/") == etag for candidate in candidates)


async def render_tile(
    connection: asyncpg.Connection,
    *,
    tenant_id: uuid.UUID,
    alignment_id: uuid.UUID | None,
    z: int,
    x: int,
    y: int,
) -> Tile:
    check_address(z=z, x=x, y=y)
    alignment = await _alignment(connection, tenant_id=tenant_id, alignment_id=alignment_id)
    key: TileKey | None = None
    if z < repository.ACCOUNTS_MIN_ZOOM and alignment.status != "draft":
        key = (
            tenant_id,
            alignment.id,
            alignment.updated_at.isoformat(),
            alignment.reps_version,
            z,
            x,
            y,
        )
        cached = _low_zoom_tiles.get(key)
        if cached is not None:
            return cached
    body = await repository.tile(
        connection, tenant_id=tenant_id, alignment_id=alignment.id, z=z, x=x, y=y
    )
    tile = Tile(body=body, etag=tile_etag(alignment=alignment, z=z, x=x, y=y, body=body))
    if key is not None:
        _low_zoom_tiles[key] = tile
    return tile


async def _alignment(
    connection: asyncpg.Connection, *, tenant_id: uuid.UUID, alignment_id: uuid.UUID | None
) -> repository.AlignmentVersion:
    alignment = await repository.alignment_version(
        connection, tenant_id=tenant_id, alignment_id=alignment_id
    )
    if alignment is None:
        raise NoActiveAlignment() if alignment_id is None else TileAlignmentNotFound(alignment_id)
    return alignment


async def tilejson(
    connection: asyncpg.Connection, *, tenant_id: uuid.UUID, alignment_id: uuid.UUID | None
) -> TileJSON:
    alignment = await _alignment(connection, tenant_id=tenant_id, alignment_id=alignment_id)
    bounds = await repository.alignment_bounds(
        connection, tenant_id=tenant_id, alignment_id=alignment.id
    )
    return TileJSON(
        tiles=[f"/assignment/tiles/{{z}}/{{x}}/{{y}}.mvt?alignment_id={alignment.id}"],
        alignment_id=alignment.id,
        bounds=list(bounds) if bounds else None,
        center=[(bounds[0] + bounds[2]) / 2, (bounds[1] + bounds[3]) / 2, 5] if bounds else None,
        maxzoom=TILEJSON_MAX_ZOOM,
        vector_layers=VECTOR_LAYERS,
    )


async def reps_geojson(
    connection: asyncpg.Connection, *, tenant_id: uuid.UUID, active: bool | None
) -> str:
    return await repository.reps_feature_collection(connection, tenant_id=tenant_id, active=active)


async def territory_geojson(
    connection: asyncpg.Connection,
    *,
    tenant_id: uuid.UUID,
    territory_id: uuid.UUID,
    simplify_m: float,
) -> str:
    feature = await repository.territory_feature(
        connection, tenant_id=tenant_id, territory_id=territory_id, simplify_m=simplify_m
    )
    if feature is None:
        raise MapTerritoryNotFound(territory_id)
    return feature
