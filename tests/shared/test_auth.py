"""API-key authentication and tenant isolation, through a real service app and database."""

import asyncio
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.assignment.app import create_app
from shared import api_keys
from shared.models import ApiKey
from shared.settings import Settings
from tests.conftest import AppClientFactory
from tests.factories import TenantWithKey, add_key

PROBLEM_JSON = "application/problem+json"


@pytest.fixture
async def client(
    app_client: AppClientFactory, settings: Settings
) -> AsyncIterator[httpx.AsyncClient]:
    async with app_client(create_app(settings)) as client:
        yield client


def assert_problem(response: httpx.Response, status: int) -> dict[str, object]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM_JSON
    body: dict[str, object] = response.json()
    assert body["status"] == status
    assert {"type", "title", "detail", "instance", "request_id"} <= body.keys()
    assert body["request_id"] == response.headers["x-request-id"]
    return body


async def test_missing_key_is_401(client: httpx.AsyncClient) -> None:
    response = await client.get("/assignment/reps")
    body = assert_problem(response, 401)
    assert "X-API-Key" in str(body["detail"])
    assert response.headers["www-authenticate"] == "ApiKey"


async def test_unknown_key_is_401(client: httpx.AsyncClient) -> None:
    response = await client.get("/assignment/reps", headers={"X-API-Key": "tk_not-a-real-key"})
    assert_problem(response, 401)


async def test_bearer_token_is_accepted(client: httpx.AsyncClient, tenant: TenantWithKey) -> None:
    response = await client.get(
        "/assignment/reps", headers={"Authorization": f"Bearer {tenant.token}"}
    )
    assert response.status_code == 200


async def test_read_key_cannot_write_but_can_read(
    client: httpx.AsyncClient,
    tenant: TenantWithKey,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    read_only = await add_key(sessionmaker, tenant_id=tenant.tenant_id, scopes=["read"])
    headers = {"X-API-Key": read_only}
    assert (await client.get("/assignment/reps", headers=headers)).status_code == 200
    body = assert_problem(
        await client.post("/assignment/reps", json={"name": "R"}, headers=headers), 403
    )
    assert "'write'" in str(body["detail"])


async def test_admin_scope_implies_write(
    client: httpx.AsyncClient,
    tenant: TenantWithKey,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    admin = await add_key(sessionmaker, tenant_id=tenant.tenant_id, scopes=["admin"])
    response = await client.post(
        "/assignment/reps", json={"name": "R"}, headers={"X-API-Key": admin}
    )
    assert response.status_code == 201


async def test_revoked_key_stops_working_within_five_seconds(
    client: httpx.AsyncClient,
    tenant: TenantWithKey,
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
) -> None:
    assert settings.auth_cache_seconds <= 5
    assert (await client.get("/assignment/reps", headers=tenant.headers)).status_code == 200
    async with sessionmaker() as session, session.begin():
        await api_keys.revoke_key(session, key_id=tenant.key_id, tenant_id=tenant.tenant_id)
    revoked_at = time.monotonic()
    while (await client.get("/assignment/reps", headers=tenant.headers)).status_code == 200:
        assert time.monotonic() - revoked_at <= settings.auth_cache_seconds + 0.5
        await asyncio.sleep(0.2)
    assert_problem(await client.get("/assignment/reps", headers=tenant.headers), 401)


async def test_expired_key_is_401(
    client: httpx.AsyncClient,
    tenant: TenantWithKey,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    async with sessionmaker() as session, session.begin():
        await session.execute(
            update(ApiKey)
            .where(ApiKey.id == tenant.key_id)
            .values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
        )
    assert_problem(await client.get("/assignment/reps", headers=tenant.headers), 401)


async def test_key_is_stored_hashed_and_use_is_stamped(
    client: httpx.AsyncClient,
    tenant: TenantWithKey,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    await client.get("/assignment/reps", headers=tenant.headers)
    async with sessionmaker() as session:
        key = await session.scalar(select(ApiKey).where(ApiKey.id == tenant.key_id))
    assert key is not None
    assert key.key_hash == api_keys.hash_token(tenant.token)
    assert tenant.token not in (key.key_hash, key.prefix)
    assert key.last_used_at is not None


async def test_tenant_never_sees_another_tenants_rows(
    client: httpx.AsyncClient, tenant: TenantWithKey, other_tenant: TenantWithKey
) -> None:
    created = await client.post(
        "/assignment/reps", json={"name": "A's rep"}, headers=tenant.headers
    )
    rep_id = created.json()["id"]

    listed = await client.get("/assignment/reps", headers=other_tenant.headers)
    assert rep_id not in {rep["id"] for rep in listed.json()["items"]}
    assert_problem(
        await client.get(f"/assignment/reps/{rep_id}", headers=other_tenant.headers), 404
    )
    patched = await client.patch(
        f"/assignment/reps/{rep_id}", json={"name": "stolen"}, headers=other_tenant.headers
    )
    assert_problem(patched, 404)
    mine = await client.get(f"/assignment/reps/{rep_id}", headers=tenant.headers)
    assert mine.json()["name"] == "A's rep"


async def test_health_and_docs_are_open(client: httpx.AsyncClient) -> None:
    assert (await client.get("/healthz")).status_code == 200
    assert (await client.get("/assignment/openapi.json")).status_code == 200
    assert (await client.get("/assignment/docs")).status_code == 200
