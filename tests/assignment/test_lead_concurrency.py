"""Hundreds of concurrent assignments into one territory: no turn is handed out twice and no
capacity is exceeded (real gateway, real uvicorn, real PostGIS)."""

import asyncio
from collections import Counter

import asyncpg
import httpx

from tests.assignment.territory_factories import (
    add_member,
    make_alignment,
    make_rep,
    make_territory,
)
from tests.conftest import Platform
from tests.factories import TenantWithKey

LEADS = 300

TURNS = "SELECT turn_counter FROM territory_turn WHERE territory_id = $1"


async def _fire(platform: Platform, tenant: TenantWithKey, count: int) -> list[httpx.Response]:
    limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
    async with httpx.AsyncClient(base_url=platform.url, timeout=60, limits=limits) as client:
        return await asyncio.gather(
            *(
                client.post(
                    "/assignment/leads",
                    json={"external_id": f"lead-{index}"},
                    headers=tenant.headers,
                )
                for index in range(count)
            )
        )


async def test_concurrent_round_robin_is_even(
    platform: Platform, db: asyncpg.Connection, tenant: TenantWithKey
) -> None:
    t = tenant.tenant_id
    alignment = await make_alignment(db, tenant_id=t)
    territory = await make_territory(
        db, tenant_id=t, alignment_id=alignment, name="Everything", is_fallback=True
    )
    reps = [await make_rep(db, tenant_id=t, name=f"rep {index}") for index in range(7)]
    for rep in reps:
        await add_member(db, tenant_id=t, territory_id=territory, rep_id=rep)

    responses = await _fire(platform, tenant, LEADS)

    assert [response.status_code for response in responses] == [201] * LEADS
    per_rep = Counter(response.json()["rep"]["id"] for response in responses)
    assert set(per_rep) == {str(rep) for rep in reps}
    assert max(per_rep.values()) - min(per_rep.values()) <= 1  # 300 = 6 × 43 + 42
    turns = await db.fetchval(TURNS, territory)
    assert turns == LEADS


async def test_concurrent_capacity_is_never_exceeded(
    platform: Platform, db: asyncpg.Connection, tenant: TenantWithKey
) -> None:
    t = tenant.tenant_id
    alignment = await make_alignment(db, tenant_id=t)
    capped = await make_territory(
        db, tenant_id=t, alignment_id=alignment, name="Capped", rule="capacity",
        criteria={"not": {"field": "country", "op": "exists"}},
    )  # fmt: skip
    overflow = await make_territory(
        db, tenant_id=t, alignment_id=alignment, name="Overflow", is_fallback=True
    )
    reps = [await make_rep(db, tenant_id=t, name=f"rep {i}", capacity=20) for i in range(5)]
    for rep in reps:
        await add_member(db, tenant_id=t, territory_id=capped, rep_id=rep)
    backup = await make_rep(db, tenant_id=t, name="backup")
    await add_member(db, tenant_id=t, territory_id=overflow, rep_id=backup)

    responses = await _fire(platform, tenant, 150)

    assert [response.status_code for response in responses] == [201] * 150
    per_rep = Counter(response.json()["rep"]["id"] for response in responses)
    assert {rep: per_rep[str(rep)] for rep in reps} == {rep: 20 for rep in reps}
    assert per_rep[str(backup)] == 50
    loads = await db.fetch(
        "SELECT open_assignments, capacity FROM rep WHERE tenant_id = $1 AND capacity IS NOT NULL",
        t,
    )
    assert all(row["open_assignments"] == row["capacity"] == 20 for row in loads)
