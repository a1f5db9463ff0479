"""Territory health and market potential through the gateway, on the hand-checked set.

Leaf territories of the alignment: T1 (acct1 100,000 + acct2 50,000 potential), T2 (acct3
30,000), T3 (nothing); R has children so it is not compared. FY2026-Q1 revenue: T1 14,000,
T2 8,000, T3 0 (tests/metrics/dataset.py).
"""

import math
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.factories import TenantWithKey
from tests.metrics.dataset import Dataset, arrange


@pytest.fixture
def client(gateway_client: httpx.AsyncClient) -> httpx.AsyncClient:
    return gateway_client


@pytest.fixture
async def data(
    client: httpx.AsyncClient,
    tenant: TenantWithKey,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> Dataset:
    return await arrange(client, tenant, sessionmaker)


async def health(
    client: httpx.AsyncClient, tenant: TenantWithKey, data: Dataset, **params: Any
) -> dict[str, Any]:
    response = await client.get(
        "/metrics/territory-health",
        params={"alignment_id": str(data.alignment_id), "period": "2026-Q1", **params},
        headers=tenant.headers,
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_market_potential_ranking_density_penetration(
    client: httpx.AsyncClient, tenant: TenantWithKey, data: Dataset
) -> None:
    body = await health(client, tenant, data)
    rows = {row["name"]: row for row in body["territories"]}
    assert [row["name"] for row in body["territories"]] == ["T1", "T2", "T3"]
    assert [row["potential_rank"] for row in body["territories"]] == [1, 2, 3]
    t1, t2, t3 = rows["T1"], rows["T2"], rows["T3"]
    assert (t1["accounts"], t1["potential"], t1["revenue"], t1["activities"]) == (
        2, 150_000, 14_000, 2,
    )  # fmt: skip
    assert (t2["accounts"], t2["potential"], t2["revenue"]) == (1, 30_000, 8_000)
    assert t1["penetration"] == pytest.approx(14_000 / 150_000)
    assert t2["penetration"] == pytest.approx(8_000 / 30_000)
    assert t3["penetration"] is None  # no potential
    # A 1°×1° square on the equator: 111.32 km × 110.57 km ≈ 12,308 km².
    assert t1["area_km2"] == pytest.approx(12_308, rel=0.005)
    assert t1["account_density"] == pytest.approx(2 / t1["area_km2"] * 1000)
    assert (t1["reps"], t1["capacity"], t3["reps"], t3["capacity"]) == (1, 10, 0, 0)


async def test_balance_statistics_worked_by_hand(
    client: httpx.AsyncClient, tenant: TenantWithKey, data: Dataset
) -> None:
    balance = (await health(client, tenant, data))["balance"]
    accounts = balance["accounts"]  # [2, 1, 0]
    assert accounts["mean"] == pytest.approx(1)
    assert accounts["coefficient_of_variation"] == pytest.approx(math.sqrt(2 / 3))
    # Gini of sorted [0, 1, 2]: Σ(2i - n - 1)·x / (n·Σx) = (0 + 0 + 2·2) / (3·3).
    assert accounts["gini"] == pytest.approx(4 / 9)
    assert accounts["max_min_ratio"] is None
    assert accounts["reason"] == "a territory has 0, so max/min is unbounded"
    potential = balance["potential"]  # [150,000, 30,000, 0], mean 60,000
    std = math.sqrt((90_000**2 + 30_000**2 + 60_000**2) / 3)
    assert potential["coefficient_of_variation"] == pytest.approx(std / 60_000)
    assert potential["gini"] == pytest.approx(2 * 150_000 / (3 * 180_000))
    assert balance["revenue"]["gini"] == pytest.approx(2 * 14_000 / (3 * 22_000))


async def test_territories_out_of_tolerance_and_no_invented_moves(
    client: httpx.AsyncClient, tenant: TenantWithKey, data: Dataset
) -> None:
    body = await health(client, tenant, data, tolerance=0.6)
    flagged = {(row["name"], row["measure"]): row["deviation"] for row in body["out_of_tolerance"]}
    # accounts: T1 2/1 - 1 = +1, T2 0, T3 -1; potential: T1 +1.5, T2 -0.5 (within 0.6), T3 -1.
    assert flagged == {
        ("T1", "accounts"): pytest.approx(1),
        ("T3", "accounts"): pytest.approx(-1),
        ("T1", "potential"): pytest.approx(1.5),
        ("T3", "potential"): pytest.approx(-1),
    }
    assert body["adjustments"]["moves"] is None
    assert "planning service" in body["adjustments"]["reason"]


async def test_whitespace_accounts_in_the_window(
    client: httpx.AsyncClient, tenant: TenantWithKey, data: Dataset
) -> None:
    # 90 days before May 1 (Berlin): every account had an opportunity opened or closed.
    wide = (await health(client, tenant, data))["territories"]
    assert {row["name"]: row["whitespace_accounts"] for row in wide} == {"T1": 0, "T2": 0, "T3": 0}
    # 30 days: acct3's only opportunity (won-4) closed on March 15, before April 1.
    narrow = await health(client, tenant, data, whitespace_days=30)
    assert {row["name"]: row["whitespace_accounts"] for row in narrow["territories"]} == {
        "T1": 0,
        "T2": 1,
        "T3": 0,
    }


async def test_territory_rows_as_csv_and_unknown_alignment(
    client: httpx.AsyncClient, tenant: TenantWithKey, data: Dataset
) -> None:
    response = await client.get(
        "/metrics/territory-health",
        params={"alignment_id": str(data.alignment_id), "period": "2026-Q1", "format": "csv"},
        headers=tenant.headers,
    )
    assert response.status_code == 200, response.text
    lines = response.text.splitlines()
    assert lines[0].startswith("potential_rank,territory_id,name,level,accounts")
    assert lines[1].startswith(f"1,{data.t1},T1,1,2,1,10,150000.0,14000.0,2,")
    missing = await client.get(
        "/metrics/territory-health",
        params={"alignment_id": str(data.t1), "period": "2026-Q1"},
        headers=tenant.headers,
    )
    assert missing.status_code == 404, missing.text
