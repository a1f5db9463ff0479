"""The KPI set of a rep or territory through the gateway, on the hand-checked data set.

Every expected value is worked out in the comments from the table in tests/metrics/dataset.py.
"""

import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.factories import TenantWithKey
from tests.metrics.dataset import Dataset, arrange
from tests.metrics.factories import make_rep


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


async def kpis(client: httpx.AsyncClient, tenant: TenantWithKey, **params: Any) -> dict[str, Any]:
    response = await client.get("/metrics/kpis", params=params, headers=tenant.headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def value(body: dict[str, Any], name: str) -> float | None:
    kpi: dict[str, Any] = body[name]
    return kpi["value"]


async def test_territory_quarter_in_the_tenant_calendar(
    client: httpx.AsyncClient, tenant: TenantWithKey, data: Dataset
) -> None:
    body = await kpis(client, tenant, territory_id=str(data.t1), period="2026-Q1")
    # Fiscal year from February, named after the year it ends in: Q1 of FY2026 is Feb-Apr 2025.
    assert body["period"] == {
        "label": "FY2026-Q1",
        "start": "2025-02-01",
        "end": "2025-05-01",
        "time_zone": "Europe/Berlin",
        "currency": "EUR",
    }
    assert (body["previous_period"]["start"], body["previous_period"]["end"]) == (
        "2024-11-01",
        "2025-02-01",
    )
    assert body["year_ago_period"]["start"] == "2024-02-01"
    # won-0 (Feb 1 00:30 Berlin) 3,000 + won-1 10,000 + won-2 2,000 USD * 0.5 = 1,000;
    # won-3 closes at May 1 00:00 Berlin: next quarter.
    assert value(body, "revenue") == 14_000
    assert (body["won_count"], body["lost_count"]) == (3, 1)
    assert value(body, "win_rate") == 0.75  # 3 / (3 + 1)
    assert value(body, "average_deal_size") == pytest.approx(14_000 / 3)
    assert value(body, "previous_revenue") == 5_000  # won-prev
    assert value(body, "growth_vs_previous") == pytest.approx(1.8)  # 14,000 / 5,000 - 1
    assert value(body, "year_ago_revenue") == 4_000  # won-ya
    assert value(body, "growth_year_over_year") == pytest.approx(2.5)  # 14,000 / 4,000 - 1
    assert value(body, "quota") == 20_000
    assert value(body, "attainment") == pytest.approx(0.7)
    # won-1: Jan 1 00:00 -> Feb 10 12:00 = 40.5 days; won-2: 10 days; won-0 has no opened_at.
    assert value(body, "sales_cycle_days") == pytest.approx(25.25)
    # Open at the quarter's end (May 1 00:00 Berlin): open-1 6,000, and won-3 5,000 which
    # closed at that very instant.
    assert value(body, "open_pipeline") == 11_000
    assert body["open_count"] == 2
    assert value(body, "remaining_quota") == 6_000
    assert value(body, "pipeline_coverage") == pytest.approx(11_000 / 6_000)
    # acct1's first win is won-1; acct2 had won-ya a year before.
    assert body["new_customers"] == 1
    # act-1 (Feb 1 00:30 Berlin) and act-2; act-3 is May 1 00:10 Berlin.
    assert body["activities"] == 2
    assert (body["accounts"], body["reps"], body["territories_included"]) == (2, 1, 1)
    assert value(body, "accounts_per_rep") == 2
    assert value(body, "capacity") == 10
    assert value(body, "capacity_used") == pytest.approx(0.2)


async def test_a_region_rolls_up_its_territories(
    client: httpx.AsyncClient, tenant: TenantWithKey, data: Dataset
) -> None:
    body = await kpis(client, tenant, territory_id=str(data.region), period="2026-Q1")
    assert body["territories_included"] == 3  # R, T1, T2
    assert value(body, "revenue") == 22_000  # T1 14,000 + T2 won-4 8,000
    assert (body["won_count"], body["lost_count"]) == (4, 1)
    assert value(body, "win_rate") == pytest.approx(0.8)
    assert value(body, "growth_vs_previous") == pytest.approx(3.4)  # 22,000 / 5,000 - 1
    assert value(body, "growth_year_over_year") == pytest.approx(4.5)  # 22,000 / 4,000 - 1
    # R has no quota of its own: its children's, 20,000 + 10,000.
    assert value(body, "quota") == 30_000
    assert value(body, "attainment") == pytest.approx(22_000 / 30_000)
    assert value(body, "average_deal_size") == 5_500  # 22,000 / 4
    assert value(body, "remaining_quota") == 8_000
    assert value(body, "pipeline_coverage") == pytest.approx(11_000 / 8_000)
    assert body["new_customers"] == 2  # acct1, acct3
    assert body["activities"] == 3
    assert (body["accounts"], body["reps"]) == (3, 2)
    assert value(body, "accounts_per_rep") == 1.5
    assert value(body, "capacity") == 15  # 10 + 5
    assert value(body, "capacity_used") == pytest.approx(0.2)  # 3 / 15


async def test_a_rep_without_quota_or_history_answers_null_with_reasons(
    client: httpx.AsyncClient, tenant: TenantWithKey, data: Dataset
) -> None:
    body = await kpis(client, tenant, rep_id=str(data.rep_b), period="2026-Q1")
    assert value(body, "revenue") == 8_000
    assert value(body, "win_rate") == 1.0
    assert body["quota"] == {"value": None, "reason": "no quota lies within FY2026-Q1"}
    assert body["attainment"]["value"] is None
    assert body["attainment"]["reason"] == "no quota lies within FY2026-Q1"
    assert body["pipeline_coverage"]["value"] is None
    assert body["growth_vs_previous"]["value"] is None
    assert "no closed-won revenue from 2024-11-01" in body["growth_vs_previous"]["reason"]
    assert body["sales_cycle_days"] == {
        "value": None,
        "reason": "no win in FY2026-Q1 has opened_at",
    }
    assert body["new_customers"] == 1
    assert (body["accounts"], body["activities"]) == (1, 1)
    assert value(body, "capacity_used") == pytest.approx(0.2)  # 1 / 5


async def test_an_empty_period_never_divides_by_zero(
    client: httpx.AsyncClient, tenant: TenantWithKey, data: Dataset
) -> None:
    body = await kpis(client, tenant, territory_id=str(data.t1), period="2031-Q1")
    assert value(body, "revenue") == 0
    assert (body["won_count"], body["lost_count"], body["new_customers"]) == (0, 0, 0)
    for name in ("win_rate", "average_deal_size", "attainment", "growth_vs_previous"):
        assert body[name]["value"] is None, name
        assert body[name]["reason"], name
    assert body["win_rate"]["reason"] == "no opportunity was won or lost in FY2031-Q1"


async def test_time_zone_and_fiscal_year_move_the_boundaries(
    client: httpx.AsyncClient, tenant: TenantWithKey, data: Dataset
) -> None:
    territory = str(data.t1)
    # won-0 closed 2025-01-31 23:30 UTC: February in Berlin, January in UTC.
    january = await kpis(client, tenant, territory_id=territory, period="2025-01")
    assert value(january, "revenue") == 0
    # FY2025 (Feb 2024 - Jan 2025, Berlin): won-ya 4,000 + won-prev 5,000; won-0 is FY2026.
    fiscal_2025 = await kpis(client, tenant, territory_id=territory, period="2025")
    assert (fiscal_2025["period"]["start"], fiscal_2025["period"]["end"]) == (
        "2024-02-01",
        "2025-02-01",
    )
    assert value(fiscal_2025, "revenue") == 9_000
    custom = await kpis(
        client, tenant, territory_id=territory, start="2025-02-01", end="2025-02-11"
    )
    assert value(custom, "revenue") == 13_000  # won-0 + won-1
    assert custom["previous_period"]["start"] == "2025-01-22"  # the 10 days before

    utc = {"time_zone": "UTC", "fiscal_year_start_month": 1, "currency": "EUR"}
    response = await client.put("/metrics/settings", json=utc, headers=tenant.headers)
    assert response.status_code == 200, response.text
    january = await kpis(client, tenant, territory_id=territory, period="2025-01")
    assert value(january, "revenue") == 3_000
    # Calendar quarters now: 2025-Q1 is Jan-Mar 2025 (won-0, won-1).
    quarter = await kpis(client, tenant, territory_id=territory, period="2025-Q1")
    assert value(quarter, "revenue") == 13_000


async def test_a_new_opportunity_counts_at_once(
    client: httpx.AsyncClient, tenant: TenantWithKey, data: Dataset
) -> None:
    body = {
        "external_id": "won-late", "name": "late", "territory_id": str(data.t2),
        "rep_id": str(data.rep_b), "amount": 1_000, "status": "won",
        "closed_at": "2025-03-20T12:00:00Z",
    }  # fmt: skip
    response = await client.post("/metrics/opportunities", json=body, headers=tenant.headers)
    assert response.status_code == 201, response.text
    assert response.json()["amount_reporting"] == "1000.00"
    after = await kpis(client, tenant, territory_id=str(data.t2), period="2026-Q1")
    assert value(after, "revenue") == 9_000  # won-4 8,000 + 1,000


@pytest.mark.parametrize(
    ("params", "status", "field"),
    [
        ({"period": "2026-Q1"}, 422, "rep_id"),
        ({"period": "2026-Q5", "territory_id": "T1"}, 422, "period"),
        ({"period": "2026-Q1", "start": "2025-01-01", "territory_id": "T1"}, 422, "period"),
        ({"start": "2025-02-01", "end": "2025-02-01", "territory_id": "T1"}, 422, "end"),
        ({"territory_id": "T1"}, 422, "period"),
        ({"period": "2026", "territory_id": "T1", "rep_id": "A"}, 422, "territory_id"),
        ({"period": "2026", "territory_id": "unknown"}, 404, "territory_id"),
    ],
)
async def test_bad_input_is_a_problem_naming_the_field(
    client: httpx.AsyncClient,
    tenant: TenantWithKey,
    data: Dataset,
    params: dict[str, str],
    status: int,
    field: str,
) -> None:
    names = {"T1": str(data.t1), "A": str(data.rep_a), "unknown": str(uuid.uuid4())}
    query = {key: names.get(given, given) for key, given in params.items()}
    response = await client.get("/metrics/kpis", params=query, headers=tenant.headers)
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = response.json()
    assert field in str(problem), problem


async def test_a_currency_without_rate_is_refused_with_the_fix(
    client: httpx.AsyncClient, tenant: TenantWithKey, data: Dataset
) -> None:
    body = {"external_id": "yen", "name": "yen", "amount": 100, "currency": "JPY"}
    response = await client.post("/metrics/opportunities", json=body, headers=tenant.headers)
    assert response.status_code == 422, response.text
    assert "PUT /metrics/exchange-rates/JPY" in response.json()["detail"]


async def test_another_tenants_territory_is_unknown(
    client: httpx.AsyncClient, tenant: TenantWithKey, other_tenant: TenantWithKey, data: Dataset
) -> None:
    response = await client.get(
        "/metrics/kpis",
        params={"territory_id": str(data.t1), "period": "2026-Q1"},
        headers=other_tenant.headers,
    )
    assert response.status_code == 404, response.text


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/metrics/kpis", {"period": "0001-Q1"}),
        ("/metrics/kpis", {"start": "0001-01-01", "end": "0001-02-01"}),
        ("/metrics/forecast", {"as_of": "0001-01-01"}),
    ],
)
async def test_dates_outside_the_years_served_are_refused(
    client: httpx.AsyncClient,
    tenant: TenantWithKey,
    sessionmaker: async_sessionmaker[AsyncSession],
    path: str,
    params: dict[str, str],
) -> None:
    rep_id = await make_rep(sessionmaker, tenant_id=tenant.tenant_id)
    response = await client.get(
        path, params={"rep_id": str(rep_id), **params}, headers=tenant.headers
    )
    assert response.status_code == 422, response.text
    assert "1900" in response.json()["detail"]
