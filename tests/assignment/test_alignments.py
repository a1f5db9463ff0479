"""Alignment endpoints, through the gateway (nginx, uvicorn, PostGIS): drafts, clone, publish
(validation, the atomic swap of the active alignment), archive, and drafts-only editing."""

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import asyncpg
import httpx
import pytest

from tests.assignment.test_territories import (
    add_member,
    circle,
    new_alignment,
    new_rep,
    new_territory,
    publishable_alignment,
    square,
)
from tests.factories import TenantWithKey

EDIT_RECIPE = "clone it, edit the draft, publish"


@pytest.fixture
def client(gateway_client: httpx.AsyncClient) -> httpx.AsyncClient:
    """Through the real gateway: nginx in front of the running services."""
    return gateway_client


async def publish(
    client: httpx.AsyncClient, tenant: TenantWithKey, alignment_id: str, **body: object
) -> httpx.Response:
    return await client.post(
        f"/assignment/alignments/{alignment_id}:publish",
        json=body or None,
        headers=tenant.headers,
    )


async def test_create_list_filter_get_and_rename(
    client: httpx.AsyncClient, tenant: TenantWithKey
) -> None:
    created = await client.post(
        "/assignment/alignments", json={"name": "FY27"}, headers=tenant.headers
    )
    assert created.status_code == 201, created.text
    alignment = created.json()
    assert alignment["status"] == "draft"
    assert alignment["territory_count"] == 0
    assert alignment["effective_from"] is None and alignment["published_at"] is None
    active_id, _ = await publishable_alignment(client, tenant, "Live")
    assert (await publish(client, tenant, active_id)).status_code == 200

    drafts = await client.get("/assignment/alignments?status=draft", headers=tenant.headers)
    assert [a["id"] for a in drafts.json()["items"]] == [alignment["id"]]
    every = await client.get("/assignment/alignments", headers=tenant.headers)
    assert [(a["name"], a["territory_count"]) for a in every.json()["items"]] == [
        ("FY27", 0),
        ("Live", 1),
    ]

    renamed = await client.patch(
        f"/assignment/alignments/{alignment['id']}",
        json={"name": "FY27 v2"},
        headers=tenant.headers,
    )
    assert renamed.status_code == 200 and renamed.json()["name"] == "FY27 v2"
    fetched = await client.get(f"/assignment/alignments/{alignment['id']}", headers=tenant.headers)
    assert fetched.json()["name"] == "FY27 v2"

    refused = await client.patch(
        f"/assignment/alignments/{active_id}", json={"name": "Renamed"}, headers=tenant.headers
    )
    assert refused.status_code == 409
    assert EDIT_RECIPE in refused.json()["detail"]


async def test_clone_copies_every_territory_member_rule_and_part(
    client: httpx.AsyncClient, tenant: TenantWithKey, db: asyncpg.Connection
) -> None:
    source_id = await new_alignment(client, tenant, "Source")
    region = await new_territory(
        client, tenant, source_id, name="Region", geometry=circle(0, 0, 2, 800)
    )
    district = await new_territory(
        client,
        tenant,
        source_id,
        name="District",
        parent_id=region["id"],
        geometry=square(0, 0, 1),
        criteria={"field": "country", "op": "in", "values": ["us", "ca"]},
        priority=7,
        distribution_rule="capacity",
        required_skills=["french"],
    )
    await new_territory(client, tenant, source_id, name="Leaf", parent_id=district["id"])
    await new_territory(client, tenant, source_id, name="Queue", is_fallback=True)
    ada = await new_rep(client, tenant, "Ada")
    bo = await new_rep(client, tenant, "Bo")
    await add_member(client, tenant, district["id"], rep_id=ada, weight=3)
    await add_member(client, tenant, district["id"], rep_id=bo, role="overlay")

    response = await client.post(
        f"/assignment/alignments/{source_id}:clone", json={"name": "Copy"}, headers=tenant.headers
    )
    assert response.status_code == 201, response.text
    clone = response.json()
    assert clone["status"] == "draft" and clone["name"] == "Copy"
    assert clone["cloned_from_id"] == source_id
    assert clone["territory_count"] == 4

    describe = """
        SELECT t.name, parent.name AS parent, parent.alignment_id = t.alignment_id AS same,
               t.level, ST_AsText(t.geom) AS wkt, t.criteria::text, t.priority,
               t.distribution_rule, t.required_skills, t.is_fallback,
               (SELECT array_agg(r.name || ':' || m.role || ':' || m.weight ORDER BY r.name)
                FROM territory_member m JOIN rep r ON r.id = m.rep_id
                WHERE m.territory_id = t.id) AS members,
               (SELECT array_agg(ST_AsText(p.geom) || '@' || p.level || '@'
                                 || p.territory_area_m2 ORDER BY ST_AsText(p.geom))
                FROM territory_part p
                WHERE p.territory_id = t.id AND p.alignment_id = t.alignment_id) AS parts
        FROM territory t LEFT JOIN territory parent ON parent.id = t.parent_id
        WHERE t.alignment_id = $1 ORDER BY t.name
    """
    source_rows = [dict(row) for row in await db.fetch(describe, uuid.UUID(source_id))]
    clone_rows = [dict(row) for row in await db.fetch(describe, uuid.UUID(clone["id"]))]
    assert clone_rows == source_rows
    # Parents were remapped into the clone (never pointing back at the source).
    assert [row["same"] for row in clone_rows if row["parent"]] == [True, True]
    assert [row["members"] for row in clone_rows if row["name"] == "District"] == [
        ["Ada:owner:3.0000", "Bo:overlay:1.0000"]
    ]
    region_parts = [row["parts"] for row in clone_rows if row["name"] == "Region"][0]
    assert len(region_parts) > 1
    shared = await db.fetchval(
        "SELECT count(*) FROM territory a JOIN territory b ON a.id = b.id "
        "WHERE a.alignment_id = $1 AND b.alignment_id = $2",
        uuid.UUID(source_id),
        uuid.UUID(clone["id"]),
    )
    assert shared == 0

    # The clone is independent: editing it leaves the source alone.
    clone_district = await db.fetchval(
        "SELECT id FROM territory WHERE alignment_id = $1 AND name = 'District'",
        uuid.UUID(clone["id"]),
    )
    await client.patch(
        f"/assignment/territories/{clone_district}", json={"priority": 1}, headers=tenant.headers
    )
    source_district = await client.get(
        f"/assignment/territories/{district['id']}", headers=tenant.headers
    )
    assert source_district.json()["priority"] == 7


