"""Adjustment suggestions through the gateway: the metrics service asks the planning service
(over HTTP, its realignment run by the real worker) for moves that bring out-of-tolerance
territories back, and answers units and accounts from → to with the balance after; when
planning cannot (no units), it says so.

Six 1°×1° planning units in a row along the equator, U0..U5, each holding one account of
potential 100. Territory A covers U0..U3 (4 accounts, 400), B covers U4..U5 (2, 200): mean 3
accounts, A +33%, B -33%, outside ±20%. Moving U3 (next to U4) to B gives 3 and 3: the one
move the least disruptive balanced plan makes. Today's coefficient of variation is
std([4, 2]) / 3 = 1/3; after, 0."""

import asyncio
import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.models import Account, Alignment, Territory
from tests.factories import TenantWithKey

ADJUST = "/metrics/territory-health/adjustments"


def _box(x0: float, x1: float) -> str:
    return f"SRID=4326;MULTIPOLYGON((({x0} 0,{x1} 0,{x1} 1,{x0} 1,{x0} 0)))"


async def arrange(
    sessionmaker: async_sessionmaker[AsyncSession], tenant_id: uuid.UUID
) -> tuple[uuid.UUID, uuid.UUID, uuid.UUID]:
    alignment_id, a, b = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    async with sessionmaker() as session, session.begin():
        session.add(Alignment(id=alignment_id, tenant_id=tenant_id, name="FY26"))
        await session.flush()
        session.add_all(
            [
                Territory(id=a, tenant_id=tenant_id, alignment_id=alignment_id, name="A",
                          geom=_box(0, 4)),
                Territory(id=b, tenant_id=tenant_id, alignment_id=alignment_id, name="B",
                          geom=_box(4, 6)),
            ]
        )  # fmt: skip
        await session.flush()
        for unit in range(6):
            session.add(
                Account(
                    tenant_id=tenant_id, external_id=f"acct-{unit}", name=f"acct {unit}",
                    territory_id=a if unit < 4 else b, potential=100,
                    location=f"SRID=4326;POINT({unit + 0.5} 0.5)",
                )
            )  # fmt: skip
    return alignment_id, a, b


async def post_units(client: httpx.AsyncClient, tenant: TenantWithKey) -> None:
    for unit in range(6):
        body = {
            "code": f"U{unit}",
            "geometry": {
                "type": "Polygon",
                "coordinates": [[[unit, 0], [unit + 1, 0], [unit + 1, 1], [unit, 1], [unit, 0]]],
            },
            "measures": {"accounts": 1, "potential": 100},
        }
        response = await client.post("/planning/units", json=body, headers=tenant.headers)
        assert response.status_code == 201, response.text
    response = await client.post("/planning/units/adjacency:rebuild", headers=tenant.headers)
    assert response.status_code == 200, response.text


async def test_moves_from_the_planning_realignment_with_the_balance_after(
    gateway_client: httpx.AsyncClient,
    tenant: TenantWithKey,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    client = gateway_client
    alignment_id, a, b = await arrange(sessionmaker, tenant.tenant_id)
    params = {"alignment_id": str(alignment_id), "tolerance": "0.2"}

    # No planning units yet: planning cannot realign, and the answer says so.
    cannot = await client.post(ADJUST, params=params, headers=tenant.headers)
    assert cannot.status_code == 200, cannot.text
    body = cannot.json()
    assert body["status"] == "cannot" and body["moves"] is None
    assert "no planning units" in body["reason"]
    assert body["measures"] == ["accounts", "potential"]
    assert body["balance_today"]["accounts"]["coefficient_of_variation"] == pytest.approx(1 / 3)
    assert {(row["name"], row["measure"]) for row in body["out_of_tolerance"]} == {
        ("A", "accounts"), ("B", "accounts"), ("A", "potential"), ("B", "potential"),
    }  # fmt: skip

    await post_units(client, tenant)
    asked = await client.post(
        ADJUST, params={**params, "time_limit_seconds": "3"}, headers=tenant.headers
    )
    assert asked.status_code == 202, asked.text
    assert asked.json()["status"] == "pending"
    location = asked.headers["location"]
    answer: dict[str, Any] = {}
    for _ in range(300):
        response = await client.get(location, headers=tenant.headers)
        assert response.status_code == 200, response.text
        answer = response.json()
        if answer["status"] not in ("pending", "running"):
            break
        await asyncio.sleep(0.2)
    assert answer["status"] == "succeeded", answer
    assert answer["reason"] is None
    assert [
        (move["unit"], move["from_territory"], move["to_territory"], move["accounts"],
         move["potential"])
        for move in answer["moves"]
    ] == [("U3", "A", "B", 1, 100.0)]  # fmt: skip
    assert answer["moves"][0]["from_territory_id"] == str(a)
    assert answer["moves"][0]["to_territory_id"] == str(b)
    assert answer["accounts_moved"] == 1
    assert answer["balance_today"]["potential"]["coefficient_of_variation"] == pytest.approx(1 / 3)
    assert answer["balance_after"]["accounts"]["coefficient_of_variation"] == pytest.approx(0)
    assert answer["balance_after"]["potential"]["max_min_ratio"] == pytest.approx(1)


async def test_a_balanced_alignment_needs_no_moves(
    gateway_client: httpx.AsyncClient,
    tenant: TenantWithKey,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    alignment_id, _, _ = await arrange(sessionmaker, tenant.tenant_id)
    response = await gateway_client.post(
        ADJUST,
        params={"alignment_id": str(alignment_id), "tolerance": "0.5"},
        headers=tenant.headers,
    )
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "balanced"
    assert response.json()["out_of_tolerance"] == []
    missing = await gateway_client.post(
        ADJUST, params={"alignment_id": str(uuid.uuid4())}, headers=tenant.headers
    )
    assert missing.status_code == 404, missing.text
