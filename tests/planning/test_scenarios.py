"""Design scenarios through the gateway with the real worker: Voronoi cells of Rhode Island's
ZIP centroids posted as units, adjacency from PostGIS, designs, locks, an unreachable
tolerance, cancel, and a realignment when a rep leaves."""

import asyncio
import functools
from typing import Any

import httpx
import numpy as np
import shapely

from tests.factories import TenantWithKey
from tests.planning.maps import VoronoiMap, zip_voronoi
from tests.planning.test_engine import pieces

SCENARIOS = "/planning/scenarios"
K = 4


@functools.cache
def rhode_island() -> VoronoiMap:
    return zip_voronoi("RI")


async def post_units(
    client: httpx.AsyncClient, tenant: TenantWithKey, measures: np.ndarray | None = None
) -> VoronoiMap:
    ri = rhode_island()
    values = ri.measures if measures is None else measures

    async def post(i: int) -> None:
        body = {
            "code": ri.codes[i],
            "geometry": shapely.geometry.mapping(ri.cells[i]),
            "measures": {"accounts": float(values[i, 0]), "potential": float(values[i, 1])},
        }
        response = await client.post("/planning/units", json=body, headers=tenant.headers)
        assert response.status_code == 201, response.text

    for start in range(0, len(ri.codes), 10):
        await asyncio.gather(*(post(i) for i in range(start, min(start + 10, len(ri.codes)))))
    response = await client.post("/planning/units/adjacency:rebuild", headers=tenant.headers)
    assert response.status_code == 200, response.text
    return ri


async def finished(
    client: httpx.AsyncClient, tenant: TenantWithKey, scenario_id: str, *, seconds: float = 60
) -> dict[str, Any]:
    for _ in range(int(seconds / 0.2)):
        response = await client.get(f"{SCENARIOS}/{scenario_id}", headers=tenant.headers)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        if body["status"] in ("succeeded", "failed") or (
            body["status"] == "cancelled" and body["result"] is not None
        ):
            return body
        await asyncio.sleep(0.2)
    raise AssertionError(f"scenario {scenario_id} did not finish: {body}")


async def create(client: httpx.AsyncClient, tenant: TenantWithKey, body: dict[str, Any]) -> str:
    response = await client.post(SCENARIOS, json=body, headers=tenant.headers)
    assert response.status_code == 202, response.text
    assert response.json()["status"] == "pending"
    scenario_id: str = response.json()["id"]
    return scenario_id


def plan_of(ri: VoronoiMap, result: dict[str, Any]) -> np.ndarray:
    return np.array([result["assignment"][code] for code in ri.codes])


async def test_design_with_locks_then_realign_when_a_rep_leaves(
    gateway_client: httpx.AsyncClient, tenant: TenantWithKey
) -> None:
    ri = await post_units(gateway_client, tenant)
    west, east = int(np.argmin(ri.coordinates[:, 0])), int(np.argmax(ri.coordinates[:, 0]))
    locked = {ri.codes[west]: 2, ri.codes[east]: 0}
    scenario_id = await create(
        gateway_client,
        tenant,
        {
            "name": "FY27",
            "territories": K,
            "balance": [
                {"measure": "accounts", "tolerance": 0.05},
                {"measure": "potential", "tolerance": 0.10},
            ],
            "locked": locked,
            "time_limit_seconds": 2,
        },
    )
    body = await finished(gateway_client, tenant, scenario_id)
    assert body["status"] == "succeeded", body
    result = body["result"]
    assert result["feasible"], result["violations"]
    plan = plan_of(ri, result)
    assert plan[west] == 2 and plan[east] == 0
    # Contiguous on the shapely adjacency (independent of PostGIS's), within tolerance.
    assert all(pieces(ri.edges, plan, t) == 1 for t in range(K))
    sums = np.zeros((K, 2))
    np.add.at(sums, plan, ri.measures)
    share = sums / (ri.measures.sum(axis=0) / K) - 1
    assert np.abs(share[:, 0]).max() <= 0.05 + 1e-9 and np.abs(share[:, 1]).max() <= 0.10 + 1e-9
    territories = result["territories"]
    assert [t["units"] for t in territories] == np.bincount(plan, minlength=K).tolist()
    for territory in territories:
        assert 0 < territory["polsby_popper"] <= 1
        assert territory["diameter_m"] > 0
        value = territory["measures"]["accounts"]["value"]
        assert value == sums[territory["territory"], 0]
    assert len(result["geojson"]["features"]) == K
    assert result["geojson"]["features"][0]["geometry"]["type"] in ("Polygon", "MultiPolygon")

    # A rep leaves: realign into K - 1 territories from that plan.
    realign_id = await create(
        gateway_client,
        tenant,
        {
            "name": "FY27 without rep 3",
            "territories": K - 1,
            "balance": [{"measure": "accounts", "tolerance": 0.05}],
            "base_scenario_id": scenario_id,
            "time_limit_seconds": 2,
        },
    )
    realigned = (await finished(gateway_client, tenant, realign_id))["result"]
    assert realigned["feasible"], realigned["violations"]
    new_plan = plan_of(ri, realigned)
    assert new_plan.max() == K - 2
    assert all(pieces(ri.edges, new_plan, t) == 1 for t in range(K - 1))
    left = plan == K - 1
    assert realigned["moved_units"] == int((new_plan != plan).sum())
    assert realigned["moved_units"] >= left.sum()
    assert {move["unit"] for move in realigned["moves"]} == {
        ri.codes[i] for i in np.flatnonzero(new_plan != plan)
    }
    assert any(move["why"] == "its territory no longer exists" for move in realigned["moves"])

    # Compare the two plans: every statistic side by side, the moved units on a map.
    response = await gateway_client.get(
        f"{SCENARIOS}/{scenario_id}/compare/{realign_id}", headers=tenant.headers
    )
    assert response.status_code == 200, response.text
    comparison = response.json()
    assert comparison["units_moved"] == realigned["moved_units"]
    assert comparison["statistics"]["cut_edges"] == {
        "this": result["cut_edges"],
        "other": realigned["cut_edges"],
    }
    assert len(comparison["territories"]) == K
    assert comparison["territories"][K - 1]["other"] is None
    pairs = comparison["difference"]["features"]
    assert sum(feature["properties"]["units"] for feature in pairs) == realigned["moved_units"]
    assert all(feature["geometry"]["type"] in ("Polygon", "MultiPolygon") for feature in pairs)

    # The realigned plan becomes a draft alignment in the assignment service, then is published.
    rep = await gateway_client.post(
        "/assignment/reps", json={"name": "Rep One"}, headers=tenant.headers
    )
    assert rep.status_code == 201, rep.text
    rep_id = rep.json()["id"]
    drafted = await gateway_client.post(
        f"{SCENARIOS}/{realign_id}:draft",
        json={"owners": [rep_id] * (K - 1), "fallback_territory": 0},
        headers=tenant.headers,
    )
    assert drafted.status_code == 201, drafted.text
    alignment_id = drafted.json()["alignment_id"]
    alignment = await gateway_client.get(
        f"/assignment/alignments/{alignment_id}", headers=tenant.headers
    )
    assert alignment.json()["status"] == "draft"
    assert alignment.json()["territory_count"] == K - 1
    again = await gateway_client.post(f"{SCENARIOS}/{realign_id}:draft", headers=tenant.headers)
    assert again.status_code == 409
    published = await gateway_client.post(
        f"{SCENARIOS}/{realign_id}:publish", headers=tenant.headers
    )
    assert published.status_code == 200, published.text
    alignment = await gateway_client.get(
        f"/assignment/alignments/{alignment_id}", headers=tenant.headers
    )
    assert alignment.json()["status"] == "active"
    # An account inside a territory of the plan is now placed by the published alignment.
    lon, lat = ri.cells[west].representative_point().coords[0]
    account = await gateway_client.put(
        "/assignment/accounts/acc-west",
        json={"name": "West", "location": {"type": "Point", "coordinates": [lon, lat]}},
        headers=tenant.headers,
    )
    assert account.status_code in (200, 201), account.text
    placed = await gateway_client.get("/assignment/accounts/acc-west", headers=tenant.headers)
    assert placed.json()["territory_id"] is not None


