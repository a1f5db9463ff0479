"""Lead assignment through the real gateway (nginx → uvicorn → PostGIS): precedence, ties,
distribution rules, idempotency and validation."""

import uuid
from collections import Counter
from dataclasses import dataclass

import asyncpg
import httpx
import pytest

from tests.assignment.territory_factories import (
    add_member,
    make_account,
    make_alignment,
    make_rep,
    make_territory,
    square,
)
from tests.factories import TenantWithKey

PROBLEM_JSON = "application/problem+json"


@dataclass
class Scenario:
    tenant: TenantWithKey
    alignment_id: uuid.UUID
    reps: dict[str, uuid.UUID]
    territories: dict[str, uuid.UUID]


@pytest.fixture
async def scenario(db: asyncpg.Connection, tenant: TenantWithKey) -> Scenario:
    """West (lon -10..0, lat 0..10) holds West City (lon -6..-4, lat 4..6); two rule territories;
    a fallback. Each territory has its own owners so the rep tells which territory won."""
    t = tenant.tenant_id
    reps = {
        name: await make_rep(db, tenant_id=t, name=name)
        for name in ("west1", "west2", "city", "enterprise", "software", "fallback", "owner")
    }
    alignment = await make_alignment(db, tenant_id=t)
    west = await make_territory(
        db, tenant_id=t, alignment_id=alignment, name="West", wkt=square(-10, 0, 10)
    )
    territories = {
        "West": west,
        "West City": await make_territory(
            db,
            tenant_id=t,
            alignment_id=alignment,
            name="West City",
            wkt=square(-6, 4, 2),
            level=1,
            parent_id=west,
        ),
        "Enterprise": await make_territory(
            db,
            tenant_id=t,
            alignment_id=alignment,
            name="Enterprise",
            priority=10,
            criteria={"field": "employee_count", "op": "gte", "value": 1000},
        ),
        "Software": await make_territory(
            db,
            tenant_id=t,
            alignment_id=alignment,
            name="Software",
            priority=20,
            criteria={
                "all": [
                    {"field": "industry", "op": "in", "values": ["Software", "SaaS"]},
                    {"not": {"field": "attributes.lead_source", "op": "eq", "value": "partner"}},
                ]
            },
        ),
        "Fallback": await make_territory(
            db, tenant_id=t, alignment_id=alignment, name="Fallback", is_fallback=True
        ),
    }
    members = {
        "West": ["west1", "west2"],
        "West City": ["city"],
        "Enterprise": ["enterprise"],
        "Software": ["software"],
        "Fallback": ["fallback"],
    }
    for territory, names in members.items():
        for name in names:
            await add_member(
                db, tenant_id=t, territory_id=territories[territory], rep_id=reps[name]
            )
    return Scenario(tenant, alignment, reps, territories)


async def assign(
    client: httpx.AsyncClient, scenario: Scenario, lead: dict[str, object], **headers: str
) -> httpx.Response:
    return await client.post(
        "/assignment/leads", json=lead, headers={**scenario.tenant.headers, **headers}
    )


def rep_of(response: httpx.Response, scenario: Scenario) -> str:
    assert response.status_code == 201, response.text
    rep_id = uuid.UUID(response.json()["rep"]["id"])
    return next(name for name, value in scenario.reps.items() if value == rep_id)


async def test_named_account_by_email_domain_goes_to_its_owner(
    gateway_client: httpx.AsyncClient, scenario: Scenario, db: asyncpg.Connection
) -> None:
    await make_account(
        db,
        tenant_id=scenario.tenant.tenant_id,
        external_id="acc-1",
        name="Acme",
        domain="acme.com",
        owner_rep_id=scenario.reps["owner"],
    )
    # Inside West City and a rule match, yet the named account comes first.
    response = await assign(
        gateway_client,
        scenario,
        {"email": "pat@acme.com", "longitude": -5, "latitude": 5, "employee_count": 5000},
    )
    assert rep_of(response, scenario) == "owner"
    body = response.json()
    assert body["matched_rule"] == "named_account"
    assert body["explanation"][0]["step"] == "named_account"
    assert "Acme" in body["explanation"][0]["detail"]


async def test_named_account_without_owner_falls_through_to_rules(
    gateway_client: httpx.AsyncClient, scenario: Scenario, db: asyncpg.Connection
) -> None:
    await make_account(
        db, tenant_id=scenario.tenant.tenant_id, external_id="acc-2", name="Orphan Co"
    )
    response = await assign(
        gateway_client, scenario, {"account_external_id": "acc-2", "employee_count": 2000}
    )
    assert rep_of(response, scenario) == "enterprise"
    steps = response.json()["explanation"]
    assert [step["outcome"] for step in steps[:2]] == ["skipped", "matched"]
    assert "has no owner" in steps[0]["detail"]


