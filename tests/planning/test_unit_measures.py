"""Measures from the assignment service's accounts (over HTTP, through the gateway): counts and
sums by location into polygon and point units; accounts moved by a realignment; the scenario
list; the assignment service's account-location pages."""

from typing import Any

import httpx
import pytest

from tests.factories import TenantWithKey
from tests.planning.test_unit_sets import (
    SETS,
    create_set,
    design,
    feature,
    grid,
    import_units,
)

CENTRES = {"r0c0": (0.05, 0.05), "r0c1": (0.15, 0.05), "r1c0": (0.05, 0.15), "r1c1": (0.15, 0.15)}


def account(
    external_id: str, lon: float | None, lat: float | None, **fields: Any
) -> dict[str, Any]:
    body: dict[str, Any] = {"external_id": external_id, "name": external_id, **fields}
    if lon is not None and lat is not None:
        body["location"] = {"type": "Point", "coordinates": [lon, lat]}
    return body


async def add_accounts(
    client: httpx.AsyncClient, tenant: TenantWithKey, accounts: list[dict[str, Any]]
) -> None:
    response = await client.post(
        "/assignment/accounts:bulk",
        json={"accounts": accounts, "atomic": True},
        headers=tenant.headers,
    )
    assert response.status_code == 200, response.text


async def units_by_code(
    client: httpx.AsyncClient, tenant: TenantWithKey, unit_set_id: str
) -> dict[str, dict[str, float]]:
    response = await client.get(
        "/planning/units", params={"unit_set_id": unit_set_id}, headers=tenant.headers
    )
    assert response.status_code == 200, response.text
    return {unit["code"]: unit["measures"] for unit in response.json()["items"]}


@pytest.fixture
async def accounts(
    gateway_client: httpx.AsyncClient, tenant: TenantWithKey, other_tenant: TenantWithKey
) -> None:
    await add_accounts(
        gateway_client,
        tenant,
        [
            account("a1", 0.02, 0.02, annual_revenue=100, attributes={"seats": 2}),
            account("a2", 0.03, 0.07, annual_revenue=100, attributes={"seats": 2}),
            account("a3", 0.08, 0.01, annual_revenue=100, attributes={"seats": 2}),
            account("b1", 0.19, 0.19, annual_revenue=50, attributes={"seats": "many"}),
            account("far", 5.0, 5.0, annual_revenue=7),
            account("nowhere", None, None, annual_revenue=1000),
        ],
    )
    # Another tenant's account inside the grid counts for nobody here.
    await add_accounts(gateway_client, other_tenant, [account("x", 0.05, 0.05, annual_revenue=1)])


async def test_accounts_by_location_into_polygon_and_point_units(
    gateway_client: httpx.AsyncClient, tenant: TenantWithKey, accounts: None
) -> None:
    polygons = await create_set(gateway_client, tenant, name="grid", required_measures=["workload"])
    done = await import_units(gateway_client, tenant, polygons["id"], grid(2, 2, workload=1))
    assert done["status"] == "succeeded", done
    request = {
        "count_measure": "accounts",
        "sums": {"revenue": "annual_revenue", "seats": "attributes.seats"},
    }
    response = await gateway_client.post(
        f"{SETS}/{polygons['id']}/measures:aggregate", json=request, headers=tenant.headers
    )
    assert response.status_code == 200, response.text
    assert response.json() == {
        "units": 4,
        "accounts": 5,  # "nowhere" has no location
        "placed": 4,
        "unplaced": 1,  # "far" is outside every unit
        "measures": ["accounts", "revenue", "seats"],
    }
    measures = await units_by_code(gateway_client, tenant, polygons["id"])
    assert measures == {
        "r0c0": {"workload": 1, "accounts": 3, "revenue": 300, "seats": 6},
        "r0c1": {"workload": 1, "accounts": 0, "revenue": 0, "seats": 0},
        "r1c0": {"workload": 1, "accounts": 0, "revenue": 0, "seats": 0},
        # "many" seats is text: not summed.
        "r1c1": {"workload": 1, "accounts": 1, "revenue": 50, "seats": 0},
    }

    # Point units (ZIP centroids): every account goes to its nearest unit, "far" included.
    points = await create_set(gateway_client, tenant, name="centroids", kind="point")
    features = [
        feature(code, {"type": "Point", "coordinates": list(xy)}) for code, xy in CENTRES.items()
    ]
    done = await import_units(gateway_client, tenant, points["id"], features, ndjson=True)
    assert done["status"] == "succeeded", done
    response = await gateway_client.post(
        f"{SETS}/{points['id']}/measures:aggregate",
        json={"sums": {"revenue": "annual_revenue"}},
        headers=tenant.headers,
    )
    assert response.status_code == 200, response.text
    assert (response.json()["placed"], response.json()["unplaced"]) == (5, 0)
    measures = await units_by_code(gateway_client, tenant, points["id"])
    assert {code: (m["accounts"], m["revenue"]) for code, m in measures.items()} == {
        "r0c0": (3, 300),
        "r0c1": (0, 0),
        "r1c0": (0, 0),
        "r1c1": (2, 57),
    }
    bad = await gateway_client.post(
        f"{SETS}/{points['id']}/measures:aggregate",
        json={"sums": {"revenue": "secret_column"}},
        headers=tenant.headers,
    )
    assert bad.status_code == 422


