"""Bulk uploads of people and connections through nginx with the worker: per-row errors named
(row, field, reason), all or nothing vs skip_bad_rows, idempotent upserts, deletions, and the
rankings seeing each upload."""

import asyncio
import json
import uuid
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.factories import TenantWithKey
from tests.proximity.conftest import insert_account, insert_rep

CSV = {"Content-Type": "text/csv"}
NDJSON = {"Content-Type": "application/x-ndjson"}


async def upload(
    client: httpx.AsyncClient,
    tenant: TenantWithKey,
    target: str,
    body: str,
    *,
    content_type: dict[str, str] = CSV,
    **params: Any,
) -> dict[str, Any]:
    """Upload, follow the import to its end, return it."""
    started = await client.post(
        f"/proximity/{target}:import",
        content=body.encode(),
        params={key: str(value).lower() for key, value in params.items()},
        headers=tenant.headers | content_type,
    )
    assert started.status_code == 202, started.text
    location = started.headers["Location"]
    for _ in range(600):
        job = (await client.get(location, headers=tenant.headers)).json()
        if job["status"] in ("succeeded", "failed"):
            return dict(job)
        await asyncio.sleep(0.1)
    raise AssertionError(f"import never ended: {job}")


async def errors_of(
    client: httpx.AsyncClient, tenant: TenantWithKey, job: dict[str, Any]
) -> list[tuple[int, str, str]]:
    page = await client.get(
        f"/proximity/imports/{job['id']}/errors?limit=100", headers=tenant.headers
    )
    assert page.status_code == 200, page.text
    return [(e["row_number"], e["field"], e["reason"]) for e in page.json()["items"]]


async def score(
    client: httpx.AsyncClient, tenant: TenantWithKey, account_id: uuid.UUID, rep_id: uuid.UUID
) -> float:
    ranking = await client.get(
        f"/proximity/accounts/{account_id}/reps?max_hops=3", headers=tenant.headers
    )
    assert ranking.status_code == 200, ranking.text
    return next((r["score"] for r in ranking.json()["ranked"] if r["rep_id"] == str(rep_id)), 0.0)


async def people_file(
    sessionmaker: async_sessionmaker[AsyncSession], tenant: TenantWithKey
) -> tuple[str, dict[str, uuid.UUID]]:
    """Two reps and four contacts at one account, as a people CSV."""
    rita = await insert_rep(sessionmaker, tenant_id=tenant.tenant_id)
    remy = await insert_rep(sessionmaker, tenant_id=tenant.tenant_id)
    acme = await insert_account(sessionmaker, tenant_id=tenant.tenant_id)
    body = (
        "external_id,kind,name,email,rep_id,account_external_id\n"
        f"rita,rep,Rita Rep,rita@us.example,{rita},\n"
        f"remy,rep,Remy Rep,,{remy},\n"
        f"ada,contact,Ada,ada@acme.example,,acc-{acme}\n"
        f"bob,contact,Bob,,,acc-{acme}\n"
        "mia,contact,Mia Middle,,,\n"
        "zed,contact,Zed,,,\n"
    )
    return body, {"rita": rita, "remy": remy, "acme": acme}