async def test_publish_requires_a_fallback_with_an_active_owner(
    client: httpx.AsyncClient, tenant: TenantWithKey
) -> None:
    alignment_id = await new_alignment(client, tenant)
    await new_territory(client, tenant, alignment_id, name="North", geometry=square(0, 0, 1))
    no_fallback = await publish(client, tenant, alignment_id)
    assert no_fallback.status_code == 422
    assert no_fallback.json()["field"] == "is_fallback"
    assert "no fallback territory" in no_fallback.json()["detail"]

    queue = await new_territory(client, tenant, alignment_id, name="Queue", is_fallback=True)
    no_owner = await publish(client, tenant, alignment_id)
    assert no_owner.status_code == 422
    assert f"/assignment/territories/{queue['id']}/members" in no_owner.json()["detail"]

    # An overlay or an inactive owner does not count.
    overlay = await new_rep(client, tenant, "Overlay")
    await add_member(client, tenant, queue["id"], rep_id=overlay, role="overlay")
    inactive = await new_rep(client, tenant, "Gone")
    await client.patch(
        f"/assignment/reps/{inactive}", json={"active": False}, headers=tenant.headers
    )
    await add_member(client, tenant, queue["id"], rep_id=inactive)
    assert (await publish(client, tenant, alignment_id)).status_code == 422
    still = await client.get(f"/assignment/alignments/{alignment_id}", headers=tenant.headers)
    assert still.json()["status"] == "draft"

    owner = await new_rep(client, tenant, "Owner")
    await add_member(client, tenant, queue["id"], rep_id=owner)
    published = await publish(client, tenant, alignment_id)
    assert published.status_code == 200, published.text
    assert published.json()["status"] == "active"
    assert published.json()["published_at"] is not None
    assert published.json()["effective_from"] == published.json()["published_at"]


async def test_publish_swaps_the_active_alignment(
    client: httpx.AsyncClient, tenant: TenantWithKey, db: asyncpg.Connection
) -> None:
    first, _ = await publishable_alignment(client, tenant, "First")
    second, _ = await publishable_alignment(client, tenant, "Second")
    effective = datetime(2026, 1, 1, tzinfo=UTC)
    assert (await publish(client, tenant, first)).status_code == 200
    swapped = await publish(client, tenant, second, effective_from=effective.isoformat())
    assert swapped.status_code == 200, swapped.text
    assert datetime.fromisoformat(swapped.json()["effective_from"]) == effective

    statuses = await db.fetch(
        "SELECT name, status, archived_at IS NOT NULL AS archived FROM alignment "
        "WHERE tenant_id = $1 ORDER BY name",
        tenant.tenant_id,
    )
    assert [tuple(row) for row in statuses] == [
        ("First", "archived", True),
        ("Second", "active", False),
    ]

    again = await publish(client, tenant, second)
    assert again.status_code == 409 and "already the active" in again.json()["detail"]
    archived = await publish(client, tenant, first)
    assert archived.status_code == 409 and EDIT_RECIPE in archived.json()["detail"]


async def test_concurrent_publishes_leave_exactly_one_active(
    client: httpx.AsyncClient, tenant: TenantWithKey, db: asyncpg.Connection
) -> None:
    drafts = [(await publishable_alignment(client, tenant, f"D{n}"))[0] for n in range(4)]
    responses = await asyncio.gather(*(publish(client, tenant, draft) for draft in drafts))
    # The tenant's alignments are locked for each publish: they happen one after another.
    assert [response.status_code for response in responses] == [200] * 4
    counts = await db.fetchrow(
        "SELECT count(*) FILTER (WHERE status = 'active') AS active, "
        "count(*) FILTER (WHERE status = 'archived') AS archived "
        "FROM alignment WHERE tenant_id = $1",
        tenant.tenant_id,
    )
    assert (counts["active"], counts["archived"]) == (1, 3)