async def test_realignment_reports_accounts_moved_and_scenarios_are_listed(
    gateway_client: httpx.AsyncClient, tenant: TenantWithKey, accounts: None
) -> None:
    polygons = await create_set(gateway_client, tenant, name="grid", required_measures=["workload"])
    await import_units(gateway_client, tenant, polygons["id"], grid(2, 2, workload=1))
    aggregated = await gateway_client.post(
        f"{SETS}/{polygons['id']}/measures:aggregate", json={}, headers=tenant.headers
    )
    assert aggregated.status_code == 200, aggregated.text
    accounts_of = {"r0c0": 3, "r0c1": 0, "r1c0": 0, "r1c1": 1}
    current = {"r0c0": 1, "r0c1": 1, "r1c0": 0, "r1c1": 0}
    request = {
        "name": "realign",
        "unit_set_id": polygons["id"],
        "territories": 2,
        "balance": [{"measure": "workload", "tolerance": 0.0}],
        "locked": {"r0c0": 0, "r1c1": 1},
        "current": current,
        "time_limit_seconds": 1,
    }
    first = await design(gateway_client, tenant, request)
    result = first["result"]
    moved = [code for code, territory in result["assignment"].items() if current[code] != territory]
    assert {"r0c0", "r1c1"} <= set(moved)
    assert result["moved_units"] == len(moved)
    assert result["accounts_moved"] == sum(accounts_of[code] for code in moved)
    assert {move["unit"]: move["accounts"] for move in result["moves"]} == {
        code: accounts_of[code] for code in moved
    }

    # The list: newest first, in keyset pages, filtered by unit set and status.
    other_set = await create_set(gateway_client, tenant, name="other", required_measures=[])
    await import_units(gateway_client, tenant, other_set["id"], grid(1, 2))
    second = await design(
        gateway_client,
        tenant,
        {
            "name": "other",
            "unit_set_id": other_set["id"],
            "territories": 2,
            "time_limit_seconds": 1,
        },
    )
    third = await design(gateway_client, tenant, {**request, "name": "again"})
    seen, after = [], None
    while True:
        params: dict[str, Any] = {"limit": 1}
        if after:
            params["after"] = after
        page = await gateway_client.get(
            "/planning/scenarios", params=params, headers=tenant.headers
        )
        assert page.status_code == 200, page.text
        seen += [item["id"] for item in page.json()["items"]]
        after = page.json()["next_after"]
        if after is None:
            break
    assert seen == [third["id"], second["id"], first["id"]]
    by_set = await gateway_client.get(
        "/planning/scenarios", params={"unit_set_id": polygons["id"]}, headers=tenant.headers
    )
    assert [item["id"] for item in by_set.json()["items"]] == [third["id"], first["id"]]
    assert "result" not in by_set.json()["items"][0]
    failed = await gateway_client.get(
        "/planning/scenarios", params={"status": "failed"}, headers=tenant.headers
    )
    assert failed.json() == {"items": [], "next_after": None}
    unknown = await gateway_client.get(
        "/planning/scenarios",
        params={"after": "00000000-0000-0000-0000-000000000000"},
        headers=tenant.headers,
    )
    assert unknown.status_code == 404
    wrong = await gateway_client.get(
        "/planning/scenarios", params={"status": "done"}, headers=tenant.headers
    )
    assert wrong.status_code == 422


async def test_account_locations_are_paged_by_id_with_chosen_fields(
    gateway_client: httpx.AsyncClient,
    tenant: TenantWithKey,
    other_tenant: TenantWithKey,
    accounts: None,
) -> None:
    pages, after = [], None
    while True:
        params: dict[str, Any] = {"limit": 2, "fields": "annual_revenue,attributes.seats"}
        if after:
            params["after"] = after
        response = await gateway_client.get(
            "/assignment/accounts:locations", params=params, headers=tenant.headers
        )
        assert response.status_code == 200, response.text
        pages.append(response.json())
        after = response.json()["next_after"]
        if after is None:
            break
    assert [len(page["ids"]) for page in pages] == [2, 2, 1]
    ids = [account_id for page in pages for account_id in page["ids"]]
    assert ids == sorted(ids)
    rows = sorted(
        (lon, lat, tuple(values))
        for page in pages
        for lon, lat, values in zip(
            page["longitudes"], page["latitudes"], page["values"], strict=True
        )
    )
    assert rows == [
        (0.02, 0.02, (100.0, 2.0)),
        (0.03, 0.07, (100.0, 2.0)),
        (0.08, 0.01, (100.0, 2.0)),
        (0.19, 0.19, (50.0, None)),
        (5.0, 5.0, (7.0, None)),
    ]
    others = await gateway_client.get(
        "/assignment/accounts:locations", headers=other_tenant.headers
    )
    assert len(others.json()["ids"]) == 1 and others.json()["values"] == [[]]
    bad = await gateway_client.get(
        "/assignment/accounts:locations", params={"fields": "name"}, headers=tenant.headers
    )
    assert bad.status_code == 422 and bad.json()["field"] == "fields"
