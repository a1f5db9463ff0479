"""Rep attainment KPI, with expected values worked out by hand."""

import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.factories import TenantWithKey
from tests.metrics.factories import make_rep

Q1 = "period_start=2026-01-01&period_end=2026-04-01"


async def add_quota(
    client: httpx.AsyncClient, tenant: TenantWithKey, rep_id: uuid.UUID, **fields: Any
) -> None:
    response = await client.post(
        "/metrics/quotas", json={"rep_id": str(rep_id), **fields}, headers=tenant.headers
    )
    assert response.status_code == 201, response.text


async def add_opportunity(
    client: httpx.AsyncClient,
    tenant: TenantWithKey,
    rep_id: uuid.UUID,
    external_id: str,
    **fields: Any,
) -> None:
    body = {"external_id": external_id, "name": external_id, "rep_id": str(rep_id), **fields}
    response = await client.post("/metrics/opportunities", json=body, headers=tenant.headers)
    assert response.status_code == 201, response.text


@pytest.fixture
async def rep_with_history(
    client: httpx.AsyncClient,
    tenant: TenantWithKey,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> uuid.UUID:
    """Q1 2026 quota 100,000 and Q2 quota 80,000; won, lost and open deals around Q1."""
    rep_id = await make_rep(sessionmaker, tenant_id=tenant.tenant_id)
    other_rep = await make_rep(sessionmaker, tenant_id=tenant.tenant_id)
    await add_quota(
        client, tenant, rep_id, period_start="2026-01-01", period_end="2026-04-01", amount=100_000
    )
    await add_quota(
        client, tenant, rep_id, period_start="2026-04-01", period_end="2026-07-01", amount=80_000
    )
    await add_quota(
        client, tenant, other_rep, period_start="2026-01-01", period_end="2026-04-01", amount=1
    )
    won = {"status": "won"}
    await add_opportunity(
        client, tenant, rep_id, "won-jan", **won, amount=30_000, closed_at="2026-01-15T10:00:00Z"
    )
    # The last second of Q1 counts; the first second of Q2 does not (exclusive end).
    await add_opportunity(
        client, tenant, rep_id, "won-mar", **won, amount=20_000, closed_at="2026-03-31T23:59:59Z"
    )
    await add_opportunity(
        client, tenant, rep_id, "won-apr", **won, amount=70_000, closed_at="2026-04-01T00:00:00Z"
    )
    await add_opportunity(
        client,
        tenant,
        rep_id,
        "lost-feb",
        status="lost",
        amount=10_000,
        closed_at="2026-02-10T00:00:00Z",
    )
    await add_opportunity(client, tenant, rep_id, "open-1", amount=15_000)
    await add_opportunity(
        client, tenant, rep_id, "open-2", amount=5_000, opened_at="2025-11-01T00:00:00Z"
    )
    await add_opportunity(
        client, tenant, other_rep, "other-won", **won, amount=999, closed_at="2026-02-01T00:00:00Z"
    )
    return rep_id


async def test_attainment_for_a_quarter(
    client: httpx.AsyncClient, tenant: TenantWithKey, rep_with_history: uuid.UUID
) -> None:
    response = await client.get(
        f"/metrics/reps/{rep_with_history}/attainment?{Q1}", headers=tenant.headers
    )
    assert response.status_code == 200, response.text
    # Won in Q1: 30,000 + 20,000 = 50,000 of a 100,000 quota → 0.5. Closed in Q1: 2 won, 1 lost
    # → 2/3. Open pipeline: 15,000 + 5,000 = 20,000.
    assert response.json() == {
        "rep_id": str(rep_with_history),
        "period_start": "2026-01-01",
        "period_end": "2026-04-01",
        "quota_amount": "100000.00",
        "won_amount": "50000.00",
        "won_count": 2,
        "lost_count": 1,
        "attainment": 0.5,
        "win_rate": 2 / 3,
        "open_pipeline_amount": "20000.00",
    }


async def test_attainment_for_the_half_year_sums_the_quotas_within(
    client: httpx.AsyncClient, tenant: TenantWithKey, rep_with_history: uuid.UUID
) -> None:
    response = await client.get(
        f"/metrics/reps/{rep_with_history}/attainment?period_start=2026-01-01&period_end=2026-07-01",
        headers=tenant.headers,
    )
    body = response.json()
    # Quotas 100,000 + 80,000 = 180,000; won 30,000 + 20,000 + 70,000 = 120,000 → 2/3;
    # closed: 3 won, 1 lost → 3/4.
    assert (body["quota_amount"], body["won_amount"]) == ("180000.00", "120000.00")
    assert (body["won_count"], body["lost_count"]) == (3, 1)
    assert body["attainment"] == pytest.approx(2 / 3)
    assert body["win_rate"] == 0.75


async def test_quota_straddling_the_period_is_not_counted(
    client: httpx.AsyncClient, tenant: TenantWithKey, rep_with_history: uuid.UUID
) -> None:
    # February alone: no quota lies within it, one lost and no won deal closed in it.
    response = await client.get(
        f"/metrics/reps/{rep_with_history}/attainment?period_start=2026-02-01&period_end=2026-03-01",
        headers=tenant.headers,
    )
    body = response.json()
    assert body["quota_amount"] is None and body["attainment"] is None
    assert (body["won_amount"], body["won_count"], body["lost_count"]) == ("0.00", 0, 1)
    assert body["win_rate"] == 0.0
    assert body["open_pipeline_amount"] == "20000.00"


async def test_zero_quota_and_no_closed_deals_give_null_ratios(
    client: httpx.AsyncClient,
    tenant: TenantWithKey,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    rep_id = await make_rep(sessionmaker, tenant_id=tenant.tenant_id)
    await add_quota(
        client, tenant, rep_id, period_start="2026-01-01", period_end="2026-04-01", amount=0
    )
    response = await client.get(f"/metrics/reps/{rep_id}/attainment?{Q1}", headers=tenant.headers)
    assert response.status_code == 200
    assert response.json() == {
        "rep_id": str(rep_id),
        "period_start": "2026-01-01",
        "period_end": "2026-04-01",
        "quota_amount": "0.00",
        "won_amount": "0.00",
        "won_count": 0,
        "lost_count": 0,
        "attainment": None,
        "win_rate": None,
        "open_pipeline_amount": "0.00",
    }


async def test_other_tenants_rep_behaves_like_an_unknown_rep(
    client: httpx.AsyncClient,
    tenant: TenantWithKey,
    other_tenant: TenantWithKey,
    rep_with_history: uuid.UUID,
) -> None:
    for rep_id in (rep_with_history, uuid.uuid4()):
        response = await client.get(
            f"/metrics/reps/{rep_id}/attainment?{Q1}", headers=other_tenant.headers
        )
        assert response.status_code == 404
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["field"] == "rep_id"
        assert response.json()["detail"] == f"no rep with id {rep_id} in this tenant"


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("period_start=2026-04-01&period_end=2026-04-01", "period_end"),
        ("period_start=2026-04-01&period_end=2026-01-01", "period_end"),
        ("period_start=2026-13-01&period_end=2026-04-01", "period_start"),
        ("period_start=2026-01-01", "period_end"),
    ],
)
async def test_bad_period_is_422_on_its_field(
    client: httpx.AsyncClient,
    tenant: TenantWithKey,
    sessionmaker: async_sessionmaker[AsyncSession],
    query: str,
    field: str,
) -> None:
    rep_id = await make_rep(sessionmaker, tenant_id=tenant.tenant_id)
    response = await client.get(
        f"/metrics/reps/{rep_id}/attainment?{query}", headers=tenant.headers
    )
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["field"] == field
