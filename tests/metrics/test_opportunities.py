"""Opportunity endpoints, in process against the real test database."""

import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.factories import TenantWithKey
from tests.metrics.factories import make_account, make_rep, make_territory


def opportunity(external_id: str = "opp-1", **fields: Any) -> dict[str, Any]:
    return {"external_id": external_id, "name": "Acme renewal", **fields}


async def test_upsert_creates_then_replaces_by_external_id(
    client: httpx.AsyncClient,
    tenant: TenantWithKey,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    rep_id = await make_rep(sessionmaker, tenant_id=tenant.tenant_id)
    account_id = await make_account(sessionmaker, tenant_id=tenant.tenant_id)
    territory_id = await make_territory(sessionmaker, tenant_id=tenant.tenant_id)
    first = opportunity(
        rep_id=str(rep_id),
        account_id=str(account_id),
        territory_id=str(territory_id),
        stage="Discovery",
        amount="12500.50",
        opened_at="2026-01-05T09:00:00Z",
    )
    created = await client.post("/metrics/opportunities", json=first, headers=tenant.headers)
    assert created.status_code == 201, created.text
    assert created.json()["status"] == "open"
    assert created.json()["amount"] == "12500.50"
    assert created.json()["account_id"] == str(account_id)

    # The second post is the whole record again: stage omitted now means no stage.
    second = opportunity(
        rep_id=str(rep_id),
        status="won",
        amount="13000",
        opened_at="2026-01-05T09:00:00Z",
        closed_at="2026-02-01T12:00:00+02:00",
    )
    updated = await client.post("/metrics/opportunities", json=second, headers=tenant.headers)
    assert updated.status_code == 200, updated.text
    body = updated.json()
    assert body["id"] == created.json()["id"]
    assert body["created_at"] == created.json()["created_at"]
    assert (body["status"], body["amount"], body["stage"]) == ("won", "13000.00", None)
    assert body["account_id"] is None and body["territory_id"] is None
    assert body["closed_at"] == "2026-02-01T10:00:00Z"

    listed = (await client.get("/metrics/opportunities", headers=tenant.headers)).json()
    assert [item["id"] for item in listed["items"]] == [body["id"]]
    assert listed["items"][0]["status"] == "won"


async def test_same_external_id_in_another_tenant_is_a_separate_opportunity(
    client: httpx.AsyncClient, tenant: TenantWithKey, other_tenant: TenantWithKey
) -> None:
    mine = await client.post("/metrics/opportunities", json=opportunity(), headers=tenant.headers)
    theirs = await client.post(
        "/metrics/opportunities", json=opportunity(amount=5), headers=other_tenant.headers
    )
    assert (mine.status_code, theirs.status_code) == (201, 201)
    assert mine.json()["id"] != theirs.json()["id"]
    listed = (await client.get("/metrics/opportunities", headers=tenant.headers)).json()
    assert [item["id"] for item in listed["items"]] == [mine.json()["id"]]
    assert listed["items"][0]["amount"] == "0.00"


async def test_list_filters_by_status_and_rep(
    client: httpx.AsyncClient,
    tenant: TenantWithKey,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    rep_a = await make_rep(sessionmaker, tenant_id=tenant.tenant_id)
    rep_b = await make_rep(sessionmaker, tenant_id=tenant.tenant_id)
    closed = "2026-03-01T00:00:00Z"
    for external_id, rep_id, status in (
        ("a-open", rep_a, "open"),
        ("a-won", rep_a, "won"),
        ("b-won", rep_b, "won"),
        ("b-lost", rep_b, "lost"),
    ):
        fields: dict[str, Any] = {"rep_id": str(rep_id), "status": status}
        if status != "open":
            fields["closed_at"] = closed
        response = await client.post(
            "/metrics/opportunities",
            json=opportunity(external_id, **fields),
            headers=tenant.headers,
        )
        assert response.status_code == 201, response.text

    async def external_ids(query: str) -> list[str]:
        response = await client.get(f"/metrics/opportunities?{query}", headers=tenant.headers)
        assert response.status_code == 200, response.text
        return [item["external_id"] for item in response.json()["items"]]

    assert await external_ids("status=won") == ["a-won", "b-won"]
    assert await external_ids(f"rep_id={rep_b}") == ["b-won", "b-lost"]
    assert await external_ids(f"status=won&rep_id={rep_a}") == ["a-won"]
    assert await external_ids("limit=3&offset=3") == ["b-lost"]
    bad = await client.get("/metrics/opportunities?status=pending", headers=tenant.headers)
    assert bad.status_code == 422 and bad.json()["field"] == "status"


@pytest.mark.parametrize("field", ["rep_id", "territory_id", "account_id"])
async def test_references_from_another_tenant_behave_like_unknown_ids(
    client: httpx.AsyncClient,
    tenant: TenantWithKey,
    other_tenant: TenantWithKey,
    sessionmaker: async_sessionmaker[AsyncSession],
    field: str,
) -> None:
    make = {"rep_id": make_rep, "territory_id": make_territory, "account_id": make_account}[field]
    foreign_id = await make(sessionmaker, tenant_id=other_tenant.tenant_id)
    for value in (foreign_id, uuid.uuid4()):
        response = await client.post(
            "/metrics/opportunities",
            json=opportunity(**{field: str(value)}),
            headers=tenant.headers,
        )
        assert response.status_code == 404
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["field"] == field
        assert response.json()["detail"] == f"no {field[:-3]} with id {value} in this tenant"
    listed = (await client.get("/metrics/opportunities", headers=tenant.headers)).json()
    assert listed["items"] == []


@pytest.mark.parametrize(
    "fields",
    [
        {"status": "won"},
        {"status": "lost"},
        {"opened_at": "2026-02-01T00:00:00Z", "closed_at": "2026-01-31T23:59:59Z"},
        {"closed_at": "2026-02-01T00:00:00"},
    ],
    ids=["won-without-closed_at", "lost-without-closed_at", "closed-before-opened", "naive"],
)
async def test_closed_at_rules_are_422_on_closed_at(
    client: httpx.AsyncClient, tenant: TenantWithKey, fields: dict[str, str]
) -> None:
    response = await client.post(
        "/metrics/opportunities", json=opportunity(**fields), headers=tenant.headers
    )
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["field"] == "closed_at"


async def test_unknown_body_field_is_rejected(
    client: httpx.AsyncClient, tenant: TenantWithKey
) -> None:
    response = await client.post(
        "/metrics/opportunities", json=opportunity(probability=0.5), headers=tenant.headers
    )
    assert response.status_code == 422
    assert response.json()["field"] == "probability"
