"""Every error is RFC 9457 problem+json with an actionable detail and the offending field."""

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


async def test_validation_error_names_every_field(
    client: httpx.AsyncClient, tenant: TenantWithKey
) -> None:
    response = await client.post(
        "/assignment/reps", json={"name": "", "capacity": -1}, headers=tenant.headers
    )
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["type"] == "/problems/invalid-input"
    assert {error["field"] for error in body["errors"]} == {"name", "capacity"}
    assert body["field"] in {"name", "capacity"}
    assert "more problem" in body["detail"]


async def test_unknown_field_is_rejected(client: httpx.AsyncClient, tenant: TenantWithKey) -> None:
    response = await client.post(
        "/assignment/reps", json={"name": "R", "nmae": "typo"}, headers=tenant.headers
    )
    assert response.status_code == 422
    assert response.json()["field"] == "nmae"


async def test_malformed_json_is_a_problem(
    client: httpx.AsyncClient, tenant: TenantWithKey
) -> None:
    response = await client.post(
        "/assignment/reps",
        content=b'{"name": ',
        headers={**tenant.headers, "content-type": "application/json"},
    )
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"


async def test_bad_uuid_in_path_is_a_problem(
    client: httpx.AsyncClient, tenant: TenantWithKey
) -> None:
    response = await client.get("/assignment/reps/not-a-uuid", headers=tenant.headers)
    assert response.status_code == 422
    assert response.json()["field"] == "rep_id"


async def test_unknown_route_and_wrong_method(client: httpx.AsyncClient) -> None:
    missing = await client.get("/assignment/nothing-here")
    assert missing.status_code == 404
    assert missing.headers["content-type"] == "application/problem+json"
    assert "/openapi.json" in missing.json()["detail"]
    wrong = await client.delete("/assignment/reps")
    assert wrong.status_code == 405
    assert wrong.headers["content-type"] == "application/problem+json"


async def test_request_id_is_echoed(client: httpx.AsyncClient) -> None:
    response = await client.get("/assignment/reps", headers={"X-Request-ID": "crm-call-42"})
    assert response.headers["x-request-id"] == "crm-call-42"
    assert response.json()["request_id"] == "crm-call-42"
    unsafe = await client.get("/assignment/reps", headers={"X-Request-ID": "bad id\twith spaces"})
    assert unsafe.headers["x-request-id"] != "bad id\twith spaces"
