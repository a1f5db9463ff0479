"""Revenue forecasts through the gateway on a series whose pattern is known by construction."""

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.factories import TenantWithKey
from tests.metrics.factories import make_rep, make_territory

# Calendar quarters (the tenant keeps UTC and a January fiscal year): 2023-Q1 .. 2025-Q4.
SEASON = [100_000, 200_000, 300_000, 400_000]
QUARTER_MIDDLES = ["02-15", "05-15", "08-15", "11-15"]


@pytest.fixture
def client(gateway_client: httpx.AsyncClient) -> httpx.AsyncClient:
    return gateway_client


async def test_a_seasonal_territory_is_forecast_with_its_errors(
    client: httpx.AsyncClient,
    tenant: TenantWithKey,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    territory_id = await make_territory(sessionmaker, tenant_id=tenant.tenant_id)
    for year in (2023, 2024, 2025):
        for quarter, (amount, day) in enumerate(zip(SEASON, QUARTER_MIDDLES, strict=True)):
            body = {
                "external_id": f"won-{year}-{quarter}", "name": "deal",
                "territory_id": str(territory_id), "amount": amount, "status": "won",
                "closed_at": f"{year}-{day}T12:00:00Z",
            }  # fmt: skip
            response = await client.post(
                "/metrics/opportunities", json=body, headers=tenant.headers
            )
            assert response.status_code == 201, response.text
    response = await client.get(
        "/metrics/forecast",
        params={"territory_id": str(territory_id), "as_of": "2026-01-15"},
        headers=tenant.headers,
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert [point["revenue"] for point in body["history"]] == SEASON * 3
    assert body["history"][0]["start"] == "2023-01-01"
    assert [point["start"] for point in body["forecast"]] == [
        "2026-01-01", "2026-04-01", "2026-07-01", "2026-10-01",
    ]  # fmt: skip
    assert body["model"] == "holt_winters_additive"
    # The pattern repeats exactly: a season earlier is a perfect guess, and the model learns it.
    assert body["baseline_mape"] == 0
    assert body["backtest_periods"] == 4
    assert body["backtest_mape"] < 0.05
    assert [point["revenue"] for point in body["forecast"]] == [
        pytest.approx(amount, rel=0.05) for amount in SEASON
    ]


async def test_a_short_history_says_why_it_has_no_error(
    client: httpx.AsyncClient,
    tenant: TenantWithKey,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    rep_id = await make_rep(sessionmaker, tenant_id=tenant.tenant_id)
    response = await client.get(
        "/metrics/forecast",
        params={"rep_id": str(rep_id), "history_periods": 4, "as_of": "2026-01-15"},
        headers=tenant.headers,
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["backtest_mape"] is None and body["baseline_mape"] is None
    assert body["reason"].startswith("the history is shorter than one season")
    assert [point["revenue"] for point in body["forecast"]] == [0, 0, 0, 0]
