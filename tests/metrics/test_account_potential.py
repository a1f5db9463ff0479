"""The account-potential model through the gateway, on accounts whose revenue is known by
construction: each won exactly 10% of its annual revenue in 2025."""

import uuid
from datetime import UTC, datetime
from decimal import Decimal

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.models import Account, Opportunity, OpportunityStatus
from tests.factories import TenantWithKey

ACCOUNTS = 40


@pytest.fixture
def client(gateway_client: httpx.AsyncClient) -> httpx.AsyncClient:
    return gateway_client


async def test_potential_learns_the_share_and_reports_its_held_out_error(
    client: httpx.AsyncClient,
    tenant: TenantWithKey,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    prospect = uuid.uuid4()
    async with sessionmaker() as session, session.begin():
        for index in range(ACCOUNTS):
            account_id = uuid.uuid4()
            annual = Decimal(round(100_000 * 1.2**index, 2))
            session.add(
                Account(
                    id=account_id, tenant_id=tenant.tenant_id, external_id=f"a{index}",
                    name=f"a{index}", industry=("software", "retail")[index % 2],
                    annual_revenue=annual, employee_count=int(annual / 10_000) + 1,
                )
            )  # fmt: skip
            await session.flush()
            won = (annual / 10).quantize(Decimal("0.01"))
            session.add(
                Opportunity(
                    tenant_id=tenant.tenant_id, external_id=f"o{index}", name="deal",
                    account_id=account_id, status=OpportunityStatus.won, amount=won,
                    amount_reporting=won, closed_at=datetime(2025, 6, 1, tzinfo=UTC),
                )
            )  # fmt: skip
        # Never bought: its potential is what its firmographics say, 10% of 5,000,000.
        session.add(
            Account(
                id=prospect, tenant_id=tenant.tenant_id, external_id="prospect", name="prospect",
                industry="software", annual_revenue=Decimal(5_000_000), employee_count=501,
            )
        )  # fmt: skip
    response = await client.get(
        "/metrics/account-potential",
        params={"as_of": "2026-01-01", "limit": 5},
        headers=tenant.headers,
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["window_start"], body["window_end"]) == ("2025-01-01", "2026-01-01")
    assert body["features"] == ["employee_count", "annual_revenue", "industry"]
    # 40 accounts won: 30 trained on, 10 held out.
    assert (body["trained_on"], body["held_out"]) == (30, 10)
    assert body["held_out_mape"] < 0.05
    assert body["held_out_r2"] > 0.99
    top = body["accounts"][0]
    assert top["account_id"] == str(prospect)
    assert top["revenue"] == 0
    assert top["estimated_potential"] == pytest.approx(500_000, rel=0.1)
    assert top["untapped"] == top["estimated_potential"]

    # Stored for planning: a run holds every account's estimate, the listing serves the latest.
    missing = await client.get("/metrics/account-potential/estimates", headers=tenant.headers)
    assert missing.status_code == 200, missing.text
    assert (missing.json()["run"], missing.json()["items"]) == (None, [])
    assert "POST /metrics/account-potential/runs" in missing.json()["reason"]
    created = await client.post(
        "/metrics/account-potential/runs", params={"as_of": "2026-01-01"}, headers=tenant.headers
    )
    assert created.status_code == 201, created.text
    run = created.json()
    assert (run["trained_on"], run["held_out"], run["accounts"]) == (30, 10, ACCOUNTS + 1)
    assert run["held_out_mape"] == body["held_out_mape"]
    page = await client.get(
        "/metrics/account-potential/estimates", params={"limit": 100}, headers=tenant.headers
    )
    assert page.status_code == 200, page.text
    listed = page.json()
    assert listed["run"]["id"] == run["id"] and listed["next_offset"] is None
    estimates = {item["account_id"]: item["estimate"] for item in listed["items"]}
    assert len(estimates) == ACCOUNTS + 1
    assert estimates[str(prospect)] == pytest.approx(top["estimated_potential"])
    second = await client.post(
        "/metrics/account-potential/runs",
        params={"as_of": "2026-01-01", "months": 24},
        headers=tenant.headers,
    )
    assert second.status_code == 201, second.text
    latest = await client.get(
        "/metrics/account-potential/estimates", params={"limit": 10}, headers=tenant.headers
    )
    assert latest.json()["run"]["id"] == second.json()["id"] != run["id"]
    assert len(latest.json()["items"]) == 10 and latest.json()["next_offset"] == 10


async def test_too_few_accounts_say_why(client: httpx.AsyncClient, tenant: TenantWithKey) -> None:
    response = await client.get("/metrics/account-potential", headers=tenant.headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["held_out_mape"] is None
    assert body["reason"].startswith("fewer than 8 accounts won anything")
    stored = await client.post("/metrics/account-potential/runs", headers=tenant.headers)
    assert stored.status_code == 409, stored.text
    assert stored.json()["detail"].startswith("fewer than 8 accounts won anything")
