"""Bulk lead assignment through the real gateway: per-row errors, parity with the single-lead
path, the distribution rules set-based, jobs with progress, limits."""

import asyncio
import csv
import io
import json
import random
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from typing import Any

import asyncpg
import httpx
import pytest

from services.assignment.app import create_app
from services.assignment.bulk import jobs
from services.assignment.bulk.staging import EvenRows
from services.assignment.leads.schemas import LeadIn
from services.assignment.leads.service import lead_domain
from services.assignment.postal_codes.normalise import normalise_postal_code
from shared.settings import Settings
from tests.assignment.territory_factories import (
    add_member,
    make_account,
    make_alignment,
    make_rep,
    make_territory,
    square,
)
from tests.conftest import AppClientFactory
from tests.factories import TenantWithKey

PROBLEM_JSON = "application/problem+json"
CSV = {"Content-Type": "text/csv"}
NDJSON = {"Content-Type": "application/x-ndjson"}

# A territory's turns so far (its counter row appears on its first turn).
TURNS = "SELECT coalesce(sum(turn_counter), 0) FROM territory_turn WHERE territory_id = $1"


@pytest.fixture(autouse=True)
async def postal_codes(db: asyncpg.Connection) -> None:
    # ZZ is a user-assigned country code: these rows never clash with shipped data.
    await db.execute(
        """
        INSERT INTO postal_code (country, code, place_name, centroid) VALUES
            ('ZZ', 'AB12', 'City Town', ST_SetSRID(ST_MakePoint(-5, 5), 4326)),
            ('ZZ', 'CD34', 'West Town', ST_SetSRID(ST_MakePoint(-1, 1), 4326))
        ON CONFLICT DO NOTHING
        """
    )


@dataclass
class World:
    tenant: TenantWithKey
    reps: dict[str, uuid.UUID]
    territories: dict[str, uuid.UUID]

    def rep_name(self, rep_id: object) -> str | None:
        return next((n for n, v in self.reps.items() if str(v) == str(rep_id)), None)

    def rep_label(self, rep_id: object) -> str | None:
        """Round robin hands turns out in rep id order, and ids differ between tenants: the
        reps of a round-robin team are compared by their rank in that order."""
        name = self.rep_name(rep_id)
        for team in (["west1", "west2", "west3"], ["software1", "software2"]):
            if name in team:
                ranked = sorted(self.reps[member] for member in team)
                return f"{team[0][:-1]}#{ranked.index(self.reps[name])}"
        return name

    def territory_name(self, territory_id: object) -> str | None:
        return next((n for n, v in self.territories.items() if str(v) == str(territory_id)), None)


async def build_world(db: asyncpg.Connection, tenant: TenantWithKey) -> World:
    """West (lon -10..0, lat 0..10) holds West City (lon -6..-4, lat 4..6); Enterprise
    (employee_count ≥ 1000, priority 10) and Software (software/SaaS, not from partners,
    priority 20) rules; Weighted (industry retail, weights 3:1); a fallback. Named accounts:
    Acme (owned), Orphan (no owner), Placed (no owner, located in West City)."""
    t = tenant.tenant_id
    names = ("west1", "west2", "west3", "city", "enterprise", "software1", "software2",
             "heavy", "light", "fallback", "owner")  # fmt: skip
    reps = {name: await make_rep(db, tenant_id=t, name=name) for name in names}
    alignment = await make_alignment(db, tenant_id=t)
    west = await make_territory(
        db, tenant_id=t, alignment_id=alignment, name="West", wkt=square(-10, 0, 10)
    )
    territories = {
        "West": west,
        "West City": await make_territory(
            db, tenant_id=t, alignment_id=alignment, name="West City", wkt=square(-6, 4, 2),
            level=1, parent_id=west,
        ),
        "Enterprise": await make_territory(
            db, tenant_id=t, alignment_id=alignment, name="Enterprise", priority=10,
            criteria={"field": "employee_count", "op": "gte", "value": 1000},
        ),
        "Software": await make_territory(
            db, tenant_id=t, alignment_id=alignment, name="Software", priority=20,
            criteria={"all": [
                {"field": "industry", "op": "in", "values": ["Software", "SaaS"]},
                {"not": {"field": "attributes.lead_source", "op": "eq", "value": "partner"}},
            ]},
        ),
        "Weighted": await make_territory(
            db, tenant_id=t, alignment_id=alignment, name="Weighted", priority=30,
            rule="weighted", criteria={"field": "industry", "op": "eq", "value": "retail"},
        ),
        "Fallback": await make_territory(
            db, tenant_id=t, alignment_id=alignment, name="Fallback", is_fallback=True
        ),
    }  # fmt: skip
    members = {
        "West": ["west1", "west2", "west3"],
        "West City": ["city"],
        "Enterprise": ["enterprise"],
        "Software": ["software1", "software2"],
        "Fallback": ["fallback"],
    }
    for territory, rep_names in members.items():
        for name in rep_names:
            await add_member(
                db, tenant_id=t, territory_id=territories[territory], rep_id=reps[name]
            )
    await add_member(db, tenant_id=t, territory_id=territories["Weighted"], rep_id=reps["heavy"],
                     weight=3)  # fmt: skip
    await add_member(db, tenant_id=t, territory_id=territories["Weighted"], rep_id=reps["light"],
                     weight=1)  # fmt: skip
    await add_member(db, tenant_id=t, territory_id=territories["West"], rep_id=reps["owner"],
                     role="overlay")  # fmt: skip
    await make_account(db, tenant_id=t, external_id="acc-1", name="Acme", domain="acme.com",
                       owner_rep_id=reps["owner"])  # fmt: skip
    await make_account(db, tenant_id=t, external_id="acc-2", name="Orphan", domain="orphan.io")
    await make_account(db, tenant_id=t, external_id="acc-3", name="Placed", domain="placed.io",
                       location=(-5.0, 5.0))  # fmt: skip
    return World(tenant, reps, territories)


def to_csv(rows: list[dict[str, Any]], columns: list[str]) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({key: row.get(key, "") for key in columns})
    return out.getvalue().encode()


async def upload(
    client: httpx.AsyncClient,
    tenant: TenantWithKey,
    body: bytes,
    headers: dict[str, str],
    **params: str,
) -> httpx.Response:
    return await client.post(
        "/assignment/leads:bulk", content=body, headers={**tenant.headers, **headers},
        params=params,
    )  # fmt: skip


async def jsonb(db: asyncpg.Connection, query: str, *args: object) -> Any:
    return json.loads(await db.fetchval(query, *args))


