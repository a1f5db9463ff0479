"""Through nginx with the worker running: the accounts × reps matrix job and its CSV, which
agree with the rankings; a rep's closest accounts; the assignment-facing ranking contract."""

import asyncio
import csv
import io
import uuid

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.factories import TenantWithKey
from tests.proximity.conftest import insert_account
from tests.proximity.test_rankings import Graph


async def _small_graph(graph: Graph, sessionmaker: async_sessionmaker[AsyncSession]) -> dict:
    tenant_id = graph.tenant_id
    acme = await insert_account(sessionmaker, tenant_id=tenant_id)
    globex = await insert_account(sessionmaker, tenant_id=tenant_id)
    empty = await insert_account(sessionmaker, tenant_id=tenant_id)
    ada = await graph.contact("Ada", account_id=acme)
    bob = await graph.contact("Bob", account_id=acme)
    gus = await graph.contact("Gus", account_id=globex)
    middle = await graph.contact("Mia Middle")
    rita, rita_person = await graph.rep("Rita")
    remy, remy_person = await graph.rep("Remy")
    lone, _ = await graph.rep("Lone")
    await graph.tie(rita_person, ada, 0.9)
    await graph.tie(rita_person, bob, 0.5)
    await graph.tie(remy_person, middle, 0.8)
    await graph.tie(middle, gus, 1.0)
    await graph.tie(middle, ada, 0.4)
    return {
        "acme": acme,
        "globex": globex,
        "empty": empty,
        "rita": rita,
        "remy": remy,
        "lone": lone,
    }


async def test_matrix_job_csv_agrees_with_the_rankings(
    gateway_client: httpx.AsyncClient,
    tenant: TenantWithKey,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    ids = await _small_graph(Graph(sessionmaker, tenant.tenant_id), sessionmaker)
    started = await gateway_client.post(
        "/proximity/matrix", json={"max_hops": 3}, headers=tenant.headers
    )
    assert started.status_code == 202, started.text
    job_id = started.json()["id"]
    early = await gateway_client.get(f"/proximity/jobs/{uuid.uuid4()}", headers=tenant.headers)
    assert early.status_code == 404
    for _ in range(300):
        job = (await gateway_client.get(f"/proximity/jobs/{job_id}", headers=tenant.headers)).json()
        if job["status"] in ("succeeded", "failed"):
            break
        await asyncio.sleep(0.1)
    assert job["status"] == "succeeded", job
    assert job["total_accounts"] == 2  # the account without contacts has no row
    result = await gateway_client.get(f"/proximity/jobs/{job_id}/result", headers=tenant.headers)
    assert result.status_code == 200
    assert result.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(result.text)))
    assert job["result_rows"] == len(rows)
    from_csv = {(row["account_id"], row["rep_id"]): float(row["score"]) for row in rows}
    from_rankings = {}
    for account in ("acme", "globex"):
        ranking = await gateway_client.get(
            f"/proximity/accounts/{ids[account]}/reps?max_hops=3", headers=tenant.headers
        )
        for rep in ranking.json()["ranked"]:
            from_rankings[(str(ids[account]), rep["rep_id"])] = rep["score"]
    assert from_csv == from_rankings
    # Acme: Rita 1 - 0.1 × 0.5 = 0.95; Remy via Mia: 0.5 × 0.8 × 0.4 = 0.16. Globex: Remy
    # 0.5 × 0.8 × 1.0 = 0.4; Rita via Ada (a contact of another account may introduce) and Mia:
    # 0.25 × 0.9 × 0.4 × 1.0 = 0.09.
    assert from_csv == {
        (str(ids["acme"]), str(ids["rita"])): 0.95,
        (str(ids["acme"]), str(ids["remy"])): 0.16,
        (str(ids["globex"]), str(ids["remy"])): 0.4,
        (str(ids["globex"]), str(ids["rita"])): 0.09,
    }


async def test_a_reps_closest_accounts(
    gateway_client: httpx.AsyncClient,
    tenant: TenantWithKey,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    ids = await _small_graph(Graph(sessionmaker, tenant.tenant_id), sessionmaker)
    response = await gateway_client.get(
        f"/proximity/reps/{ids['remy']}/accounts?max_hops=2", headers=tenant.headers
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert [(a["account_id"], a["score"]) for a in body["accounts"]] == [
        (str(ids["globex"]), 0.4),
        (str(ids["acme"]), 0.16),
    ]
    assert [p["name"] for p in body["accounts"][0]["paths"][0]["people"]] == [
        "Remy",
        "Mia Middle",
        "Gus",
    ]
    lone = await gateway_client.get(
        f"/proximity/reps/{ids['lone']}/accounts", headers=tenant.headers
    )
    assert lone.json()["accounts"] == []
    missing = await gateway_client.get(
        f"/proximity/reps/{uuid.uuid4()}/accounts", headers=tenant.headers
    )
    assert missing.status_code == 404
    assert missing.json()["field"] == "rep_id"
