"""The demo loaded into a fresh tenant of the real platform (services, worker, nginx): the
alignment, accounts, graph, metrics and the drafted scenario agree with each other."""

import statistics
import uuid
from collections.abc import AsyncIterator

import asyncpg
import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from demo.generate import DemoOrganisation
from demo.identity import ALIGNMENT_NAME, SCENARIO_NAME, finished_name
from demo.load import LoadResult, load
from demo.tenant import ensure_demo_tenant
from shared.models import Tenant
from tests.conftest import Platform
from tests.demo.conftest import SEED
from tests.factories import TenantWithKey, make_tenant


@pytest.fixture(scope="module")
async def loaded(
    platform: Platform,
    database_url: str,
    sessionmaker: async_sessionmaker[AsyncSession],
    organisation: DemoOrganisation,
) -> tuple[TenantWithKey, LoadResult]:
    tenant = await make_tenant(sessionmaker)
    async with httpx.AsyncClient(
        base_url=platform.url, headers=tenant.headers, timeout=60.0
    ) as client:
        result = await load(
            organisation,
            client=client,
            database_url=database_url,
            tenant_id=tenant.tenant_id,
            scenario_seconds=2.0,
        )
    return tenant, result


@pytest.fixture
async def client(
    platform: Platform, loaded: tuple[TenantWithKey, LoadResult]
) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(
        base_url=platform.url, headers=loaded[0].headers, timeout=30.0
    ) as client:
        yield client


async def test_every_account_lies_in_a_territory_of_the_active_alignment(
    loaded: tuple[TenantWithKey, LoadResult],
    db: asyncpg.Connection,
    client: httpx.AsyncClient,
    organisation: DemoOrganisation,
) -> None:
    tenant, result = loaded
    active = (await client.get("/assignment/alignments", params={"status": "active"})).json()
    assert [a["name"] for a in active["items"]] == [ALIGNMENT_NAME]
    assert uuid.UUID(active["items"][0]["id"]) == result.active_alignment_id
    row = await db.fetchrow(
        """
        SELECT count(*) AS accounts,
               count(*) FILTER (WHERE t.id IS NOT NULL AND ST_Covers(t.geom, a.location)
                                  AND al.status = 'active' AND t.level = 1) AS inside,
               count(*) FILTER (WHERE a.owner_territory_id = a.territory_id) AS owned_there
          FROM account a
          LEFT JOIN territory t ON t.id = a.territory_id
          LEFT JOIN alignment al ON al.id = t.alignment_id
         WHERE a.tenant_id = $1
        """,
        tenant.tenant_id,
    )
    assert row["accounts"] == len(organisation.accounts)
    assert row["inside"] == row["accounts"]
    # Their owner is the rep of the territory they lie in (a few ZIP centroids sit exactly on
    # a state line, where the service's tie-break may pick the neighbour).
    assert row["owned_there"] >= 0.99 * row["accounts"]


async def test_every_rep_owns_a_territory(
    loaded: tuple[TenantWithKey, LoadResult], db: asyncpg.Connection
) -> None:
    tenant, result = loaded
    reps_without = await db.fetchval(
        """
        SELECT count(*) FROM rep r
         WHERE r.tenant_id = $1 AND NOT EXISTS (
               SELECT 1 FROM territory_member m JOIN territory t ON t.id = m.territory_id
                WHERE m.rep_id = r.id AND m.role = 'owner' AND t.alignment_id = $2)
        """,
        tenant.tenant_id,
        result.active_alignment_id,
    )
    reps = await db.fetchval("SELECT count(*) FROM rep WHERE tenant_id = $1", tenant.tenant_id)
    assert reps >= 20 and reps_without == 0


async def test_territory_kpis_and_health_show_the_year(
    loaded: tuple[TenantWithKey, LoadResult], db: asyncpg.Connection, client: httpx.AsyncClient
) -> None:
    tenant, result = loaded
    territory_id = await db.fetchval(
        """
        SELECT t.id FROM territory t JOIN opportunity o ON o.territory_id = t.id
         WHERE t.alignment_id = $1 GROUP BY t.id ORDER BY count(*) DESC, t.id LIMIT 1
        """,
        result.active_alignment_id,
    )
    kpis = (
        await client.get(
            "/metrics/kpis",
            params={"territory_id": str(territory_id), "start": "2025-11-01", "end": "2026-11-01"},
        )
    ).json()
    assert kpis["revenue"]["value"] > 0, kpis
    assert kpis["won_count"] > 0 and kpis["lost_count"] > 0
    assert kpis["quota"]["value"] > 0 and kpis["attainment"]["value"] > 0
    assert kpis["activities"] > 0
    health = await client.get(
        "/metrics/territory-health",
        params={
            "alignment_id": str(result.active_alignment_id),
            "start": "2025-11-01",
            "end": "2026-11-01",
        },
    )
    assert health.status_code == 200, health.text
    body = health.json()
    field = [t for t in body["territories"] if t["name"] != "Inside Sales"]
    assert len(field) == 18 and all(t["accounts"] and t["revenue"] > 0 for t in field)
    # Uneven on purpose: territories outside ±20% of the mean, for the scenario to fix.
    assert body["out_of_tolerance"]