async def test_a_lead_without_location_is_placed_where_its_unowned_account_is(
    gateway_client: httpx.AsyncClient, scenario: Scenario, db: asyncpg.Connection
) -> None:
    await make_account(
        db, tenant_id=scenario.tenant.tenant_id, external_id="acc-3", name="Placed Co",
        domain="placed.io", location=(-5.0, 5.0),
    )  # fmt: skip
    leads: list[dict[str, object]] = [{"account_external_id": "acc-3"}, {"email": "pat@placed.io"}]
    for lead in leads:
        response = await assign(gateway_client, scenario, lead)
        assert rep_of(response, scenario) == "city", lead
        body = response.json()
        assert body["matched_rule"] == "geography"
        geography = body["explanation"][2]
        assert geography["point"] == [-5.0, 5.0]
        assert "account's location" in geography["detail"]
    # Its own location wins over its account's.
    own = await assign(
        gateway_client, scenario, {"account_external_id": "acc-3", "longitude": -2, "latitude": 2}
    )
    assert rep_of(own, scenario) in {"west1", "west2"}


async def test_freemail_domains_never_match_an_account(
    gateway_client: httpx.AsyncClient, scenario: Scenario, db: asyncpg.Connection
) -> None:
    await make_account(
        db,
        tenant_id=scenario.tenant.tenant_id,
        external_id="acc-3",
        name="Misconfigured",
        domain="gmail.com",
        owner_rep_id=scenario.reps["owner"],
    )
    response = await assign(gateway_client, scenario, {"email": "someone@gmail.com"})
    assert response.json()["matched_rule"] == "fallback"


async def test_attribute_rule_beats_geography_and_ties_break_by_priority(
    gateway_client: httpx.AsyncClient, scenario: Scenario
) -> None:
    response = await assign(
        gateway_client,
        scenario,
        {"longitude": -5, "latitude": 5, "employee_count": 5000, "industry": "software"},
    )
    assert rep_of(response, scenario) == "enterprise"
    rule_step = response.json()["explanation"][1]
    assert rule_step["step"] == "attribute_rule"
    assert rule_step["territory_id"] == str(scenario.territories["Enterprise"])
    assert rule_step["also_matched"] == [str(scenario.territories["Software"])]
    assert "priority" in rule_step["tie_break"]


async def test_rule_groups_and_custom_attributes(
    gateway_client: httpx.AsyncClient, scenario: Scenario
) -> None:
    direct = await assign(gateway_client, scenario, {"industry": "SaaS"})
    assert rep_of(direct, scenario) == "software"
    partner = await assign(
        gateway_client,
        scenario,
        {"industry": "SaaS", "attributes": {"lead_source": "Partner"}},
    )
    assert partner.json()["matched_rule"] == "fallback"


async def test_geography_prefers_the_deepest_territory(
    gateway_client: httpx.AsyncClient, scenario: Scenario
) -> None:
    response = await assign(gateway_client, scenario, {"longitude": -5, "latitude": 5})
    assert rep_of(response, scenario) == "city"
    geo = response.json()["explanation"][2]
    assert geo["step"] == "geography"
    assert geo["also_containing"] == [str(scenario.territories["West"])]
    outside_city = await assign(
        gateway_client, scenario, {"location": {"type": "Point", "coordinates": [-1, 1]}}
    )
    assert rep_of(outside_city, scenario) in {"west1", "west2"}


async def test_nothing_matches_goes_to_the_fallback(
    gateway_client: httpx.AsyncClient, scenario: Scenario
) -> None:
    response = await assign(gateway_client, scenario, {"longitude": 50, "latitude": 50})
    assert rep_of(response, scenario) == "fallback"
    body = response.json()
    assert body["matched_rule"] == "fallback"
    assert [step["step"] for step in body["explanation"]] == [
        "named_account",
        "attribute_rule",
        "geography",
        "fallback",
        "distribution",
    ]


