"""Change requests through the gateway with the real worker: a small designed scenario is
proposed, approved by a second admin key (never the proposer's), and only then published;
rejections, withdrawals, the tenant's approval policy, history and comments."""

import asyncio
from typing import Any

import httpx
import pytest
import shapely
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.factories import TenantWithKey, add_key
from tests.planning.test_scenarios import finished

CHANGE_REQUESTS = "/planning/change-requests"


async def designed_scenario(client: httpx.AsyncClient, tenant: TenantWithKey) -> tuple[str, str]:
    """A 3×3 grid of unit squares designed into 3 territories, drafted with a rep as owner."""

    async def post(row: int, col: int) -> None:
        square = shapely.box(
            -71.5 + col * 0.01, 41.5 + row * 0.01, -71.49 + col * 0.01, 41.51 + row * 0.01
        )
        body = {
            "code": f"u{row}{col}",
            "geometry": shapely.geometry.mapping(square),
            "measures": {"accounts": 10.0},
        }
        response = await client.post("/planning/units", json=body, headers=tenant.headers)
        assert response.status_code == 201, response.text

    await asyncio.gather(*(post(row, col) for row in range(3) for col in range(3)))
    rebuilt = await client.post("/planning/units/adjacency:rebuild", headers=tenant.headers)
    assert rebuilt.status_code == 200, rebuilt.text
    created = await client.post(
        "/planning/scenarios",
        json={
            "name": "Grid",
            "territories": 3,
            "balance": [{"measure": "accounts", "tolerance": 0.0}],
            "time_limit_seconds": 2,
        },
        headers=tenant.headers,
    )
    assert created.status_code == 202, created.text
    scenario_id: str = created.json()["id"]
    body = await finished(client, tenant, scenario_id)
    assert body["status"] == "succeeded", body
    rep = await client.post(
        "/assignment/reps", json={"name": "Rep", "email": "rep@example.com"}, headers=tenant.headers
    )
    assert rep.status_code == 201, rep.text
    drafted = await client.post(
        f"/planning/scenarios/{scenario_id}:draft",
        json={"owners": [rep.json()["id"]] * 3, "fallback_territory": 0},
        headers=tenant.headers,
    )
    assert drafted.status_code == 201, drafted.text
    return scenario_id, drafted.json()["alignment_id"]


