"""The lead lifecycle through the real gateway: status transitions and their history, capacity
freed by ending an assignment, lists with filters and keyset pages, reassignment (to a rep and
through the rules), the dry-run preview, tenant isolation and bad input."""

import asyncio
import uuid
from dataclasses import dataclass
from typing import Any

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
# Points inside each territory of the scenario.
IN_ROUND_ROBIN = {"longitude": -5.0, "latitude": 5.0}
IN_CAPACITY = {"longitude": 5.0, "latitude": 5.0}
NOWHERE = {"longitude": 50.0, "latitude": 50.0}


@dataclass
class World:
    tenant: TenantWithKey
    alignment_id: uuid.UUID
    reps: dict[str, uuid.UUID]
    territories: dict[str, uuid.UUID]

    def rep_name(self, body: dict[str, Any]) -> str | None:
        if body["rep"] is None:
            return None
        rep_id = uuid.UUID(body["rep"]["id"])
        return next(name for name, value in self.reps.items() if value == rep_id)


@pytest.fixture
async def world(db: asyncpg.Connection, tenant: TenantWithKey) -> World:
    """Round Robin (lon -10..0) with rr1 and rr2; Capacity (lon 0..10) with cap (capacity 1);
    the fallback with fb."""
    t = tenant.tenant_id
    reps = {
        "rr1": await make_rep(db, tenant_id=t, name="rr1"),
        "rr2": await make_rep(db, tenant_id=t, name="rr2"),
        "cap": await make_rep(db, tenant_id=t, name="cap", capacity=1),
        "fb": await make_rep(db, tenant_id=t, name="fb"),
        "other": await make_rep(db, tenant_id=t, name="other"),
        "gone": await make_rep(db, tenant_id=t, name="gone", active=False),
    }
    alignment = await make_alignment(db, tenant_id=t)
    territories = {
        "Round Robin": await make_territory(
            db, tenant_id=t, alignment_id=alignment, name="Round Robin", wkt=square(-10, 0, 10)
        ),
        "Capacity": await make_territory(
            db,
            tenant_id=t,
            alignment_id=alignment,
            name="Capacity",
            wkt=square(0, 0, 10),
            rule="capacity",
        ),
        "Fallback": await make_territory(
            db, tenant_id=t, alignment_id=alignment, name="Fallback", is_fallback=True
        ),
    }
    members = {"Round Robin": ["rr1", "rr2"], "Capacity": ["cap"], "Fallback": ["fb"]}
    for territory, names in members.items():
        for name in names:
            await add_member(
                db, tenant_id=t, territory_id=territories[territory], rep_id=reps[name]
            )
    return World(tenant, alignment, reps, territories)