async def test_unreachable_tolerance_and_cancel(
    gateway_client: httpx.AsyncClient, tenant: TenantWithKey
) -> None:
    ri = rhode_island()
    heavy = ri.measures.copy()
    heavy[0, 0] = heavy[:, 0].sum()
    await post_units(gateway_client, tenant, heavy)
    scenario_id = await create(
        gateway_client,
        tenant,
        {
            "name": "too tight",
            "territories": K,
            "balance": [{"measure": "accounts", "tolerance": 0.01}],
            "time_limit_seconds": 1,
        },
    )
    body = await finished(gateway_client, tenant, scenario_id)
    assert body["status"] == "succeeded"
    result = body["result"]
    assert not result["feasible"]
    assert (
        "'accounts'" in result["violations"][0] and "Widen the tolerance" in result["violations"][0]
    )
    assert result["max_relative_deviation"]["accounts"] > 1.0
    assert len(result["assignment"]) == len(ri.codes)

    long_id = await create(
        gateway_client,
        tenant,
        {
            "name": "long",
            "territories": K,
            "balance": [{"measure": "accounts", "tolerance": 0.01}],
            "time_limit_seconds": 120,
        },
    )
    for _ in range(100):
        state = (await gateway_client.get(f"{SCENARIOS}/{long_id}", headers=tenant.headers)).json()
        if state["status"] == "running":
            break
        await asyncio.sleep(0.1)
    response = await gateway_client.post(f"{SCENARIOS}/{long_id}:cancel", headers=tenant.headers)
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "cancelled"
    cancelled = await finished(gateway_client, tenant, long_id, seconds=10)
    assert cancelled["status"] == "cancelled"
    assert len(cancelled["result"]["assignment"]) == len(ri.codes)  # the best plan so far
    again = await gateway_client.post(f"{SCENARIOS}/{long_id}:cancel", headers=tenant.headers)
    assert again.status_code == 409
    assert "already cancelled" in again.json()["detail"]


async def test_requests_the_units_cannot_answer_are_refused_in_words(
    gateway_client: httpx.AsyncClient, tenant: TenantWithKey
) -> None:
    response = await gateway_client.post(
        SCENARIOS, json={"name": "x", "territories": 3}, headers=tenant.headers
    )
    assert response.status_code == 422
    assert "3 territories were asked of 0 basic units" in response.json()["detail"]
    missing = await gateway_client.get(
        f"{SCENARIOS}/00000000-0000-0000-0000-000000000000", headers=tenant.headers
    )
    assert missing.status_code == 404
    neither = await gateway_client.post(SCENARIOS, json={"name": "x"}, headers=tenant.headers)
    assert neither.status_code == 422
