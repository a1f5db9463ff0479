"""A small hand-checked data set for KPI, leaderboard, time-series and health tests.

Tenant calendar: Europe/Berlin, fiscal year starting in February, reporting currency EUR, and
1 USD = 0.5 EUR. FY2026-Q1 is therefore 2025-02-01..2025-05-01 (Berlin local days), its previous
quarter 2024-11-01..2025-02-01 and the same quarter a year earlier 2024-02-01..2024-05-01.

Hierarchy (one alignment): region ``R`` with children ``T1`` and ``T2``; a second, standalone
leaf ``T3`` of the same alignment with nothing in it. Rep A (capacity 10) is the member of T1,
rep B (capacity 5) of T2. Accounts: acct1, acct2 in T1 owned by A (potential 100,000 and
50,000), acct3 in T2 owned by B (potential 30,000).

Opportunities (amounts in EUR unless noted):

===========  ====  ===  ====  ======  ===================  ===================  ======
external id  terr  rep  acct  amount  opened (UTC)         closed (UTC)         status
===========  ====  ===  ====  ======  ===================  ===================  ======
won-0        T1    A    -     3,000   -                    2025-01-31 23:30     won
won-1        T1    A    1     10,000  2025-01-01 00:00     2025-02-10 12:00     won
won-2        T1    A    2     2,000$  2025-04-20 21:59:59  2025-04-30 21:59:59  won
won-3        T1    A    1     5,000   2025-04-01 00:00     2025-04-30 22:00     won
lost-1       T1    A    -     4,000   -                    2025-03-01 10:00     lost
open-1       T1    A    -     6,000   2025-03-01 00:00     -                    open
won-prev     T1    A    -     5,000   -                    2024-12-15 12:00     won
won-ya       T1    A    2     4,000   -                    2024-03-10 12:00     won
won-4        T2    B    3     8,000   -                    2025-03-15 12:00     won
===========  ====  ===  ====  ======  ===================  ===================  ======

won-0 closes at 00:30 on 1 February in Berlin: Q1. won-1 took 40.5 days. won-2 (2,000 USD =
1,000 EUR) closes at 23:59:59 on 30 April in Berlin: Q1, after 10 days. won-3 closes at 00:00
on 1 May in Berlin: Q2. won-prev is in the previous quarter, won-ya a year earlier.

Quotas for FY2026-Q1: T1 20,000, T2 10,000 (R has none of its own).
Activities: T1/A 2025-01-31 23:30Z (Q1 in Berlin), 2025-03-03 09:00Z, 2025-04-30 22:10Z (Q2);
T2/B 2025-03-04 09:00Z.
"""

import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.models import Account, Alignment, Rep, Territory, TerritoryMember
from tests.factories import TenantWithKey


@dataclass(frozen=True)
class Dataset:
    alignment_id: uuid.UUID
    region: uuid.UUID
    t1: uuid.UUID
    t2: uuid.UUID
    t3: uuid.UUID
    rep_a: uuid.UUID
    rep_b: uuid.UUID
    acct1: uuid.UUID
    acct2: uuid.UUID
    acct3: uuid.UUID


# Squares of 1°×1° at the equator (≈ 12,364 km² each) so density has a known denominator.
def _square(x: float) -> str:
    return f"SRID=4326;MULTIPOLYGON((({x} 0,{x + 1} 0,{x + 1} 1,{x} 1,{x} 0)))"


async def arrange_references(
    sessionmaker: async_sessionmaker[AsyncSession], tenant_id: uuid.UUID
) -> Dataset:
    """Rows the assignment service owns, inserted as the owner (no assignment API needed)."""
    ids = {name: uuid.uuid4() for name in Dataset.__dataclass_fields__}
    async with sessionmaker() as session, session.begin():
        session.add(Alignment(id=ids["alignment_id"], tenant_id=tenant_id, name="FY26"))
        session.add_all(
            [
                Rep(id=ids["rep_a"], tenant_id=tenant_id, name="Ada", capacity=10),
                Rep(id=ids["rep_b"], tenant_id=tenant_id, name="Bo", capacity=5),
            ]
        )
        await session.flush()
        session.add(
            Territory(
                id=ids["region"], tenant_id=tenant_id, alignment_id=ids["alignment_id"], name="R"
            )
        )
        await session.flush()
        for name, x, parent in (
            ("t1", 0, ids["region"]),
            ("t2", 2, ids["region"]),
            ("t3", 4, None),
        ):
            session.add(
                Territory(
                    id=ids[name],
                    tenant_id=tenant_id,
                    alignment_id=ids["alignment_id"],
                    parent_id=parent,
                    level=1 if parent else 0,
                    name=name.upper(),
                    geom=_square(x),
                )
            )
        await session.flush()
        session.add_all(
            [
                TerritoryMember(tenant_id=tenant_id, territory_id=ids["t1"], rep_id=ids["rep_a"]),
                TerritoryMember(tenant_id=tenant_id, territory_id=ids["t2"], rep_id=ids["rep_b"]),
            ]
        )
        for name, territory, owner, potential in (
            ("acct1", "t1", "rep_a", 100_000),
            ("acct2", "t1", "rep_a", 50_000),
            ("acct3", "t2", "rep_b", 30_000),
        ):
            session.add(
                Account(
                    id=ids[name],
                    tenant_id=tenant_id,
                    external_id=name,
                    name=name,
                    territory_id=ids[territory],
                    owner_rep_id=ids[owner],
                    potential=Decimal(potential),
                )
            )
    return Dataset(**ids)


