"""Basic units and their adjacency, in process against the real test database."""

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.planning.app import create_app
from shared.settings import Settings
from tests.conftest import AppClientFactory
from tests.factories import TenantWithKey, add_key

CELL = 0.1  # degrees
# One tenth of a degree of latitude near the equator: 110,574 m per degree → 11,057 m.
CELL_HEIGHT_M = 11_057.0
# One tenth of a degree of longitude at the equator: 111,320 m per degree → 11,132 m.
CELL_WIDTH_M = 11_132.0
BOW_TIE = {"type": "Polygon", "coordinates": [[[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]]}


def square(x: float, y: float, size: float = CELL) -> dict[str, Any]:
    ring = [[x, y], [x + size, y], [x + size, y + size], [x, y + size], [x, y]]
    return {"type": "Polygon", "coordinates": [ring]}


@pytest.fixture
async def client(
    app_client: AppClientFactory, settings: Settings
) -> AsyncIterator[httpx.AsyncClient]:
    async with app_client(create_app(settings)) as client:
        yield client


async def create_unit(
    client: httpx.AsyncClient, tenant: TenantWithKey, code: str, geometry: dict[str, Any]
) -> str:
    response = await client.post(
        "/planning/units", json={"code": code, "geometry": geometry}, headers=tenant.headers
    )
    assert response.status_code == 201, response.text
    unit_id: str = response.json()["id"]
    return unit_id


async def create_grid(client: httpx.AsyncClient, tenant: TenantWithKey) -> dict[str, str]:
    """2x2 cells at the equator: SW, SE on the bottom row, NW, NE on the top row."""
    cells = {"SW": (0.0, 0.0), "SE": (CELL, 0.0), "NW": (0.0, CELL), "NE": (CELL, CELL)}
    return {
        code: await create_unit(client, tenant, code, square(x, y))
        for code, (x, y) in cells.items()
    }


async def test_create_and_read_unit_round_trips_geometry_and_measures(
    client: httpx.AsyncClient, tenant: TenantWithKey
) -> None:
    ring = [[-74.0, 40.7], [-73.9, 40.7], [-73.9, 40.8], [-74.0, 40.8], [-74.0, 40.7]]
    body = {
        "code": "10001",
        "name": "Chelsea",
        "geometry": {"type": "Polygon", "coordinates": [ring]},
        "measures": {"accounts": 120, "workload": 340.5},
    }
    created = await client.post("/planning/units", json=body, headers=tenant.headers)
    assert created.status_code == 201, created.text
    assert created.json()["repair_note"] is None
    fetched = await client.get(f"/planning/units/{created.json()['id']}", headers=tenant.headers)
    assert fetched.status_code == 200
    unit = fetched.json()
    assert unit["code"] == "10001" and unit["name"] == "Chelsea"
    assert unit["measures"] == {"accounts": 120.0, "workload": 340.5}
    # A Polygon is stored as a one-part MultiPolygon with the same ring.
    assert unit["geometry"] == {"type": "MultiPolygon", "coordinates": [[ring]]}


async def test_negative_measure_is_422_problem_naming_the_measure(
    client: httpx.AsyncClient, tenant: TenantWithKey
) -> None:
    body = {"code": "U1", "geometry": square(0, 0), "measures": {"accounts": -1}}
    response = await client.post("/planning/units", json=body, headers=tenant.headers)
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["field"] == "measures.accounts"


async def test_point_geometry_is_422_invalid_geometry(
    client: httpx.AsyncClient, tenant: TenantWithKey
) -> None:
    body = {"code": "U1", "geometry": {"type": "Point", "coordinates": [0, 0]}}
    response = await client.post("/planning/units", json=body, headers=tenant.headers)
    assert response.status_code == 422
    assert response.json()["type"] == "/problems/invalid-geometry"
    assert response.json()["field"] == "geometry"


async def test_bow_tie_is_rejected_unless_repair_is_asked_for(
    client: httpx.AsyncClient, tenant: TenantWithKey
) -> None:
    body = {"code": "BOW", "geometry": BOW_TIE}
    rejected = await client.post("/planning/units", json=body, headers=tenant.headers)
    assert rejected.status_code == 422
    assert rejected.headers["content-type"] == "application/problem+json"
    assert rejected.json()["type"] == "/problems/invalid-geometry"
    assert rejected.json()["field"] == "geometry"
    assert "repair=true" in rejected.json()["detail"]

    repaired = await client.post("/planning/units?repair=true", json=body, headers=tenant.headers)
    assert repaired.status_code == 201, repaired.text
    assert repaired.json()["repair_note"].startswith("repaired: Self-intersection")
    # The bow-tie crosses itself at (0.5, 0.5): it becomes two triangles of area 0.25 each.
    geometry = repaired.json()["geometry"]
    assert geometry["type"] == "MultiPolygon"
    assert len(geometry["coordinates"]) == 2
    for (ring,) in geometry["coordinates"]:
        assert [0.5, 0.5] in ring and len(ring) == 4


async def test_duplicate_code_is_409_but_another_tenant_may_reuse_it(
    client: httpx.AsyncClient, tenant: TenantWithKey, other_tenant: TenantWithKey
) -> None:
    body = {"code": "75001", "geometry": square(2.3, 48.8)}
    assert (
        await client.post("/planning/units", json=body, headers=tenant.headers)
    ).status_code == 201
    again = await client.post("/planning/units", json=body, headers=tenant.headers)
    assert again.status_code == 409
    assert again.headers["content-type"] == "application/problem+json"
    assert again.json()["field"] == "code"
    elsewhere = await client.post("/planning/units", json=body, headers=other_tenant.headers)
    assert elsewhere.status_code == 201


async def test_unknown_unit_is_404_with_field(
    client: httpx.AsyncClient, tenant: TenantWithKey
) -> None:
    unknown = "00000000-0000-4000-8000-000000000000"
    for method, path in (
        ("GET", f"/planning/units/{unknown}"),
        ("DELETE", f"/planning/units/{unknown}"),
        ("GET", f"/planning/units/{unknown}/neighbours"),
    ):
        response = await client.request(method, path, headers=tenant.headers)
        assert response.status_code == 404, (method, path)
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["field"] == "unit_id"


async def test_another_tenant_cannot_see_touch_or_neighbour_a_unit(
    client: httpx.AsyncClient, tenant: TenantWithKey, other_tenant: TenantWithKey
) -> None:
    unit_id = await create_unit(client, tenant, "A", square(0, 0))
    # The other tenant's unit shares a border with tenant A's: it must not become a neighbour.
    await create_unit(client, other_tenant, "B", square(CELL, 0))
    for method, path in (
        ("GET", f"/planning/units/{unit_id}"),
        ("GET", f"/planning/units/{unit_id}/neighbours"),
        ("DELETE", f"/planning/units/{unit_id}"),
    ):
        response = await client.request(method, path, headers=other_tenant.headers)
        assert response.status_code == 404, (method, path)
    listed = await client.get("/planning/units", headers=other_tenant.headers)
    assert [unit["code"] for unit in listed.json()["items"]] == ["B"]
    rebuilt = await client.post("/planning/units/adjacency:rebuild", headers=other_tenant.headers)
    assert rebuilt.json() == {"pairs": 0, "islands": []}
    assert (
        await client.get(f"/planning/units/{unit_id}", headers=tenant.headers)
    ).status_code == 200


async def test_grid_adjacency_counts_shared_borders_not_corners(
    client: httpx.AsyncClient, tenant: TenantWithKey
) -> None:
    ids = await create_grid(client, tenant)
    rebuilt = await client.post("/planning/units/adjacency:rebuild", headers=tenant.headers)
    assert rebuilt.status_code == 200, rebuilt.text
    # SW-SE, NW-NE, SW-NW, SE-NE; the diagonals SW-NE and SE-NW meet only at (0.1, 0.1).
    assert rebuilt.json() == {"pairs": 4, "islands": []}

    response = await client.get(f"/planning/units/{ids['SW']}/neighbours", headers=tenant.headers)
    assert response.status_code == 200
    neighbours = response.json()["items"]
    # Longest border first: a tenth of a degree of longitude is longer than one of latitude.
    assert [neighbour["code"] for neighbour in neighbours] == ["NW", "SE"]
    assert neighbours[0]["unit_id"] == ids["NW"]
    assert neighbours[0]["shared_border_m"] == pytest.approx(CELL_WIDTH_M, rel=0.01)
    assert neighbours[1]["unit_id"] == ids["SE"]
    assert neighbours[1]["shared_border_m"] == pytest.approx(CELL_HEIGHT_M, rel=0.01)

    # Rebuilding replaces the rows rather than adding to them.
    again = await client.post("/planning/units/adjacency:rebuild", headers=tenant.headers)
    assert again.json() == {"pairs": 4, "islands": []}


async def test_deleting_a_unit_drops_its_adjacency(
    client: httpx.AsyncClient, tenant: TenantWithKey
) -> None:
    ids = await create_grid(client, tenant)
    await client.post("/planning/units/adjacency:rebuild", headers=tenant.headers)
    deleted = await client.delete(f"/planning/units/{ids['SE']}", headers=tenant.headers)
    assert deleted.status_code == 204 and deleted.content == b""
    assert (
        await client.get(f"/planning/units/{ids['SE']}", headers=tenant.headers)
    ).status_code == 404
    neighbours = await client.get(f"/planning/units/{ids['NE']}/neighbours", headers=tenant.headers)
    assert [neighbour["code"] for neighbour in neighbours.json()["items"]] == ["NW"]
    rebuilt = await client.post("/planning/units/adjacency:rebuild", headers=tenant.headers)
    assert rebuilt.json() == {"pairs": 2, "islands": []}


async def test_list_is_paginated_by_code(client: httpx.AsyncClient, tenant: TenantWithKey) -> None:
    for code, x in (("C", 0.0), ("A", 1.0), ("B", 2.0)):
        await create_unit(client, tenant, code, square(x, 0))
    first = (await client.get("/planning/units?limit=2", headers=tenant.headers)).json()
    assert [unit["code"] for unit in first["items"]] == ["A", "B"]
    assert first["next_offset"] == 2
    assert first["items"][0]["geometry"]["type"] == "MultiPolygon"
    last = (await client.get("/planning/units?limit=2&offset=2", headers=tenant.headers)).json()
    assert [unit["code"] for unit in last["items"]] == ["C"] and last["next_offset"] is None


async def test_read_only_key_cannot_create_or_rebuild(
    client: httpx.AsyncClient, tenant: TenantWithKey, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    token = await add_key(sessionmaker, tenant_id=tenant.tenant_id, scopes=["read"])
    headers = {"X-API-Key": token}
    body = {"code": "U1", "geometry": square(0, 0)}
    assert (await client.post("/planning/units", json=body, headers=headers)).status_code == 403
    rebuilt = await client.post("/planning/units/adjacency:rebuild", headers=headers)
    assert rebuilt.status_code == 403
    assert (await client.get("/planning/units", headers=headers)).status_code == 200


async def test_concurrent_rebuilds_take_turns(
    client: httpx.AsyncClient, tenant: TenantWithKey
) -> None:
    await create_grid(client, tenant)
    responses = await asyncio.gather(
        *(
            client.post("/planning/units/adjacency:rebuild", headers=tenant.headers)
            for _ in range(3)
        )
    )
    assert [response.json() for response in responses] == [{"pairs": 4, "islands": []}] * 3