async def job_errors(
    client: httpx.AsyncClient, tenant: TenantWithKey, job_id: str
) -> list[dict[str, Any]]:
    response = await client.get(
        f"/assignment/jobs/{job_id}/errors", headers=tenant.headers, params={"limit": 1000}
    )
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def results(
    db: asyncpg.Connection, world: World, job_id: str, *, ranked: bool = False
) -> dict[int, tuple[str | None, str | None, str]]:
    """row_number → (territory name, rep name, matched rule) for a job's leads."""
    rows = await db.fetch(
        """
        SELECT l.job_row_number, a.territory_id, a.rep_id, a.matched_rule
          FROM lead l JOIN assignment a ON a.lead_id = l.id
         WHERE l.tenant_id = $1 AND l.job_id = $2
        """,
        world.tenant.tenant_id,
        uuid.UUID(job_id),
    )
    return {
        row["job_row_number"]: (
            world.territory_name(row["territory_id"]),
            (world.rep_label if ranked else world.rep_name)(row["rep_id"]),
            row["matched_rule"],
        )
        for row in rows
    }


# ---- per-row errors ------------------------------------------------------------------------


async def test_csv_with_bad_rows_assigns_the_good_ones_and_names_the_bad(
    gateway_client: httpx.AsyncClient, db: asyncpg.Connection, tenant: TenantWithKey
) -> None:
    world = await build_world(db, tenant)
    body = (
        b"external_id,email,latitude,longitude,postal_code,country,employee_count,attr.lead_source\n"
        b"r1,pat@acme.com,5,-5,,,,\n"  # named account Acme
        b"r2,,5,-5,,,,\n"  # West City
        b"r3,,95,-5,,,,\n"  # bad latitude
        b"r4,,,,AB12,,,\n"  # postal code without country
        b"r5,,,,,,many,\n"  # non-numeric employee_count
        b"r6,,,,ab 12,zz,,\n"  # postal-code only, placed in West City
        b"r7,,1,,,,,\n"  # latitude without longitude
        b"r8,,,,,,2500,web\n"  # Enterprise rule
        b"r9,x@@y,,,,,,\n"  # bad email
        b"r10,,,,,USA,,\n"  # country not 2 letters
        b"r11,,5\n"  # a short row: an error of its own, not of the whole upload
        b'r12,"a, quoted",5,-5,,,,,,\n'  # a long row
    )
    response = await upload(gateway_client, tenant, body, CSV)
    assert response.status_code == 200, response.text
    job = response.json()
    assert job["status"] == "succeeded" and job["stage"] == "done"
    assert (job["total_rows"], job["assigned_rows"], job["failed_rows"]) == (12, 4, 8)
    assert job["assigned_rows"] + job["failed_rows"] == job["total_rows"]
    errors = await job_errors(gateway_client, tenant, job["id"])
    assert [(e["row_number"], e["field"]) for e in errors] == [
        (3, "latitude"),
        (4, "country"),
        (5, "employee_count"),
        (7, "longitude"),
        (9, "email"),
        (10, "country"),
        (11, "row"),
        (12, "row"),
    ]
    assert "3 fields" in errors[6]["message"] and "8 columns" in errors[6]["message"]
    assert "10 fields" in errors[7]["message"]
    assert "'95'" in errors[0]["message"] and "-90 to 90" in errors[0]["message"]
    assert "postal_code needs its country" in errors[1]["message"]
    assert "'many'" in errors[2]["message"]
    assert await results(db, world, job["id"]) == {
        1: (None, "owner", "named_account"),  # the owner is no territory's owner member
        2: ("West City", "city", "geography"),
        6: ("West City", "city", "geography"),
        8: ("Enterprise", "enterprise", "attribute_rule"),
    }
    stored = await db.fetchrow(
        "SELECT postal_code, country, attributes FROM lead"
        " WHERE job_id = $1 AND job_row_number = 6",
        uuid.UUID(job["id"]),
    )
    assert (stored["postal_code"], stored["country"], stored["attributes"]) == ("AB12", "ZZ", "{}")
    explanation = await jsonb(
        db,
        "SELECT a.explanation FROM assignment a JOIN lead l ON l.id = a.lead_id"
        " WHERE l.job_id = $1 AND l.job_row_number = 6",
        uuid.UUID(job["id"]),
    )
    assert [step["step"] for step in explanation] == [
        "named_account", "attribute_rule", "geography", "distribution",
    ]  # fmt: skip
    assert explanation[2]["placed_by"] == "postal_code" and explanation[2]["point"] == [-5, 5]
    assert explanation[2]["also_containing"] == [str(world.territories["West"])]

    export = await gateway_client.get(
        f"/assignment/jobs/{job['id']}/assignments.csv", headers=tenant.headers
    )
    assert export.status_code == 200
    assert export.headers["content-type"].startswith("text/csv")
    reader = csv.DictReader(io.StringIO(export.text))
    lines = list(reader)
    # The documented columns: each result can be looked up (and explained) by its assignment id.
    assert reader.fieldnames == [
        "row_number", "lead_id", "assignment_id", "territory_id", "rep_id", "rule",
    ]  # fmt: skip
    assert [line["row_number"] for line in lines] == ["1", "2", "6", "8"]
    assert lines[1]["territory_id"] == str(world.territories["West City"])
    assert lines[1]["rep_id"] == str(world.reps["city"])
    assert lines[3]["rule"] == "attribute_rule"
    looked_up = await gateway_client.get(
        f"/assignment/assignments/{lines[3]['assignment_id']}", headers=tenant.headers
    )
    assert looked_up.status_code == 200, looked_up.text
    assert looked_up.json()["lead_id"] == lines[3]["lead_id"]
    assert looked_up.json()["matched_rule"] == "attribute_rule"