async def test_proximity_ranks_reps_for_an_account(
    loaded: tuple[TenantWithKey, LoadResult], db: asyncpg.Connection, client: httpx.AsyncClient
) -> None:
    tenant, _result = loaded
    account_id, owner_id = await db.fetchrow(
        """
        SELECT a.id, a.owner_rep_id FROM account a
          JOIN person c ON c.account_id = a.id
          JOIN connection k ON c.id IN (k.person_a_id, k.person_b_id)
          JOIN person r ON r.id IN (k.person_a_id, k.person_b_id) AND r.rep_id = a.owner_rep_id
         WHERE a.tenant_id = $1 ORDER BY a.external_id LIMIT 1
        """,
        tenant.tenant_id,
    )
    ranking = await client.get(f"/proximity/accounts/{account_id}/reps")
    assert ranking.status_code == 200, ranking.text
    ranked = ranking.json()["ranked"]
    assert ranked and ranked[0]["score"] > 0
    # The owner knows one of the account's people directly: it is ranked, with a warm path.
    assert str(owner_id) in {r["rep_id"] for r in ranked}


async def test_the_rebalanced_scenario_is_drafted(
    loaded: tuple[TenantWithKey, LoadResult],
    client: httpx.AsyncClient,
    organisation: DemoOrganisation,
) -> None:
    _tenant, result = loaded
    scenario = (await client.get(f"/planning/scenarios/{result.scenario_id}")).json()
    assert scenario["name"] == SCENARIO_NAME and scenario["status"] == "succeeded"
    # Rebalanced: the workload of its territories varies far less than today's.
    workload = {u.code: u.measures["workload"] for u in organisation.units}
    today = [
        sum(workload[code] for code in t.unit_codes)
        for t in organisation.territories
        if t.level == 1
    ]
    today_cv = statistics.pstdev(today) / statistics.mean(today)
    assert scenario["result"]["coefficient_of_variation"]["workload"] < 0.6 * today_cv
    draft = (await client.get(f"/assignment/alignments/{result.draft_alignment_id}")).json()
    assert draft["status"] == "draft"
    territories = (
        await client.get(
            f"/assignment/alignments/{result.draft_alignment_id}/territories",
            params={"include_geometry": "false", "limit": 100},
        )
    ).json()
    assert len(territories["items"]) == 18
    assert all(t["members"] for t in territories["items"])


async def test_ensure_keeps_a_finished_demo_and_replaces_another_seed(
    loaded: tuple[TenantWithKey, LoadResult],
    sessionmaker: async_sessionmaker[AsyncSession],
    db: asyncpg.Connection,
) -> None:
    """Last in this module: it empties the loaded tenant."""
    tenant, _result = loaded
    async with sessionmaker() as session, session.begin():
        kept, to_load = await ensure_demo_tenant(session, seed=SEED, slug=tenant.slug)
    assert (kept.id, kept.name, to_load) == (tenant.tenant_id, finished_name(SEED), False)
    # Another seed (or generator version): the whole demo goes, social graph included, and an
    # empty tenant of the same slug takes its place.
    async with sessionmaker() as session, session.begin():
        fresh, to_load = await ensure_demo_tenant(session, seed=SEED + 1, slug=tenant.slug)
    assert to_load and fresh.id != tenant.tenant_id and fresh.slug == tenant.slug
    for table in ("rep", "account", "person", "connection", "opportunity", "basic_unit"):
        left = await db.fetchval(f"SELECT count(*) FROM {table} WHERE tenant_id = $1", kept.id)
        assert left == 0, table
    async with sessionmaker() as session:
        assert await session.get(Tenant, tenant.tenant_id) is None
    # A tenant with data but no finished marker (a load cut short) is emptied too.
    await db.execute("INSERT INTO rep (tenant_id, name) VALUES ($1, 'left over')", fresh.id)
    async with sessionmaker() as session, session.begin():
        again, to_load = await ensure_demo_tenant(session, seed=SEED, slug=tenant.slug)
    assert to_load and again.id != fresh.id
