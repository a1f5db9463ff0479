"""Quota suggestions through the gateway on the hand-checked data set (tests/metrics/dataset.py).

For FY2026-Q2 the trailing period is FY2026-Q1: revenue T1 14,000, T2 8,000, T3 0; potential
T1 150,000, T2 30,000, T3 0. Today's Q2 quotas (set below): T1 10,000, T2 40,000.
"""

import httpx
import numpy as np
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.factories import TenantWithKey
from tests.metrics.dataset import arrange, post


@pytest.fixture
def client(gateway_client: httpx.AsyncClient) -> httpx.AsyncClient:
    return gateway_client


async def test_quotas_from_potential_and_history_with_their_fairness(
    client: httpx.AsyncClient,
    tenant: TenantWithKey,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    data = await arrange(client, tenant, sessionmaker)
    for territory, amount in ((data.t1, 10_000), (data.t2, 40_000)):
        await post(
            client,
            tenant,
            "/metrics/quotas",
            {"territory_id": str(territory), "period_start": "2025-05-01",
             "period_end": "2025-08-01", "amount": amount},
        )  # fmt: skip
    response = await client.get(
        "/metrics/quota-suggestions",
        params={"alignment_id": str(data.alignment_id), "period": "2026-Q2",
                "team_target": "100000"},
        headers=tenant.headers,
    )  # fmt: skip
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["trailing_start"], body["trailing_end"]) == ("2025-02-01", "2025-05-01")
    rows = {row["name"]: row for row in body["territories"]}
    # 100,000 × (0.5 × 150/180 + 0.5 × 14/22) and 100,000 × (0.5 × 30/180 + 0.5 × 8/22).
    t1_quota = 100_000 * (0.5 * 150 / 180 + 0.5 * 14 / 22)
    t2_quota = 100_000 * (0.5 * 30 / 180 + 0.5 * 8 / 22)
    assert rows["T1"]["suggested_quota"] == pytest.approx(t1_quota, abs=0.01)
    assert rows["T2"]["suggested_quota"] == pytest.approx(t2_quota, abs=0.01)
    assert rows["T3"]["suggested_quota"] == 0
    assert rows["T3"]["expected_attainment_suggested"] is None
    assert rows["T1"]["expected_attainment_now"] == pytest.approx(1.4)  # 14,000 / 10,000
    assert rows["T2"]["expected_attainment_now"] == pytest.approx(0.2)  # 8,000 / 40,000
    now = body["fairness_now"]  # [1.4, 0.2]: mean 0.8, population std 0.6
    assert now["coefficient_of_variation"] == pytest.approx(0.75)
    assert now["max_min_ratio"] == pytest.approx(7)
    suggested = np.array([14_000 / t1_quota, 8_000 / t2_quota])
    assert body["fairness_suggested"]["coefficient_of_variation"] == pytest.approx(
        suggested.std() / suggested.mean()
    )
    assert body["fairness_suggested"]["coefficient_of_variation"] < now["coefficient_of_variation"]