async def test_ndjson_with_bad_lines(
    gateway_client: httpx.AsyncClient, db: asyncpg.Connection, tenant: TenantWithKey
) -> None:
    world = await build_world(db, tenant)
    lines = [
        '{"external_id": "n1", "location": {"type": "Point", "coordinates": [-5, 5]}}',
        '{"external_id": "n2", "latitude": 1, "longitude": -1, "industry": "SaaS",'
        ' "attributes": {"lead_source": "Partner"}}',  # partner: not Software → West
        '{"external_id": "n3", "email": "kim@Acme.COM"}',  # named account by domain
        '{"external_id": "n4", "latitude": 1, "longitude": -1',  # broken JSON
        '{"external_id": "n5", "colour": "blue"}',  # unknown field
        "",  # blank lines are skipped, but keep their line number
        '{"external_id": "n7", "latitude": "north", "longitude": 1}',
        '["not", "an", "object"]',
        '{"external_id": "n9", "employee_count": 12.5}',
        '{"external_id": "n10", "location": {"type": "Point", "coordinates": [1, 95]}}',
        '{"external_id": "n11", "attributes": {"tags": ["a"]}}',
        '{"external_id": 12}',
        '{"external_id": "n13", "postal_code": "cd 34", "country": "zz", "employee_count": "5"}',
    ]
    response = await upload(gateway_client, tenant, "\n".join(lines).encode(), NDJSON)
    assert response.status_code == 200, response.text
    job = response.json()
    assert (job["total_rows"], job["assigned_rows"], job["failed_rows"]) == (12, 4, 8)
    errors = await job_errors(gateway_client, tenant, job["id"])
    assert [(e["row_number"], e["field"]) for e in errors] == [
        (4, "row"),
        (5, "colour"),
        (7, "latitude"),
        (8, "row"),
        (9, "employee_count"),
        (10, "location"),
        (11, "attributes.tags"),
        (12, "external_id"),
    ]
    assert "not valid JSON" in errors[0]["message"]
    assert "unknown field 'colour'" in errors[1]["message"]
    assert "swapped" in errors[5]["message"]
    # West's owners take turns in rep id order.
    west = [world.rep_name(rep) for rep in sorted(world.reps[f"west{i}"] for i in (1, 2, 3))]
    assert await results(db, world, job["id"]) == {
        1: ("West City", "city", "geography"),
        2: ("West", west[0], "geography"),
        3: (None, "owner", "named_account"),
        13: ("West", west[1], "geography"),
    }
    email, domain = await db.fetchrow(
        "SELECT email, domain FROM lead WHERE job_id = $1 AND job_row_number = 3",
        uuid.UUID(job["id"]),
    )
    assert (email, domain) == ("kim@acme.com", "acme.com")


async def test_sql_normalisation_agrees_with_the_single_path(
    gateway_client: httpx.AsyncClient, db: asyncpg.Connection, tenant: TenantWithKey
) -> None:
    await build_world(db, tenant)
    leads: list[dict[str, Any]] = [
        {"postal_code": "2134", "country": "us"},
        {"postal_code": "10001-1234", "country": "US"},
        {"postal_code": "100011234", "country": "US"},
        {"postal_code": " sw1a 1aa ", "country": "gb"},
        {"postal_code": "00-950", "country": "PL"},
        {"domain": " HTTPS://www.Example.com/about "},
        {"domain": "http://shop.example.org"},
        {"email": "Someone@GMAIL.com"},
        {"email": "pat@Sub.Example.CO.uk"},
        {"domain": "https://user@WWW.Initech.com:8443/x?y=1"},
        {"domain": "www.globex.com."},
        {"domain": "acme.com/contact"},
        {"email": "lee@outlook.com", "domain": "Initech.com"},
        {"domain": "yahoo.com"},
    ]
    body = "\n".join(json.dumps({"external_id": str(i), **lead}) for i, lead in enumerate(leads))
    response = await upload(gateway_client, tenant, body.encode(), NDJSON)
    assert response.json()["failed_rows"] == 0, response.text
    stored = await db.fetch(
        "SELECT job_row_number, email, domain, postal_code, country FROM lead"
        " WHERE job_id = $1 ORDER BY job_row_number",
        uuid.UUID(response.json()["id"]),
    )
    for row, lead in zip(stored, leads, strict=True):
        model = LeadIn(**lead)
        expected_postal = (
            normalise_postal_code(model.country, model.postal_code)
            if model.postal_code and model.country
            else None
        )
        expected = (
            str(model.email) if model.email else None,
            lead_domain(model),
            expected_postal,
            model.country.strip().upper() if model.country else None,
        )
        assert (row["email"], row["domain"], row["postal_code"], row["country"]) == expected, lead


# ---- parity with the single-lead path --------------------------------------------------------


def parity_leads(count: int) -> list[dict[str, Any]]:
    """A deterministic mix of every precedence step, ties included."""
    pick = random.Random(7)
    kinds: list[Callable[[], dict[str, Any]]] = [
        lambda: {"account_external_id": "acc-1", "latitude": -1, "longitude": 1},
        lambda: {"email": f"p{pick.randint(1, 99)}@acme.com"},
        lambda: {"email": "ops@orphan.io", "employee_count": 5000},  # no owner → rule
        # No owner, no location of its own: the account's location decides (West City).
        lambda: {"account_external_id": "acc-3"},
        lambda: {"email": f"p{pick.randint(1, 99)}@placed.io"},
        lambda: {"employee_count": 2000, "industry": "software"},  # tie Enterprise/Software
        lambda: {"industry": "SaaS", "latitude": 5, "longitude": -5},
        lambda: {"industry": "saas", "attr.lead_source": "partner", "latitude": 5,
                 "longitude": -5},
        lambda: {"industry": "Retail"},  # weighted
        lambda: {"latitude": round(pick.uniform(4.1, 5.9), 4),
                 "longitude": round(pick.uniform(-5.9, -4.1), 4)},  # West City
        lambda: {"latitude": round(pick.uniform(0.5, 3.5), 4),
                 "longitude": round(pick.uniform(-9.5, -0.5), 4)},  # West only
        lambda: {"postal_code": "AB12", "country": "ZZ"},
        lambda: {"postal_code": "cd34", "country": "zz"},
        lambda: {"postal_code": "XX99", "country": "ZZ"},  # unknown → fallback
        lambda: {"latitude": 50, "longitude": 50, "email": "x@gmail.com"},  # fallback
        lambda: {},
    ]  # fmt: skip
    return [{"external_id": f"lead-{i}", **kinds[i % len(kinds)]()} for i in range(count)]


def as_single_body(lead: dict[str, Any]) -> dict[str, Any]:
    body = {key: value for key, value in lead.items() if not key.startswith("attr.")}
    attributes = {key[5:]: value for key, value in lead.items() if key.startswith("attr.")}
    return {**body, "attributes": attributes} if attributes else body


