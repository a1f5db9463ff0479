"""The audit trail through the gateway: every successful write of every service is recorded
with key, tenant, action, object and request id; admin keys read it, a page at a time."""

import uuid
from typing import Any

import asyncpg
import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.assignment.territory_factories import (
    add_member,
    make_alignment,
    make_rep,
    make_territory,
)
from tests.factories import TenantWithKey, add_key

EVENTS = "/assignment/audit-events"
UNIT_SQUARE = {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 1], [0, 0]]]}


async def _write(
    client: httpx.AsyncClient, method: str, path: str, tenant: TenantWithKey, **kwargs: Any
) -> tuple[httpx.Response, str]:
    request_id = uuid.uuid4().hex
    response = await client.request(
        method, path, headers={**tenant.headers, "X-Request-Id": request_id}, **kwargs
    )
    return response, request_id


async def _events(
    client: httpx.AsyncClient, tenant: TenantWithKey, **params: Any
) -> dict[str, Any]:
    response = await client.get(EVENTS, params=params, headers=tenant.headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_every_successful_write_is_recorded_with_who_what_and_which_request(
    gateway_client: httpx.AsyncClient, db: asyncpg.Connection, tenant: TenantWithKey
) -> None:
    created, create_id = await _write(
        gateway_client, "POST", "/assignment/reps", tenant, json={"name": "Ada"}
    )
    assert created.status_code == 201, created.text
    rep_id = created.json()["id"]
    updated, update_id = await _write(
        gateway_client, "PATCH", f"/assignment/reps/{rep_id}", tenant, json={"capacity": 3}
    )
    assert updated.status_code == 200, updated.text
    person, person_request = await _write(
        gateway_client, "POST", "/proximity/people", tenant, json={"kind": "contact", "name": "Bo"}
    )
    assert person.status_code == 201, person.text
    unit, unit_request = await _write(
        gateway_client,
        "POST",
        "/planning/units",
        tenant,
        json={"code": "U1", "geometry": UNIT_SQUARE},
    )
    assert unit.status_code == 201, unit.text
    deleted, delete_request = await _write(
        gateway_client, "DELETE", f"/planning/units/{unit.json()['id']}", tenant
    )
    assert deleted.status_code == 204, deleted.text

    # The lead hot path (raw asyncpg, one statement) records its write too.
    alignment = await make_alignment(db, tenant_id=tenant.tenant_id)
    territory = await make_territory(
        db, tenant_id=tenant.tenant_id, alignment_id=alignment, name="All", is_fallback=True
    )
    owner = await make_rep(db, tenant_id=tenant.tenant_id, name="Owner")
    await add_member(db, tenant_id=tenant.tenant_id, territory_id=territory, rep_id=owner)
    lead, lead_request = await _write(gateway_client, "POST", "/assignment/leads", tenant, json={})
    assert lead.status_code == 201, lead.text

    # Failed writes and reads are not.
    missing, _ = await _write(
        gateway_client, "PATCH", f"/assignment/reps/{uuid.uuid4()}", tenant, json={"capacity": 1}
    )
    assert missing.status_code == 404
    invalid, _ = await _write(gateway_client, "POST", "/assignment/reps", tenant, json={})
    assert invalid.status_code == 422
    assert (await gateway_client.get("/assignment/reps", headers=tenant.headers)).status_code == 200

    events = (await _events(gateway_client, tenant))["items"]
    seen = [
        (e["action"], e["entity"], e["entity_id"], e["request_id"], e["api_key_id"]) for e in events
    ]
    key = str(tenant.key_id)
    assert seen == [
        ("assign_lead", "leads", lead.json()["lead_id"], lead_request, key),
        ("delete_unit", "units", unit.json()["id"], delete_request, key),
        ("create_unit", "units", unit.json()["id"], unit_request, key),
        ("create_person", "people", person.json()["id"], person_request, key),
        ("update_rep", "reps", rep_id, update_id, key),
        ("create_rep", "reps", rep_id, create_id, key),
    ]
    assert events[4]["detail"]["method"] == "PATCH"
    assert events[0]["detail"]["assignment_id"] == lead.json()["assignment_id"]
    # Recorded in the tenant's rows, and nowhere else.
    assert await db.fetchval(
        "SELECT count(*) FROM audit_event WHERE tenant_id = $1", tenant.tenant_id
    ) == len(seen)


async def test_pages_filters_and_tenancy(
    gateway_client: httpx.AsyncClient,
    tenant: TenantWithKey,
    other_tenant: TenantWithKey,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    rep_ids = []
    for index in range(5):
        response, _ = await _write(
            gateway_client, "POST", "/assignment/reps", tenant, json={"name": f"Rep {index}"}
        )
        rep_ids.append(response.json()["id"])
    await _write(gateway_client, "PATCH", f"/assignment/reps/{rep_ids[0]}", tenant, json={})

    pages, cursor = [], None
    while True:
        params = {"limit": 2, "action": "create_rep"} | ({"cursor": cursor} if cursor else {})
        page = await _events(gateway_client, tenant, **params)
        pages.append([event["entity_id"] for event in page["items"]])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert pages == [rep_ids[:2:-1], rep_ids[2:0:-1], rep_ids[:1]]

    one = await _events(gateway_client, tenant, entity="reps", entity_id=rep_ids[0])
    assert [e["action"] for e in one["items"]] == ["update_rep", "create_rep"]
    newest = one["items"][0]["created_at"]
    assert [
        e["action"] for e in (await _events(gateway_client, tenant, since=newest))["items"]
    ] == ["update_rep"]
    assert len((await _events(gateway_client, tenant, until=newest))["items"]) == 5

    # Another tenant's admin sees none of it; a key without admin gets a 403 it can act on.
    assert (await _events(gateway_client, other_tenant))["items"] == []
    writer = await add_key(sessionmaker, tenant_id=tenant.tenant_id, scopes=["read", "write"])
    refused = await gateway_client.get(EVENTS, headers={"X-API-Key": writer})
    assert refused.status_code == 403
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert "admin" in refused.json()["detail"]

    bad = await gateway_client.get(EVENTS, params={"cursor": "abc"}, headers=tenant.headers)
    assert bad.status_code == 422
    assert "cursor" in bad.json()["detail"]
