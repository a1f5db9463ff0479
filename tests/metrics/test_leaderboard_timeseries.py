"""Leaderboards, time series and their CSV export through the gateway, on the hand-checked set.

Expected values come from the table in tests/metrics/dataset.py (Berlin, FY from February).
"""

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


async def get(
    client: httpx.AsyncClient, tenant: TenantWithKey, path: str, **params: Any
) -> dict[str, Any]:
    response = await client.get(path, params=params, headers=tenant.headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_reps_ranked_by_revenue_and_by_win_rate(
    client: httpx.AsyncClient, tenant: TenantWithKey, data: Dataset
) -> None:
    board = await get(client, tenant, "/metrics/leaderboard", by="rep", period="2026-Q1")
    rows = [(row["rank"], row["name"], row["revenue"], row["win_rate"]) for row in board["rows"]]
    # Ada: won-0 3,000 + won-1 10,000 + won-2 1,000; 3 won, 1 lost. Bo: won-4 8,000.
    assert rows == [(1, "Ada", 14_000, 0.75), (2, "Bo", 8_000, 1.0)]
    by_win_rate = await get(
        client, tenant, "/metrics/leaderboard", by="rep", order_by="win_rate", period="2026-Q1"
    )
    assert [row["name"] for row in by_win_rate["rows"]] == ["Bo", "Ada"]


async def test_territories_ranked_by_attainment_nulls_last(
    client: httpx.AsyncClient, tenant: TenantWithKey, data: Dataset
) -> None:
    board = await get(
        client,
        tenant,
        "/metrics/leaderboard",
        by="territory",
        order_by="attainment",
        alignment_id=str(data.alignment_id),
        period="2026-Q1",
    )
    rows = [(row["rank"], row["name"], row["attainment"], row["quota"]) for row in board["rows"]]
    # T2 8,000 / 10,000 = 0.8; T1 14,000 / 20,000 = 0.7; R and T3 have no quota.
    assert rows == [
        (1, "T2", pytest.approx(0.8), 10_000),
        (2, "T1", pytest.approx(0.7), 20_000),
        (3, "R", None, None),
        (3, "T3", None, None),
    ]


async def test_a_territory_leaderboard_needs_its_alignment(
    client: httpx.AsyncClient, tenant: TenantWithKey, data: Dataset
) -> None:
    response = await client.get(
        "/metrics/leaderboard", params={"by": "territory", "period": "2026"}, headers=tenant.headers
    )
    assert response.status_code == 422, response.text
    assert response.json()["detail"].endswith("send alignment_id")


async def test_leaderboard_as_csv(
    client: httpx.AsyncClient, tenant: TenantWithKey, data: Dataset
) -> None:
    response = await client.get(
        "/metrics/leaderboard",
        params={"by": "rep", "period": "2026-Q1", "format": "csv"},
        headers=tenant.headers,
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    lines = response.text.splitlines()
    assert lines[0] == "rank,subject_id,name,revenue,quota,attainment,won_count,lost_count,win_rate"
    assert lines[1] == f"1,{data.rep_a},Ada,14000.0,,,3,1,0.75"
    assert len(lines) == 3


async def test_quarterly_series_of_a_fiscal_year(
    client: httpx.AsyncClient, tenant: TenantWithKey, data: Dataset
) -> None:
    series = await get(
        client, tenant, "/metrics/timeseries", territory_id=str(data.t1), grain="quarter",
        period="2026",
    )  # fmt: skip
    points = [
        (p["start"], p["end"], p["revenue"], p["won_count"], p["lost_count"], p["activities"])
        for p in series["points"]
    ]
    assert points == [
        ("2025-02-01", "2025-05-01", 14_000, 3, 1, 2),
        ("2025-05-01", "2025-08-01", 5_000, 1, 0, 1),  # won-3 and act-3: May 1 in Berlin
        ("2025-08-01", "2025-11-01", 0, 0, 0, 0),
        ("2025-11-01", "2026-02-01", 0, 0, 0, 0),
    ]


async def test_monthly_series_of_a_custom_range_as_csv(
    client: httpx.AsyncClient, tenant: TenantWithKey, data: Dataset
) -> None:
    response = await client.get(
        "/metrics/timeseries",
        params={"rep_id": str(data.rep_a), "start": "2025-01-01", "end": "2025-03-01",
                "format": "csv"},
        headers=tenant.headers,
    )  # fmt: skip
    assert response.status_code == 200, response.text
    # won-0 closed Jan 31 23:30 UTC, which is February in Berlin; so is act-1.
    assert response.text.splitlines() == [
        "start,end,revenue,won_count,lost_count,activities",
        "2025-01-01,2025-02-01,0.0,0,0,0",
        "2025-02-01,2025-03-01,13000.0,2,0,1",
    ]


async def test_too_many_buckets_is_refused(
    client: httpx.AsyncClient, tenant: TenantWithKey, data: Dataset
) -> None:
    response = await client.get(
        "/metrics/timeseries",
        params={"rep_id": str(data.rep_a), "start": "2020-01-01", "end": "2030-12-01"},
        headers=tenant.headers,
    )
    assert response.status_code == 422, response.text
