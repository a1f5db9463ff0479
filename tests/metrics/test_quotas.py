"""Quota endpoints, in process against the real test database."""

import uuid

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.factories import TenantWithKey, add_key
from tests.metrics.factories import make_rep, make_territory

Q1 = {"period_start": "2026-01-01", "period_end": "2026-04-01"}


async def test_create_and_list_rep_quota_round_trips(
    client: httpx.AsyncClient,
    tenant: TenantWithKey,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    rep_id = await make_rep(sessionmaker, tenant_id=tenant.tenant_id)
    created = await client.post(
        "/metrics/quotas",
        json={"rep_id": str(rep_id), "amount": "100000", **Q1},
        headers=tenant.headers,
    )
    assert created.status_code == 201, created.text
    quota = created.json()
    assert quota["rep_id"] == str(rep_id) and quota["territory_id"] is None
    assert quota["amount"] == "100000.00"
    listed = await client.get("/metrics/quotas", headers=tenant.headers)
    assert listed.status_code == 200
    [item] = listed.json()["items"]
    assert item["id"] == quota["id"]
    assert item["amount"] == "100000.00"
    assert (item["period_start"], item["period_end"]) == ("2026-01-01", "2026-04-01")


async def test_territory_quota_and_filter_by_rep(
    client: httpx.AsyncClient,
    tenant: TenantWithKey,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    rep_a = await make_rep(sessionmaker, tenant_id=tenant.tenant_id)
    rep_b = await make_rep(sessionmaker, tenant_id=tenant.tenant_id)
    territory_id = await make_territory(sessionmaker, tenant_id=tenant.tenant_id)
    for subject in (
        {"rep_id": str(rep_a)},
        {"rep_id": str(rep_b)},
        {"territory_id": str(territory_id)},
    ):
        response = await client.post(
            "/metrics/quotas", json={**subject, "amount": 10, **Q1}, headers=tenant.headers
        )
        assert response.status_code == 201, response.text
    everything = (await client.get("/metrics/quotas", headers=tenant.headers)).json()["items"]
    assert len(everything) == 3
    only_b = (await client.get(f"/metrics/quotas?rep_id={rep_b}", headers=tenant.headers)).json()
    assert [item["rep_id"] for item in only_b["items"]] == [str(rep_b)]


@pytest.mark.parametrize(
    ("subject", "field"),
    [("both", "territory_id"), ("neither", "rep_id")],
)
async def test_quota_needs_exactly_one_subject(
    client: httpx.AsyncClient,
    tenant: TenantWithKey,
    sessionmaker: async_sessionmaker[AsyncSession],
    subject: str,
    field: str,
) -> None:
    body: dict[str, object] = {"amount": 10, **Q1}
    if subject == "both":
        body["rep_id"] = str(await make_rep(sessionmaker, tenant_id=tenant.tenant_id))
        body["territory_id"] = str(await make_territory(sessionmaker, tenant_id=tenant.tenant_id))
    response = await client.post("/metrics/quotas", json=body, headers=tenant.headers)
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["field"] == field


@pytest.mark.parametrize("period_end", ["2026-01-01", "2025-12-31"])
async def test_quota_period_must_end_after_it_starts(
    client: httpx.AsyncClient,
    tenant: TenantWithKey,
    sessionmaker: async_sessionmaker[AsyncSession],
    period_end: str,
) -> None:
    rep_id = await make_rep(sessionmaker, tenant_id=tenant.tenant_id)
    response = await client.post(
        "/metrics/quotas",
        json={
            "rep_id": str(rep_id),
            "amount": 10,
            "period_start": "2026-01-01",
            "period_end": period_end,
        },
        headers=tenant.headers,
    )
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["field"] == "period_end"


async def test_negative_amount_is_422_on_amount(
    client: httpx.AsyncClient,
    tenant: TenantWithKey,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    rep_id = await make_rep(sessionmaker, tenant_id=tenant.tenant_id)
    response = await client.post(
        "/metrics/quotas", json={"rep_id": str(rep_id), "amount": -1, **Q1}, headers=tenant.headers
    )
    assert response.status_code == 422
    assert response.json()["field"] == "amount"


async def test_other_tenants_rep_and_territory_behave_like_unknown_ids(
    client: httpx.AsyncClient,
    tenant: TenantWithKey,
    other_tenant: TenantWithKey,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    foreign_rep = await make_rep(sessionmaker, tenant_id=other_tenant.tenant_id)
    foreign_territory = await make_territory(sessionmaker, tenant_id=other_tenant.tenant_id)
    for field, value in (
        ("rep_id", foreign_rep),
        ("rep_id", uuid.uuid4()),
        ("territory_id", foreign_territory),
        ("territory_id", uuid.uuid4()),
    ):
        response = await client.post(
            "/metrics/quotas", json={field: str(value), "amount": 10, **Q1}, headers=tenant.headers
        )
        assert response.status_code == 404, (field, value)
        assert response.headers["content-type"] == "application/problem+json"
        problem = response.json()
        assert problem["field"] == field
        assert problem["detail"] == f"no {field[:-3]} with id {value} in this tenant"


async def test_tenant_cannot_list_another_tenants_quotas(
    client: httpx.AsyncClient,
    tenant: TenantWithKey,
    other_tenant: TenantWithKey,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    rep_id = await make_rep(sessionmaker, tenant_id=tenant.tenant_id)
    await client.post(
        "/metrics/quotas", json={"rep_id": str(rep_id), "amount": 10, **Q1}, headers=tenant.headers
    )
    theirs = await client.get(f"/metrics/quotas?rep_id={rep_id}", headers=other_tenant.headers)
    assert theirs.status_code == 200
    assert theirs.json()["items"] == []


async def test_pagination_reports_next_offset(
    client: httpx.AsyncClient,
    tenant: TenantWithKey,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    rep_id = await make_rep(sessionmaker, tenant_id=tenant.tenant_id)
    for month in (1, 2, 3):
        await client.post(
            "/metrics/quotas",
            json={
                "rep_id": str(rep_id),
                "amount": 10,
                "period_start": f"2026-0{month}-01",
                "period_end": f"2026-0{month + 1}-01",
            },
            headers=tenant.headers,
        )
    first = (await client.get("/metrics/quotas?limit=2", headers=tenant.headers)).json()
    assert [item["period_start"] for item in first["items"]] == ["2026-01-01", "2026-02-01"]
    assert first["next_offset"] == 2
    last = (await client.get("/metrics/quotas?limit=2&offset=2", headers=tenant.headers)).json()
    assert [item["period_start"] for item in last["items"]] == ["2026-03-01"]
    assert last["next_offset"] is None


async def test_read_only_key_cannot_create_and_no_key_is_401(
    client: httpx.AsyncClient,
    tenant: TenantWithKey,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    rep_id = await make_rep(sessionmaker, tenant_id=tenant.tenant_id)
    read_only = await add_key(sessionmaker, tenant_id=tenant.tenant_id, scopes=["read"])
    body = {"rep_id": str(rep_id), "amount": 10, **Q1}
    forbidden = await client.post("/metrics/quotas", json=body, headers={"X-API-Key": read_only})
    assert forbidden.status_code == 403
    assert (
        await client.get("/metrics/quotas", headers={"X-API-Key": read_only})
    ).status_code == 200
    assert (await client.get("/metrics/quotas")).status_code == 401
