"""The "best social proximity" distribution rule: the proximity service ranks the territory's
owners for the lead's account; when it cannot answer, round robin, and the explanation says so."""

import asyncio
import time
import uuid

import asyncpg
import httpx
import pytest

from services.assignment.app import create_app
from shared.settings import Settings
from tests.assignment.territory_factories import (
    add_member,
    make_account,
    make_alignment,
    make_rep,
    make_territory,
)
from tests.conftest import AppClientFactory
from tests.factories import TenantWithKey
from tests.harness import free_port


async def _person(
    db: asyncpg.Connection, tenant_id: uuid.UUID, name: str, **columns: uuid.UUID
) -> uuid.UUID:
    kind = "rep" if "rep_id" in columns else "contact"
    person_id: uuid.UUID = await db.fetchval(
        "INSERT INTO person (tenant_id, kind, name, rep_id, account_id)"
        " VALUES ($1, $2, $3, $4, $5) RETURNING id",
        tenant_id,
        kind,
        name,
        columns.get("rep_id"),
        columns.get("account_id"),
    )
    return person_id


async def _connect(
    db: asyncpg.Connection, tenant_id: uuid.UUID, a: uuid.UUID, b: uuid.UUID, strength: float
) -> None:
    low, high = sorted((a, b))
    await db.execute(
        "INSERT INTO connection (tenant_id, person_a_id, person_b_id, kind, strength)"
        " VALUES ($1, $2, $3, 'colleague', $4)",
        tenant_id,
        low,
        high,
        strength,
    )


@pytest.fixture
async def proximity_territory(
    db: asyncpg.Connection, tenant: TenantWithKey
) -> dict[str, uuid.UUID]:
    """Three owners; only "warm" knows the account's contact (0.9); "lukewarm" via "warm" (0.8)."""
    t = tenant.tenant_id
    alignment = await make_alignment(db, tenant_id=t)
    territory = await make_territory(
        db, tenant_id=t, alignment_id=alignment, name="Social", is_fallback=True, rule="proximity"
    )
    reps = {
        name: await make_rep(db, tenant_id=t, name=name) for name in ("cold", "lukewarm", "warm")
    }
    for rep in reps.values():
        await add_member(db, tenant_id=t, territory_id=territory, rep_id=rep)
    account = await make_account(
        db, tenant_id=t, external_id="acct-social", name="Social Co", domain="social.example"
    )
    contact = await _person(db, t, "Casey Contact", account_id=account)
    warm = await _person(db, t, "Warm", rep_id=reps["warm"])
    lukewarm = await _person(db, t, "Lukewarm", rep_id=reps["lukewarm"])
    await _person(db, t, "Cold", rep_id=reps["cold"])
    await _connect(db, t, warm, contact, 0.9)
    await _connect(db, t, lukewarm, warm, 0.8)
    return reps


async def test_the_best_connected_rep_gets_the_lead(
    gateway_client: httpx.AsyncClient,
    tenant: TenantWithKey,
    proximity_territory: dict[str, uuid.UUID],
) -> None:
    response = await gateway_client.post(
        "/assignment/leads", json={"email": "buyer@social.example"}, headers=tenant.headers
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["rep"]["id"] == str(proximity_territory["warm"])
    ranking_step = next(step for step in body["explanation"] if step["step"] == "proximity")
    assert [entry["rep_id"] for entry in ranking_step["ranking"]] == [
        str(proximity_territory["warm"]),
        str(proximity_territory["lukewarm"]),
    ]
    assert ranking_step["ranking"][0]["score"] == pytest.approx(0.9)
    # One introduction: 0.5 × 0.8 × 0.9 (services/proximity/scoring/model.py).
    assert ranking_step["ranking"][1]["score"] == pytest.approx(0.36)


async def test_no_account_means_round_robin_with_a_reason(
    gateway_client: httpx.AsyncClient,
    tenant: TenantWithKey,
    proximity_territory: dict[str, uuid.UUID],
) -> None:
    response = await gateway_client.post(
        "/assignment/leads", json={"email": "x@unknown.example"}, headers=tenant.headers
    )
    step = next(s for s in response.json()["explanation"] if s["step"] == "proximity")
    assert step["outcome"] == "fallback" and "No account" in step["detail"]
    assert response.json()["rep"] is not None


async def test_proximity_service_down_falls_back_to_round_robin(
    app_client: AppClientFactory,
    settings: Settings,
    tenant: TenantWithKey,
    proximity_territory: dict[str, uuid.UUID],
) -> None:
    # Nothing listens on this port: the call fails fast, as a stopped service would.
    unreachable = settings.model_copy(update={"proximity_url": f"http://127.0.0.1:{free_port()}"})
    async with app_client(create_app(unreachable)) as client:
        picks = []
        for _ in range(3):
            response = await client.post(
                "/assignment/leads", json={"email": "b@social.example"}, headers=tenant.headers
            )
            assert response.status_code == 201, response.text
            picks.append(response.json()["rep"]["id"])
            step = next(s for s in response.json()["explanation"] if s["step"] == "proximity")
            assert step["outcome"] == "fallback"
            assert "did not answer" in step["detail"]
    assert sorted(picks) == sorted(str(rep) for rep in proximity_territory.values())


async def test_no_database_connection_is_held_while_waiting_for_proximity(
    app_client: AppClientFactory,
    settings: Settings,
    tenant: TenantWithKey,
    proximity_territory: dict[str, uuid.UUID],
) -> None:
    """One pooled connection, a proximity service that accepts and never answers: a lead that
    waits for it must not keep the only connection from another lead."""
    held: list[asyncio.StreamWriter] = []

    async def stall(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)  # never answers

    server = await asyncio.start_server(stall, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    stalled = settings.model_copy(
        update={
            "proximity_url": f"http://127.0.0.1:{port}",
            "proximity_ranking_timeout_seconds": 3.0,
            "db_pool_size": 1,
        }
    )
    async with server, app_client(create_app(stalled)) as client:

        async def timed(body: dict[str, str], delay: float) -> tuple[float, httpx.Response]:
            await asyncio.sleep(delay)
            started = time.perf_counter()
            response = await client.post("/assignment/leads", json=body, headers=tenant.headers)
            return time.perf_counter() - started, response

        (waiting, slow), (elapsed, quick) = await asyncio.gather(
            timed({"email": "b@social.example"}, 0),  # has an account: asks proximity
            timed({"email": "x@unknown.example"}, 0.5),  # no account: nothing to ask
        )
    assert slow.status_code == quick.status_code == 201, (slow.text, quick.text)
    assert waiting >= 2.5  # it did wait for the stalled service
    assert elapsed < 1.5, f"the second lead waited {elapsed:.1f} s for the pool's connection"
    step = next(s for s in slow.json()["explanation"] if s["step"] == "proximity")
    assert step["outcome"] == "fallback" and step["reason"] == "unavailable"
