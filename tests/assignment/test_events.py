"""The outbox and its pull feed through the real gateway: every change an integrator cares about
is an event written with the change (single and bulk assignment, reassignment, publish, reps,
territories), the cursor never skips an event committed late by a concurrent transaction, and
each tenant reads only its own."""

import uuid
from typing import Any

import asyncpg
import httpx
import pytest

from services.assignment.events import repository as events_repository
from shared.settings import Settings
from shared.tenancy import connect_for_tenant
from tests.assignment.territory_factories import make_account
from tests.assignment.test_territories import (
    add_member,
    new_rep,
    new_territory,
    publishable_alignment,
    square,
)
from tests.factories import TenantWithKey

PROBLEM_JSON = "application/problem+json"
LEAD_ASSIGNED_KEYS = {
    "lead_id", "external_id", "assignment_id", "account_id", "alignment_id", "territory_id",
    "rep_id", "matched_rule",
}  # fmt: skip


@pytest.fixture
def client(gateway_client: httpx.AsyncClient) -> httpx.AsyncClient:
    return gateway_client


async def feed(client: httpx.AsyncClient, tenant: TenantWithKey, **params: Any) -> dict[str, Any]:
    response = await client.get("/assignment/events", params=params, headers=tenant.headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def all_events(
    client: httpx.AsyncClient, tenant: TenantWithKey, **params: Any
) -> list[dict[str, Any]]:
    """Every event readable now, page by page."""
    events: list[dict[str, Any]] = []
    after = params.pop("after", None)
    while True:
        page = await feed(client, tenant, **params, **({"after": after} if after else {}))
        events += page["items"]
        after = page["next_cursor"]
        if not page["has_more"]:
            return events


async def live_alignment(client: httpx.AsyncClient, tenant: TenantWithKey) -> dict[str, str]:
    """An active alignment: West (lon 0..4, lat 0..4) owned by one rep, and the fallback."""
    alignment_id, fallback_id = await publishable_alignment(client, tenant, "Live")
    west = await new_territory(client, tenant, alignment_id, name="West", geometry=square(0, 0, 4))
    rep_id = await new_rep(client, tenant, "West owner")
    assert (await add_member(client, tenant, west["id"], rep_id=rep_id)).status_code == 201
    published = await client.post(
        f"/assignment/alignments/{alignment_id}:publish", headers=tenant.headers
    )
    assert published.status_code == 200, published.text
    return {"alignment": alignment_id, "west": west["id"], "rep": rep_id, "fallback": fallback_id}


async def test_each_change_is_an_event_in_the_feed_as_it_commits(
    client: httpx.AsyncClient, tenant: TenantWithKey, db: asyncpg.Connection
) -> None:
    account_id = await make_account(
        db, tenant_id=tenant.tenant_id, external_id="acc-1", name="Acme", location=(1.0, 1.0)
    )
    live = await live_alignment(client, tenant)
    events = await all_events(client, tenant)
    kinds = [event["type"] for event in events]
    # Draft edits (territories, members), the reps, then the publish and what it moved.
    assert kinds.count("territory.changed") == 4  # Queue, its member, West, its member
    assert kinds.count("rep.changed") == 2
    assert kinds[-2:] == ["account.owner_changed", "alignment.published"]
    moved, published = events[-2], events[-1]
    assert published["subject_id"] == live["alignment"]
    assert moved["subject_id"] == moved["ordering_key"] == str(account_id)
    assert moved["data"]["before"] == {"territory_id": None, "owner_territory_id": None}
    assert moved["data"]["after"]["territory_id"] == live["west"]
    assert moved["data"]["reason"] == "alignment_published"

    # A lead: its event is readable by the time the answer arrives (the commit came first).
    cursor = (await feed(client, tenant, limit=1000))["next_cursor"]
    lead = await client.post(
        "/assignment/leads",
        json={"external_id": "crm-7", "longitude": 2.0, "latitude": 2.0},
        headers={**tenant.headers, "Idempotency-Key": "lead-7"},
    )
    assert lead.status_code == 201, lead.text
    page = await feed(client, tenant, after=cursor)
    assert [event["type"] for event in page["items"]] == ["lead.assigned"]
    assigned = page["items"][0]
    assert assigned["data"] == {
        "lead_id": lead.json()["lead_id"],
        "external_id": "crm-7",
        "assignment_id": lead.json()["assignment_id"],
        "account_id": None,
        "alignment_id": live["alignment"],
        "territory_id": live["west"],
        "rep_id": live["rep"],
        "matched_rule": "geography",
    }
    # No account: ordered by the lead itself.
    assert assigned["subject_id"] == assigned["ordering_key"] == lead.json()["lead_id"]
    # A replayed request changed nothing, so published nothing.
    again = await client.post(
        "/assignment/leads",
        json={"external_id": "crm-7", "longitude": 2.0, "latitude": 2.0},
        headers={**tenant.headers, "Idempotency-Key": "lead-7"},
    )
    assert again.status_code in (200, 201) and again.json()["replayed"]
    assert (await feed(client, tenant, after=page["next_cursor"]))["items"] == []

    # A reassignment is one lead.reassigned (the rerouting inside it publishes nothing).
    reassigned = await client.post(
        f"/assignment/leads/{lead.json()['lead_id']}:reassign",
        json={"rep_id": live["rep"], "reason": "asked for"},
        headers=tenant.headers,
    )
    assert reassigned.status_code == 201, reassigned.text
    rerouted = await client.post(
        f"/assignment/leads/{lead.json()['lead_id']}:reassign",
        json={"reason": "through the rules"},
        headers=tenant.headers,
    )
    assert rerouted.status_code == 201, rerouted.text
    later = (await feed(client, tenant, after=page["next_cursor"]))["items"]
    assert [(e["type"], e["data"]["how"]) for e in later] == [
        ("lead.reassigned", "to_rep"),
        ("lead.reassigned", "rerouted"),
    ]
    assert later[1]["data"]["lead_id"] == lead.json()["lead_id"]
    assert later[1]["data"]["from_assignment_id"] == reassigned.json()["assignment_id"]
    assert later[1]["data"]["assignment_id"] == rerouted.json()["assignment_id"]

    # Types filter; a filtered read moves its cursor past what it skipped.
    only_reps = await feed(client, tenant, types="rep.changed")
    assert {e["type"] for e in only_reps["items"]} == {"rep.changed"}
    assert (await feed(client, tenant, types="rep.changed", after=only_reps["next_cursor"]))[
        "items"
    ] == []
    assert (await feed(client, tenant, after=only_reps["next_cursor"], types="lead.reassigned"))[
        "items"
    ] == []


async def test_bulk_assignments_publish_the_same_event_as_single_ones(
    client: httpx.AsyncClient, tenant: TenantWithKey
) -> None:
    live = await live_alignment(client, tenant)
    cursor = (await feed(client, tenant, limit=1000))["next_cursor"]
    rows = "external_id,longitude,latitude\n" + "".join(
        f"bulk-{n},{1 + n / 100},{1 + n / 100}\n" for n in range(30)
    )
    uploaded = await client.post(
        "/assignment/leads:bulk",
        content=rows.encode(),
        headers={**tenant.headers, "Content-Type": "text/csv"},
    )
    assert uploaded.status_code in (200, 201), uploaded.text
    events = await all_events(client, tenant, after=cursor)
    assert [e["type"] for e in events] == ["lead.assigned"] * 30
    # Written in row order, one contract with the single path.
    assert [e["data"]["external_id"] for e in events] == [f"bulk-{n}" for n in range(30)]
    for event in events:
        assert set(event["data"]) == LEAD_ASSIGNED_KEYS
        assert event["data"]["territory_id"] == live["west"]
        assert event["data"]["rep_id"] == live["rep"]
        assert event["data"]["matched_rule"] == "geography"
        assert event["data"]["alignment_id"] == live["alignment"]
    lead = await client.get(
        f"/assignment/assignments/{events[0]['data']['assignment_id']}", headers=tenant.headers
    )
    assert lead.status_code == 200 and lead.json()["lead_id"] == events[0]["subject_id"]


async def _write_event(connection: asyncpg.Connection, tenant_id: uuid.UUID, name: str) -> None:
    await events_repository.record_on(
        connection,
        tenant_id=tenant_id,
        event_type="rep.changed",
        subject_id=uuid.uuid4(),
        ordering_key=uuid.uuid4(),
        payload={"name": name},
    )


async def test_an_event_committed_late_is_never_skipped(
    client: httpx.AsyncClient, tenant: TenantWithKey, settings: Settings
) -> None:
    """Two transactions commit out of the order they wrote in: first comes the later one.

    ``early`` takes its transaction id and its event id first, ``late`` second; ``late``
    commits while ``early`` is still open. A cursor over event ids would hand out ``late``'s
    event, move past it, and never return ``early``'s. The feed holds both back until
    ``early`` ends, then serves them in one page, in order."""
    cursor = (await feed(client, tenant, limit=1000))["next_cursor"]
    early = await connect_for_tenant(settings, tenant.tenant_id, application_name="test-early")
    late = await connect_for_tenant(settings, tenant.tenant_id, application_name="test-late")
    try:
        early_tx = early.transaction()
        await early_tx.start()
        await _write_event(early, tenant.tenant_id, "early")
        async with late.transaction():
            await _write_event(late, tenant.tenant_id, "late")
        # late committed; early is still open.
        while_open = await feed(client, tenant, after=cursor)
        assert while_open["items"] == []
        assert while_open["next_cursor"] == cursor
        # Another tenant's transaction does not matter to this one's order, but it is also
        # held back by the same rule; nothing to read for this tenant either way.
        await early_tx.commit()
    finally:
        await early.close()
        await late.close()
    after_commit = await feed(client, tenant, after=cursor)
    assert [e["data"]["name"] for e in after_commit["items"]] == ["early", "late"]
    assert after_commit["items"][0]["id"] < after_commit["items"][1]["id"]
    # And nothing after it.
    assert (await feed(client, tenant, after=after_commit["next_cursor"]))["items"] == []


async def test_an_aborted_transaction_publishes_nothing_and_blocks_nothing(
    client: httpx.AsyncClient, tenant: TenantWithKey, settings: Settings
) -> None:
    cursor = (await feed(client, tenant, limit=1000))["next_cursor"]
    connection = await connect_for_tenant(settings, tenant.tenant_id, application_name="test")
    try:
        transaction = connection.transaction()
        await transaction.start()
        await _write_event(connection, tenant.tenant_id, "rolled back")
        await transaction.rollback()
        async with connection.transaction():
            await _write_event(connection, tenant.tenant_id, "kept")
    finally:
        await connection.close()
    page = await feed(client, tenant, after=cursor)
    assert [e["data"]["name"] for e in page["items"]] == ["kept"]


async def test_the_feed_is_the_tenants_own_and_refuses_foreign_cursors(
    client: httpx.AsyncClient, tenant: TenantWithKey, other_tenant: TenantWithKey
) -> None:
    rep = await client.post("/assignment/reps", json={"name": "Mine"}, headers=tenant.headers)
    assert rep.status_code == 201
    mine = await all_events(client, tenant)
    assert [e["subject_id"] for e in mine] == [rep.json()["id"]]
    assert await all_events(client, other_tenant) == []

    bad = await client.get(
        "/assignment/events", params={"after": "not-a-cursor"}, headers=tenant.headers
    )
    assert bad.status_code == 422
    assert bad.headers["content-type"].startswith(PROBLEM_JSON)
    unknown = await client.get(
        "/assignment/events", params={"types": "lead.assigned,lead.vanished"},
        headers=tenant.headers,
    )  # fmt: skip
    assert unknown.status_code == 422
    assert "lead.vanished" in unknown.json()["detail"]
    assert "lead.assigned" in unknown.json()["detail"]  # the list of known types