async def assign(
    client: httpx.AsyncClient, world: World, lead: dict[str, Any], **headers: str
) -> dict[str, Any]:
    response = await client.post(
        "/assignment/leads", json=lead, headers={**world.tenant.headers, **headers}
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def act(
    client: httpx.AsyncClient, world: World, assignment_id: str, action: str, reason: str
) -> httpx.Response:
    return await client.post(
        f"/assignment/assignments/{assignment_id}:{action}",
        json={"reason": reason},
        headers=world.tenant.headers,
    )


async def open_count(db: asyncpg.Connection, rep_id: uuid.UUID) -> int:
    count: int = await db.fetchval("SELECT open_assignments FROM rep WHERE id = $1", rep_id)
    return count


async def test_transitions_keep_who_why_when_and_refuse_what_the_status_does_not_allow(
    gateway_client: httpx.AsyncClient, world: World
) -> None:
    lead = await assign(gateway_client, world, {"external_id": "L-1", **IN_ROUND_ROBIN})
    assignment_id = lead["assignment_id"]
    fetched = await gateway_client.get(
        f"/assignment/assignments/{assignment_id}", headers=world.tenant.headers
    )
    assert fetched.status_code == 200
    assert (fetched.json()["status"], fetched.json()["history"]) == ("open", [])

    worked = await act(gateway_client, world, assignment_id, "work", "called them")
    assert worked.status_code == 200, worked.text
    assert worked.json()["status"] == "worked"
    again = await act(gateway_client, world, assignment_id, "work", "twice")
    assert again.status_code == 409
    assert again.headers["content-type"].startswith(PROBLEM_JSON)
    assert again.json()["current_status"] == "worked"
    assert "is worked" in again.json()["detail"]

    converted = await act(gateway_client, world, assignment_id, "convert", "signed")
    assert converted.status_code == 200, converted.text
    body = converted.json()
    assert body["status"] == "converted" and body["status_reason"] == "signed"
    assert body["status_changed_by_key_id"] == str(world.tenant.key_id)
    assert [(h["from_status"], h["to_status"], h["reason"]) for h in body["history"]] == [
        ("open", "worked", "called them"),
        ("worked", "converted", "signed"),
    ]
    assert all(h["api_key_id"] == str(world.tenant.key_id) for h in body["history"])
    assert body["history"][0]["created_at"] <= body["history"][1]["created_at"]

    for action in ("close", "work", "convert"):
        ended = await act(gateway_client, world, assignment_id, action, "too late")
        assert ended.status_code == 409, (action, ended.text)
        assert ended.json()["current_status"] == "converted"

    closed = await assign(gateway_client, world, {"external_id": "L-2", **IN_ROUND_ROBIN})
    response = await gateway_client.post(
        f"/assignment/assignments/{closed['assignment_id']}:close", headers=world.tenant.headers
    )
    assert response.status_code == 200, response.text  # the reason is optional
    assert response.json()["status"] == "closed"
    reopened = await act(gateway_client, world, closed["assignment_id"], "work", "oops")
    assert reopened.status_code == 409 and reopened.json()["current_status"] == "closed"

    missing = await act(gateway_client, world, str(uuid.uuid4()), "close", "x")
    assert missing.status_code == 404 and missing.json()["field"] == "assignment_id"


async def test_ending_an_assignment_frees_its_reps_capacity(
    gateway_client: httpx.AsyncClient, world: World, db: asyncpg.Connection
) -> None:
    cap = world.reps["cap"]
    first = await assign(gateway_client, world, IN_CAPACITY)
    assert world.rep_name(first) == "cap" and await open_count(db, cap) == 1
    # Worked still holds the capacity: the next lead escalates to the fallback.
    assert (await act(gateway_client, world, first["assignment_id"], "work", "")).is_success
    second = await assign(gateway_client, world, IN_CAPACITY)
    assert world.rep_name(second) == "fb" and second["matched_rule"] == "fallback"
    assert await open_count(db, cap) == 1

    assert (await act(gateway_client, world, first["assignment_id"], "close", "junk")).is_success
    assert await open_count(db, cap) == 0
    third = await assign(gateway_client, world, IN_CAPACITY)
    assert world.rep_name(third) == "cap"

    assert (await act(gateway_client, world, third["assignment_id"], "convert", "won")).is_success
    assert await open_count(db, cap) == 0
    assert world.rep_name(await assign(gateway_client, world, IN_CAPACITY)) == "cap"
    # A refused transition frees nothing.
    assert (
        await act(gateway_client, world, first["assignment_id"], "close", "")
    ).status_code == 409
    assert await open_count(db, cap) == 1


async def test_list_filters_and_keyset_pages(
    gateway_client: httpx.AsyncClient,
    world: World,
    other_tenant: TenantWithKey,
    db: asyncpg.Connection,
) -> None:
    made = [
        await assign(gateway_client, world, {"external_id": f"F-{n}", **point})
        for n, point in enumerate([IN_ROUND_ROBIN, IN_ROUND_ROBIN, IN_CAPACITY, NOWHERE])
    ]
    await act(gateway_client, world, made[1]["assignment_id"], "close", "dup")
    headers = world.tenant.headers

    async def ids(**params: Any) -> list[str]:
        response = await gateway_client.get(
            "/assignment/assignments", params=params, headers=headers
        )
        assert response.status_code == 200, response.text
        return [item["assignment_id"] for item in response.json()["items"]]

    newest_first = [m["assignment_id"] for m in reversed(made)]
    assert await ids() == newest_first
    # Round robin: the two Round Robin leads went to its two reps.
    assert await ids(rep_id=made[0]["rep"]["id"]) == [made[0]["assignment_id"]]
    assert await ids(rep_id=made[1]["rep"]["id"]) == [made[1]["assignment_id"]]
    assert await ids(territory_id=str(world.territories["Round Robin"])) == [
        made[1]["assignment_id"],
        made[0]["assignment_id"],
    ]
    assert await ids(rule="fallback") == [made[3]["assignment_id"]]
    assert await ids(rule="geography") == newest_first[1:]
    assert await ids(status="closed") == [made[1]["assignment_id"]]
    assert await ids(status="open") == [newest_first[0], newest_first[1], newest_first[3]]
    assert await ids(lead_external_id="F-2") == [made[2]["assignment_id"]]
    assert await ids(lead_id=made[0]["lead_id"]) == [made[0]["assignment_id"]]
    assert await ids(lead_external_id="F-2", status="closed") == []
    # The time range: at or after since, before until.
    created = [m["created_at"] for m in made]
    assert await ids(since=created[2]) == newest_first[:2]
    assert await ids(until=created[2]) == newest_first[2:]
    assert await ids(since=created[1], until=created[3]) == newest_first[1:3]

    # Keyset pages: every assignment once, in order, then no cursor; even with ties on time.
    await db.execute(
        "UPDATE assignment SET created_at = (SELECT created_at FROM assignment WHERE id = $2)"
        " WHERE tenant_id = $1 AND id = ANY ($3::uuid[])",
        world.tenant.tenant_id,
        uuid.UUID(made[0]["assignment_id"]),
        [uuid.UUID(m["assignment_id"]) for m in made[1:3]],
    )
    expected = await ids(limit=1000)
    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        params: dict[str, Any] = {"limit": 1}
        if cursor:
            params["cursor"] = cursor
        page = await gateway_client.get("/assignment/assignments", params=params, headers=headers)
        assert page.status_code == 200, page.text
        seen += [item["assignment_id"] for item in page.json()["items"]]
        cursor = page.json()["next_cursor"]
        pages += 1
        if cursor is None:
            break
    assert seen == expected and sorted(seen) == sorted(newest_first) and pages == 4

    for bad in ("not-a-cursor", "W10", "WyJ4IiwgInkiXQ"):
        response = await gateway_client.get(
            "/assignment/assignments", params={"cursor": bad}, headers=headers
        )
        assert response.status_code == 422, (bad, response.text)
        assert response.headers["content-type"].startswith(PROBLEM_JSON)
        assert response.json()["field"] == "cursor"
    wrong_status = await gateway_client.get(
        "/assignment/assignments", params={"status": "lost"}, headers=headers
    )
    assert wrong_status.status_code == 422

    foreign = await gateway_client.get("/assignment/assignments", headers=other_tenant.headers)
    assert foreign.status_code == 200 and foreign.json()["items"] == []


async def test_get_by_lead_and_tenant_isolation(
    gateway_client: httpx.AsyncClient, world: World, other_tenant: TenantWithKey
) -> None:
    lead = await assign(gateway_client, world, {"external_id": "G-1", **IN_ROUND_ROBIN})
    path = f"/assignment/leads/{lead['lead_id']}/assignment"
    response = await gateway_client.get(path, headers=world.tenant.headers)
    assert response.status_code == 200, response.text
    assert response.json()["assignment_id"] == lead["assignment_id"]
    assert response.json()["lead_external_id"] == "G-1"
    assert response.json()["explanation"] == lead["explanation"]

    unknown = await gateway_client.get(
        f"/assignment/leads/{uuid.uuid4()}/assignment", headers=world.tenant.headers
    )
    assert unknown.status_code == 404 and unknown.json()["field"] == "lead_id"
    other = other_tenant.headers
    assert (await gateway_client.get(path, headers=other)).status_code == 404
    assert (
        await gateway_client.get(f"/assignment/assignments/{lead['assignment_id']}", headers=other)
    ).status_code == 404
    for action in ("work", "close", "convert"):
        response = await gateway_client.post(
            f"/assignment/assignments/{lead['assignment_id']}:{action}", headers=other
        )
        assert response.status_code == 404
    reassign = await gateway_client.post(
        f"/assignment/leads/{lead['lead_id']}:reassign", json={}, headers=other
    )
    assert reassign.status_code == 404
    still = await gateway_client.get(path, headers=world.tenant.headers)
    assert still.json()["status"] == "open" and still.json()["history"] == []


async def test_reassign_to_a_named_rep_keeps_history_and_moves_capacity(
    gateway_client: httpx.AsyncClient, world: World, db: asyncpg.Connection
) -> None:
    lead = await assign(gateway_client, world, IN_CAPACITY)
    assert world.rep_name(lead) == "cap"
    path = f"/assignment/leads/{lead['lead_id']}:reassign"
    headers = {**world.tenant.headers, "Idempotency-Key": "move-1"}
    body = {"rep_id": str(world.reps["other"]), "reason": "cap left"}
    response = await gateway_client.post(path, json=body, headers=headers)
    assert response.status_code == 201, response.text
    new = response.json()
    assert response.headers["location"] == f"/assignment/assignments/{new['assignment_id']}"
    assert world.rep_name(new) == "other" and new["matched_rule"] == "manual"
    assert new["lead_id"] == lead["lead_id"] and new["status"] == "open"
    assert new["replaces_assignment_id"] == lead["assignment_id"]
    assert new["territory"]["id"] == str(world.territories["Capacity"])
    assert new["explanation"][0]["step"] == "reassignment"
    assert "cap left" in new["explanation"][0]["detail"]
    assert await open_count(db, world.reps["cap"]) == 0
    assert await open_count(db, world.reps["other"]) == 1

    old = (
        await gateway_client.get(
            f"/assignment/assignments/{lead['assignment_id']}", headers=world.tenant.headers
        )
    ).json()
    assert (
        old["status"] == "reassigned" and old["replaced_by_assignment_id"] == new["assignment_id"]
    )
    assert [(h["from_status"], h["to_status"], h["reason"]) for h in old["history"]] == [
        ("open", "reassigned", "cap left")
    ]
    current = await gateway_client.get(
        f"/assignment/leads/{lead['lead_id']}/assignment", headers=world.tenant.headers
    )
    assert current.json()["assignment_id"] == new["assignment_id"]

    # The same key again: the first answer, nothing written; another body: 422.
    replay = await gateway_client.post(path, json=body, headers=headers)
    assert replay.status_code == 201 and replay.headers["idempotent-replayed"] == "true"
    assert replay.json()["assignment_id"] == new["assignment_id"]
    assert await open_count(db, world.reps["other"]) == 1
    changed = await gateway_client.post(path, json={**body, "reason": "x"}, headers=headers)
    assert changed.status_code == 422 and changed.json()["field"] == "Idempotency-Key"
    count = await db.fetchval(
        "SELECT count(*) FROM assignment WHERE lead_id = $1", uuid.UUID(lead["lead_id"])
    )
    assert count == 2

    plain = world.tenant.headers
    gone = await gateway_client.post(path, json={"rep_id": str(world.reps["gone"])}, headers=plain)
    assert gone.status_code == 409 and gone.json()["field"] == "rep_id"
    nobody = await gateway_client.post(path, json={"rep_id": str(uuid.uuid4())}, headers=plain)
    assert nobody.status_code == 404 and nobody.json()["field"] == "rep_id"
    no_lead = await gateway_client.post(
        f"/assignment/leads/{uuid.uuid4()}:reassign", json={}, headers=plain
    )
    assert no_lead.status_code == 404 and no_lead.json()["field"] == "lead_id"

    assert (await act(gateway_client, world, new["assignment_id"], "convert", "won")).is_success
    ended = await gateway_client.post(path, json={}, headers=plain)
    assert ended.status_code == 409 and ended.json()["current_status"] == "converted"


async def test_reassign_through_the_rules_takes_the_next_turn(
    gateway_client: httpx.AsyncClient, world: World, db: asyncpg.Connection
) -> None:
    lead = await assign(gateway_client, world, {"external_id": "R-1", **IN_ROUND_ROBIN})
    first_rep = world.rep_name(lead)
    second_rep = {"rr1": "rr2", "rr2": "rr1"}[str(first_rep)]
    leads_before = await db.fetchval(
        "SELECT count(*) FROM lead WHERE tenant_id = $1", world.tenant.tenant_id
    )
    response = await gateway_client.post(
        f"/assignment/leads/{lead['lead_id']}:reassign",
        json={"reason": "territory changed"},
        headers=world.tenant.headers,
    )
    assert response.status_code == 201, response.text
    new = response.json()
    assert world.rep_name(new) == second_rep and new["matched_rule"] == "geography"
    assert new["lead_id"] == lead["lead_id"] and new["lead_external_id"] == "R-1"
    steps = [step["step"] for step in new["explanation"]]
    assert steps[0] == "reassignment" and "geography" in steps and steps[-1] == "distribution"
    assert new["explanation"][0]["from_assignment_id"] == lead["assignment_id"]
    assert new["replaces_assignment_id"] == lead["assignment_id"]
    # No lead row of its own stays behind; each rep holds what it holds.
    assert (
        await db.fetchval("SELECT count(*) FROM lead WHERE tenant_id = $1", world.tenant.tenant_id)
        == leads_before
    )
    assert await open_count(db, world.reps[str(first_rep)]) == 0
    assert await open_count(db, world.reps[second_rep]) == 1
    old = await db.fetchrow(
        "SELECT status, replaced_by_assignment_id FROM assignment WHERE id = $1",
        uuid.UUID(lead["assignment_id"]),
    )
    assert old["status"] == "reassigned"
    assert str(old["replaced_by_assignment_id"]) == new["assignment_id"]
    # Its explanation is the one GET /assignment/assignments/{id} serves.
    fetched = await gateway_client.get(
        f"/assignment/assignments/{new['assignment_id']}", headers=world.tenant.headers
    )
    assert fetched.json()["explanation"] == new["explanation"]


async def _footprint(db: asyncpg.Connection, tenant_id: uuid.UUID) -> dict[str, Any]:
    row = await db.fetchrow(
        """
        SELECT (SELECT count(*) FROM lead WHERE tenant_id = $1) AS leads,
               (SELECT count(*) FROM assignment WHERE tenant_id = $1) AS assignments,
               (SELECT count(*) FROM audit_event WHERE tenant_id = $1) AS audit_events,
               (SELECT array_agg(turn_counter ORDER BY territory_id) FROM territory_turn
                 WHERE tenant_id = $1) AS turns,
               (SELECT array_agg(open_assignments ORDER BY id) FROM rep
                 WHERE tenant_id = $1) AS open_assignments,
               (SELECT array_agg(assigned_count ORDER BY rep_id, territory_id)
                  FROM territory_member WHERE tenant_id = $1) AS assigned_counts
        """,
        tenant_id,
    )
    return dict(row)


def _without_ids(answer: dict[str, Any]) -> dict[str, Any]:
    return {
        key: answer[key]
        for key in ("alignment_id", "territory", "rep", "matched_rule", "distribution_rule")
    } | {"explanation": answer["explanation"]}


async def test_preview_writes_nothing_and_answers_what_assignment_then_does(
    gateway_client: httpx.AsyncClient, world: World, db: asyncpg.Connection
) -> None:
    headers = world.tenant.headers
    for lead in (IN_ROUND_ROBIN, IN_ROUND_ROBIN, IN_CAPACITY, IN_CAPACITY, NOWHERE):
        before = await _footprint(db, world.tenant.tenant_id)
        previews = [
            await gateway_client.post("/assignment/leads:preview", json=lead, headers=headers)
            for _ in range(2)
        ]
        assert all(p.status_code == 200 for p in previews), previews[0].text
        # Asked twice, the same answer: no turn was taken, no capacity used.
        assert previews[0].json() == previews[1].json()
        assert "assignment_id" not in previews[0].json() and "lead_id" not in previews[0].json()
        assert await _footprint(db, world.tenant.tenant_id) == before
        assigned = await assign(gateway_client, world, lead)
        assert _without_ids(assigned) == previews[0].json()
    # The last capacity lead escalated because cap was full, and the preview said so.
    assert world.rep_name(assigned) == "fb"


async def test_preview_against_a_draft_alignment(
    gateway_client: httpx.AsyncClient,
    world: World,
    db: asyncpg.Connection,
    other_tenant: TenantWithKey,
) -> None:
    t = world.tenant.tenant_id
    draft = await make_alignment(db, tenant_id=t, status="draft")
    east = await make_territory(
        db, tenant_id=t, alignment_id=draft, name="Draft East", wkt=square(0, 0, 10)
    )
    await add_member(db, tenant_id=t, territory_id=east, rep_id=world.reps["other"])
    headers = world.tenant.headers
    before = await _footprint(db, t)
    response = await gateway_client.post(
        "/assignment/leads:preview",
        params={"alignment_id": str(draft)},
        json=IN_CAPACITY,
        headers=headers,
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["alignment_id"] == str(draft)
    assert body["territory"] == {"id": str(east), "name": "Draft East"}
    assert world.rep_name(body) == "other"
    assert await _footprint(db, t) == before
    active = await gateway_client.post(
        "/assignment/leads:preview", json=IN_CAPACITY, headers=headers
    )
    assert active.json()["territory"]["name"] == "Capacity"

    for alignment_id, key in ((uuid.uuid4(), headers), (draft, other_tenant.headers)):
        missing = await gateway_client.post(
            "/assignment/leads:preview",
            params={"alignment_id": str(alignment_id)},
            json=IN_CAPACITY,
            headers=key,
        )
        assert missing.status_code == 404 and missing.json()["field"] == "alignment_id"
    no_active = await gateway_client.post(
        "/assignment/leads:preview", json=IN_CAPACITY, headers=other_tenant.headers
    )
    assert no_active.status_code == 409
    bad = await gateway_client.post(
        "/assignment/leads:preview", json={"latitude": 5}, headers=headers
    )
    assert bad.status_code == 422


async def test_concurrent_ends_and_reassignments_happen_once(
    gateway_client: httpx.AsyncClient, world: World, db: asyncpg.Connection
) -> None:
    """Racing closes: one wins, the rest get 409 and the rep's capacity is freed once. Racing
    retries of one reassignment (same Idempotency-Key): one new assignment, every answer it."""
    cap = world.reps["cap"]
    lead = await assign(gateway_client, world, IN_CAPACITY)
    await db.execute("UPDATE rep SET open_assignments = 5 WHERE id = $1", cap)
    closes = await asyncio.gather(
        *(act(gateway_client, world, lead["assignment_id"], "close", f"c{n}") for n in range(8))
    )
    assert sorted(r.status_code for r in closes) == [200] + [409] * 7
    assert await open_count(db, cap) == 4
    history = await db.fetchval(
        "SELECT count(*) FROM assignment_transition WHERE assignment_id = $1",
        uuid.UUID(lead["assignment_id"]),
    )
    assert history == 1

    other = await assign(gateway_client, world, IN_ROUND_ROBIN)
    headers = {**world.tenant.headers, "Idempotency-Key": "race-1"}
    answers = await asyncio.gather(
        *(
            gateway_client.post(
                f"/assignment/leads/{other['lead_id']}:reassign",
                json={"rep_id": str(world.reps["other"])},
                headers=headers,
            )
            for _ in range(6)
        )
    )
    assert all(a.status_code == 201 for a in answers), [a.text for a in answers]
    assert len({a.json()["assignment_id"] for a in answers}) == 1
    assert sum(a.headers.get("idempotent-replayed") == "true" for a in answers) == 5
    assert await open_count(db, world.reps["other"]) == 1
    count = await db.fetchval(
        "SELECT count(*) FROM assignment WHERE lead_id = $1", uuid.UUID(other["lead_id"])
    )
    assert count == 2


async def test_rerouting_a_named_account_lead_follows_the_accounts_new_owner(
    gateway_client: httpx.AsyncClient, world: World, db: asyncpg.Connection
) -> None:
    """Rep left: the account gets a new owner, and rerouting its lead finds the account again
    (by the external id it matched) and goes to that owner."""
    t = world.tenant.tenant_id
    await make_account(
        db, tenant_id=t, external_id="ACC-9", name="Nine", owner_rep_id=world.reps["other"]
    )
    lead = await assign(
        gateway_client, world, {"account_external_id": "ACC-9", "email": "pat@gmail.com"}
    )
    assert world.rep_name(lead) == "other" and lead["matched_rule"] == "named_account"
    await db.execute(
        "UPDATE account SET owner_rep_id = $2 WHERE tenant_id = $1 AND external_id = 'ACC-9'",
        t,
        world.reps["fb"],
    )
    response = await gateway_client.post(
        f"/assignment/leads/{lead['lead_id']}:reassign",
        json={"reason": "other left"},
        headers=world.tenant.headers,
    )
    assert response.status_code == 201, response.text
    assert world.rep_name(response.json()) == "fb"
    assert response.json()["matched_rule"] == "named_account"
    assert await open_count(db, world.reps["other"]) == 0

    # Without an active alignment there are no rules to route through: 409, nothing changed.
    await db.execute("UPDATE alignment SET status = 'archived' WHERE tenant_id = $1", t)
    refused = await gateway_client.post(
        f"/assignment/leads/{lead['lead_id']}:reassign", json={}, headers=world.tenant.headers
    )
    assert refused.status_code == 409, refused.text
    current = await gateway_client.get(
        f"/assignment/leads/{lead['lead_id']}/assignment", headers=world.tenant.headers
    )
    assert current.json()["assignment_id"] == response.json()["assignment_id"]
    assert current.json()["status"] == "open"
