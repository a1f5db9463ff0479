"""Vector tiles and the small GeoJSON layers through the gateway (nginx, uvicorn, PostGIS): what
each layer holds, the zoom bands' simplification kept current by the database, ETags and 304s,
bad addresses, and tenancy."""

import math
import uuid
from typing import Any

import asyncpg
import httpx
import mapbox_vector_tile
import pytest

from tests.assignment.territory_factories import (
    add_member,
    make_account,
    make_alignment,
    make_rep,
    make_territory,
    square,
)
from tests.factories import TenantWithKey

MVT = "application/vnd.mapbox-vector-tile"


def tile_of(longitude: float, latitude: float, zoom: int) -> tuple[int, int, int]:
    """The slippy-map tile holding a point (the OSM formula)."""
    n = 2**zoom
    x = int((longitude + 180.0) / 360.0 * n)
    lat = math.radians(latitude)
    y = int((1.0 - math.asinh(math.tan(lat)) / math.pi) / 2.0 * n)
    return zoom, x, y


def decode(body: bytes) -> dict[str, Any]:
    layers: dict[str, Any] = mapbox_vector_tile.decode(body)
    return layers


async def get_tile(
    client: httpx.AsyncClient,
    tenant: TenantWithKey,
    address: tuple[int, int, int],
    *,
    alignment_id: uuid.UUID | None = None,
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    z, x, y = address
    params = {"alignment_id": str(alignment_id)} if alignment_id else {}
    return await client.get(
        f"/assignment/tiles/{z}/{x}/{y}.mvt",
        params=params,
        headers={**tenant.headers, **(headers or {})},
    )


async def set_home(
    db: asyncpg.Connection, rep_id: uuid.UUID, longitude: float, latitude: float
) -> None:
    await db.execute(
        "UPDATE rep SET home = ST_SetSRID(ST_MakePoint($2::float8, $3::float8), 4326)"
        " WHERE id = $1",
        rep_id,
        longitude,
        latitude,
    )


@pytest.fixture
async def kansas(db: asyncpg.Connection, tenant: TenantWithKey) -> dict[str, uuid.UUID]:
    """An active alignment: a region over two districts in Kansas, each district owned by a rep
    living in it; three accounts; a fallback without a polygon."""
    tenant_id = tenant.tenant_id
    alignment_id = await make_alignment(db, tenant_id=tenant_id)
    region = await make_territory(
        db,
        tenant_id=tenant_id,
        alignment_id=alignment_id,
        name="Plains",
        wkt=square(-98.4, 37.9, 1.2),
    )
    west = await make_territory(
        db,
        tenant_id=tenant_id,
        alignment_id=alignment_id,
        name="West",
        wkt=square(-98.3, 38.0, 0.5),
        level=1,
        parent_id=region,
    )
    east = await make_territory(
        db,
        tenant_id=tenant_id,
        alignment_id=alignment_id,
        name="East",
        wkt=square(-97.8, 38.0, 0.5),
        level=1,
        parent_id=region,
    )
    await make_territory(
        db, tenant_id=tenant_id, alignment_id=alignment_id, name="Queue", is_fallback=True
    )
    ada = await make_rep(db, tenant_id=tenant_id, name="Ada")
    bob = await make_rep(db, tenant_id=tenant_id, name="Bob")
    await set_home(db, ada, -98.1, 38.2)
    await set_home(db, bob, -97.5, 38.2)
    await add_member(db, tenant_id=tenant_id, territory_id=west, rep_id=ada)
    await add_member(db, tenant_id=tenant_id, territory_id=east, rep_id=bob)
    # A second, lighter owner of East: the tile names the heavier one.
    carol = await make_rep(db, tenant_id=tenant_id, name="Carol")
    await add_member(db, tenant_id=tenant_id, territory_id=east, rep_id=carol, weight=0.5)
    accounts = {}
    for name, longitude, owner in (("Acme", -98.0, ada), ("Bolt", -97.6, bob), ("Cog", -97.4, bob)):
        accounts[name] = await make_account(
            db,
            tenant_id=tenant_id,
            external_id=name.lower(),
            name=name,
            owner_rep_id=owner,
            location=(longitude, 38.25),
        )
    return {
        "alignment": alignment_id,
        "region": region,
        "west": west,
        "east": east,
        "ada": ada,
        "bob": bob,
        **accounts,
    }


async def test_tile_layers_hold_territories_owners_accounts_and_homes(
    gateway_client: httpx.AsyncClient, tenant: TenantWithKey, kansas: dict[str, uuid.UUID]
) -> None:
    response = await get_tile(gateway_client, tenant, tile_of(-97.8, 38.25, 8))
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == MVT
    assert response.headers["cache-control"] == "private, no-cache"
    layers = decode(response.content)
    assert set(layers) == {"territories", "accounts", "reps"}

    territories = {
        f["properties"]["name"]: f["properties"] for f in layers["territories"]["features"]
    }
    # The fallback has no polygon: nothing to draw.
    assert set(territories) == {"Plains", "West", "East"}
    assert territories["West"]["territory_id"] == str(kansas["west"])
    assert territories["West"]["owner_rep_id"] == str(kansas["ada"])
    assert territories["West"]["owner_name"] == "Ada"
    assert territories["East"]["owner_name"] == "Bob"  # weight 1 over Carol's 0.5
    assert territories["East"]["level"] == 1
    assert territories["East"]["parent_id"] == str(kansas["region"])
    assert "parent_id" not in territories["Plains"]  # NULL properties are left out
    assert "owner_rep_id" not in territories["Plains"]
    # Parents first: the deeper territories are drawn over their region.
    assert layers["territories"]["features"][0]["properties"]["name"] == "Plains"

    accounts = {f["properties"]["name"]: f for f in layers["accounts"]["features"]}
    assert set(accounts) == {"Acme", "Bolt", "Cog"}
    assert accounts["Cog"]["properties"]["owner_rep_id"] == str(kansas["bob"])
    assert accounts["Cog"]["properties"]["account_id"] == str(kansas["Cog"])
    assert accounts["Cog"]["geometry"]["type"] == "Point"
    reps = {f["properties"]["name"] for f in layers["reps"]["features"]}
    assert reps == {"Ada", "Bob"}  # Carol has no home


async def test_accounts_only_from_zoom_8(
    gateway_client: httpx.AsyncClient, tenant: TenantWithKey, kansas: dict[str, uuid.UUID]
) -> None:
    layers = decode((await get_tile(gateway_client, tenant, tile_of(-97.8, 38.25, 7))).content)
    assert "accounts" not in layers
    assert {f["properties"]["name"] for f in layers["territories"]["features"]} == {
        "Plains",
        "West",
        "East",
    }
    assert len(layers["reps"]["features"]) == 2


async def test_a_tile_elsewhere_is_empty(
    gateway_client: httpx.AsyncClient, tenant: TenantWithKey, kansas: dict[str, uuid.UUID]
) -> None:
    response = await get_tile(gateway_client, tenant, tile_of(2.35, 48.85, 9))  # Paris
    assert response.status_code == 200
    assert response.content == b""
    assert response.headers["etag"]


async def test_etag_revalidation_and_change(
    gateway_client: httpx.AsyncClient,
    tenant: TenantWithKey,
    kansas: dict[str, uuid.UUID],
    db: asyncpg.Connection,
) -> None:
    address = tile_of(-97.8, 38.25, 9)
    first = await get_tile(gateway_client, tenant, address)
    etag = first.headers["etag"]
    assert etag.startswith(f'"{kansas["alignment"]}.') and etag.endswith('"')
    assert "W/" not in etag  # strong

    again = await get_tile(gateway_client, tenant, address, headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.content == b""
    assert again.headers["etag"] == etag
    listed = await get_tile(
        gateway_client, tenant, address, headers={"If-None-Match": f'"other", W/{etag}'}
    )
    assert listed.status_code == 304

    # An account moves: same alignment, another tile, another tag; the old one no longer matches.
    await db.execute(
        "UPDATE account SET location = ST_SetSRID(ST_MakePoint(-98.1, 38.3), 4326) WHERE id = $1",
        kansas["Acme"],
    )
    changed = await get_tile(gateway_client, tenant, address, headers={"If-None-Match": etag})
    assert changed.status_code == 200
    assert changed.headers["etag"] != etag
    assert changed.content != first.content


@pytest.mark.parametrize(
    ("path", "field"),
    [
        ("23/0/0", "z"),
        ("-1/0/0", "z"),
        ("3/8/0", "x"),
        ("3/0/8", "y"),
        ("0/0/-1", "y"),
    ],
)
async def test_bad_addresses_are_400(
    gateway_client: httpx.AsyncClient,
    tenant: TenantWithKey,
    kansas: dict[str, uuid.UUID],
    path: str,
    field: str,
) -> None:
    response = await gateway_client.get(f"/assignment/tiles/{path}.mvt", headers=tenant.headers)
    assert response.status_code == 400, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["field"] == field
    assert "use 0 to" in problem["detail"]


async def test_alignment_choice_and_tenancy(
    gateway_client: httpx.AsyncClient,
    tenant: TenantWithKey,
    other_tenant: TenantWithKey,
    kansas: dict[str, uuid.UUID],
    db: asyncpg.Connection,
) -> None:
    address = tile_of(-97.8, 38.25, 8)
    # Without an active alignment the default has nothing to draw: 404 says what to do.
    response = await get_tile(gateway_client, other_tenant, address)
    assert response.status_code == 404
    assert "no active alignment" in response.json()["detail"]
    # Another tenant's alignment id is not found, not drawn.
    response = await get_tile(
        gateway_client, other_tenant, address, alignment_id=kansas["alignment"]
    )
    assert response.status_code == 404
    assert response.json()["field"] == "alignment_id"
    # A draft of the tenant, by id: its own territories only.
    draft = await make_alignment(db, tenant_id=tenant.tenant_id, status="draft")
    await make_territory(
        db,
        tenant_id=tenant.tenant_id,
        alignment_id=draft,
        name="Draft West",
        wkt=square(-98.3, 38.0, 1.0),
    )
    layers = decode((await get_tile(gateway_client, tenant, address, alignment_id=draft)).content)
    assert [f["properties"]["name"] for f in layers["territories"]["features"]] == ["Draft West"]


async def test_zoom_bands_simplify_and_follow_geometry_writes(
    gateway_client: httpx.AsyncClient,
    tenant: TenantWithKey,
    db: asyncpg.Connection,
) -> None:
    """A detailed outline (a 1,024-vertex circle) has fewer vertices in the coarse bands, and an
    edit of the polygon through the API replaces every band."""
    draft = await gateway_client.post(
        "/assignment/alignments", json={"name": "circles"}, headers=tenant.headers
    )
    assert draft.status_code == 201, draft.text
    alignment_id = draft.json()["id"]
    circle = await db.fetchval(
        "SELECT ST_AsGeoJSON(ST_Buffer(ST_MakePoint(-97.5, 38.5)::geography, 40000, 256)::geometry)"
    )
    created = await gateway_client.post(
        f"/assignment/alignments/{alignment_id}/territories",
        json={"name": "Circle", "geometry": __import__("json").loads(circle)},
        headers=tenant.headers,
    )
    assert created.status_code == 201, created.text
    territory_id = uuid.UUID(created.json()["id"])

    async def vertices() -> dict[int, int]:
        rows = await db.fetch(
            "SELECT band, ST_NPoints(geom) AS n FROM territory_tile_geometry"
            " WHERE territory_id = $1 ORDER BY band",
            territory_id,
        )
        return {row["band"]: row["n"] for row in rows}

    bands = await vertices()
    assert sorted(bands) == [0, 1, 2, 3, 4, 5]
    assert bands[5] == 1025  # as stored: 1,024 vertices and the closing one
    assert bands[0] < bands[2] < bands[4] <= bands[5]
    assert bands[0] <= 40

    # Rename: the bands stay as they were (no recomputation needed); move: all of them follow.
    before = await db.fetch(
        "SELECT ctid FROM territory_tile_geometry WHERE territory_id = $1", territory_id
    )
    renamed = await gateway_client.patch(
        f"/assignment/territories/{territory_id}", json={"name": "Ring"}, headers=tenant.headers
    )
    assert renamed.status_code == 200, renamed.text
    after = await db.fetch(
        "SELECT ctid FROM territory_tile_geometry WHERE territory_id = $1", territory_id
    )
    assert before == after
    moved = await gateway_client.patch(
        f"/assignment/territories/{territory_id}",
        json={
            "geometry": {
                "type": "Polygon",
                "coordinates": [[[-90, 30], [-89, 30], [-89, 31], [-90, 31], [-90, 30]]],
            }
        },
        headers=tenant.headers,
    )
    assert moved.status_code == 200, moved.text
    assert await vertices() == {band: 5 for band in range(6)}
    layers = decode(
        (
            await get_tile(
                gateway_client,
                tenant,
                tile_of(-89.5, 30.5, 10),
                alignment_id=uuid.UUID(alignment_id),
            )
        ).content
    )
    assert [f["properties"]["name"] for f in layers["territories"]["features"]] == ["Ring"]
    old_place = await get_tile(
        gateway_client, tenant, tile_of(-97.5, 38.5, 10), alignment_id=uuid.UUID(alignment_id)
    )
    assert old_place.content == b""

    # Beyond web Mercator's ±85.05° a polygon is cut, not refused.
    polar = await gateway_client.post(
        f"/assignment/alignments/{alignment_id}/territories",
        json={
            "name": "Polar",
            "geometry": {
                "type": "Polygon",
                "coordinates": [[[0, 80], [10, 80], [10, 90], [0, 90], [0, 80]]],
            },
        },
        headers=tenant.headers,
    )
    assert polar.status_code == 201, polar.text
    top = await db.fetchval(
        "SELECT max(ST_YMax(ST_Transform(geom, 4326))) FROM territory_tile_geometry"
        " WHERE territory_id = $1",
        uuid.UUID(polar.json()["id"]),
    )
    assert top == pytest.approx(85.0511, abs=1e-3)


async def test_geojson_layers(
    gateway_client: httpx.AsyncClient,
    tenant: TenantWithKey,
    other_tenant: TenantWithKey,
    kansas: dict[str, uuid.UUID],
) -> None:
    reps = await gateway_client.get("/assignment/reps.geojson", headers=tenant.headers)
    assert reps.status_code == 200, reps.text
    assert reps.headers["content-type"] == "application/geo+json"
    features = reps.json()["features"]
    assert [f["properties"]["name"] for f in features] == ["Ada", "Bob"]
    assert features[0]["geometry"] == {"type": "Point", "coordinates": [-98.1, 38.2]}

    east = await gateway_client.get(
        f"/assignment/territories/{kansas['east']}.geojson", headers=tenant.headers
    )
    assert east.status_code == 200, east.text
    feature = east.json()
    assert feature["properties"]["name"] == "East"
    assert [owner["name"] for owner in feature["properties"]["owners"]] == ["Bob", "Carol"]
    assert feature["properties"]["parent_id"] == str(kansas["region"])
    assert feature["geometry"]["type"] == "MultiPolygon"
    assert feature["properties"]["area_km2"] == pytest.approx(2400, rel=0.1)

    hidden = await gateway_client.get(
        f"/assignment/territories/{kansas['east']}.geojson", headers=other_tenant.headers
    )
    assert hidden.status_code == 404
    assert hidden.json()["field"] == "territory_id"
    other_reps = await gateway_client.get("/assignment/reps.geojson", headers=other_tenant.headers)
    assert other_reps.json()["features"] == []


async def test_tilejson_names_the_alignment_and_its_bounds(
    gateway_client: httpx.AsyncClient, tenant: TenantWithKey, kansas: dict[str, uuid.UUID]
) -> None:
    response = await gateway_client.get("/assignment/tiles.json", headers=tenant.headers)
    assert response.status_code == 200, response.text
    tilejson = response.json()
    assert tilejson["tilejson"] == "3.0.0"
    assert tilejson["alignment_id"] == str(kansas["alignment"])
    assert tilejson["tiles"] == [
        f"/assignment/tiles/{{z}}/{{x}}/{{y}}.mvt?alignment_id={kansas['alignment']}"
    ]
    # The region square: -98.4..-97.2 × 37.9..39.1.
    assert tilejson["bounds"] == pytest.approx([-98.4, 37.9, -97.2, 39.1], abs=1e-6)
    assert [layer["id"] for layer in tilejson["vector_layers"]] == [
        "territories",
        "accounts",
        "reps",
    ]
    # The template works as given.
    tile = tilejson["tiles"][0].format(
        z=8, x=tile_of(-97.8, 38.25, 8)[1], y=tile_of(-97.8, 38.25, 8)[2]
    )
    fetched = await gateway_client.get(tile, headers=tenant.headers)
    assert len(decode(fetched.content)["territories"]["features"]) == 3


async def test_low_zoom_tiles_of_a_published_alignment_follow_rep_changes(
    gateway_client: httpx.AsyncClient, tenant: TenantWithKey, kansas: dict[str, uuid.UUID]
) -> None:
    """Below zoom 8 a published alignment's tiles are kept by the service; a rep's rename still
    shows on the next request (the reps' version is part of what is kept)."""
    address = tile_of(-97.8, 38.25, 6)
    first = await get_tile(gateway_client, tenant, address)
    again = await get_tile(gateway_client, tenant, address)
    assert again.headers["etag"] == first.headers["etag"]
    owners = {f["properties"]["name"]: f["properties"].get("owner_name") for f in
              decode(first.content)["territories"]["features"]}  # fmt: skip
    assert owners["West"] == "Ada"

    renamed = await gateway_client.patch(
        f"/assignment/reps/{kansas['ada']}", json={"name": "Ada L."}, headers=tenant.headers
    )
    assert renamed.status_code == 200, renamed.text
    after = await get_tile(gateway_client, tenant, address)
    assert after.headers["etag"] != first.headers["etag"]
    layers = decode(after.content)
    owners = {f["properties"]["name"]: f["properties"].get("owner_name") for f in
              layers["territories"]["features"]}  # fmt: skip
    assert owners["West"] == "Ada L."
    assert {f["properties"]["name"] for f in layers["reps"]["features"]} == {"Ada L.", "Bob"}
