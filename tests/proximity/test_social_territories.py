"""Social territories through nginx with the worker: small hand-built graphs whose scores are
the tie strengths (one contact per account, max_hops=1), so every optimum can be enumerated.
Reps and ties are written directly (tests/proximity/test_rankings.Graph); accounts and the
active alignment go through the assignment service, which the job reads over HTTP."""

import asyncio
import itertools
import uuid
from typing import Any

import httpx
import numpy as np
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.models import SocialTerritoryJob
from tests.factories import TenantWithKey
from tests.proximity.test_rankings import Graph


def _square(lon: float, lat: float, half: float = 0.05) -> dict[str, Any]:
    ring = [
        [lon - half, lat - half],
        [lon + half, lat - half],
        [lon + half, lat + half],
        [lon - half, lat + half],
        [lon - half, lat - half],
    ]
    return {"type": "Polygon", "coordinates": [ring]}


async def _world(
    client: httpx.AsyncClient,
    tenant: TenantWithKey,
    sessionmaker: async_sessionmaker[AsyncSession],
    strengths: np.ndarray,
    *,
    potentials: list[float] | None = None,
    locations: list[tuple[float, float]] | None = None,
    owners: list[int | None] | None = None,
) -> tuple[list[uuid.UUID], list[uuid.UUID]]:
    """accounts × reps tie strengths (0: no tie) → (account ids, rep ids)."""
    graph = Graph(sessionmaker, tenant.tenant_id)
    reps = [await graph.rep(f"Rep {j}") for j in range(strengths.shape[1])]
    account_ids = []
    for i in range(strengths.shape[0]):
        body: dict[str, Any] = {"name": f"Account {i}", "domain": f"account{i}.example"}
        if potentials is not None:
            body["potential"] = potentials[i]
        if locations is not None:
            body["location"] = {"type": "Point", "coordinates": list(locations[i])}
        owner = owners[i] if owners is not None else None
        if owner is not None:
            body["owner_rep_id"] = str(reps[owner][0])
        response = await client.put(
            f"/assignment/accounts/acct-{i}", json=body, headers=tenant.headers
        )
        assert response.status_code == 201, response.text
        account_id = uuid.UUID(response.json()["id"])
        account_ids.append(account_id)
        contact = await graph.contact(f"Contact {i}", account_id=account_id)
        for j, strength in enumerate(strengths[i]):
            if strength > 0:
                await graph.tie(reps[j][1], contact, float(strength))
    return account_ids, [rep_id for rep_id, _ in reps]


async def _run(
    client: httpx.AsyncClient, tenant: TenantWithKey, body: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, Any]]:
    started = await client.post("/proximity/social-territories", json=body, headers=tenant.headers)
    assert started.status_code == 202, started.text
    job_id = started.json()["id"]
    for _ in range(600):
        job = (
            await client.get(f"/proximity/social-territories/{job_id}", headers=tenant.headers)
        ).json()
        if job["status"] not in ("pending", "running"):
            break
        await asyncio.sleep(0.1)
    assert job["status"] == "succeeded", job
    result = await client.get(
        f"/proximity/social-territories/{job_id}/result", headers=tenant.headers
    )
    assert result.status_code == 200, result.text
    return job, result.json()


def _brute_force(
    scores: np.ndarray,
    *,
    low: float,
    high: float,
    measure: np.ndarray,
    capacity: int | None = None,
) -> float:
    accounts, reps = scores.shape
    best = -1.0
    for combo in itertools.product(range(reps), repeat=accounts):
        choice = np.array(combo)
        loads = np.bincount(choice, weights=measure, minlength=reps)
        counts = np.bincount(choice, minlength=reps)
        if (loads < low - 1e-9).any() or (loads > high + 1e-9).any():
            continue
        if capacity is not None and (counts > capacity).any():
            continue
        best = max(best, float(scores[np.arange(accounts), choice].sum()))
    return best