async def test_bulk_matches_one_by_one_assignment(
    gateway_client: httpx.AsyncClient,
    db: asyncpg.Connection,
    tenant: TenantWithKey,
    other_tenant: TenantWithKey,
) -> None:
    one_by_one = await build_world(db, tenant)
    bulk = await build_world(db, other_tenant)
    leads = parity_leads(200)

    single: dict[int, tuple[str | None, str | None, str]] = {}
    single_steps: dict[int, list[dict[str, Any]]] = {}
    for row_number, lead in enumerate(leads, start=1):
        response = await gateway_client.post(
            "/assignment/leads", json=as_single_body(lead), headers=tenant.headers
        )
        assert response.status_code == 201, response.text
        body = response.json()
        single_steps[row_number] = comparable_steps(one_by_one, body["explanation"])
        single[row_number] = (
            one_by_one.territory_name(body["territory"]["id"]) if body["territory"] else None,
            one_by_one.rep_label(body["rep"]["id"]) if body["rep"] else None,
            body["matched_rule"],
        )

    columns = [
        "external_id", "email", "account_external_id", "latitude", "longitude",
        "postal_code", "country", "industry", "employee_count", "attr.lead_source",
    ]  # fmt: skip
    response = await upload(gateway_client, other_tenant, to_csv(leads, columns), CSV)
    assert response.status_code == 200, response.text
    assert response.json()["assigned_rows"] == 200

    # Weighted ties go to the lower rep id, which differs between the tenants: for the
    # Weighted rows the rep counts are compared below, not each row's rep.
    def comparable(
        by_row: dict[int, tuple[str | None, str | None, str]],
    ) -> dict[int, tuple[str | None, str | None, str]]:
        return {
            row: (territory, None if territory == "Weighted" else rep, rule)
            for row, (territory, rep, rule) in by_row.items()
        }

    bulk_results = await results(db, bulk, response.json()["id"], ranked=True)
    assert comparable(bulk_results) == comparable(single)
    # Every precedence step and tie appears in the sample.
    assert Counter(rule for _, _, rule in single.values()) == {
        "named_account": 26, "attribute_rule": 51, "geography": 87, "fallback": 36,
    }  # fmt: skip
    # A lead of an account without owner, with no location of its own, is where its account is
    # (by account id or by domain): both paths placed it in West City.
    for row, lead in enumerate(leads, start=1):
        if lead.get("account_external_id") == "acc-3" or "placed.io" in lead.get("email", ""):
            assert single[row][0] == "West City" and single[row][2] == "geography", lead
    counters = (
        "SELECT t.name, coalesce(tt.turn_counter, 0) FROM territory t"
        " LEFT JOIN territory_turn tt ON tt.territory_id = t.id WHERE t.tenant_id = $1"
    )
    assert dict(await db.fetch(counters, tenant.tenant_id)) == dict(
        await db.fetch(counters, other_tenant.tenant_id)
    )
    loads = (
        "SELECT r.id, r.open_assignments, coalesce(sum(m.assigned_count), 0) AS assigned"
        " FROM rep r LEFT JOIN territory_member m ON m.rep_id = r.id"
        " WHERE r.tenant_id = $1 GROUP BY r.id, r.open_assignments"
    )
    single_loads = {
        (one_by_one.rep_label(row["id"]), row["open_assignments"], row["assigned"])
        for row in await db.fetch(loads, tenant.tenant_id)
    }
    assert single_loads == {
        (bulk.rep_label(row["id"]), row["open_assignments"], row["assigned"])
        for row in await db.fetch(loads, other_tenant.tenant_id)
    }
    assert ("heavy", 9, 9) in single_loads  # 12 retail leads at 3:1
    tie = await jsonb(
        db,
        "SELECT a.explanation -> 1 FROM assignment a JOIN lead l ON l.id = a.lead_id"
        " WHERE l.job_id = $1 AND l.job_row_number = 6",
        uuid.UUID(response.json()["id"]),
    )
    assert tie["territory_id"] == str(bulk.territories["Enterprise"])
    assert tie["also_matched"] == [str(bulk.territories["Software"])]
    by_account = await jsonb(
        db,
        "SELECT a.explanation -> 2 FROM assignment a JOIN lead l ON l.id = a.lead_id"
        " WHERE l.job_id = $1 AND l.job_row_number = 4",
        uuid.UUID(response.json()["id"]),
    )
    assert (by_account["placed_by"], by_account["point"]) == ("account", [-5, 5])

    # The same typed steps, worded the same, whichever path wrote them: each bulk assignment
    # read back through the single path's endpoint.
    bulk_ids = dict(
        await db.fetch(
            "SELECT l.job_row_number, a.id FROM assignment a JOIN lead l ON l.id = a.lead_id"
            " WHERE l.job_id = $1",
            uuid.UUID(response.json()["id"]),
        )
    )
    for row_number, assignment_id in sorted(bulk_ids.items()):
        read = await gateway_client.get(
            f"/assignment/assignments/{assignment_id}", headers=other_tenant.headers
        )
        assert read.status_code == 200, read.text
        assert comparable_steps(bulk, read.json()["explanation"]) == single_steps[row_number], (
            leads[row_number - 1]
        )


