"""The soak at concurrency 16 through nginx: mixed realistic traffic (leads through every
precedence step and distribution rule incl. proximity, reads of reps, territories, accounts and
assignments, proximity rankings, metrics reads) with no error and stable service memory.

30 seconds in the suite; ``make soak`` runs it for ``SOAK_SECONDS`` (default 180) and prints the
table (bench/soak.py).
"""

import os
import random
import uuid
from dataclasses import dataclass

import asyncpg
import httpx
import pytest

from bench.soak import Kind, Request, format_report, print_report, run_soak
from tests.assignment.territory_factories import (
    add_member,
    make_account,
    make_alignment,
    make_rep,
    make_territory,
    square,
)
from tests.conftest import Platform
from tests.factories import TenantWithKey

CONCURRENCY = 16
SOAK_SECONDS = float(os.environ.get("SOAK_SECONDS", "30"))
# Long enough for the pools to open to their size at this concurrency and the caches to fill.
WARMUP_SECONDS = min(30.0, SOAK_SECONDS / 3)
ACCOUNTS = 20
PERIOD = {"period_start": "2026-10-01", "period_end": "2027-01-01"}


@dataclass(frozen=True)
class SoakData:
    alignment_id: uuid.UUID
    territory_ids: list[uuid.UUID]
    rep_ids: list[uuid.UUID]
    social_rep_ids: list[uuid.UUID]
    account_ids: list[uuid.UUID]
    assignment_ids: list[str]


async def _person(
    db: asyncpg.Connection,
    tenant_id: uuid.UUID,
    name: str,
    *,
    rep_id: uuid.UUID | None = None,
    account_id: uuid.UUID | None = None,
) -> uuid.UUID:
    person_id: uuid.UUID = await db.fetchval(
        "INSERT INTO person (tenant_id, kind, name, rep_id, account_id)"
        " VALUES ($1, $2, $3, $4, $5) RETURNING id",
        tenant_id,
        "rep" if rep_id else "contact",
        name,
        rep_id,
        account_id,
    )
    return person_id


@pytest.fixture
async def soak_data(
    db: asyncpg.Connection, tenant: TenantWithKey, gateway_client: httpx.AsyncClient
) -> SoakData:
    """A small tenant where every rule of lead assignment has work, with a social graph and a
    quarter of opportunities and quotas."""
    t = tenant.tenant_id
    rng = random.Random(7)
    alignment = await make_alignment(db, tenant_id=t)
    metro = await make_territory(
        db, tenant_id=t, alignment_id=alignment, name="Metro", wkt=square(-74.2, 40.5, 0.5)
    )
    software = await make_territory(
        db, tenant_id=t, alignment_id=alignment, name="Software", rule="weighted", priority=10,
        criteria={"field": "industry", "op": "eq", "value": "Software"},
    )  # fmt: skip
    social = await make_territory(
        db, tenant_id=t, alignment_id=alignment, name="Social", rule="proximity", is_fallback=True
    )
    reps: dict[uuid.UUID, list[uuid.UUID]] = {}
    for territory, count in ((metro, 4), (software, 3), (social, 3)):
        reps[territory] = []
        for index in range(count):
            rep = await make_rep(db, tenant_id=t, name=f"rep {len(reps)}-{index}")
            await add_member(
                db, tenant_id=t, territory_id=territory, rep_id=rep, weight=1.0 + index
            )
            reps[territory].append(rep)
    rep_people = [
        await _person(db, t, f"person of {rep}", rep_id=rep)
        for members in reps.values()
        for rep in members
    ]
    accounts = []
    for index in range(ACCOUNTS):
        # A quarter are named accounts of a Metro rep; the rest fall to the Social territory.
        owner = reps[metro][index % 4] if index % 4 == 0 else None
        account = await make_account(
            db, tenant_id=t, external_id=f"acct-{index}", name=f"Account {index}",
            domain=f"acct{index}.example", owner_rep_id=owner,
        )  # fmt: skip
        accounts.append(account)
        contact = await _person(db, t, f"contact {index}", account_id=account)
        for rep_person in rng.sample(rep_people, 3):
            low, high = sorted((rep_person, contact))
            await db.execute(
                "INSERT INTO connection (tenant_id, person_a_id, person_b_id, kind, strength)"
                " VALUES ($1, $2, $3, 'colleague', $4)",
                t,
                low,
                high,
                round(rng.uniform(0.2, 0.95), 2),
            )
    all_reps = [rep for members in reps.values() for rep in members]
    for index, rep in enumerate(all_reps):
        quota = {"rep_id": str(rep), **PERIOD, "amount": "100000"}
        response = await gateway_client.post("/metrics/quotas", json=quota, headers=tenant.headers)
        assert response.status_code == 201, response.text
        opportunity = {
            "external_id": f"opp-{index}",
            "account_id": str(accounts[index % ACCOUNTS]),
            "rep_id": str(rep),
            "name": f"Deal {index}",
            "status": "won" if index % 2 else "open",
            "amount": "25000",
            "opened_at": "2026-10-02T09:00:00Z",
            "closed_at": "2026-11-02T09:00:00Z" if index % 2 else None,
        }
        response = await gateway_client.post(
            "/metrics/opportunities", json=opportunity, headers=tenant.headers
        )
        assert response.status_code == 201, response.text
    assignment_ids = []
    for index in range(5):
        response = await gateway_client.post(
            "/assignment/leads", json={"external_id": f"seed-{index}"}, headers=tenant.headers
        )
        assert response.status_code == 201, response.text
        assignment_ids.append(response.json()["assignment_id"])
    return SoakData(
        alignment_id=alignment,
        territory_ids=[metro, software, social],
        rep_ids=all_reps,
        social_rep_ids=reps[social],
        account_ids=accounts,
        assignment_ids=assignment_ids,
    )