async def test_publish_rejects_an_effective_date_in_the_future(
    client: httpx.AsyncClient, tenant: TenantWithKey
) -> None:
    alignment_id, _ = await publishable_alignment(client, tenant)
    tomorrow = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    response = await publish(client, tenant, alignment_id, effective_from=tomorrow)
    assert response.status_code == 422 and response.json()["field"] == "effective_from"
    naive = await publish(client, tenant, alignment_id, effective_from="2026-01-01T00:00:00")
    assert naive.status_code == 422 and naive.json()["field"] == "effective_from"


async def test_archive_drafts_but_never_the_active_alignment(
    client: httpx.AsyncClient, tenant: TenantWithKey
) -> None:
    active_id, _ = await publishable_alignment(client, tenant, "Live")
    await publish(client, tenant, active_id)
    refused = await client.post(
        f"/assignment/alignments/{active_id}:archive", headers=tenant.headers
    )
    assert refused.status_code == 409
    assert "publish another first" in refused.json()["detail"]

    draft_id = await new_alignment(client, tenant, "Idea")
    archived = await client.post(
        f"/assignment/alignments/{draft_id}:archive", headers=tenant.headers
    )
    assert archived.status_code == 200
    assert archived.json()["status"] == "archived" and archived.json()["archived_at"] is not None
    frozen = await client.post(
        f"/assignment/alignments/{draft_id}/territories",
        json={"name": "Late"},
        headers=tenant.headers,
    )
    assert frozen.status_code == 409 and EDIT_RECIPE in frozen.json()["detail"]
    # Archived alignments stay readable and can seed a new draft.
    clone = await client.post(f"/assignment/alignments/{draft_id}:clone", headers=tenant.headers)
    assert clone.status_code == 201 and clone.json()["name"] == "Idea (copy)"


async def test_only_drafts_are_editable(client: httpx.AsyncClient, tenant: TenantWithKey) -> None:
    alignment_id, fallback_id = await publishable_alignment(client, tenant)
    region = await new_territory(client, tenant, alignment_id, name="Region")
    rep_id = await new_rep(client, tenant, "Late")
    assert (await publish(client, tenant, alignment_id)).status_code == 200

    headers = tenant.headers
    territory_path = f"/assignment/territories/{region['id']}"
    attempts = {
        "create": await client.post(
            f"/assignment/alignments/{alignment_id}/territories",
            json={"name": "New"},
            headers=headers,
        ),
        "patch": await client.patch(territory_path, json={"priority": 1}, headers=headers),
        "geometry": await client.patch(
            territory_path, json={"geometry": square(0, 0, 1)}, headers=headers
        ),
        "delete": await client.delete(territory_path, headers=headers),
        "add member": await client.post(
            f"{territory_path}/members", json={"rep_id": rep_id}, headers=headers
        ),
        "remove member": await client.delete(
            f"/assignment/territories/{fallback_id}/members/{rep_id}", headers=headers
        ),
        "import": await client.post(
            f"/assignment/alignments/{alignment_id}/territories:import",
            json={
                "type": "FeatureCollection",
                "features": [
                    {"type": "Feature", "geometry": None, "properties": {"name": "Imported"}}
                ],
            },
            headers=headers,
        ),
    }
    for action, response in attempts.items():
        assert response.status_code == 409, (action, response.text)
        assert EDIT_RECIPE in response.json()["detail"], action
    unchanged = await client.get(territory_path, headers=headers)
    assert unchanged.json()["priority"] == 100
    listed = await client.get(f"/assignment/alignments/{alignment_id}", headers=headers)
    assert listed.json()["territory_count"] == 2


async def test_other_tenants_alignments_are_not_found(
    client: httpx.AsyncClient, tenant: TenantWithKey, other_tenant: TenantWithKey
) -> None:
    alignment_id, _ = await publishable_alignment(client, tenant)
    headers = other_tenant.headers
    base = f"/assignment/alignments/{alignment_id}"
    responses = [
        await client.get(base, headers=headers),
        await client.patch(base, json={"name": "Mine now"}, headers=headers),
        await client.post(f"{base}:clone", headers=headers),
        await client.post(f"{base}:publish", headers=headers),
        await client.post(f"{base}:archive", headers=headers),
        await client.get(f"{base}/territories.geojson", headers=headers),
        await client.get(f"/assignment/alignments/{uuid.uuid4()}", headers=tenant.headers),
    ]
    assert [response.status_code for response in responses] == [404] * len(responses)
    assert (await client.get("/assignment/alignments", headers=headers)).json()["items"] == []
    mine = await client.get(base, headers=tenant.headers)
    assert mine.json()["status"] == "draft"