def _chosen(
    result: dict[str, Any], account_ids: list[uuid.UUID], rep_ids: list[uuid.UUID]
) -> np.ndarray:
    column = {str(rep_id): j for j, rep_id in enumerate(rep_ids)}
    by_account = {a["account_id"]: a for a in result["assignments"]}
    return np.array([column[by_account[str(a)]["rep_id"]] for a in account_ids])


async def test_optimal_against_brute_force_with_capacity_and_balance(
    gateway_client: httpx.AsyncClient,
    tenant: TenantWithKey,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    rng = np.random.default_rng(9)
    # 6 accounts × 3 reps; rep 0 is everyone's favourite, so capacity and balance must bind.
    strengths = np.round(rng.uniform(0.05, 0.6, (6, 3)) * (rng.random((6, 3)) < 0.8), 2)
    strengths[:, 0] = np.round(rng.uniform(0.7, 1.0, 6), 2)
    owners = [1, 1, 1, 2, None, 0]
    account_ids, rep_ids = await _world(
        gateway_client, tenant, sessionmaker, strengths, owners=owners
    )
    job, result = await _run(
        gateway_client,
        tenant,
        {"max_hops": 1, "balance": {"by": "accounts", "tolerance": 0.0}, "top_k": 1},
    )
    chosen = _chosen(result, account_ids, rep_ids)
    counts = np.bincount(chosen, minlength=3)
    assert counts.tolist() == [2, 2, 2]  # mean 2, ±0%
    expected = _brute_force(strengths, low=2, high=2, measure=np.ones(6))
    assert abs(result["total_proximity"] - expected) < 1e-6
    assert result["method"] == "min_cost_flow"
    assert result["proven_optimal"] is True
    assert abs(result["lp_bound"] - expected) < 1e-5
    assert result["total_proximity"] >= result["greedy"]["total_proximity"] - 1e-9
    # Against the current owners (a territory owner counts when the account has no owner).
    current = {
        str(account_ids[i]): None if owner is None else str(rep_ids[owner])
        for i, owner in enumerate(owners)
    }
    moved = sum(1 for a in result["assignments"] if current[a["account_id"]] != a["rep_id"])
    assert result["optimised"]["accounts_moved"] == moved  # the unowned one gains a rep: moves
    assert job["summary"]["total_proximity"] == result["total_proximity"]
    assert job["accounts"] == 6 and job["progress"] == 1.0

    # Capacity below the balance maximum binds: at most 3 each, tolerance wide open.
    _, capped = await _run(
        gateway_client,
        tenant,
        {"max_hops": 1, "balance": {"tolerance": 10}, "max_accounts_per_rep": 3},
    )
    capped_counts = np.bincount(_chosen(capped, account_ids, rep_ids), minlength=3)
    assert capped_counts.max() <= 3
    expected = _brute_force(strengths, low=0, high=3, measure=np.ones(6))
    assert abs(capped["total_proximity"] - expected) < 1e-6
    assert capped["proven_optimal"] is True


async def test_potential_balance_is_a_mip_and_optimal(
    gateway_client: httpx.AsyncClient,
    tenant: TenantWithKey,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    rng = np.random.default_rng(4)
    strengths = np.round(rng.uniform(0.05, 1.0, (6, 3)), 2)
    potentials = [100.0, 300.0, 200.0, 100.0, 200.0, 300.0]  # 1,200: 400 per rep on average
    account_ids, rep_ids = await _world(
        gateway_client, tenant, sessionmaker, strengths, potentials=potentials
    )
    _, result = await _run(
        gateway_client,
        tenant,
        {"max_hops": 1, "balance": {"by": "potential", "tolerance": 0.25}},
    )
    assert result["method"] == "mip_highs"
    chosen = _chosen(result, account_ids, rep_ids)
    loads = np.bincount(chosen, weights=np.array(potentials), minlength=3)
    assert ((loads >= 300 - 1e-6) & (loads <= 500 + 1e-6)).all(), loads
    expected = _brute_force(strengths, low=300, high=500, measure=np.array(potentials))
    assert abs(result["total_proximity"] - expected) < 1e-6
    assert result["lp_bound"] >= result["total_proximity"] - 1e-6
    reported = {r["rep_id"]: r["potential"] for r in result["reps"]}
    assert [reported[str(rep_id)] for rep_id in rep_ids] == loads.tolist()


async def test_infeasible_capacity_is_refused_before_queueing(
    gateway_client: httpx.AsyncClient,
    tenant: TenantWithKey,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    await _world(gateway_client, tenant, sessionmaker, np.full((6, 3), 0.5))
    response = await gateway_client.post(
        "/proximity/social-territories",
        json={"max_accounts_per_rep": 1},
        headers=tenant.headers,
    )
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = response.json()
    assert problem["field"] == "max_accounts_per_rep"
    assert "3 places for 6 accounts" in problem["detail"]
    crossing = await gateway_client.post(
        "/proximity/social-territories",
        json={"balance": {"min": 3, "max": 3}, "rep_ids": [str(uuid.uuid4())]},
        headers=tenant.headers,
    )
    assert crossing.status_code == 422, crossing.text
    async with sessionmaker() as session:
        jobs = await session.scalar(
            select(func.count())
            .select_from(SocialTerritoryJob)
            .where(SocialTerritoryJob.tenant_id == tenant.tenant_id)
        )
    assert jobs == 0
    missing = await gateway_client.get(
        f"/proximity/social-territories/{uuid.uuid4()}", headers=tenant.headers
    )
    assert missing.status_code == 404


async def test_distance_limit_and_the_draft_alignment(
    gateway_client: httpx.AsyncClient,
    tenant: TenantWithKey,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    headers = tenant.headers
    # Rep 0 is everyone's best friend, but owns a territory near (10, 50) only; rep 1 owns
    # one near (20, 50). Accounts 0-1 sit in rep 0's square, 2-3 in rep 1's (~700 km away).
    strengths = np.array([[0.9, 0.2], [0.8, 0.3], [0.9, 0.1], [0.7, 0.4]])
    locations = [(10.0, 50.0), (10.01, 50.02), (20.0, 50.0), (20.02, 49.99)]
    account_ids, rep_ids = await _world(
        gateway_client, tenant, sessionmaker, strengths, locations=locations
    )
    alignment = (
        await gateway_client.post("/assignment/alignments", json={"name": "Geo"}, headers=headers)
    ).json()
    for j, (lon, lat) in enumerate([(10.0, 50.0), (20.0, 50.0)]):
        territory = await gateway_client.post(
            f"/assignment/alignments/{alignment['id']}/territories",
            json={"name": f"T{j}", "geometry": _square(lon, lat)},
            headers=headers,
        )
        assert territory.status_code == 201, territory.text
        member = await gateway_client.post(
            f"/assignment/territories/{territory.json()['id']}/members",
            json={"rep_id": str(rep_ids[j])},
            headers=headers,
        )
        assert member.status_code in (200, 201), member.text
    fallback = await gateway_client.post(
        f"/assignment/alignments/{alignment['id']}/territories",
        json={"name": "Rest", "is_fallback": True},
        headers=headers,
    )
    assert fallback.status_code == 201, fallback.text
    await gateway_client.post(
        f"/assignment/territories/{fallback.json()['id']}/members",
        json={"rep_id": str(rep_ids[0])},
        headers=headers,
    )
    published = await gateway_client.post(
        f"/assignment/alignments/{alignment['id']}:publish", json={}, headers=headers
    )
    assert published.status_code == 200, published.text

    # Without the limit, rep 0 takes the accounts it knows best (capacity 3).
    _, free = await _run(
        gateway_client,
        tenant,
        {"max_hops": 1, "balance": {"tolerance": 10}, "max_accounts_per_rep": 3},
    )
    assert np.bincount(_chosen(free, account_ids, rep_ids), minlength=2).tolist() == [3, 1]
    # Within 50 km: each account only to the rep whose square it is in.
    _, near = await _run(
        gateway_client,
        tenant,
        {
            "max_hops": 1,
            "balance": {"tolerance": 10},
            "max_distance_km": 50,
            "draft": {"name": "Social FY27"},
        },
    )
    assert _chosen(near, account_ids, rep_ids).tolist() == [0, 0, 1, 1]
    assert near["total_proximity"] == round(0.9 + 0.8 + 0.1 + 0.4, 6)
    # Every account was already in its rep's territory: nothing moves.
    assert near["optimised"]["accounts_moved"] == 0
    assert near["current"]["total_proximity"] == near["total_proximity"]

    draft = near["draft"]
    assert draft["accounts_without_domain"] == [] and draft["shared_domains"] == 0
    saved = await gateway_client.get(
        f"/assignment/alignments/{draft['alignment_id']}", headers=headers
    )
    assert saved.json()["status"] == "draft"
    assert saved.json()["name"] == "Social FY27"
    territories = (
        await gateway_client.get(
            f"/assignment/alignments/{draft['alignment_id']}/territories",
            params={"include_geometry": "false"},
            headers=headers,
        )
    ).json()["items"]
    social = {t["name"]: t for t in territories if t["name"].startswith("Social: ")}
    assert len(social) == 2 and len(territories) == 5  # the clone's 3 + one per rep
    by_rep = {t["members"][0]["rep_id"]: t for t in social.values()}
    assert by_rep[str(rep_ids[0])]["criteria"] == {
        "field": "domain",
        "op": "in",
        "values": ["account0.example", "account1.example"],
    }
    assert by_rep[str(rep_ids[1])]["priority"] == 0
    # The publish path places accounts by those rules: the diff shows all four moving into
    # their social territory (their owner's territory does not change: they have none).
    diff = await gateway_client.get(
        f"/assignment/alignments/{alignment['id']}/diff/{draft['alignment_id']}",
        headers=headers,
    )
    assert diff.status_code == 200, diff.text
    moved = {item["external_id"]: item["after"]["territory"] for item in diff.json()["items"]}
    assert moved == {
        "acct-0": by_rep[str(rep_ids[0])]["name"],
        "acct-1": by_rep[str(rep_ids[0])]["name"],
        "acct-2": by_rep[str(rep_ids[1])]["name"],
        "acct-3": by_rep[str(rep_ids[1])]["name"],
    }


async def test_cancel_a_queued_job_and_results_only_when_done(
    gateway_client: httpx.AsyncClient,
    tenant: TenantWithKey,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    await _world(gateway_client, tenant, sessionmaker, np.full((2, 2), 0.5))
    started = await gateway_client.post(
        "/proximity/social-territories", json={"max_hops": 1}, headers=tenant.headers
    )
    job_id = started.json()["id"]
    cancelled = await gateway_client.post(
        f"/proximity/social-territories/{job_id}:cancel", headers=tenant.headers
    )
    assert cancelled.status_code == 202, cancelled.text
    for _ in range(300):
        job = (
            await gateway_client.get(
                f"/proximity/social-territories/{job_id}", headers=tenant.headers
            )
        ).json()
        if job["status"] not in ("pending", "running"):
            break
        await asyncio.sleep(0.1)
    # Cancelled while queued, or (when the worker was faster) at its next stage.
    assert job["status"] in ("cancelled", "succeeded"), job
    result = await gateway_client.get(
        f"/proximity/social-territories/{job_id}/result", headers=tenant.headers
    )
    if job["status"] == "cancelled":
        assert result.status_code == 409
        again = await gateway_client.post(
            f"/proximity/social-territories/{job_id}:cancel", headers=tenant.headers
        )
        assert again.status_code == 409