async def post(
    client: httpx.AsyncClient, tenant: TenantWithKey, path: str, body: dict[str, Any]
) -> httpx.Response:
    response = await client.post(path, json=body, headers=tenant.headers)
    assert response.status_code in (200, 201), response.text
    return response


async def arrange(
    client: httpx.AsyncClient,
    tenant: TenantWithKey,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> Dataset:
    data = await arrange_references(sessionmaker, tenant.tenant_id)
    settings = {"time_zone": "Europe/Berlin", "fiscal_year_start_month": 2, "currency": "EUR"}
    response = await client.put("/metrics/settings", json=settings, headers=tenant.headers)
    assert response.status_code == 200, response.text
    response = await client.put(
        "/metrics/exchange-rates/USD", json={"rate": "0.5"}, headers=tenant.headers
    )
    assert response.status_code == 200, response.text

    t1, t2, a, b = str(data.t1), str(data.t2), str(data.rep_a), str(data.rep_b)
    opportunities: list[dict[str, Any]] = [
        {"external_id": "won-0", "territory_id": t1, "rep_id": a, "amount": 3000,
         "status": "won", "closed_at": "2025-01-31T23:30:00Z"},
        {"external_id": "won-1", "territory_id": t1, "rep_id": a, "account_id": str(data.acct1),
         "amount": 10000, "status": "won", "opened_at": "2025-01-01T00:00:00Z",
         "closed_at": "2025-02-10T12:00:00Z"},
        {"external_id": "won-2", "territory_id": t1, "rep_id": a, "account_id": str(data.acct2),
         "amount": 2000, "currency": "USD", "status": "won",
         "opened_at": "2025-04-20T21:59:59Z", "closed_at": "2025-04-30T21:59:59Z"},
        {"external_id": "won-3", "territory_id": t1, "rep_id": a, "account_id": str(data.acct1),
         "amount": 5000, "status": "won", "opened_at": "2025-04-01T00:00:00Z",
         "closed_at": "2025-04-30T22:00:00Z"},
        {"external_id": "lost-1", "territory_id": t1, "rep_id": a, "amount": 4000,
         "status": "lost", "closed_at": "2025-03-01T10:00:00Z"},
        {"external_id": "open-1", "territory_id": t1, "rep_id": a, "amount": 6000,
         "opened_at": "2025-03-01T00:00:00Z"},
        {"external_id": "won-prev", "territory_id": t1, "rep_id": a, "amount": 5000,
         "status": "won", "closed_at": "2024-12-15T12:00:00Z"},
        {"external_id": "won-ya", "territory_id": t1, "rep_id": a, "account_id": str(data.acct2),
         "amount": 4000, "status": "won", "closed_at": "2024-03-10T12:00:00Z"},
        {"external_id": "won-4", "territory_id": t2, "rep_id": b, "account_id": str(data.acct3),
         "amount": 8000, "status": "won", "closed_at": "2025-03-15T12:00:00Z"},
    ]  # fmt: skip
    for opportunity in opportunities:
        await post(
            client,
            tenant,
            "/metrics/opportunities",
            {"name": opportunity["external_id"], **opportunity},
        )
    for subject, amount in ((t1, 20000), (t2, 10000)):
        await post(
            client,
            tenant,
            "/metrics/quotas",
            {"territory_id": subject, "period_start": "2025-02-01", "period_end": "2025-05-01",
             "amount": amount},
        )  # fmt: skip
    activities = [
        ("act-1", t1, a, "2025-01-31T23:30:00Z"),
        ("act-2", t1, a, "2025-03-03T09:00:00Z"),
        ("act-3", t1, a, "2025-04-30T22:10:00Z"),
        ("act-4", t2, b, "2025-03-04T09:00:00Z"),
    ]
    for external_id, territory, rep, occurred_at in activities:
        await post(
            client,
            tenant,
            "/metrics/activities",
            {"external_id": external_id, "kind": "call", "territory_id": territory,
             "rep_id": rep, "occurred_at": occurred_at},
        )  # fmt: skip
    return data