def traffic(data: SoakData) -> list[Kind]:
    """The mix: two fifths lead assignment, the rest reads a CRM, a map and a dashboard make (every
    service gets traffic; the gateway app serves only the docs, which nothing polls)."""
    run = uuid.uuid4().hex[:6]

    def lead(body: dict[str, object]) -> Request:
        return ("POST", "/assignment/leads", body, 201)

    def get(path: str) -> Request:
        return ("GET", path, None, 200)

    def pick(rng: random.Random, ids: list[uuid.UUID]) -> uuid.UUID:
        return ids[rng.randrange(len(ids))]

    return [
        Kind("lead: geography", 10, lambda rng, i: lead(
            {"external_id": f"{run}-{i}", "latitude": rng.uniform(40.55, 40.95),
             "longitude": rng.uniform(-74.15, -73.75)})),
        Kind("lead: attribute rule", 10, lambda rng, i: lead(
            {"external_id": f"{run}-{i}", "industry": "Software",
             "employee_count": rng.randrange(10, 5000)})),
        Kind("lead: account/proximity", 15, lambda rng, i: lead(
            {"email": f"p{i}@acct{rng.randrange(ACCOUNTS)}.example"})),
        Kind("lead: fallback", 5, lambda rng, i: lead({"external_id": f"{run}-{i}"})),
        Kind("GET reps", 10, lambda rng, i: get("/assignment/reps?limit=50")),
        Kind("GET territories", 8, lambda rng, i: get(
            f"/assignment/alignments/{data.alignment_id}/territories")),
        Kind("GET territory", 4, lambda rng, i: get(
            f"/assignment/territories/{pick(rng, data.territory_ids)}")),
        Kind("GET accounts", 8, lambda rng, i: get("/assignment/accounts?limit=50")),
        Kind("GET account", 4, lambda rng, i: get(
            f"/assignment/accounts/acct-{rng.randrange(ACCOUNTS)}")),
        Kind("GET assignment", 4, lambda rng, i: get(
            f"/assignment/assignments/{data.assignment_ids[i % len(data.assignment_ids)]}")),
        Kind("POST proximity ranking", 10, lambda rng, i: (
            "POST", "/proximity/rankings",
            {"account_id": str(pick(rng, data.account_ids)),
             "rep_ids": [str(rep) for rep in data.social_rep_ids]}, 200)),
        Kind("GET account's reps", 4, lambda rng, i: get(
            f"/proximity/accounts/{pick(rng, data.account_ids)}/reps")),
        Kind("GET rep attainment", 4, lambda rng, i: get(
            f"/metrics/reps/{pick(rng, data.rep_ids)}/attainment"
            f"?period_start={PERIOD['period_start']}&period_end={PERIOD['period_end']}")),
        Kind("GET opportunities", 4, lambda rng, i: get("/metrics/opportunities?limit=50")),
        Kind("GET planning units", 2, lambda rng, i: get("/planning/units?limit=50")),
    ]  # fmt: skip


async def test_soak_at_concurrency_16_has_no_errors_and_stable_memory(
    platform: Platform, tenant: TenantWithKey, soak_data: SoakData
) -> None:
    report = await run_soak(
        base_url=platform.url,
        headers=tenant.headers,
        kinds=traffic(soak_data),
        service_pids={name: process.pid for name, process in platform.services.items()},
        concurrency=CONCURRENCY,
        seconds=SOAK_SECONDS,
        warmup_seconds=WARMUP_SECONDS,
        # Far above what two cores serve in that time: the bound that matters is the duration.
        max_requests=int(SOAK_SECONDS * 2_000),
    )
    print_report(report)
    table = format_report(report)

    assert report.socket_errors == 0, table
    assert report.errors == 0, table
    assert all(stats.count > 0 for stats in report.kinds.values()), table
    for row in report.memory_rows():
        assert row["growth_mb"] <= row["allowed_mb"], f"{row['service']} grew:\n{table}"
