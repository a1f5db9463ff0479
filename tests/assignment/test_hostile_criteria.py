"""Territory rules whose values are SQL's special characters match exactly the leads they name,
one lead at a time and in bulk, through the gateway: the values are bound, never spliced."""

import json
import uuid
from typing import Any

import asyncpg
import httpx

from services.assignment.bulk.matching import RELATION_COLUMNS, match_relation
from services.assignment.leads.compiled_alignment import compile_active_alignment
from tests.factories import TenantWithKey

NDJSON = {"Content-Type": "application/x-ndjson"}

# name → (criteria, priority). Each value is something a hand-made quoting could get wrong.
HOSTILE_TERRITORIES: dict[str, dict[str, Any]] = {
    "Quote": {"field": "industry", "op": "eq", "value": "O'Brien's"},
    "Backslash": {"field": "industry", "op": "in", "values": ["back\\slash", "ends with \\"]},
    # Would close the literal if backslash escaped the quote (standard_conforming_strings off).
    "Escape": {"field": "industry", "op": "eq", "value": "x\\' OR true --"},
    "Dollar": {"field": "attributes.note", "op": "eq", "value": "$$; DROP TABLE lead; $$"},
    "Comment": {"field": "attributes.note", "op": "prefix", "values": ["/* open", "-- dash"]},
    "Unicode": {"field": "industry", "op": "in", "values": ["日本語 ✓ ç", "naïve ‘quoted’ — €"]},
    "Placeholder": {"field": "attributes.note", "op": "not_in", "values": ["$1", "%s", ":x"]},
    "Score": {"field": "attributes.score", "op": "between", "min": 1.5, "max": 2.5},
}
# Placeholder is last (not_in matches almost everything): a lower number wins.
PRIORITY = {name: index for index, name in enumerate(HOSTILE_TERRITORIES)} | {"Placeholder": 90}

# (lead, the territory it must land in)
LEADS: list[tuple[dict[str, Any], str]] = [
    ({"industry": "o'brien's"}, "Quote"),
    ({"industry": "O'Brien", "attributes": {"note": "$1"}}, "Fallback"),
    ({"industry": "back\\slash"}, "Backslash"),
    ({"industry": "Ends With \\"}, "Backslash"),
    ({"industry": "back\\\\slash", "attributes": {"note": "%s"}}, "Fallback"),
    ({"industry": "backslash", "attributes": {"note": ":x"}}, "Fallback"),
    ({"industry": "x\\' or true --"}, "Escape"),
    ({"industry": "x' or true --", "attributes": {"note": "$1"}}, "Fallback"),
    ({"attributes": {"note": "$$; DROP TABLE lead; $$"}}, "Dollar"),
    ({"attributes": {"note": "$$"}}, "Placeholder"),
    ({"attributes": {"note": "/* open comment */"}}, "Comment"),
    ({"attributes": {"note": "-- dash dash"}}, "Comment"),
    ({"attributes": {"note": "/*"}}, "Placeholder"),
    ({"industry": "日本語 ✓ ç"}, "Unicode"),
    ({"industry": "naïve ‘quoted’ — €"}, "Unicode"),
    ({"industry": "日本語", "attributes": {"note": "$1"}}, "Fallback"),
    ({"attributes": {"score": "2", "note": "$1"}}, "Score"),
    ({"attributes": {"score": " 2.5 ", "note": "%s"}}, "Score"),
    ({"attributes": {"score": "2.6", "note": "$1"}}, "Fallback"),
    ({"attributes": {"score": "2); --", "note": "$1"}}, "Fallback"),
]


