"""Writes a generated organisation into one tenant of the running platform.

Two paths, chosen per kind of data:
- **Through the services' HTTP API (the gateway, with the tenant's key)** wherever a service
  owns logic that the data must go through: reps, the alignment and its territories (the
  polygons checked, subdivided and indexed by the assignment service), publishing it, accounts
  (``accounts:bulk`` places each one under the active alignment with the lead matcher, so
  ``territory_id`` and ``owner_territory_id`` are the service's own answer), basic units and
  their adjacency (computed by the planning service), and the rebalanced scenario (the design
  engine on the job worker, then ``:draft`` through the assignment service). That is ~450
  requests.
- **COPY into the tables, as their owner, in one transaction** for the facts that no service
  derives anything from on write: people and connections (proximity rebuilds its graph from
  the tables), opportunities, activities and quotas (metrics computes on read). Those are
  ~45,000 rows, and those services have no bulk endpoint on this branch: one request per row
  would take minutes under the gateway's 100 requests/s per key, COPY takes about a second.
  The rows are written exactly as the services' single-row endpoints would (tenant set, amounts
  in the reporting currency, pairs ordered, the graph version bumped by its triggers).

Idempotency lives one level up: ``ensure_demo_tenant`` (run by ``shared.cli ensure-demo``)
empties a demo tenant that holds anything but a finished load of this seed and version, and
``load`` marks the tenant finished as its very last step, so a load cut short is redone whole.
"""

import asyncio
import json
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import asyncpg
import httpx
import shapely

from demo.generate import DemoOrganisation, TerritoryPlan, Unit
from demo.identity import ALIGNMENT_NAME, SCENARIO_NAME, finished_name
from shared.tenancy import TENANT_SETTING

Progress = Callable[[str], None]
ANALYZED_TABLES = (
    "rep",
    "territory",
    "territory_member",
    "territory_part",
    "account",
    "basic_unit",
    "unit_adjacency",
    "person",
    "connection",
    "opportunity",
    "activity",
    "quota",
)


class DemoLoadError(RuntimeError):
    """The platform refused part of the demo: the message says which request and why."""


@dataclass
class LoadResult:
    tenant_id: uuid.UUID
    active_alignment_id: uuid.UUID
    draft_alignment_id: uuid.UUID
    scenario_id: uuid.UUID
    counts: dict[str, int]


class _Api:
    """The gateway with the tenant's key: JSON in and out, a 429 or 503 waited out as its
    Retry-After says (the gateway limits a standard key to 100 requests/s), any other error
    raised with the problem's detail."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client

    async def call(self, method: str, path: str, body: Any = None, *, ok: int = 200) -> Any:
        for _attempt in range(30):
            response = await self.client.request(method, path, json=body)
            if response.status_code in (429, 503):
                await asyncio.sleep(float(response.headers.get("Retry-After", "1")))
                continue
            if response.status_code != ok:
                raise DemoLoadError(
                    f"{method} {path} answered {response.status_code}: {response.text[:600]}"
                )
            return response.json() if response.content else None
        raise DemoLoadError(f"{method} {path} still refused after 30 tries (rate limit?)")


async def _gather_limited(calls: list[Callable[[], Awaitable[Any]]], limit: int) -> list[Any]:
    semaphore = asyncio.Semaphore(limit)

    async def run(call: Callable[[], Awaitable[Any]]) -> Any:
        async with semaphore:
            return await call()

    return list(await asyncio.gather(*(run(call) for call in calls)))


def _money(amount: float) -> Decimal:
    return Decimal(f"{amount:.2f}")


def _geojson(geometry: shapely.Geometry) -> dict[str, Any]:
    return json.loads(shapely.to_geojson(geometry))


async def load(
    organisation: DemoOrganisation,
    *,
    client: httpx.AsyncClient,
    database_url: str,
    tenant_id: uuid.UUID,
    scenario_seconds: float = 8.0,
    progress: Progress = lambda message: None,
) -> LoadResult:
    """Load ``organisation`` into the (empty) tenant whose key ``client`` sends; ``database_url``
    is the tables' owner (libpq form) for the COPY part."""
    api = _Api(client)
    started = time.monotonic()

    def done(message: str) -> None:
        progress(f"{message} ({time.monotonic() - started:.1f} s)")

    # The team works on Eastern time: KPI periods start at midnight there.
    await api.call(
        "PUT",
        "/metrics/settings",
        {"time_zone": "America/New_York", "fiscal_year_start_month": 1, "currency": "USD"},
    )
    rep_ids = await _load_reps(api, organisation)
    done(f"{len(rep_ids)} reps")
    alignment_id = await _load_alignment(api, organisation, rep_ids)
    done(f"alignment {ALIGNMENT_NAME!r} published, {len(organisation.territories)} territories")
    # Accounts (assignment) and units (planning) do not wait for each other.
    _placed, pairs = await asyncio.gather(
        _load_accounts(api, organisation), _load_units(api, organisation)
    )
    done(
        f"{len(organisation.accounts)} accounts placed, {len(organisation.units)} basic units "
        f"with {pairs} adjacent pairs"
    )
    # The design job runs on the worker while the facts are copied.
    scenario_id = await _start_scenario(api, organisation, seconds=scenario_seconds)
    counts = await _copy_facts(organisation, database_url=database_url, tenant_id=tenant_id)
    done(", ".join(f"{n} {name}" for name, n in counts.items()) + " copied")
    draft_id = await _draft_scenario(
        api, organisation, rep_ids, scenario_id=scenario_id, seconds=scenario_seconds
    )
    done(f"scenario {SCENARIO_NAME!r} designed and drafted")
    connection = await asyncpg.connect(database_url)
    try:
        await connection.execute(
            "UPDATE tenant SET name = $2 WHERE id = $1", tenant_id, finished_name(organisation.seed)
        )
    finally:
        await connection.close()
    return LoadResult(
        tenant_id=tenant_id,
        active_alignment_id=alignment_id,
        draft_alignment_id=draft_id,
        scenario_id=scenario_id,
        counts={**organisation.counts, **counts},
    )