async def propose(
    client: httpx.AsyncClient, tenant: TenantWithKey, scenario_id: str
) -> dict[str, Any]:
    response = await client.post(
        CHANGE_REQUESTS,
        json={"scenario_id": scenario_id, "title": "Rebalance the grid", "description": "Q1"},
        headers=tenant.headers,
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


@pytest.fixture
async def approver(
    sessionmaker: async_sessionmaker[AsyncSession], tenant: TenantWithKey
) -> dict[str, str]:
    token = await add_key(
        sessionmaker, tenant_id=tenant.tenant_id, scopes=["read", "write", "admin"]
    )
    return {"X-API-Key": token}


async def test_only_an_approved_proposal_is_published(
    gateway_client: httpx.AsyncClient, tenant: TenantWithKey, approver: dict[str, str]
) -> None:
    scenario_id, alignment_id = await designed_scenario(gateway_client, tenant)
    request = await propose(gateway_client, tenant, scenario_id)
    assert request["status"] == "proposed"
    assert request["proposed_by"] == str(tenant.key_id)

    # Under review, the draft is held: neither published around the approval nor edited.
    around = await gateway_client.post(
        f"/assignment/alignments/{alignment_id}:publish", json={}, headers=tenant.headers
    )
    assert around.status_code == 409, around.text
    assert around.json()["type"].endswith("/alignment-held")
    assert request["id"] in around.json()["detail"]
    edit = await gateway_client.post(
        f"/assignment/alignments/{alignment_id}/territories",
        json={"name": "Sneaked in"},
        headers=tenant.headers,
    )
    assert edit.status_code == 409, edit.text

    # Proposed, not approved: publishing is refused, and says what to do.
    refused = await gateway_client.post(
        f"/planning/scenarios/{scenario_id}:publish", headers=tenant.headers
    )
    assert refused.status_code == 409, refused.text
    assert refused.headers["content-type"].startswith("application/problem+json")
    problem = refused.json()
    assert problem["type"].endswith("/approval-required")
    assert problem["change_request_id"] == request["id"]
    assert ":approve" in problem["detail"]

    # A second proposal of the same scenario while one is live: 409.
    again = await gateway_client.post(
        CHANGE_REQUESTS,
        json={"scenario_id": scenario_id, "title": "Twice"},
        headers=tenant.headers,
    )
    assert again.status_code == 409, again.text

    # Four-eyes: the proposer's key cannot approve its own request.
    own = await gateway_client.post(
        f"{CHANGE_REQUESTS}/{request['id']}:approve", json={}, headers=tenant.headers
    )
    assert own.status_code == 403, own.text
    assert own.json()["type"].endswith("/four-eyes")

    approved = await gateway_client.post(
        f"{CHANGE_REQUESTS}/{request['id']}:approve",
        json={"comment": "Balanced, ship it"},
        headers=approver,
    )
    assert approved.status_code == 200, approved.text
    assert approved.json()["status"] == "approved"
    released = await gateway_client.get(
        f"/assignment/alignments/{alignment_id}", headers=tenant.headers
    )
    assert released.json()["review_hold"] is None
    # A second verdict on a decided request is a conflict.
    late = await gateway_client.post(
        f"{CHANGE_REQUESTS}/{request['id']}:reject", json={"comment": "no"}, headers=approver
    )
    assert late.status_code == 409, late.text

    published = await gateway_client.post(
        f"/planning/scenarios/{scenario_id}:publish", headers=tenant.headers
    )
    assert published.status_code == 200, published.text
    alignment = await gateway_client.get(
        f"/assignment/alignments/{published.json()['alignment_id']}", headers=tenant.headers
    )
    assert alignment.json()["status"] == "active"

    final = await gateway_client.get(f"{CHANGE_REQUESTS}/{request['id']}", headers=tenant.headers)
    assert final.status_code == 200
    body = final.json()
    assert body["status"] == "published"
    assert [step["action"] for step in body["history"]] == ["proposed", "approved", "published"]
    assert body["history"][1]["comment"] == "Balanced, ship it"
    assert body["decided_by"] is not None and body["decided_by"] != str(tenant.key_id)


async def test_rejected_withdrawn_and_policy(
    gateway_client: httpx.AsyncClient, tenant: TenantWithKey, approver: dict[str, str]
) -> None:
    scenario_id, _ = await designed_scenario(gateway_client, tenant)
    request = await propose(gateway_client, tenant, scenario_id)

    no_reason = await gateway_client.post(
        f"{CHANGE_REQUESTS}/{request['id']}:reject", json={}, headers=approver
    )
    assert no_reason.status_code == 422, no_reason.text
    rejected = await gateway_client.post(
        f"{CHANGE_REQUESTS}/{request['id']}:reject",
        json={"comment": "Moves too many accounts in the north"},
        headers=approver,
    )
    assert rejected.status_code == 200, rejected.text
    assert rejected.json()["status"] == "rejected"
    refused = await gateway_client.post(
        f"/planning/scenarios/{scenario_id}:publish", headers=tenant.headers
    )
    assert refused.status_code == 409
    assert "rejected" in refused.json()["detail"]

    # Proposed again, then withdrawn by its proposer: the tenant's default policy lets an
    # unproposed scenario publish, but a tenant that requires approval refuses it.
    second = await propose(gateway_client, tenant, scenario_id)
    withdrawn = await gateway_client.post(
        f"{CHANGE_REQUESTS}/{second['id']}:withdraw", json={}, headers=tenant.headers
    )
    assert withdrawn.status_code == 200, withdrawn.text
    assert withdrawn.json()["status"] == "withdrawn"

    policy = await gateway_client.put(
        "/planning/settings", json={"require_approval": True}, headers=tenant.headers
    )
    assert policy.status_code == 200, policy.text
    assert (await gateway_client.get("/planning/settings", headers=tenant.headers)).json() == {
        "require_approval": True
    }
    required = await gateway_client.post(
        f"/planning/scenarios/{scenario_id}:publish", headers=tenant.headers
    )
    assert required.status_code == 409, required.text
    assert "only approved change requests" in required.json()["detail"]

    listed = await gateway_client.get(
        CHANGE_REQUESTS, params={"scenario_id": scenario_id, "limit": 1}, headers=tenant.headers
    )
    assert listed.status_code == 200
    page = listed.json()
    assert [item["id"] for item in page["items"]] == [second["id"]]
    older = await gateway_client.get(
        CHANGE_REQUESTS,
        params={"scenario_id": scenario_id, "limit": 1, "cursor": page["next_cursor"]},
        headers=tenant.headers,
    )
    assert [item["id"] for item in older.json()["items"]] == [request["id"]]
    assert older.json()["next_cursor"] is None
    bad_cursor = await gateway_client.get(
        CHANGE_REQUESTS, params={"cursor": "not-a-cursor"}, headers=tenant.headers
    )
    assert bad_cursor.status_code == 422


async def test_change_requests_are_tenant_scoped_and_need_scopes(
    gateway_client: httpx.AsyncClient,
    tenant: TenantWithKey,
    other_tenant: TenantWithKey,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    scenario_id, alignment_id = await designed_scenario(gateway_client, tenant)
    request = await propose(gateway_client, tenant, scenario_id)
    hidden = await gateway_client.get(
        f"{CHANGE_REQUESTS}/{request['id']}", headers=other_tenant.headers
    )
    assert hidden.status_code == 404
    foreign = await gateway_client.post(
        CHANGE_REQUESTS,
        json={"scenario_id": scenario_id, "title": "Not mine"},
        headers=other_tenant.headers,
    )
    assert foreign.status_code == 404
    writer = {
        "X-API-Key": await add_key(
            sessionmaker, tenant_id=tenant.tenant_id, scopes=["read", "write"]
        )
    }
    not_admin = await gateway_client.post(
        f"{CHANGE_REQUESTS}/{request['id']}:approve", json={}, headers=writer
    )
    assert not_admin.status_code == 403
    not_proposer = await gateway_client.post(
        f"{CHANGE_REQUESTS}/{request['id']}:withdraw", json={}, headers=writer
    )
    assert not_proposer.status_code == 403
    assert not_proposer.json()["type"].endswith("/not-the-proposer")
    # Lifting the review hold is an approver's act: a write key cannot.
    release = await gateway_client.post(
        f"/assignment/alignments/{alignment_id}:release", json={}, headers=writer
    )
    assert release.status_code == 403


async def test_comments_on_scenarios_territories_and_requests(
    gateway_client: httpx.AsyncClient,
    tenant: TenantWithKey,
    other_tenant: TenantWithKey,
    approver: dict[str, str],
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    scenario_id, alignment_id = await designed_scenario(gateway_client, tenant)
    request = await propose(gateway_client, tenant, scenario_id)
    territories = await gateway_client.get(
        f"/assignment/alignments/{alignment_id}/territories", headers=tenant.headers
    )
    assert territories.status_code == 200, territories.text
    territory_id = territories.json()["items"][0]["id"]

    async def comment(headers: dict[str, str], **body: Any) -> httpx.Response:
        return await gateway_client.post("/planning/comments", json=body, headers=headers)

    first = await comment(
        tenant.headers, subject_type="territory", subject_id=territory_id, body="North is heavy"
    )
    assert first.status_code == 201, first.text
    reply = await comment(
        approver,
        subject_type="territory",
        subject_id=territory_id,
        body="Agreed",
        reply_to=first.json()["id"],
    )
    assert reply.status_code == 201, reply.text
    on_request = await comment(
        approver, subject_type="change_request", subject_id=request["id"], body="Looks fine"
    )
    assert on_request.status_code == 201, on_request.text
    on_scenario = await comment(
        tenant.headers, subject_type="scenario", subject_id=scenario_id, body="Seed 0"
    )
    assert on_scenario.status_code == 201

    thread = await gateway_client.get(
        "/planning/comments",
        params={"subject_type": "territory", "subject_id": territory_id},
        headers=tenant.headers,
    )
    assert [c["body"] for c in thread.json()["items"]] == ["North is heavy", "Agreed"]
    assert thread.json()["items"][1]["reply_to"] == first.json()["id"]

    # A reply on another subject, an unknown subject, another tenant's territory: refused.
    elsewhere = await comment(
        tenant.headers,
        subject_type="scenario",
        subject_id=scenario_id,
        body="x",
        reply_to=first.json()["id"],
    )
    assert elsewhere.status_code == 422
    assert "same subject" in elsewhere.json()["detail"]
    unknown = await comment(
        tenant.headers, subject_type="scenario", subject_id=request["id"], body="x"
    )
    assert unknown.status_code == 404
    foreign = await comment(
        other_tenant.headers, subject_type="territory", subject_id=territory_id, body="x"
    )
    assert foreign.status_code == 404
    assert "territory" in foreign.json()["detail"]

    # Only the author edits; the author or an admin deletes (replies go with it).
    writer = {
        "X-API-Key": await add_key(
            sessionmaker, tenant_id=tenant.tenant_id, scopes=["read", "write"]
        )
    }
    not_author = await gateway_client.patch(
        f"/planning/comments/{first.json()['id']}", json={"body": "edited"}, headers=writer
    )
    assert not_author.status_code == 403
    edited = await gateway_client.patch(
        f"/planning/comments/{first.json()['id']}",
        json={"body": "North is too heavy"},
        headers=tenant.headers,
    )
    assert edited.status_code == 200 and edited.json()["body"] == "North is too heavy"
    deleted = await gateway_client.delete(
        f"/planning/comments/{first.json()['id']}", headers=approver
    )
    assert deleted.status_code == 204
    thread = await gateway_client.get(
        "/planning/comments",
        params={"subject_type": "territory", "subject_id": territory_id},
        headers=tenant.headers,
    )
    assert thread.json()["items"] == []