async def test_people_upsert_is_idempotent_and_updates_by_external_id(
    gateway_client: httpx.AsyncClient,
    tenant: TenantWithKey,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    body, ids = await people_file(sessionmaker, tenant)
    first = await upload(gateway_client, tenant, "people", body)
    assert first["status"] == "succeeded", first["error"]
    assert (first["total_rows"], first["inserted"], first["updated"]) == (6, 6, 0)
    again = await upload(gateway_client, tenant, "people", body)
    assert (again["status"], again["inserted"], again["updated"]) == ("succeeded", 0, 0)
    renamed = await upload(
        gateway_client,
        tenant,
        "people",
        '{"external_id": "zed", "name": "Zed Renamed", "title": "CTO"}\n',
        content_type=NDJSON,
    )
    assert (renamed["inserted"], renamed["updated"]) == (0, 1), renamed
    people = await gateway_client.get("/proximity/people?limit=100", headers=tenant.headers)
    by_external = {p["external_id"]: p for p in people.json()["items"]}
    assert len(by_external) == 6
    assert by_external["zed"]["name"] == "Zed Renamed"
    assert by_external["zed"]["title"] == "CTO"
    assert by_external["ada"]["account_id"] == str(ids["acme"])
    assert by_external["rita"]["rep_id"] == str(ids["rita"])


async def test_bad_rows_are_named_and_nothing_is_written_unless_skipped(
    gateway_client: httpx.AsyncClient,
    tenant: TenantWithKey,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    body, ids = await people_file(sessionmaker, tenant)
    assert (await upload(gateway_client, tenant, "people", body))["status"] == "succeeded"
    ties = (
        "person_a_external_id,person_b_external_id,kind,strength,first_interaction_at,"
        "last_interaction_at,interaction_count\n"
        "rita,ada,colleague,0.9,2025-01-01,2026-11-01T10:00:00Z,12\n"  # 1 good
        "rita,nobody,colleague,0.5,,,\n"  # 2 unknown person
        "bob,bob,meeting,0.5,,,\n"  # 3 self-tie
        "remy,mia,call,-0.2,,,\n"  # 4 negative strength
        "remy,mia,email thread,1.5,,,\n"  # 5 out of range
        "ada,rita,Colleague,0.3,,,\n"  # 6 same pair and kind as row 1 (reversed, cased)
        "mia,bob,meeting,0.4,2026-02-30,,\n"  # 7 bad date
        "mia,ada,Social-Network,0.4,,,-3\n"  # 8 negative count
        "remy,mia,meeting,0.8,,2026-10-01,\n"  # 9 good
    )
    refused = await upload(gateway_client, tenant, "connections", ties)
    assert refused["status"] == "failed", refused
    assert refused["stage"] == "refused"
    assert (refused["total_rows"], refused["valid_rows"], refused["error_count"]) == (9, 2, 7)
    assert refused["inserted"] == 0 and "nothing was written" in refused["error"]
    errors = await errors_of(gateway_client, tenant, refused)
    assert [(row, field) for row, field, _ in errors] == [
        (2, "person_b_external_id"),
        (3, "person_b_external_id"),
        (4, "strength"),
        (5, "strength"),
        (6, "person_b_external_id"),
        (7, "first_interaction_at"),
        (8, "interaction_count"),
    ]
    reasons = {row: reason for row, _, reason in errors}
    assert "no person with external id 'nobody'" in reasons[2]
    assert "themselves" in reasons[3]
    assert "out of range" in reasons[4] and "out of range" in reasons[5]
    assert "already at row 1" in reasons[6]
    assert "not a date" in reasons[7]
    assert "whole number" in reasons[8]
    assert refused["errors"][0]["row_number"] == 2  # the first ones shown on the import
    assert await score(gateway_client, tenant, ids["acme"], ids["rita"]) == 0.0

    skipped = await upload(gateway_client, tenant, "connections", ties, skip_bad_rows=True)
    assert skipped["status"] == "succeeded", skipped
    assert (skipped["inserted"], skipped["error_count"]) == (2, 7)
    assert len(await errors_of(gateway_client, tenant, skipped)) == 7
    # Rita – Ada, a recent colleague at 0.9: 0.9 × recency of ~29 days (half-life 180 days).
    assert 0.8 < await score(gateway_client, tenant, ids["acme"], ids["rita"]) < 0.9
    neighbours = await gateway_client.get(
        f"/proximity/people/{(await _person(gateway_client, tenant, 'rita'))}/connections",
        headers=tenant.headers,
    )
    assert [n["kind"] for n in neighbours.json()["items"]] == ["colleague"]


async def _person(
    client: httpx.AsyncClient, tenant: TenantWithKey, external_id: str, query: str = ""
) -> str:
    people = await client.get(f"/proximity/people?limit=100{query}", headers=tenant.headers)
    return str(next(p["id"] for p in people.json()["items"] if p["external_id"] == external_id))


async def test_people_rows_checked_per_field(
    gateway_client: httpx.AsyncClient,
    tenant: TenantWithKey,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    rep = await insert_rep(sessionmaker, tenant_id=tenant.tenant_id)
    lines = [
        {"external_id": "ok", "name": "Fine"},
        {"name": "No key"},
        {"external_id": "r1", "kind": "rep", "name": "Rep without rep_id"},
        {"external_id": "c1", "kind": "contact", "name": "C", "rep_id": str(rep)},
        {"external_id": "r2", "kind": "rep", "name": "R", "rep_id": str(uuid.uuid4())},
        {"external_id": "x", "kind": "robot", "name": "X"},
        {"external_id": "ok", "name": "Twice"},
        {"external_id": "m", "name": "M", "email": "not-an-email"},
        {"external_id": "a", "name": "A", "account_external_id": "missing"},
        {"external_id": "u", "name": "U", "colour": "red"},
    ]
    body = "\n".join(json.dumps(line) for line in lines) + "\nnot json\n"
    job = await upload(gateway_client, tenant, "people", body, content_type=NDJSON)
    assert job["status"] == "failed"
    assert [(row, field) for row, field, _ in await errors_of(gateway_client, tenant, job)] == [
        (2, "external_id"),
        (3, "rep_id"),
        (4, "rep_id"),
        (5, "rep_id"),
        (6, "kind"),
        (7, "external_id"),
        (8, "email"),
        (9, "account_external_id"),
        (10, "colour"),
        (11, "row"),
    ]


async def test_deletions_lower_scores_and_new_ties_never_do(
    gateway_client: httpx.AsyncClient,
    tenant: TenantWithKey,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    body, ids = await people_file(sessionmaker, tenant)
    assert (await upload(gateway_client, tenant, "people", body))["status"] == "succeeded"
    ties = (
        "person_a_external_id,person_b_external_id,kind,strength\n"
        "rita,mia,colleague,0.8\n"
        "mia,ada,colleague,0.6\n"
        "rita,bob,meeting,0.5\n"
    )
    assert (await upload(gateway_client, tenant, "connections", ties))["inserted"] == 3
    # Undated ties: recency 1. Rita: Bob direct (0.9 × 0.5 = 0.45); Ada via Mia
    # (hop decay 0.5 × 0.8 × 0.6 = 0.24): 1 - 0.55 × 0.76 = 0.582.
    before = await score(gateway_client, tenant, ids["acme"], ids["rita"])
    assert before == 0.582
    # Every new tie keeps or raises every score (monotonicity), a few at a time.
    extra = (
        "person_a_external_id,person_b_external_id,kind,strength\n"
        "remy,zed,call,0.9\n"
        "zed,mia,referral,0.7\n"
        "rita,ada,shared_school,0.3\n"
    )
    last = {"rita": before, "remy": await score(gateway_client, tenant, ids["acme"], ids["remy"])}
    for line in extra.splitlines()[1:]:
        job = await upload(
            gateway_client, tenant, "connections", extra.splitlines()[0] + "\n" + line
        )
        assert job["inserted"] == 1
        for rep in ("rita", "remy"):
            now = await score(gateway_client, tenant, ids["acme"], ids[rep])
            assert now >= last[rep], (line, rep, now, last[rep])
            last[rep] = now
    assert last["remy"] > 0
    # Deleting Rita's direct tie to Bob (op column) lowers her score.
    deleted = await upload(
        gateway_client,
        tenant,
        "connections",
        "person_a_external_id,person_b_external_id,kind,op\nbob,rita,meeting,delete\n",
    )
    assert (deleted["status"], deleted["deleted"]) == ("succeeded", 1), deleted
    assert await score(gateway_client, tenant, ids["acme"], ids["rita"]) < last["rita"]
    # A delete upload of people removes them and their ties: Remy is left without a path.
    gone = await upload(gateway_client, tenant, "people", "external_id\nzed\n", mode="delete")
    assert gone["deleted"] == 1
    assert await score(gateway_client, tenant, ids["acme"], ids["remy"]) == 0.0


async def test_whole_file_problems_are_422(
    gateway_client: httpx.AsyncClient, tenant: TenantWithKey
) -> None:
    for body, content_type, field in (
        ("external_id,favourite_colour\nx,red\n", CSV, "favourite_colour"),
        ("kind,name\ncontact,Ada\n", CSV, "header"),
        ("external_id,name\n", CSV, "body"),
    ):
        answer = await gateway_client.post(
            "/proximity/people:import", content=body, headers=tenant.headers | content_type
        )
        assert answer.status_code == 422, answer.text
        assert answer.json()["field"] == field
    wrong_type = await gateway_client.post(
        "/proximity/people:import",
        content="x",
        headers=tenant.headers | {"Content-Type": "text/plain"},
    )
    assert wrong_type.status_code == 415
    missing = await gateway_client.get(f"/proximity/imports/{uuid.uuid4()}", headers=tenant.headers)
    assert missing.status_code == 404


async def test_kind_weights_per_tenant_change_an_ordering(
    gateway_client: httpx.AsyncClient,
    tenant: TenantWithKey,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    body, ids = await people_file(sessionmaker, tenant)
    assert (await upload(gateway_client, tenant, "people", body))["status"] == "succeeded"
    ties = (
        "person_a_external_id,person_b_external_id,kind,strength\n"
        "rita,ada,shared_school,1.0\n"  # default weight 0.4: 0.4
        "remy,ada,email_thread,0.6\n"  # default weight 0.7: 0.42
    )
    assert (await upload(gateway_client, tenant, "connections", ties))["inserted"] == 2

    async def order() -> list[tuple[str, float]]:
        ranking = await gateway_client.get(
            f"/proximity/accounts/{ids['acme']}/reps?max_hops=1", headers=tenant.headers
        )
        names = {str(ids["rita"]): "rita", str(ids["remy"]): "remy"}
        return [(names[r["rep_id"]], r["score"]) for r in ranking.json()["ranked"]]

    assert await order() == [("remy", 0.42), ("rita", 0.4)]
    settings = await gateway_client.get("/proximity/settings", headers=tenant.headers)
    assert settings.status_code == 200
    assert settings.json()["kind_weights"]["shared_school"] == 0.4
    assert settings.json()["tenant_kind_weights"] == {}
    put = await gateway_client.put(
        "/proximity/settings",
        json={"kind_weights": {"shared_school": 0.9, "email_thread": 0.5}},
        headers=tenant.headers,
    )
    assert put.status_code == 200, put.text
    assert put.json()["kind_weights"]["shared_school"] == 0.9
    assert put.json()["kind_weights"]["colleague"] == 1.0  # a default left alone
    assert await order() == [("rita", 0.9), ("remy", 0.3)]
    ranked = await gateway_client.get(
        f"/proximity/accounts/{ids['acme']}/reps?max_hops=1", headers=tenant.headers
    )
    assert ranked.json()["ranked"][0]["paths"][0]["ties"][0]["kind_weight"] == 0.9
    for bad in ({"kind_weights": {"colleague": 1.5}}, {"kind_weights": {"Not A Kind": 0.5}}):
        refused = await gateway_client.put("/proximity/settings", json=bad, headers=tenant.headers)
        assert refused.status_code == 422, refused.text
    restored = await gateway_client.put(
        "/proximity/settings", json={"kind_weights": {}}, headers=tenant.headers
    )
    assert restored.json()["tenant_kind_weights"] == {}
    assert await order() == [("remy", 0.42), ("rita", 0.4)]


async def test_a_write_to_a_large_graph_is_seen_after_the_background_refresh(
    gateway_client: httpx.AsyncClient,
    tenant: TenantWithKey,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    """Above the inline size (10,000 ties) a stale graph answers while it is rebuilt."""
    body, ids = await people_file(sessionmaker, tenant)
    contacts = 3_000
    body += "".join(f"c{n},contact,Contact {n},,,\n" for n in range(contacts))
    assert (await upload(gateway_client, tenant, "people", body))["inserted"] == 6 + contacts
    ends = ((n, (n * 7 + k * 131 + 1) % contacts) for n in range(contacts) for k in range(5))
    pairs = {(min(a, b), max(a, b)) for a, b in ends if a != b}
    ties = "person_a_external_id,person_b_external_id,kind,strength\n" + "".join(
        f"c{a},c{b},meeting,0.5\n" for a, b in sorted(pairs)
    )
    ties += "rita,c1,colleague,0.8\nremy,ada,colleague,0.3\n"
    job = await upload(gateway_client, tenant, "connections", ties)
    assert job["status"] == "succeeded", job["error"]
    assert job["inserted"] > 10_000
    assert await score(gateway_client, tenant, ids["acme"], ids["rita"]) == 0.0
    assert await score(gateway_client, tenant, ids["acme"], ids["remy"]) == 0.3
    answer = await gateway_client.post(
        "/proximity/connections",
        json={
            "person_a_id": await _person(gateway_client, tenant, "rita", "&kind=rep"),
            "person_b_id": await _person(
                gateway_client, tenant, "bob", f"&account_id={ids['acme']}"
            ),
            "kind": "colleague",
            "strength": 0.9,
        },
        headers=tenant.headers,
    )
    assert answer.status_code == 201, answer.text
    for _ in range(300):
        if await score(gateway_client, tenant, ids["acme"], ids["rita"]) == 0.9:
            break
        await asyncio.sleep(0.1)
    assert await score(gateway_client, tenant, ids["acme"], ids["rita"]) == 0.9