async def _load_reps(api: _Api, organisation: DemoOrganisation) -> dict[str, uuid.UUID]:
    rep_ids: dict[str, uuid.UUID] = {}
    # Managers first: the others name them.
    for rep in sorted(organisation.reps, key=lambda r: r.manager_external_id is not None):
        created = await api.call(
            "POST",
            "/assignment/reps",
            {
                "external_id": rep.external_id,
                "name": rep.name,
                "email": rep.email,
                "capacity": rep.capacity,
                "home": {"type": "Point", "coordinates": list(rep.home)},
                "skills": list(rep.skills),
                "segments": list(rep.segments),
                "manager_id": str(rep_ids[rep.manager_external_id])
                if rep.manager_external_id
                else None,
            },
            ok=201,
        )
        rep_ids[rep.external_id] = uuid.UUID(created["id"])
    return rep_ids


async def _load_alignment(
    api: _Api, organisation: DemoOrganisation, rep_ids: dict[str, uuid.UUID]
) -> uuid.UUID:
    alignment = await api.call("POST", "/assignment/alignments", {"name": ALIGNMENT_NAME}, ok=201)
    alignment_id = alignment["id"]
    features = [
        {
            "type": "Feature",
            "geometry": _geojson(organisation.territory_geometries[territory.name]),
            "properties": {
                "name": territory.name,
                "parent": territory.parent,
                "members": [{"rep_id": str(rep_ids[territory.owner_external_id])}],
                "distribution_rule": "round_robin",
                "attributes": {"units": len(territory.unit_codes)},
            },
        }
        for territory in organisation.territories
        if territory.unit_codes
    ]
    await api.call(
        "POST",
        f"/assignment/alignments/{alignment_id}/territories:import",
        {"type": "FeatureCollection", "features": features},
        ok=201,
    )
    for territory in organisation.territories:
        if territory.unit_codes:
            continue
        created = await api.call(
            "POST",
            f"/assignment/alignments/{alignment_id}/territories",
            {"name": territory.name, "is_fallback": territory.is_fallback, "geometry": None},
            ok=201,
        )
        await api.call(
            "POST",
            f"/assignment/territories/{created['id']}/members",
            {"rep_id": str(rep_ids[territory.owner_external_id])},
            ok=201,
        )
    await api.call("POST", f"/assignment/alignments/{alignment_id}:publish")
    return uuid.UUID(alignment_id)


async def _load_accounts(api: _Api, organisation: DemoOrganisation) -> None:
    rows = [
        {
            "external_id": account.external_id,
            "name": account.name,
            "domain": account.domain,
            "country": "US",
            "postal_code": account.postal_code,
            "location": {"type": "Point", "coordinates": [account.lon, account.lat]},
            "industry": account.industry,
            "employee_count": account.employee_count,
            "annual_revenue": f"{account.annual_revenue:.2f}",
            "potential": f"{account.potential:.2f}",
            "attributes": {
                "segment": account.segment,
                "city": account.city,
                "state": account.state,
            },
            "owner_external_id": account.owner_external_id,
        }
        for account in organisation.accounts
    ]
    for start in range(0, len(rows), 1000):
        result = await api.call(
            "POST",
            "/assignment/accounts:bulk",
            {"accounts": rows[start : start + 1000], "atomic": True},
        )
        if result["failed"]:
            raise DemoLoadError(f"accounts refused: {result['errors'][:5]}")