async def test_postal_code_only_lead_is_placed_at_the_centroid(
    gateway_client: httpx.AsyncClient, scenario: Scenario, db: asyncpg.Connection
) -> None:
    # ZZ is a user-assigned country code, so this row never clashes with shipped data.
    await db.execute(
        "INSERT INTO postal_code (country, code, place_name, centroid)"
        " VALUES ('ZZ', 'AB12', 'Test Town', ST_SetSRID(ST_MakePoint(-5, 5), 4326))"
        " ON CONFLICT DO NOTHING"
    )
    response = await assign(gateway_client, scenario, {"postal_code": "ab 12", "country": "zz"})
    assert rep_of(response, scenario) == "city"
    geo = response.json()["explanation"][2]
    assert "postal code" in geo["detail"] and geo["point"] == [-5.0, 5.0]
    unknown = await assign(gateway_client, scenario, {"postal_code": "XX99", "country": "ZZ"})
    assert unknown.json()["matched_rule"] == "fallback"
    assert "unknown" in unknown.json()["explanation"][2]["detail"]


async def test_round_robin_alternates(
    gateway_client: httpx.AsyncClient, scenario: Scenario
) -> None:
    picks = [
        rep_of(await assign(gateway_client, scenario, {"longitude": -1, "latitude": 1}), scenario)
        for _ in range(6)
    ]
    assert Counter(picks) == {"west1": 3, "west2": 3}
    assert all(a != b for a, b in zip(picks, picks[1:], strict=False))


