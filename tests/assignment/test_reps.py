"""Reps endpoints, in process against the real test database."""

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest

from services.assignment.app import create_app
from shared.settings import Settings
from tests.conftest import AppClientFactory
from tests.factories import TenantWithKey


@pytest.fixture
async def client(
    app_client: AppClientFactory, settings: Settings
) -> AsyncIterator[httpx.AsyncClient]:
    async with app_client(create_app(settings)) as client:
        yield client


async def test_create_and_read_rep_round_trips_home_point(
    client: httpx.AsyncClient, tenant: TenantWithKey
) -> None:
    body = {
        "name": "Ada Park",
        "email": "ada@example.com",
        "capacity": 5,
        "home": {"type": "Point", "coordinates": [-73.99, 40.73]},
        "skills": ["spanish"],
    }
    created = await client.post("/assignment/reps", json=body, headers=tenant.headers)
    assert created.status_code == 201, created.text
    rep = created.json()
    fetched = await client.get(f"/assignment/reps/{rep['id']}", headers=tenant.headers)
    assert fetched.status_code == 200
    assert fetched.json()["home"] == {"type": "Point", "coordinates": [-73.99, 40.73]}
    assert fetched.json()["skills"] == ["spanish"]
    assert fetched.json()["active"] is True


async def test_deactivate_rep_and_filter_by_active(
    client: httpx.AsyncClient, tenant: TenantWithKey
) -> None:
    ids = []
    for name in ("A", "B"):
        response = await client.post(
            "/assignment/reps", json={"name": name}, headers=tenant.headers
        )
        ids.append(response.json()["id"])
    patched = await client.patch(
        f"/assignment/reps/{ids[0]}", json={"active": False}, headers=tenant.headers
    )
    assert patched.json()["active"] is False
    active = await client.get("/assignment/reps?active=true", headers=tenant.headers)
    assert [rep["id"] for rep in active.json()["items"]] == [ids[1]]


async def test_duplicate_external_id_is_409_problem(
    client: httpx.AsyncClient, tenant: TenantWithKey
) -> None:
    body = {"name": "A", "external_id": "crm-1"}
    assert (
        await client.post("/assignment/reps", json=body, headers=tenant.headers)
    ).status_code == 201
    again = await client.post("/assignment/reps", json=body, headers=tenant.headers)
    assert again.status_code == 409
    assert again.headers["content-type"] == "application/problem+json"
    assert again.json()["field"] == "external_id"


async def test_manager_from_another_tenant_is_rejected(
    client: httpx.AsyncClient, tenant: TenantWithKey, other_tenant: TenantWithKey
) -> None:
    manager = await client.post(
        "/assignment/reps", json={"name": "M"}, headers=other_tenant.headers
    )
    response = await client.post(
        "/assignment/reps",
        json={"name": "R", "manager_id": manager.json()["id"]},
        headers=tenant.headers,
    )
    assert response.status_code == 404
    assert response.json()["field"] == "manager_id"


async def test_pagination_reports_next_offset(
    client: httpx.AsyncClient, tenant: TenantWithKey
) -> None:
    for index in range(3):
        await client.post("/assignment/reps", json={"name": f"R{index}"}, headers=tenant.headers)
    first = (await client.get("/assignment/reps?limit=2", headers=tenant.headers)).json()
    assert len(first["items"]) == 2 and first["next_offset"] == 2
    last = (await client.get("/assignment/reps?limit=2&offset=2", headers=tenant.headers)).json()
    assert len(last["items"]) == 1 and last["next_offset"] is None


async def test_concurrent_duplicates_get_one_201_and_one_409(
    client: httpx.AsyncClient, tenant: TenantWithKey
) -> None:
    body = {"name": "Twin", "external_id": "crm-twin"}
    responses = await asyncio.gather(
        *(client.post("/assignment/reps", json=body, headers=tenant.headers) for _ in range(4))
    )
    statuses = sorted(response.status_code for response in responses)
    assert statuses == [201, 409, 409, 409]
    for response in responses:
        if response.status_code == 409:
            assert response.headers["content-type"] == "application/problem+json"