async def build_alignment(client: httpx.AsyncClient, tenant: TenantWithKey) -> dict[str, str]:
    """The hostile territories and a fallback, created and published through the API."""
    headers = tenant.headers
    response = await client.post(
        "/assignment/alignments", json={"name": "Hostile"}, headers=headers
    )
    assert response.status_code == 201, response.text
    alignment_id = response.json()["id"]
    rep = await client.post("/assignment/reps", json={"name": "Owner"}, headers=headers)
    assert rep.status_code == 201, rep.text
    territories: dict[str, str] = {}
    bodies = {
        name: {"name": name, "criteria": criteria, "priority": PRIORITY[name]}
        for name, criteria in HOSTILE_TERRITORIES.items()
    } | {"Fallback": {"name": "Fallback", "is_fallback": True}}
    for name, body in bodies.items():
        created = await client.post(
            f"/assignment/alignments/{alignment_id}/territories", json=body, headers=headers
        )
        assert created.status_code == 201, created.text
        territories[created.json()["id"]] = name
        member = await client.post(
            f"/assignment/territories/{created.json()['id']}/members",
            json={"rep_id": rep.json()["id"], "role": "owner"},
            headers=headers,
        )
        assert member.status_code == 201, member.text
    published = await client.post(f"/assignment/alignments/{alignment_id}:publish", headers=headers)
    assert published.status_code == 200, published.text
    return territories


async def test_hostile_values_match_exactly_their_leads_single_and_bulk(
    gateway_client: httpx.AsyncClient, db: asyncpg.Connection, tenant: TenantWithKey
) -> None:
    territories = await build_alignment(gateway_client, tenant)
    expected = [territory for _, territory in LEADS]

    single = []
    for lead, _ in LEADS:
        response = await gateway_client.post("/assignment/leads", json=lead, headers=tenant.headers)
        assert response.status_code == 201, response.text
        single.append(territories[response.json()["territory"]["id"]])
    assert single == expected

    body = "\n".join(json.dumps(lead) for lead, _ in LEADS).encode()
    response = await gateway_client.post(
        "/assignment/leads:bulk", content=body, headers={**tenant.headers, **NDJSON}
    )
    assert response.status_code == 200, response.text
    assert response.json()["assigned_rows"] == len(LEADS)
    rows = await db.fetch(
        """
        SELECT l.job_row_number, a.territory_id FROM lead l JOIN assignment a ON a.lead_id = l.id
         WHERE l.tenant_id = $1 AND l.job_id = $2 ORDER BY l.job_row_number
        """,
        tenant.tenant_id,
        uuid.UUID(response.json()["id"]),
    )
    assert [territories[str(row["territory_id"])] for row in rows] == expected
    assert await db.fetchval("SELECT to_regclass('lead') IS NOT NULL")


async def test_rules_hold_without_standard_conforming_strings(
    gateway_client: httpx.AsyncClient, db: asyncpg.Connection, tenant: TenantWithKey
) -> None:
    """Hand-quoted literals were only safe while standard_conforming_strings was on (with it
    off, a backslash escapes the closing quote); bound values do not care. The set-based
    matcher runs here on a session that turned it off."""
    territories = await build_alignment(gateway_client, tenant)
    compiled = await compile_active_alignment(db, tenant_id=tenant.tenant_id)
    assert compiled is not None
    predicates = " ".join(compiled.rule_predicates)
    for criteria in HOSTILE_TERRITORIES.values():
        for value in [criteria.get("value"), *criteria.get("values", [])]:
            assert not isinstance(value, str) or value.lower() not in predicates.lower(), value

    await db.execute(f"CREATE TEMP TABLE hostile_leads ({RELATION_COLUMNS})")
    await db.executemany(
        "INSERT INTO hostile_leads (row_number, industry, attributes) VALUES ($1, $2, $3::jsonb)",
        [
            (row_number, lead.get("industry"), json.dumps(lead.get("attributes", {})))
            for row_number, (lead, _) in enumerate(LEADS, start=1)
        ],
    )
    await db.execute("SET standard_conforming_strings = off")
    try:
        match = await match_relation(
            db,
            compiled=compiled,
            tenant_id=tenant.tenant_id,
            relation_sql="SELECT * FROM hostile_leads",
        )
        rows = await db.fetch(f"SELECT row_number, territory_id FROM {match} ORDER BY row_number")
    finally:
        await db.execute("RESET standard_conforming_strings")
    assert [territories[str(row["territory_id"])] for row in rows] == [
        territory for _, territory in LEADS
    ]