async def test_weighted_round_robin_follows_weights(
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
    reps = []
    for _ in range(8):
        response = await gateway_client.post(
            "/assignment/leads", json={"industry": "x"}, headers=tenant.headers
        )
        reps.append(response.json()["rep"]["id"])
    assert Counter(reps) == {str(heavy): 6, str(light): 2}


async def test_capacity_aware_skips_full_reps_then_escalates(
    gateway_client: httpx.AsyncClient, db: asyncpg.Connection, tenant: TenantWithKey
) -> None:
    t = tenant.tenant_id
    alignment = await make_alignment(db, tenant_id=t)
    small = await make_rep(db, tenant_id=t, name="small", capacity=1)
    large = await make_rep(db, tenant_id=t, name="large", capacity=2)
    backup = await make_rep(db, tenant_id=t, name="backup")
    territory = await make_territory(
        db, tenant_id=t, alignment_id=alignment, name="Cap", rule="capacity",
        criteria={"field": "country", "op": "eq", "value": "US"},
    )  # fmt: skip
    fallback = await make_territory(
        db, tenant_id=t, alignment_id=alignment, name="Queue", is_fallback=True
    )
    for rep in (small, large):
        await add_member(db, tenant_id=t, territory_id=territory, rep_id=rep)
    await add_member(db, tenant_id=t, territory_id=fallback, rep_id=backup)
    reps = []
    for _ in range(4):
        response = await gateway_client.post(
            "/assignment/leads", json={"country": "US"}, headers=tenant.headers
        )
        reps.append(response.json()["rep"]["id"])
    assert Counter(reps[:3]) == {str(small): 1, str(large): 2}
    assert reps[3] == str(backup)
    last = response.json()
    assert last["territory"]["id"] == str(fallback)
    # Where it really went and why: the fallback, escalated from a full territory.
    assert last["matched_rule"] == "fallback"
    steps = last["explanation"]
    assert [step["step"] for step in steps] == [
        "named_account", "attribute_rule", "distribution", "escalation", "distribution",
    ]  # fmt: skip
    full, escalation, assigned = steps[2:]
    assert (full["outcome"], full["reason"]) == ("no_rep", "at_capacity")
    assert escalation["from_territory_id"] == str(territory)
    assert escalation["territory_id"] == str(fallback)
    assert escalation["reason"] == "at_capacity" and "capacity" in escalation["detail"]
    assert (assigned["territory_id"], assigned["outcome"]) == (str(fallback), "assigned")
    # Read back, the stored assignment says the same.
    stored = await gateway_client.get(
        f"/assignment/assignments/{last['assignment_id']}", headers=tenant.headers
    )
    assert stored.json()["matched_rule"] == "fallback"
    assert stored.json()["explanation"] == steps
    rules = await db.fetch("SELECT matched_rule FROM assignment WHERE tenant_id = $1", t)
    assert Counter(row["matched_rule"] for row in rules) == {"attribute_rule": 3, "fallback": 1}
    loads = await db.fetch("SELECT name, open_assignments FROM rep WHERE tenant_id = $1", t)
    assert {row["name"]: row["open_assignments"] for row in loads} == {
        "small": 1,
        "large": 2,
        "backup": 1,
    }


async def test_inactive_reps_and_missing_skills_are_not_eligible(
    gateway_client: httpx.AsyncClient, db: asyncpg.Connection, tenant: TenantWithKey
) -> None:
    t = tenant.tenant_id
    alignment = await make_alignment(db, tenant_id=t)
    gone = await make_rep(db, tenant_id=t, name="gone", skills=["spanish"], active=False)
    monolingual = await make_rep(db, tenant_id=t, name="mono")
    speaker = await make_rep(db, tenant_id=t, name="speaker", skills=["spanish", "french"])
    territory = await make_territory(
        db, tenant_id=t, alignment_id=alignment, name="LatAm", is_fallback=True,
        required_skills=["spanish"],
    )  # fmt: skip
    for rep in (gone, monolingual, speaker):
        await add_member(db, tenant_id=t, territory_id=territory, rep_id=rep)
    for _ in range(3):
        response = await gateway_client.post("/assignment/leads", json={}, headers=tenant.headers)
        assert response.json()["rep"]["id"] == str(speaker)


async def test_idempotency_key_replays_the_first_answer_and_writes_nothing(
    gateway_client: httpx.AsyncClient, scenario: Scenario, db: asyncpg.Connection
) -> None:
    lead = {"longitude": -1, "latitude": 1, "external_id": "crm-lead-1"}
    first = await assign(gateway_client, scenario, lead, **{"Idempotency-Key": "retry-1"})
    again = await assign(gateway_client, scenario, lead, **{"Idempotency-Key": "retry-1"})
    assert first.status_code == again.status_code == 201
    assert again.headers["idempotent-replayed"] == "true"
    assert again.json()["assignment_id"] == first.json()["assignment_id"]
    assert again.json()["rep"] == first.json()["rep"]
    count = await db.fetchval(
        "SELECT count(*) FROM lead WHERE tenant_id = $1", scenario.tenant.tenant_id
    )
    assert count == 1
    other_body = await assign(
        gateway_client, scenario, {**lead, "latitude": 2}, **{"Idempotency-Key": "retry-1"}
    )
    assert other_body.status_code == 422
    assert other_body.json()["field"] == "Idempotency-Key"


async def test_the_answer_is_committed_and_readable(
    gateway_client: httpx.AsyncClient, scenario: Scenario
) -> None:
    created = await assign(gateway_client, scenario, {"longitude": -5, "latitude": 5})
    fetched = await gateway_client.get(
        f"/assignment/assignments/{created.json()['assignment_id']}",
        headers=scenario.tenant.headers,
    )
    assert fetched.status_code == 200
    assert fetched.json()["explanation"] == created.json()["explanation"]
    assert fetched.json()["territory"]["name"] == "West City"


async def test_unknown_and_foreign_assignment_ids_are_404(
    gateway_client: httpx.AsyncClient, scenario: Scenario, other_tenant: TenantWithKey
) -> None:
    created = await assign(gateway_client, scenario, {"longitude": -5, "latitude": 5})
    url = f"/assignment/assignments/{created.json()['assignment_id']}"
    foreign = await gateway_client.get(url, headers=other_tenant.headers)
    assert foreign.status_code == 404
    assert foreign.headers["content-type"] == PROBLEM_JSON
    missing = await gateway_client.get(
        f"/assignment/assignments/{uuid.uuid4()}", headers=scenario.tenant.headers
    )
    assert missing.status_code == 404


async def test_no_active_alignment_is_a_409_problem(
    gateway_client: httpx.AsyncClient, tenant: TenantWithKey
) -> None:
    response = await gateway_client.post(
        "/assignment/leads", json={"industry": "x"}, headers=tenant.headers
    )
    assert response.status_code == 409
    assert "publish" in response.json()["detail"]


@pytest.mark.parametrize(
    ("lead", "field"),
    [
        ({"latitude": 10}, "body"),
        ({"postal_code": "10001"}, "body"),
        ({"longitude": 200, "latitude": 1}, "longitude"),
        ({"employee_count": -1}, "employee_count"),
        ({"colour": "blue"}, "colour"),
        ({"location": {"type": "Point", "coordinates": [1, 95]}}, "location.coordinates"),
    ],
)
async def test_invalid_leads_are_422_problems(
    gateway_client: httpx.AsyncClient, scenario: Scenario, lead: dict[str, object], field: str
) -> None:
    response = await assign(gateway_client, scenario, lead)
    assert response.status_code == 422
    assert response.headers["content-type"] == PROBLEM_JSON
    assert response.json()["field"] == field
