"""Territory endpoints, through the gateway (nginx, uvicorn, PostGIS): hierarchy and levels,
PostGIS geometry checks and repair, subdivided parts, members, fallback and name rules."""

import math
import uuid
from typing import Any

import asyncpg
import httpx
import pytest

from tests.factories import TenantWithKey

PROBLEM_JSON = "application/problem+json"
BOW_TIE = {"type": "Polygon", "coordinates": [[[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]]}


def square(min_lon: float, min_lat: float, size: float) -> dict[str, Any]:
    max_lon, max_lat = min_lon + size, min_lat + size
    ring = [[min_lon, min_lat], [max_lon, min_lat], [max_lon, max_lat], [min_lon, max_lat]]
    return {"type": "Polygon", "coordinates": [[*ring, ring[0]]]}


def circle(center_lon: float, center_lat: float, radius: float, vertices: int) -> dict[str, Any]:
    ring = [
        [
            center_lon + radius * math.cos(2 * math.pi * k / vertices),
            center_lat + radius * math.sin(2 * math.pi * k / vertices),
        ]
        for k in range(vertices)
    ]
    return {"type": "Polygon", "coordinates": [[*ring, ring[0]]]}


@pytest.fixture
def client(gateway_client: httpx.AsyncClient) -> httpx.AsyncClient:
    """Through the real gateway: nginx in front of the running services."""
    return gateway_client


async def new_alignment(
    client: httpx.AsyncClient, tenant: TenantWithKey, name: str = "Draft"
) -> str:
    response = await client.post(
        "/assignment/alignments", json={"name": name}, headers=tenant.headers
    )
    assert response.status_code == 201, response.text
    alignment_id: str = response.json()["id"]
    return alignment_id


async def new_territory(
    client: httpx.AsyncClient, tenant: TenantWithKey, alignment_id: str, **body: Any
) -> dict[str, Any]:
    response = await client.post(
        f"/assignment/alignments/{alignment_id}/territories", json=body, headers=tenant.headers
    )
    assert response.status_code == 201, response.text
    territory: dict[str, Any] = response.json()
    return territory


async def new_rep(
    client: httpx.AsyncClient, tenant: TenantWithKey, name: str = "Rep", **body: Any
) -> str:
    response = await client.post(
        "/assignment/reps", json={"name": name, **body}, headers=tenant.headers
    )
    assert response.status_code == 201, response.text
    rep_id: str = response.json()["id"]
    return rep_id


async def add_member(
    client: httpx.AsyncClient, tenant: TenantWithKey, territory_id: str, **body: Any
) -> httpx.Response:
    return await client.post(
        f"/assignment/territories/{territory_id}/members", json=body, headers=tenant.headers
    )


async def publishable_alignment(
    client: httpx.AsyncClient, tenant: TenantWithKey, name: str = "Design"
) -> tuple[str, str]:
    """A draft with a fallback territory owned by an active rep: (alignment id, fallback id)."""
    alignment_id = await new_alignment(client, tenant, name)
    fallback = await new_territory(client, tenant, alignment_id, name="Queue", is_fallback=True)
    rep_id = await new_rep(client, tenant, "Queue owner")
    assert (await add_member(client, tenant, fallback["id"], rep_id=rep_id)).status_code == 201
    return alignment_id, fallback["id"]


async def test_hierarchy_levels_follow_parents_and_move_with_them(
    client: httpx.AsyncClient, tenant: TenantWithKey, db: asyncpg.Connection
) -> None:
    alignment_id = await new_alignment(client, tenant)
    region = await new_territory(
        client, tenant, alignment_id, name="West", geometry=square(0, 0, 4)
    )
    district = await new_territory(
        client, tenant, alignment_id, name="Coast", parent_id=region["id"], geometry=square(0, 0, 2)
    )
    leaf = await new_territory(
        client, tenant, alignment_id, name="Bay", parent_id=district["id"], geometry=square(0, 0, 1)
    )
    assert (region["level"], district["level"], leaf["level"]) == (0, 1, 2)
    assert leaf["parent_id"] == district["id"]

    # Moving the district to the top lifts its whole subtree by one level, parts included.
    moved = await client.patch(
        f"/assignment/territories/{district['id']}",
        json={"parent_id": None},
        headers=tenant.headers,
    )
    assert moved.status_code == 200, moved.text
    assert moved.json()["level"] == 0 and moved.json()["parent_id"] is None
    leaf_after = await client.get(f"/assignment/territories/{leaf['id']}", headers=tenant.headers)
    assert leaf_after.json()["level"] == 1
    part_levels = await db.fetch(
        "SELECT DISTINCT level FROM territory_part WHERE territory_id = $1", uuid.UUID(leaf["id"])
    )
    assert [row["level"] for row in part_levels] == [1]

    # And back under the region: district 1, leaf 2.
    await client.patch(
        f"/assignment/territories/{district['id']}",
        json={"parent_id": region["id"]},
        headers=tenant.headers,
    )
    levels = await db.fetch(
        "SELECT t.name, t.level, array_agg(DISTINCT p.level) AS part_levels FROM territory t "
        "JOIN territory_part p ON p.territory_id = t.id WHERE t.alignment_id = $1 "
        "GROUP BY t.name, t.level ORDER BY t.name",
        uuid.UUID(alignment_id),
    )
    assert [(r["name"], r["level"], r["part_levels"]) for r in levels] == [
        ("Bay", 2, [2]),
        ("Coast", 1, [1]),
        ("West", 0, [0]),
    ]


async def test_parent_cycles_are_rejected(client: httpx.AsyncClient, tenant: TenantWithKey) -> None:
    alignment_id = await new_alignment(client, tenant)
    region = await new_territory(client, tenant, alignment_id, name="Region")
    district = await new_territory(
        client, tenant, alignment_id, name="District", parent_id=region["id"]
    )
    leaf = await new_territory(client, tenant, alignment_id, name="Leaf", parent_id=district["id"])
    for parent in (leaf["id"], district["id"], region["id"]):
        response = await client.patch(
            f"/assignment/territories/{region['id']}",
            json={"parent_id": parent},
            headers=tenant.headers,
        )
        assert response.status_code == 422, (parent, response.text)
        assert response.headers["content-type"] == PROBLEM_JSON
        assert response.json()["field"] == "parent_id"
        assert "cycle" in response.json()["detail"]
    unchanged = await client.get(f"/assignment/territories/{region['id']}", headers=tenant.headers)
    assert unchanged.json()["parent_id"] is None and unchanged.json()["level"] == 0


async def test_parent_must_be_in_the_same_alignment_and_tenant(
    client: httpx.AsyncClient, tenant: TenantWithKey, other_tenant: TenantWithKey
) -> None:
    first = await new_alignment(client, tenant, "First")
    second = await new_alignment(client, tenant, "Second")
    foreign_parent = await new_territory(client, tenant, first, name="Elsewhere")
    response = await client.post(
        f"/assignment/alignments/{second}/territories",
        json={"name": "Child", "parent_id": foreign_parent["id"]},
        headers=tenant.headers,
    )
    assert response.status_code == 422
    assert response.json()["field"] == "parent_id"

    other_alignment = await new_alignment(client, other_tenant)
    other_parent = await new_territory(client, other_tenant, other_alignment, name="Theirs")
    response = await client.post(
        f"/assignment/alignments/{second}/territories",
        json={"name": "Child", "parent_id": other_parent["id"]},
        headers=tenant.headers,
    )
    assert response.status_code == 404
    assert response.json()["field"] == "parent_id"


async def test_bow_tie_is_rejected_with_the_postgis_reason(
    client: httpx.AsyncClient, tenant: TenantWithKey
) -> None:
    alignment_id = await new_alignment(client, tenant)
    response = await client.post(
        f"/assignment/alignments/{alignment_id}/territories",
        json={"name": "Bow tie", "geometry": BOW_TIE},
        headers=tenant.headers,
    )
    assert response.status_code == 422
    problem = response.json()
    assert problem["type"] == "/problems/invalid-geometry"
    assert problem["field"] == "geometry"
    # The two edges cross at the middle of the unit square.
    assert "Self-intersection[0.5 0.5]" in problem["detail"]
    assert "repair=true" in problem["detail"]
    listed = await client.get(
        f"/assignment/alignments/{alignment_id}/territories", headers=tenant.headers
    )
    assert listed.json()["items"] == []


async def test_bow_tie_is_repaired_on_request_and_reported(
    client: httpx.AsyncClient, tenant: TenantWithKey, db: asyncpg.Connection
) -> None:
    alignment_id = await new_alignment(client, tenant)
    response = await client.post(
        f"/assignment/alignments/{alignment_id}/territories?repair=true",
        json={"name": "Bow tie", "geometry": BOW_TIE},
        headers=tenant.headers,
    )
    assert response.status_code == 201, response.text
    territory = response.json()
    assert territory["repair_note"] == "repaired with ST_MakeValid: Self-intersection[0.5 0.5]"
    assert territory["geometry"]["type"] == "MultiPolygon"
    # Two triangles, each with base 1 (a side of the square) and height 0.5 (to the crossing).
    assert len(territory["geometry"]["coordinates"]) == 2
    planar_area = await db.fetchval(
        "SELECT ST_Area(geom) FROM territory WHERE id = $1", uuid.UUID(territory["id"])
    )
    assert planar_area == pytest.approx(2 * (1 * 0.5 / 2), rel=1e-12)
    # Stored: every later read (and a listing) says why the polygon differs from the one sent.
    again = await client.get(f"/assignment/territories/{territory['id']}", headers=tenant.headers)
    assert again.json()["repair_note"] == territory["repair_note"]
    listed = await client.get(
        f"/assignment/alignments/{alignment_id}/territories", headers=tenant.headers
    )
    assert [item["repair_note"] for item in listed.json()["items"]] == [territory["repair_note"]]
    # A rename keeps it; a new, valid polygon clears it.
    renamed = await client.patch(
        f"/assignment/territories/{territory['id']}", json={"name": "Bow"}, headers=tenant.headers
    )
    assert renamed.json()["repair_note"] == territory["repair_note"]
    replaced = await client.patch(
        f"/assignment/territories/{territory['id']}",
        json={"geometry": square(0, 0, 1)},
        headers=tenant.headers,
    )
    assert replaced.json()["repair_note"] is None
    again = await client.get(f"/assignment/territories/{territory['id']}", headers=tenant.headers)
    assert again.json()["repair_note"] is None


@pytest.mark.parametrize(
    ("geometry", "expected"),
    [
        ({"type": "Polygon"}, "coordinates"),
        ({"type": "Polygonal", "coordinates": []}, "PostGIS cannot read"),
        ({"type": "Point", "coordinates": [1, 2]}, "expected a Polygon or MultiPolygon, got POINT"),
        (square(10, 95, 1), "latitude in [-90, 90]"),
        ({"type": "Polygon", "coordinates": []}, "no coordinates"),
        (
            {
                "type": "Polygon",
                "crs": {"type": "name", "properties": {"name": "EPSG:3857"}},
                "coordinates": square(0, 0, 1)["coordinates"],
            },
            "EPSG:3857",
        ),
    ],
)
async def test_unusable_geojson_is_an_invalid_geometry_problem(
    client: httpx.AsyncClient, tenant: TenantWithKey, geometry: dict[str, Any], expected: str
) -> None:
    alignment_id = await new_alignment(client, tenant)
    response = await client.post(
        f"/assignment/alignments/{alignment_id}/territories?repair=true",
        json={"name": "Bad", "geometry": geometry},
        headers=tenant.headers,
    )
    assert response.status_code == 422, response.text
    assert response.json()["type"] == "/problems/invalid-geometry"
    assert response.json()["field"] == "geometry"
    assert expected in response.json()["detail"]


async def test_a_detailed_polygon_is_cut_into_parts_that_cover_it_exactly(
    client: httpx.AsyncClient, tenant: TenantWithKey, db: asyncpg.Connection
) -> None:
    alignment_id = await new_alignment(client, tenant)
    vertices, radius = 1000, 0.5
    territory = await new_territory(
        client, tenant, alignment_id, name="Round", geometry=circle(-100, 40, radius, vertices)
    )
    territory_id = uuid.UUID(territory["id"])
    stats = await db.fetchrow(
        """
        SELECT count(*) AS parts, max(ST_NPoints(p.geom)) AS most_points,
               ST_Area(ST_Union(p.geom)) AS union_area, min(p.territory_area_m2) AS min_area_m2,
               max(p.territory_area_m2) AS max_area_m2, bool_and(p.level = 0) AS top_level,
               (SELECT ST_Area(geom) FROM territory WHERE id = $1) AS territory_area,
               (SELECT ST_Area(geom::geography) FROM territory WHERE id = $1) AS territory_m2
        FROM territory_part p WHERE p.territory_id = $1
        """,
        territory_id,
    )
    # 1000 vertices at most 128 to a piece: at least 8 pieces.
    assert stats["parts"] >= 8
    assert stats["most_points"] <= 128
    # A regular n-gon of circumradius r has area n/2 * r^2 * sin(2*pi/n).
    expected_area = vertices / 2 * radius**2 * math.sin(2 * math.pi / vertices)
    assert stats["territory_area"] == pytest.approx(expected_area, rel=1e-12)
    assert stats["union_area"] == pytest.approx(stats["territory_area"], rel=1e-9)
    assert stats["min_area_m2"] == stats["max_area_m2"] == stats["territory_m2"]
    assert stats["top_level"] is True
    assert territory["area_km2"] == pytest.approx(stats["territory_m2"] / 1e6, rel=1e-12)


async def test_geometry_changes_rebuild_the_parts(
    client: httpx.AsyncClient, tenant: TenantWithKey, db: asyncpg.Connection
) -> None:
    alignment_id = await new_alignment(client, tenant)
    territory = await new_territory(
        client, tenant, alignment_id, name="T", geometry=circle(0, 0, 1, 600)
    )
    count_parts = "SELECT count(*) FROM territory_part WHERE territory_id = $1"
    territory_id = uuid.UUID(territory["id"])
    assert await db.fetchval(count_parts, territory_id) > 1
    response = await client.patch(
        f"/assignment/territories/{territory['id']}",
        json={"geometry": square(5, 5, 1)},
        headers=tenant.headers,
    )
    assert response.status_code == 200, response.text
    part = await db.fetchrow(
        "SELECT count(*) OVER () AS parts, ST_AsText(geom) AS wkt FROM territory_part "
        "WHERE territory_id = $1",
        territory_id,
    )
    assert part["parts"] == 1
    assert part["wkt"] == "POLYGON((5 5,6 5,6 6,5 6,5 5))"
    cleared = await client.patch(
        f"/assignment/territories/{territory['id']}",
        json={"geometry": None},
        headers=tenant.headers,
    )
    assert cleared.json()["geometry"] is None and cleared.json()["area_km2"] is None
    assert await db.fetchval(count_parts, territory_id) == 0


async def test_names_are_unique_per_alignment(
    client: httpx.AsyncClient, tenant: TenantWithKey
) -> None:
    first = await new_alignment(client, tenant, "First")
    second = await new_alignment(client, tenant, "Second")
    await new_territory(client, tenant, first, name="North")
    again = await client.post(
        f"/assignment/alignments/{first}/territories",
        json={"name": "North"},
        headers=tenant.headers,
    )
    assert again.status_code == 409
    assert again.json()["field"] == "name"
    await new_territory(client, tenant, second, name="North")
    south = await new_territory(client, tenant, first, name="South")
    renamed = await client.patch(
        f"/assignment/territories/{south['id']}", json={"name": "North"}, headers=tenant.headers
    )
    assert renamed.status_code == 409


async def test_at_most_one_fallback_per_alignment(
    client: httpx.AsyncClient, tenant: TenantWithKey
) -> None:
    alignment_id = await new_alignment(client, tenant)
    await new_territory(client, tenant, alignment_id, name="Queue", is_fallback=True)
    second = await client.post(
        f"/assignment/alignments/{alignment_id}/territories",
        json={"name": "Other queue", "is_fallback": True},
        headers=tenant.headers,
    )
    assert second.status_code == 409
    assert second.json()["field"] == "is_fallback"
    assert "'Queue'" in second.json()["detail"]
    plain = await new_territory(client, tenant, alignment_id, name="Plain")
    promoted = await client.patch(
        f"/assignment/territories/{plain['id']}", json={"is_fallback": True}, headers=tenant.headers
    )
    assert promoted.status_code == 409


async def test_rules_are_stored_and_validated(
    client: httpx.AsyncClient, tenant: TenantWithKey, db: asyncpg.Connection
) -> None:
    alignment_id = await new_alignment(client, tenant)
    criteria = {
        "all": [
            {"field": "industry", "op": "in", "values": ["software", "saas"]},
            {"not": {"field": "attributes.lead_source", "op": "eq", "value": "partner"}},
        ]
    }
    territory = await new_territory(
        client,
        tenant,
        alignment_id,
        name="Software",
        criteria=criteria,
        priority=10,
        distribution_rule="weighted",
        required_skills=["spanish", "saas"],
    )
    assert territory["criteria"] == criteria
    assert territory["geometry"] is None and territory["area_km2"] is None
    assert (territory["priority"], territory["distribution_rule"]) == (10, "weighted")
    assert territory["required_skills"] == ["spanish", "saas"]

    bad = await client.post(
        f"/assignment/alignments/{alignment_id}/territories",
        json={"name": "Bad", "criteria": {"field": "shoe_size", "op": "eq", "value": 9}},
        headers=tenant.headers,
    )
    assert bad.status_code == 422
    assert bad.json()["field"].startswith("criteria")

    # Clearing criteria stores SQL NULL (what the rule engine tests), not JSON null.
    cleared = await client.patch(
        f"/assignment/territories/{territory['id']}",
        json={"criteria": None},
        headers=tenant.headers,
    )
    assert cleared.json()["criteria"] is None
    assert await db.fetchval(
        "SELECT criteria IS NULL FROM territory WHERE id = $1", uuid.UUID(territory["id"])
    )
    not_null = await client.patch(
        f"/assignment/territories/{territory['id']}",
        json={"priority": None},
        headers=tenant.headers,
    )
    assert not_null.status_code == 422 and not_null.json()["field"] == "priority"


async def test_criteria_nested_too_deep_for_the_compiler_are_rejected(
    client: httpx.AsyncClient, tenant: TenantWithKey
) -> None:
    alignment_id = await new_alignment(client, tenant)
    criteria: dict[str, Any] = {"field": "industry", "op": "eq", "value": "saas"}
    for _ in range(10):
        criteria = {"all": [criteria]}
    response = await client.post(
        f"/assignment/alignments/{alignment_id}/territories",
        json={"name": "Deep", "criteria": criteria},
        headers=tenant.headers,
    )
    assert response.status_code == 422
    assert response.json()["field"] == "criteria"
    assert "deeper than 8" in response.json()["detail"]


async def test_members_are_added_listed_and_removed(
    client: httpx.AsyncClient, tenant: TenantWithKey, other_tenant: TenantWithKey
) -> None:
    alignment_id = await new_alignment(client, tenant)
    territory = await new_territory(client, tenant, alignment_id, name="T")
    ada = await new_rep(client, tenant, "Ada")
    bo = await new_rep(client, tenant, "Bo")
    added = await add_member(client, tenant, territory["id"], rep_id=ada, weight=2.5)
    assert added.status_code == 201, added.text
    assert added.json() == {"rep_id": ada, "rep_name": "Ada", "role": "owner", "weight": 2.5}
    assert (
        await add_member(client, tenant, territory["id"], rep_id=ada, role="overlay")
    ).status_code == 201
    assert (await add_member(client, tenant, territory["id"], rep_id=bo)).status_code == 201

    duplicate = await add_member(client, tenant, territory["id"], rep_id=ada, weight=3)
    assert duplicate.status_code == 409 and duplicate.json()["field"] == "rep_id"
    zero = await add_member(client, tenant, territory["id"], rep_id=bo, role="overlay", weight=0)
    assert zero.status_code == 422 and zero.json()["field"] == "weight"
    foreign_rep = await new_rep(client, other_tenant, "Theirs")
    foreign = await add_member(client, tenant, territory["id"], rep_id=foreign_rep)
    assert foreign.status_code == 404 and foreign.json()["field"] == "rep_id"

    read = await client.get(f"/assignment/territories/{territory['id']}", headers=tenant.headers)
    # Owners first (by name), then overlays.
    assert [(m["rep_name"], m["role"], m["weight"]) for m in read.json()["members"]] == [
        ("Ada", "owner", 2.5),
        ("Bo", "owner", 1.0),
        ("Ada", "overlay", 1.0),
    ]

    removed = await client.delete(
        f"/assignment/territories/{territory['id']}/members/{ada}?role=owner",
        headers=tenant.headers,
    )
    assert removed.status_code == 204
    again = await client.delete(
        f"/assignment/territories/{territory['id']}/members/{ada}?role=owner",
        headers=tenant.headers,
    )
    assert again.status_code == 404
    read = await client.get(f"/assignment/territories/{territory['id']}", headers=tenant.headers)
    assert [(m["rep_name"], m["role"]) for m in read.json()["members"]] == [
        ("Bo", "owner"),
        ("Ada", "overlay"),
    ]
    every_role = await client.delete(
        f"/assignment/territories/{territory['id']}/members/{ada}", headers=tenant.headers
    )
    assert every_role.status_code == 204


async def test_list_pages_and_leaves_geometry_out_on_request(
    client: httpx.AsyncClient, tenant: TenantWithKey
) -> None:
    alignment_id = await new_alignment(client, tenant)
    top = await new_territory(client, tenant, alignment_id, name="Zulu", geometry=square(0, 0, 1))
    for name in ("Bravo", "Alpha"):
        await new_territory(
            client, tenant, alignment_id, name=name, parent_id=top["id"], geometry=square(0, 0, 0.5)
        )
    url = f"/assignment/alignments/{alignment_id}/territories"
    first = (await client.get(f"{url}?limit=2", headers=tenant.headers)).json()
    # Top level first, then by name.
    assert [t["name"] for t in first["items"]] == ["Zulu", "Alpha"]
    assert first["next_offset"] == 2
    assert first["items"][0]["geometry"]["type"] == "MultiPolygon"
    last = (await client.get(f"{url}?limit=2&offset=2", headers=tenant.headers)).json()
    assert [t["name"] for t in last["items"]] == ["Bravo"] and last["next_offset"] is None
    bare = (await client.get(f"{url}?include_geometry=false", headers=tenant.headers)).json()
    assert [t["geometry"] for t in bare["items"]] == [None, None, None]
    assert all(t["area_km2"] > 0 for t in bare["items"])


async def test_a_territory_with_children_cannot_be_deleted(
    client: httpx.AsyncClient, tenant: TenantWithKey
) -> None:
    alignment_id = await new_alignment(client, tenant)
    parent = await new_territory(client, tenant, alignment_id, name="Parent")
    child = await new_territory(client, tenant, alignment_id, name="Child", parent_id=parent["id"])
    refused = await client.delete(f"/assignment/territories/{parent['id']}", headers=tenant.headers)
    assert refused.status_code == 409
    assert "1 child" in refused.json()["detail"]
    for territory in (child, parent):
        deleted = await client.delete(
            f"/assignment/territories/{territory['id']}", headers=tenant.headers
        )
        assert deleted.status_code == 204
    gone = await client.get(f"/assignment/territories/{parent['id']}", headers=tenant.headers)
    assert gone.status_code == 404


async def test_other_tenants_territories_are_not_found(
    client: httpx.AsyncClient, tenant: TenantWithKey, other_tenant: TenantWithKey
) -> None:
    alignment_id = await new_alignment(client, tenant)
    territory = await new_territory(client, tenant, alignment_id, name="Mine")
    rep_id = await new_rep(client, tenant)
    headers = other_tenant.headers
    path = f"/assignment/territories/{territory['id']}"
    responses = [
        await client.get(path, headers=headers),
        await client.patch(path, json={"name": "Theirs"}, headers=headers),
        await client.delete(path, headers=headers),
        await client.post(f"{path}/members", json={"rep_id": rep_id}, headers=headers),
        await client.delete(f"{path}/members/{rep_id}", headers=headers),
        await client.get(f"/assignment/alignments/{alignment_id}/territories", headers=headers),
        await client.post(
            f"/assignment/alignments/{alignment_id}/territories",
            json={"name": "X"},
            headers=headers,
        ),
    ]
    assert [response.status_code for response in responses] == [404] * len(responses)
    assert all(r.headers["content-type"] == PROBLEM_JSON for r in responses)
    still = await client.get(path, headers=tenant.headers)
    assert still.json()["name"] == "Mine"