def comparable_steps(world: World, steps: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Steps with ids as names (ids differ between the tenants); the text of the precedence
    steps kept (it names territories and accounts, the same in both); a distribution step's
    text, rep and turn left out where the tenants' rep id order may differ (weighted ties)."""
    labels = {str(v): k for k, v in world.territories.items()}
    labels |= {str(v): str(world.rep_label(v)) for v in world.reps.values()}

    def label(value: Any) -> Any:
        if isinstance(value, list):
            return [label(item) for item in value]
        return labels.get(
            value, "account" if isinstance(value, str) and len(value) == 36 else value
        )

    out = []
    for step in steps:
        named = {key: label(value) for key, value in step.items()}
        if step["step"] in ("distribution", "escalation", "queue"):
            named.pop("detail")
            if named.get("territory_id") == "Weighted":
                named.pop("rep_id", None)
        out.append(named)
    return out


# ---- distribution rules ------------------------------------------------------------------------


async def test_round_robin_of_a_thousand_rows_continues_the_turn_counter(
    gateway_client: httpx.AsyncClient, db: asyncpg.Connection, tenant: TenantWithKey
) -> None:
    t = tenant.tenant_id
    alignment = await make_alignment(db, tenant_id=t)
    territory = await make_territory(
        db, tenant_id=t, alignment_id=alignment, name="All", is_fallback=True
    )
    await db.execute(
        "INSERT INTO territory_turn (territory_id, tenant_id, turn_counter)"
        " SELECT id, tenant_id, 5 FROM territory WHERE id = $1",
        territory,
    )
    reps = sorted([await make_rep(db, tenant_id=t, name=f"rep {i}") for i in range(7)])
    for rep in reps:
        await add_member(db, tenant_id=t, territory_id=territory, rep_id=rep)
    body = ("external_id\n" + "".join(f"l{i}\n" for i in range(1000))).encode()
    response = await upload(gateway_client, tenant, body, CSV)
    assert response.json()["assigned_rows"] == 1000, response.text
    per_rep = Counter(
        row["rep_id"]
        for row in await db.fetch("SELECT rep_id FROM assignment WHERE tenant_id = $1", t)
    )
    # Turns 5..1004 over 7 reps in id order: 1000 = 7 × 142 + 6, the extra turns start at 5.
    assert [per_rep[rep] for rep in reps] == [143, 143, 143, 143, 142, 143, 143]
    first = await db.fetchval(
        "SELECT a.rep_id FROM assignment a JOIN lead l ON l.id = a.lead_id"
        " WHERE l.tenant_id = $1 AND l.job_row_number = 1",
        t,
    )
    assert first == reps[5]
    assert await db.fetchval(TURNS, territory) == 1005
    # A single lead afterwards takes turn 1005: rep 1005 mod 7 = 4.
    single = await gateway_client.post("/assignment/leads", json={}, headers=tenant.headers)
    assert single.json()["rep"]["id"] == str(reps[4])


async def test_capacity_is_never_exceeded_and_overflow_goes_to_the_fallback(
    gateway_client: httpx.AsyncClient, db: asyncpg.Connection, tenant: TenantWithKey
) -> None:
    t = tenant.tenant_id
    alignment = await make_alignment(db, tenant_id=t)
    capped = await make_territory(
        db, tenant_id=t, alignment_id=alignment, name="Capped", rule="capacity",
        criteria={"field": "country", "op": "eq", "value": "US"},
    )  # fmt: skip
    overflow = await make_territory(
        db, tenant_id=t, alignment_id=alignment, name="Overflow", rule="capacity",
        is_fallback=True,
    )  # fmt: skip
    reps = [await make_rep(db, tenant_id=t, name=f"cap {i}", capacity=20) for i in range(5)]
    for rep in reps:
        await add_member(db, tenant_id=t, territory_id=capped, rep_id=rep)
    await db.execute("UPDATE rep SET open_assignments = 15 WHERE id = $1", reps[0])
    backup = await make_rep(db, tenant_id=t, name="backup", capacity=30)
    await add_member(db, tenant_id=t, territory_id=overflow, rep_id=backup)
    # Room: 5 + 4 × 20 = 85 in Capped, 30 in Overflow; 150 leads → 35 wait in the queue.
    body = ("country\n" + "US\n" * 150).encode()
    response = await upload(gateway_client, tenant, body, CSV)
    job = response.json()
    assert job["assigned_rows"] == 150, response.text
    assert job["summary"]["queued_rows"] == 35
    loads = dict(await db.fetch("SELECT id, open_assignments FROM rep WHERE tenant_id = $1", t))
    assert [loads[rep] for rep in reps] == [20, 20, 20, 20, 20]
    assert loads[backup] == 30
    placed = Counter(
        (row["territory_id"], row["rep_id"] is None)
        for row in await db.fetch(
            "SELECT territory_id, rep_id FROM assignment WHERE tenant_id = $1", t
        )
    )
    assert placed == {(capped, False): 85, (overflow, False): 30, (overflow, True): 35}
    queued = await jsonb(
        db, "SELECT explanation FROM assignment WHERE tenant_id = $1 AND rep_id IS NULL LIMIT 1", t
    )
    assert [step["outcome"] for step in queued[-4:]] == ["no_rep", "escalated", "no_rep", "queued"]
    assert [step.get("reason") for step in queued[-4:-1]] == ["at_capacity"] * 3
    assert (queued[-3]["from_territory_id"], queued[-3]["territory_id"]) == (
        str(capped), str(overflow),
    )  # fmt: skip
    # Where each lead really went: the 65 escalated ones say fallback, with the escalation step.
    rules = await db.fetch(
        "SELECT matched_rule, territory_id, explanation::text LIKE '%escalation%' AS escalated"
        " FROM assignment WHERE tenant_id = $1", t,
    )  # fmt: skip
    assert Counter(tuple(row) for row in rules) == {
        ("attribute_rule", capped, False): 85, ("fallback", overflow, True): 65,
    }  # fmt: skip


async def test_weighted_follows_the_weights(
    gateway_client: httpx.AsyncClient, db: asyncpg.Connection, tenant: TenantWithKey
) -> None:
    t = tenant.tenant_id
    alignment = await make_alignment(db, tenant_id=t)
    heavy = await make_rep(db, tenant_id=t, name="heavy")
    light = await make_rep(db, tenant_id=t, name="light")
    territory = await make_territory(
        db, tenant_id=t, alignment_id=alignment, name="W", is_fallback=True, rule="weighted"
    )
    await add_member(db, tenant_id=t, territory_id=territory, rep_id=heavy, weight=3)
    await add_member(db, tenant_id=t, territory_id=territory, rep_id=light, weight=1)
    # light already had 2 leads: heavy's keys j/3 stay below light's next key (2 + 1)/1 = 3
    # for j ≤ 8, so of 10 new leads heavy gets 9 and light 1.
    await db.execute("UPDATE territory_member SET assigned_count = 2 WHERE rep_id = $1", light)
    response = await upload(gateway_client, tenant, b"industry\n" + b"x\n" * 10, CSV)
    assert response.json()["assigned_rows"] == 10
    counts = dict(
        await db.fetch(
            "SELECT rep_id, assigned_count FROM territory_member WHERE territory_id = $1",
            territory,
        )
    )
    # Totals 12 at 3:1 → heavy 9, light 3.
    assert counts == {heavy: 9, light: 3}


async def test_bulk_and_concurrent_single_leads_share_turns_fairly(
    gateway_client: httpx.AsyncClient, db: asyncpg.Connection, tenant: TenantWithKey
) -> None:
    t = tenant.tenant_id
    alignment = await make_alignment(db, tenant_id=t)
    territory = await make_territory(
        db, tenant_id=t, alignment_id=alignment, name="All", is_fallback=True
    )
    reps = [await make_rep(db, tenant_id=t, name=f"rep {i}") for i in range(3)]
    for rep in reps:
        await add_member(db, tenant_id=t, territory_id=territory, rep_id=rep)
    body = ("external_id\n" + "".join(f"b{i}\n" for i in range(3000))).encode()

    async def singles() -> list[httpx.Response]:
        return [
            await gateway_client.post("/assignment/leads", json={}, headers=tenant.headers)
            for _ in range(40)
        ]

    bulk_response, single_responses = await asyncio.gather(
        upload(gateway_client, tenant, body, CSV), singles()
    )
    assert bulk_response.status_code == 200
    assert {response.status_code for response in single_responses} == {201}
    per_rep = Counter(
        row["rep_id"]
        for row in await db.fetch("SELECT rep_id FROM assignment WHERE tenant_id = $1", t)
    )
    assert sum(per_rep.values()) == 3040
    assert max(per_rep.values()) - min(per_rep.values()) <= 1
    assert await db.fetchval(TURNS, territory) == 3040


# ---- short locks: the turns are reserved, then the rows written ----------------------------


@dataclass
class Team:
    territory: uuid.UUID
    reps: list[uuid.UUID]  # the round-robin owners, in id order (the order of their turns)
    owner: uuid.UUID  # owns account acc-1, in no territory


async def build_team(db: asyncpg.Connection, tenant: TenantWithKey) -> Team:
    t = tenant.tenant_id
    alignment = await make_alignment(db, tenant_id=t)
    territory = await make_territory(
        db, tenant_id=t, alignment_id=alignment, name="All", is_fallback=True
    )
    reps = sorted([await make_rep(db, tenant_id=t, name=f"rep {i}") for i in range(3)])
    for rep in reps:
        await add_member(db, tenant_id=t, territory_id=territory, rep_id=rep)
    owner = await make_rep(db, tenant_id=t, name="owner")
    await make_account(db, tenant_id=t, external_id="acc-1", name="Acme", owner_rep_id=owner)
    return Team(territory, reps, owner)


def team_upload(rows: int) -> bytes:
    """A named-account lead for acc-1, then ``rows`` leads for the territory's round robin."""
    return ("external_id,account_external_id\nn0,acc-1\n" + "".join(
        f"l{i},\n" for i in range(rows)
    )).encode()  # fmt: skip


async def counters(db: asyncpg.Connection, team: Team) -> tuple[int, list[int], list[int], int]:
    """The territory's turn counter, each owner's assigned_count and open assignments (in
    id order), and the named owner's open assignments."""
    turns = await db.fetchval(TURNS, team.territory)
    assigned = dict(
        await db.fetch(
            "SELECT rep_id, assigned_count FROM territory_member WHERE territory_id = $1",
            team.territory,
        )
    )
    opened = dict(
        await db.fetch(
            "SELECT id, open_assignments FROM rep WHERE id = ANY ($1::uuid[])",
            [*team.reps, team.owner],
        )
    )
    return (
        turns,
        [assigned[rep] for rep in team.reps],
        [opened[rep] for rep in team.reps],
        opened[team.owner],
    )


@asynccontextmanager
async def holding_account(
    database_url: str, tenant: TenantWithKey, external_id: str
) -> AsyncIterator[asyncpg.Connection]:
    """Another transaction holds the account's row as a DELETE or a key change would (FOR
    UPDATE) until the block ends (and commits): a write that points at the account waits."""
    connection = await asyncpg.connect(database_url)
    try:
        async with connection.transaction():
            await connection.execute(
                "SELECT 1 FROM account WHERE tenant_id = $1 AND external_id = $2 FOR UPDATE",
                tenant.tenant_id,
                external_id,
            )
            yield connection
    finally:
        await connection.close()


async def bulk_write_waiting(db: asyncpg.Connection) -> None:
    """Until a bulk job's session waits for a row lock (the held account). Of this database
    only: another suite on the same server may have bulk sessions waiting too."""
    for _ in range(1200):
        waiting = await db.fetchval(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'assignment-bulk'"
            " AND wait_event_type = 'Lock' AND datname = current_database()"
        )
        if waiting:
            return
        await asyncio.sleep(0.025)
    raise AssertionError("no bulk job ever waited for the held account")


async def test_a_single_lead_answers_while_a_bulk_job_writes_into_its_territory(
    gateway_client: httpx.AsyncClient,
    db: asyncpg.Connection,
    database_url: str,
    tenant: TenantWithKey,
) -> None:
    team = await build_team(db, tenant)
    t = tenant.tenant_id
    async with holding_account(database_url, tenant, "acc-1"):
        job_done = asyncio.create_task(upload(gateway_client, tenant, team_upload(999), CSV))
        await bulk_write_waiting(db)  # the job is writing, its transaction open
        job = await db.fetchrow("SELECT status, stage FROM assignment_job WHERE tenant_id = $1", t)
        assert (job["status"], job["stage"]) == ("running", "writing_assignments")
        # Its 999 turns are reserved and committed already; none of its rows is visible yet.
        assert await counters(db, team) == (999, [333, 333, 333], [333, 333, 333], 1)
        assert await db.fetchval("SELECT count(*) FROM lead WHERE tenant_id = $1", t) == 0

        started = time.perf_counter()
        single = await gateway_client.post(
            "/assignment/leads", json={}, headers=tenant.headers, timeout=5.0
        )
        elapsed = time.perf_counter() - started
        assert single.status_code == 201, single.text
        assert elapsed < 2.0  # milliseconds, in fact; it used to wait for the job's commit
        # The turn after the job's: 999 mod 3 = 0, the first owner in id order.
        assert single.json()["rep"]["id"] == str(team.reps[0])
        assert not job_done.done()
    response = await job_done
    assert response.json()["status"] == "succeeded", response.text
    assert await counters(db, team) == (1000, [334, 333, 333], [334, 333, 333], 1)
    per_rep = Counter(
        row["rep_id"]
        for row in await db.fetch("SELECT rep_id FROM assignment WHERE tenant_id = $1", t)
    )
    assert per_rep == {team.reps[0]: 334, team.reps[1]: 333, team.reps[2]: 333, team.owner: 1}


@pytest.mark.parametrize("row_triggers", ["per parent", "per row"])
async def test_a_failed_write_gives_the_reserved_turns_back(
    row_triggers: str,
    gateway_client: httpx.AsyncClient,
    app_client: AppClientFactory,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    db: asyncpg.Connection,
    database_url: str,
    tenant: TenantWithKey,
) -> None:
    """The account a lead names is deleted while the job writes: its write fails (a foreign key
    per row, or the check per parent that stands in for them), and everything it reserved is
    given back."""
    team = await build_team(db, tenant)
    t = tenant.tenant_id
    before = await counters(db, team)
    async with AsyncExitStack() as stack:
        client = gateway_client
        if row_triggers == "per row":  # foreign key triggers on: in process, to switch them
            monkeypatch.setattr(jobs, "SKIP_ROW_TRIGGERS", False)
            client = await stack.enter_async_context(app_client(create_app(settings)))
        async with holding_account(database_url, tenant, "acc-1") as holder:
            job_done = asyncio.create_task(upload(client, tenant, team_upload(999), CSV))
            await bulk_write_waiting(db)
            assert await counters(db, team) == (999, [333, 333, 333], [333, 333, 333], 1)
            assert await db.fetchval("SELECT count(*) FROM assignment_bulk.reservation") > 0
            await holder.execute("DELETE FROM account WHERE tenant_id = $1", t)
        response = await job_done
    job = response.json()
    assert response.status_code == 200, response.text
    assert (job["status"], job["assigned_rows"]) == ("failed", 0)
    assert "gave its reserved turns back" in job["error"] and "account" in job["error"]
    assert await counters(db, team) == before == (0, [0, 0, 0], [0, 0, 0], 0)
    for table in ("lead", "assignment"):
        assert await db.fetchval(f"SELECT count(*) FROM {table} WHERE tenant_id = $1", t) == 0
    assert await db.fetchval(
        "SELECT count(*) FROM assignment_bulk.reservation WHERE job_id = $1", uuid.UUID(job["id"])
    ) == 0  # fmt: skip
    # The service goes on: the same upload, the account gone, succeeds.
    again = await upload(gateway_client, tenant, team_upload(999), CSV)
    assert again.json()["status"] == "succeeded", again.text
    assert await counters(db, team) == (1000, [334, 333, 333], [334, 333, 333], 0)


async def test_a_dead_jobs_reservation_is_given_back_by_the_next_upload(
    gateway_client: httpx.AsyncClient, db: asyncpg.Connection, tenant: TenantWithKey
) -> None:
    """A job whose process died after reserving (nobody holds its lock): the next upload's
    sweep subtracts what it reserved and fails it."""
    team = await build_team(db, tenant)
    t = tenant.tenant_id
    dead = await db.fetchval(
        "INSERT INTO assignment_job (tenant_id, kind, status, stage, total_rows)"
        " VALUES ($1, 'lead_upload', 'running', 'writing_assignments', 8) RETURNING id",
        t,
    )
    # What reserving 7 turns (reps 3, 2, 2) and one named-account lead wrote.
    await db.execute(
        "INSERT INTO territory_turn (territory_id, tenant_id, turn_counter)"
        " SELECT id, tenant_id, 7 FROM territory WHERE id = $1",
        team.territory,
    )
    for rep, count in zip(team.reps, (3, 2, 2), strict=True):
        await db.execute(
            "UPDATE territory_member SET assigned_count = $2 WHERE rep_id = $1", rep, count
        )
        await db.execute("UPDATE rep SET open_assignments = $2 WHERE id = $1", rep, count)
    await db.execute("UPDATE rep SET open_assignments = 1 WHERE id = $1", team.owner)
    await db.execute(
        """
        INSERT INTO assignment_bulk.reservation (job_id, territory_id, rep_id, turns, assigned,
                                                 opened)
        SELECT $1::uuid, $2::uuid, NULL::uuid, 7, 0, 0
        UNION ALL SELECT $1, $2, rep, 0, count, 0
                    FROM unnest($3::uuid[], ARRAY[3, 2, 2]) AS u(rep, count)
        UNION ALL SELECT $1, NULL, rep, 0, 0, count
                    FROM unnest($4::uuid[], ARRAY[3, 2, 2, 1]) AS u(rep, count)
        """,
        dead,
        team.territory,
        team.reps,
        [*team.reps, team.owner],
    )
    response = await upload(gateway_client, tenant, b"external_id\nx\n", CSV)
    assert response.json()["status"] == "succeeded", response.text
    # Given back, then the new lead took turn 0.
    assert await counters(db, team) == (1, [1, 0, 0], [1, 0, 0], 0)
    status, error = await db.fetchrow(
        "SELECT status, error FROM assignment_job WHERE id = $1", dead
    )
    assert status == "failed" and "gave its reserved turns back" in error


async def test_even_rows_cuts_records_only_between_rows_and_evens_out_the_wrong_ones() -> None:
    text = (
        b'a,"multi\nline, quoted",c\n'
        b"short,row\n"
        b'"He said ""hi""",b,c\r\n'
        b"\n"
        b"1,2,3,4\n"
        b"x,y,z"  # no final newline
    )

    async def one_byte_at_a_time() -> AsyncIterator[bytes]:
        for index in range(len(text)):
            yield text[index : index + 1]

    rows = EvenRows(3)
    copied = b"".join([chunk async for chunk in rows.feed(one_byte_at_a_time())])
    assert copied == (b'a,"multi\nline, quoted",c\n,,\n"He said ""hi""",b,c\r\n,,\n,,\nx,y,z\n')
    assert rows.wrong == [(2, 2), (4, 0), (5, 4)]


# ---- jobs, limits, validation of the request -------------------------------------------------


async def test_a_big_upload_is_a_background_job_with_progress(
    gateway_client: httpx.AsyncClient, db: asyncpg.Connection, tenant: TenantWithKey
) -> None:
    world = await build_world(db, tenant)
    pick = random.Random(3)
    rows = "".join(
        f"{pick.uniform(0.5, 9.5):.4f},{pick.uniform(-9.5, -0.5):.4f}\n" for _ in range(20_000)
    )
    response = await upload(
        gateway_client, tenant, ("latitude,longitude\n" + rows + '1,"2\n').encode(), CSV
    )
    assert response.status_code == 422  # an unterminated quote leaves no row structure at all
    assert "unterminated CSV quoted field" in response.json()["detail"], response.text

    response = await upload(gateway_client, tenant, ("latitude,longitude\n" + rows).encode(), CSV)
    assert response.status_code == 202, response.text
    location = response.headers["location"]
    assert location == f"/assignment/jobs/{response.json()['id']}"
    assert response.json()["status"] == "pending" and response.json()["total_rows"] == 20_000
    seen: list[tuple[str, str | None, int]] = []
    for _ in range(600):
        job = (await gateway_client.get(location, headers=tenant.headers)).json()
        seen.append((job["status"], job["stage"], job["processed_rows"]))
        if job["status"] in ("succeeded", "failed"):
            break
        await asyncio.sleep(0.05)
    assert job["status"] == "succeeded", job
    assert (job["processed_rows"], job["assigned_rows"], job["failed_rows"]) == (20_000, 20_000, 0)
    assert set(job["summary"]["seconds"]) >= {"receiving", "validating", "matching"}
    assert len({stage for _, stage, _ in seen}) >= 2  # progress was visible on the way
    per_rep = Counter(
        row["rep_id"]
        for row in await db.fetch(
            "SELECT rep_id FROM assignment WHERE territory_id = $1",
            world.territories["West"],
        )
    )
    assert max(per_rep.values()) - min(per_rep.values()) <= 1


async def test_more_than_a_million_rows_is_413(
    gateway_client: httpx.AsyncClient, db: asyncpg.Connection, tenant: TenantWithKey
) -> None:
    await build_world(db, tenant)
    body = b"external_id\n" + b"x\n" * 1_000_001
    response = await upload(gateway_client, tenant, body, CSV)
    assert response.status_code == 413
    assert response.headers["content-type"] == PROBLEM_JSON
    assert "1,000,000 rows" in response.json()["detail"]
    assert (
        await db.fetchval("SELECT count(*) FROM lead WHERE tenant_id = $1", tenant.tenant_id) == 0
    )


@pytest.mark.parametrize(
    ("body", "headers", "status", "field"),
    [
        (b"external_id,colour\nx,blue\n", CSV, 422, "colour"),
        (b"external_id,external_id\nx,y\n", CSV, 422, "external_id"),
        (b"attr.1bad\nx\n", CSV, 422, "attr.1bad"),
        (b"external_id\n", CSV, 422, "body"),
        (b'{"external_id": "x"}\n', {"Content-Type": "application/json"}, 415, "Content-Type"),
    ],
)
async def test_unreadable_uploads_are_problems(
    gateway_client: httpx.AsyncClient,
    db: asyncpg.Connection,
    tenant: TenantWithKey,
    body: bytes,
    headers: dict[str, str],
    status: int,
    field: str,
) -> None:
    await build_world(db, tenant)
    response = await upload(gateway_client, tenant, body, headers)
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM_JSON
    assert response.json()["field"] == field


async def test_no_active_alignment_is_409(
    gateway_client: httpx.AsyncClient, tenant: TenantWithKey
) -> None:
    response = await upload(gateway_client, tenant, b"external_id\nx\n", CSV)
    assert response.status_code == 409
    assert "publish" in response.json()["detail"]


async def test_jobs_of_other_tenants_and_unknown_jobs_are_404(
    gateway_client: httpx.AsyncClient,
    db: asyncpg.Connection,
    tenant: TenantWithKey,
    other_tenant: TenantWithKey,
) -> None:
    await build_world(db, tenant)
    job_id = (await upload(gateway_client, tenant, b"external_id\nx\n", CSV)).json()["id"]
    for suffix in ("", "/errors", "/assignments.csv"):
        foreign = await gateway_client.get(
            f"/assignment/jobs/{job_id}{suffix}", headers=other_tenant.headers
        )
        assert foreign.status_code == 404, suffix
        assert foreign.headers["content-type"] == PROBLEM_JSON
        missing = await gateway_client.get(
            f"/assignment/jobs/{uuid.uuid4()}{suffix}", headers=tenant.headers
        )
        assert missing.status_code == 404


# ---- warnings ----------------------------------------------------------------------------------


async def test_point_and_postal_code_disagreeing_or_swapped_coordinates_are_warned_in_both_paths(
    gateway_client: httpx.AsyncClient,
    db: asyncpg.Connection,
    tenant: TenantWithKey,
    other_tenant: TenantWithKey,
) -> None:
    single_world = await build_world(db, tenant)
    bulk_world = await build_world(db, other_tenant)
    leads = [
        # ZZ AB12's centroid is (-5, 5): (-1, 1) is ~628 km from it.
        {"external_id": "far", "postal_code": "AB12", "country": "ZZ", "latitude": 1,
         "longitude": -1},
        # 1.5 km from it: no warning.
        {"external_id": "near", "postal_code": "AB12", "country": "ZZ", "latitude": 5.01,
         "longitude": -5.01},
        # (5, -5) is in no territory; swapped, (-5, 5) is in West City.
        {"external_id": "swapped", "latitude": -5, "longitude": 5},
        # In no territory either way: nothing to say about the order.
        {"external_id": "nowhere", "latitude": -50, "longitude": 50},
    ]  # fmt: skip
    single: dict[str, list[dict[str, Any]]] = {}
    for lead in leads:
        response = await gateway_client.post("/assignment/leads", json=lead, headers=tenant.headers)
        assert response.status_code == 201, response.text
        single[str(lead["external_id"])] = response.json()["explanation"]

    columns = ["external_id", "latitude", "longitude", "postal_code", "country"]
    job = await upload(gateway_client, other_tenant, to_csv(leads, columns), CSV)
    assert job.status_code == 200, job.text
    ids = dict(
        await db.fetch(
            "SELECT l.external_id, a.id FROM assignment a JOIN lead l ON l.id = a.lead_id"
            " WHERE l.job_id = $1",
            uuid.UUID(job.json()["id"]),
        )
    )
    bulk: dict[str, list[dict[str, Any]]] = {}
    for external_id, assignment_id in ids.items():
        read = await gateway_client.get(
            f"/assignment/assignments/{assignment_id}", headers=other_tenant.headers
        )
        assert read.status_code == 200, read.text
        bulk[external_id] = read.json()["explanation"]

    for path, world, explanations in (
        ("single", single_world, single),
        ("bulk", bulk_world, bulk),
    ):
        warnings = {
            key: [step for step in steps if step["step"] == "warning"]
            for key, steps in explanations.items()
        }
        assert [w["outcome"] for w in warnings["far"]] == ["point_far_from_postal_code"], path
        far = warnings["far"][0]
        assert far["postal_code"] == "ZZ AB12" and far["threshold_km"] == 25
        assert 620 < far["distance_km"] < 640, path
        assert "628 km from the centroid of its postal code ZZ AB12" in far["detail"], path
        assert warnings["near"] == [] and warnings["nowhere"] == [], path
        (swapped,) = warnings["swapped"]
        assert swapped["outcome"] == "swapped_coordinates", path
        assert swapped["swapped_territory_id"] == str(world.territories["West City"]), path
        assert "would lie in territory 'West City'" in swapped["detail"], path
        # The point was used as sent: the warning changes no routing.
        assert explanations["far"][-1]["territory_id"] == str(world.territories["West"])
        assert explanations["swapped"][0]["step"] == "warning"