async def _load_units(api: _Api, organisation: DemoOrganisation) -> int:
    def create(unit: Unit) -> Callable[[], Awaitable[Any]]:
        body = {
            "code": unit.code,
            "name": unit.name,
            "measures": unit.measures,
            "geometry": _geojson(unit.geometry),
        }
        return lambda: api.call("POST", "/planning/units?repair=true", body, ok=201)

    await _gather_limited([create(unit) for unit in organisation.units], 6)
    rebuilt = await api.call("POST", "/planning/units/adjacency:rebuild")
    return int(rebuilt["pairs"])


def _field_territories(organisation: DemoOrganisation) -> list[TerritoryPlan]:
    return [t for t in organisation.territories if t.level == 1 and t.unit_codes]


async def _start_scenario(
    api: _Api, organisation: DemoOrganisation, *, seconds: float
) -> uuid.UUID:
    """The planners' proposal for next year: the same field reps (seeded at their homes'
    counties), realigned from today's territories to balance workload within ±25% and accounts
    within ±35%, moving as few counties as that takes. Tighter bounds are out of reach with
    whole counties as units: Mecklenburg (Charlotte) or Fulton (Atlanta) alone holds about a
    territory's share of accounts (the engine then answers with its best, infeasible plan)."""
    zip_county = {a.postal_code: a.unit_code for a in organisation.accounts}
    field = _field_territories(organisation)
    owners = {rep.external_id: rep for rep in organisation.reps}
    current = {code: index for index, t in enumerate(field) for code in t.unit_codes}
    seeds = []
    for index, territory in enumerate(field):
        home_unit = zip_county.get(owners[territory.owner_external_id].home_zip)
        if home_unit is None or current.get(home_unit) != index:
            home_unit = territory.unit_codes[0]
        seeds.append({"home_unit": home_unit})
    scenario = await api.call(
        "POST",
        "/planning/scenarios",
        {
            "name": SCENARIO_NAME,
            "reps": seeds,
            "balance": [
                {"measure": "workload", "tolerance": 0.25},
                {"measure": "accounts", "tolerance": 0.35},
            ],
            "current": current,
            "objective": {"disruption_weight": 1.0},
            "time_limit_seconds": seconds,
            "random_seed": organisation.seed,
        },
        ok=202,
    )
    return uuid.UUID(scenario["id"])


async def _draft_scenario(
    api: _Api,
    organisation: DemoOrganisation,
    rep_ids: dict[str, uuid.UUID],
    *,
    scenario_id: uuid.UUID,
    seconds: float,
) -> uuid.UUID:
    """Waits for the design job, then drafts its plan as an alignment owned by the same reps."""
    deadline = time.monotonic() + seconds + 120
    while True:
        scenario = await api.call("GET", f"/planning/scenarios/{scenario_id}")
        if scenario["status"] not in ("pending", "running"):
            break
        if time.monotonic() > deadline:
            raise DemoLoadError(f"scenario {scenario_id} did not finish: is the job worker up?")
        await asyncio.sleep(0.5)
    if scenario["status"] != "succeeded":
        raise DemoLoadError(
            f"scenario {scenario_id} ended {scenario['status']}: {scenario['error']}"
        )
    drafted = await api.call(
        "POST",
        f"/planning/scenarios/{scenario_id}:draft",
        {
            "name": SCENARIO_NAME,
            "owners": [str(rep_ids[t.owner_external_id]) for t in _field_territories(organisation)],
            "fallback_territory": None,
        },
        ok=201,
    )
    return uuid.UUID(drafted["alignment_id"])


async def _copy_facts(
    organisation: DemoOrganisation, *, database_url: str, tenant_id: uuid.UUID
) -> dict[str, int]:
    connection = await asyncpg.connect(database_url)
    try:
        async with connection.transaction():
            await connection.execute(
                f"SELECT set_config('{TENANT_SETTING}', $1, true)", str(tenant_id)
            )
            counts = await _copy_rows(connection, organisation, tenant_id)
        # Fresh statistics for what was just written: on a new database autovacuum has not
        # looked yet, and planning the first KPI or health query for empty tables took the
        # metrics service past the gateway's 30 s timeout (a second instead, with them).
        await connection.execute(f"ANALYZE {', '.join(ANALYZED_TABLES)}")
        return counts
    finally:
        await connection.close()


async def _copy_rows(
    connection: asyncpg.Connection, organisation: DemoOrganisation, tenant_id: uuid.UUID
) -> dict[str, int]:
    reps = {
        row["external_id"]: row["id"]
        for row in await connection.fetch(
            "SELECT id, external_id FROM rep WHERE tenant_id = $1", tenant_id
        )
    }
    accounts = {
        row["external_id"]: (row["id"], row["territory_id"])
        for row in await connection.fetch(
            "SELECT id, external_id, territory_id FROM account WHERE tenant_id = $1", tenant_id
        )
    }
    missing = [a.external_id for a in organisation.accounts if a.external_id not in accounts]
    if missing:
        raise DemoLoadError(f"{len(missing)} accounts are missing, e.g. {missing[:3]}")

    people: dict[str, uuid.UUID] = {}
    person_rows = []
    for rep in organisation.reps:
        people[f"rep:{rep.external_id}"] = uuid.uuid4()
        person_rows.append(
            (
                people[f"rep:{rep.external_id}"],
                tenant_id,
                f"rep:{rep.external_id}",
                "rep",
                reps[rep.external_id],
                None,
                rep.name,
                rep.email,
                "Account Executive" if rep.role == "field" else rep.role.title(),
            )
        )
    for contact in organisation.contacts:
        people[contact.external_id] = uuid.uuid4()
        person_rows.append(
            (
                people[contact.external_id],
                tenant_id,
                contact.external_id,
                "contact",
                None,
                accounts[contact.account_external_id][0],
                contact.name,
                contact.email,
                contact.title,
            )
        )
    await connection.copy_records_to_table(
        "person",
        records=person_rows,
        columns=[
            "id",
            "tenant_id",
            "external_id",
            "kind",
            "rep_id",
            "account_id",
            "name",
            "email",
            "title",
        ],
    )
    connection_rows = []
    for tie in organisation.ties:
        a, b = sorted((people[tie.a], people[tie.b]))
        connection_rows.append(
            (uuid.uuid4(), tenant_id, a, b, tie.kind, tie.strength, tie.last_interaction_at)
        )
    await connection.copy_records_to_table(
        "connection",
        records=connection_rows,
        columns=[
            "id",
            "tenant_id",
            "person_a_id",
            "person_b_id",
            "kind",
            "strength",
            "last_interaction_at",
        ],
    )
    opportunities: dict[str, uuid.UUID] = {}
    opportunity_rows = []
    for opportunity in organisation.opportunities:
        opportunities[opportunity.external_id] = uuid.uuid4()
        account_id, territory_id = accounts[opportunity.account_external_id]
        opportunity_rows.append(
            (
                opportunities[opportunity.external_id],
                tenant_id,
                opportunity.external_id,
                account_id,
                reps[opportunity.rep_external_id],
                territory_id,
                opportunity.name,
                opportunity.stage,
                opportunity.status,
                _money(opportunity.amount),
                "USD",
                _money(opportunity.amount),
                opportunity.is_new_business,
                opportunity.opened_at,
                opportunity.closed_at,
                opportunity.opened_at,
            )
        )
    await connection.copy_records_to_table(
        "opportunity",
        records=opportunity_rows,
        columns=[
            "id",
            "tenant_id",
            "external_id",
            "account_id",
            "rep_id",
            "territory_id",
            "name",
            "stage",
            "status",
            "amount",
            "currency",
            "amount_reporting",
            "is_new_business",
            "opened_at",
            "closed_at",
            "created_at",
        ],
    )
    activity_rows = [
        (
            uuid.uuid4(),
            tenant_id,
            activity.external_id,
            activity.kind,
            reps[activity.rep_external_id],
            accounts[activity.account_external_id][0],
            accounts[activity.account_external_id][1],
            opportunities[activity.opportunity_external_id]
            if activity.opportunity_external_id
            else None,
            activity.occurred_at,
            activity.duration_minutes,
        )
        for activity in organisation.activities
    ]
    await connection.copy_records_to_table(
        "activity",
        records=activity_rows,
        columns=[
            "id",
            "tenant_id",
            "external_id",
            "kind",
            "rep_id",
            "account_id",
            "territory_id",
            "opportunity_id",
            "occurred_at",
            "duration_minutes",
        ],
    )
    territories = {
        row["name"]: row["id"]
        for row in await connection.fetch(
            """
            SELECT t.id, t.name FROM territory t JOIN alignment a ON a.id = t.alignment_id
             WHERE t.tenant_id = $1 AND a.status = 'active'
            """,
            tenant_id,
        )
    }
    quota_rows = [
        (
            uuid.uuid4(),
            tenant_id,
            reps[quota.rep_external_id] if quota.rep_external_id else None,
            territories[quota.territory] if quota.territory else None,
            quota.period_start,
            quota.period_end,
            _money(quota.amount),
        )
        for quota in organisation.quotas
    ]
    await connection.copy_records_to_table(
        "quota",
        records=quota_rows,
        columns=[
            "id",
            "tenant_id",
            "rep_id",
            "territory_id",
            "period_start",
            "period_end",
            "amount",
        ],
    )
    return {
        "people": len(person_rows),
        "connections": len(connection_rows),
        "opportunities": len(opportunity_rows),
        "activities": len(activity_rows),
        "quotas": len(quota_rows),
    }
