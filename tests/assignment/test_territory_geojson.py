"""GeoJSON export and all-or-nothing import of territories, through the gateway
(nginx, uvicorn, PostGIS): the round trip, features in any order, every bad feature reported."""

import json
import uuid
from typing import Any

import asyncpg
import httpx
import pytest

from tests.assignment.test_territories import (
    BOW_TIE,
    add_member,
    circle,
    new_alignment,
    new_rep,
    new_territory,
    publishable_alignment,
    square,
)
from tests.factories import TenantWithKey


@pytest.fixture
def client(gateway_client: httpx.AsyncClient) -> httpx.AsyncClient:
    """Through the real gateway: nginx in front of the running services."""
    return gateway_client


def feature(name: str, geometry: dict[str, Any] | None = None, **properties: Any) -> dict[str, Any]:
    return {"type": "Feature", "geometry": geometry, "properties": {"name": name, **properties}}


def collection(*features: dict[str, Any]) -> dict[str, Any]:
    return {"type": "FeatureCollection", "features": list(features)}


async def export(
    client: httpx.AsyncClient, tenant: TenantWithKey, alignment_id: str
) -> dict[str, Any]:
    response = await client.get(
        f"/assignment/alignments/{alignment_id}/territories.geojson", headers=tenant.headers
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/geo+json"
    exported: dict[str, Any] = response.json()
    return exported


async def import_(
    client: httpx.AsyncClient,
    tenant: TenantWithKey,
    alignment_id: str,
    body: dict[str, Any],
    *,
    repair: bool = False,
) -> httpx.Response:
    return await client.post(
        f"/assignment/alignments/{alignment_id}/territories:import"
        + ("?repair=true" if repair else ""),
        json=body,
        headers=tenant.headers,
    )


def without_ids(exported: dict[str, Any]) -> list[dict[str, Any]]:
    """Features as comparable across alignments: territory ids differ, nothing else may."""
    features = []
    for item in exported["features"]:
        properties = {key: value for key, value in item["properties"].items() if key != "id"}
        features.append({"geometry": item["geometry"], "properties": properties})
    return features


async def test_export_then_import_into_a_new_draft_round_trips(
    client: httpx.AsyncClient, tenant: TenantWithKey, db: asyncpg.Connection
) -> None:
    source_id = await new_alignment(client, tenant, "Source")
    ada = await new_rep(client, tenant, "Ada")
    bo = await new_rep(client, tenant, "Bo")
    region = await new_territory(
        client, tenant, source_id, name="West", geometry=circle(-100, 40, 1, 500)
    )
    district = await new_territory(
        client,
        tenant,
        source_id,
        name="Coast",
        parent_id=region["id"],
        geometry={
            "type": "MultiPolygon",
            "coordinates": [
                square(-101, 39, 0.5)["coordinates"],
                square(-99.6, 40, 0.25)["coordinates"],
            ],
        },
        priority=5,
        distribution_rule="weighted",
        required_skills=["spanish"],
        criteria={"any": [{"field": "employee_count", "op": "between", "min": 10, "max": 99}]},
    )
    await new_territory(
        client,
        tenant,
        source_id,
        name="Enterprise",
        criteria={"field": "annual_revenue", "op": "gte", "value": 1000000},
        priority=1,
    )
    queue = await new_territory(client, tenant, source_id, name="Queue", is_fallback=True)
    await add_member(client, tenant, district["id"], rep_id=ada, weight=2.5)
    await add_member(client, tenant, district["id"], rep_id=bo, role="overlay")
    await add_member(client, tenant, queue["id"], rep_id=bo)

    exported = await export(client, tenant, source_id)
    assert exported["type"] == "FeatureCollection"
    coast = next(f for f in exported["features"] if f["properties"]["name"] == "Coast")
    assert coast["id"] == district["id"]
    assert coast["geometry"]["type"] == "MultiPolygon"
    assert coast["properties"] == {
        "id": district["id"],
        "name": "Coast",
        "parent": "West",
        "level": 1,
        "priority": 5,
        "distribution_rule": "weighted",
        "criteria": {
            "any": [{"field": "employee_count", "op": "between", "min": 10.0, "max": 99.0}]
        },
        "is_fallback": False,
        "required_skills": ["spanish"],
        "members": [
            {"rep_id": ada, "role": "owner", "weight": 2.5},
            {"rep_id": bo, "role": "overlay", "weight": 1.0},
        ],
        "attributes": {},
    }

    target_id = await new_alignment(client, tenant, "Target")
    # Children first: the import must not depend on the order of the features.
    reversed_collection = {**exported, "features": exported["features"][::-1]}
    imported = await import_(client, tenant, target_id, reversed_collection)
    assert imported.status_code == 201, imported.text
    assert imported.json() == {
        "alignment_id": target_id,
        "territories_created": 4,
        "members_created": 3,
        "repaired": [],
    }
    assert without_ids(await export(client, tenant, target_id)) == without_ids(exported)

    # Same polygons exactly, and the same subdivided parts.
    same = await db.fetch(
        """
        SELECT s.name, ST_Equals(s.geom, t.geom) AS equal_geometry,
               (SELECT count(*) FROM territory_part WHERE territory_id = s.id) AS source_parts,
               (SELECT count(*) FROM territory_part WHERE territory_id = t.id) AS target_parts
        FROM territory s JOIN territory t ON t.name = s.name
        WHERE s.alignment_id = $1 AND t.alignment_id = $2 AND s.geom IS NOT NULL
        ORDER BY s.name
        """,
        uuid.UUID(source_id),
        uuid.UUID(target_id),
    )
    assert [row["name"] for row in same] == ["Coast", "West"]
    assert all(row["equal_geometry"] for row in same)
    assert all(row["source_parts"] == row["target_parts"] for row in same)
    # Coast: one part per square; West: 500 vertices at most 128 a piece, so 4 or more.
    coast_parts, west_parts = (row["target_parts"] for row in same)
    assert coast_parts == 2 and west_parts >= 4


async def test_import_resolves_parents_given_after_their_children(
    client: httpx.AsyncClient, tenant: TenantWithKey
) -> None:
    alignment_id = await new_alignment(client, tenant)
    body = collection(
        feature("Street", parent="District"),
        feature("District", parent="Region", geometry=square(0, 0, 1)),
        feature("Block", parent="Street"),
        feature("Region"),
    )
    response = await import_(client, tenant, alignment_id, body)
    assert response.status_code == 201, response.text
    listed = await client.get(
        f"/assignment/alignments/{alignment_id}/territories?include_geometry=false",
        headers=tenant.headers,
    )
    by_name = {t["name"]: t for t in listed.json()["items"]}
    assert {name: t["level"] for name, t in by_name.items()} == {
        "Region": 0,
        "District": 1,
        "Street": 2,
        "Block": 3,
    }
    assert by_name["Block"]["parent_id"] == by_name["Street"]["id"]
    assert by_name["District"]["parent_id"] == by_name["Region"]["id"]


async def test_import_can_hang_features_under_existing_territories(
    client: httpx.AsyncClient, tenant: TenantWithKey
) -> None:
    alignment_id = await new_alignment(client, tenant)
    region = await new_territory(client, tenant, alignment_id, name="Region")
    district = await new_territory(
        client, tenant, alignment_id, name="District", parent_id=region["id"]
    )
    response = await import_(
        client, tenant, alignment_id, collection(feature("Leaf", parent="District"))
    )
    assert response.status_code == 201, response.text
    listed = await client.get(
        f"/assignment/alignments/{alignment_id}/territories?include_geometry=false",
        headers=tenant.headers,
    )
    leaf = next(t for t in listed.json()["items"] if t["name"] == "Leaf")
    assert (leaf["parent_id"], leaf["level"]) == (district["id"], 2)
    clash = await import_(client, tenant, alignment_id, collection(feature("Region")))
    assert clash.status_code == 422
    assert clash.json()["errors"][0]["field"] == "features[0].properties.name"


async def test_import_with_two_bad_features_reports_both_and_writes_nothing(
    client: httpx.AsyncClient, tenant: TenantWithKey, db: asyncpg.Connection
) -> None:
    alignment_id = await new_alignment(client, tenant)
    rep_id = await new_rep(client, tenant)
    body = collection(
        feature("Region", geometry=square(0, 0, 2), members=[{"rep_id": rep_id}]),
        feature("Bow tie", geometry=BOW_TIE, parent="Region"),
        feature("Fine", geometry=square(0, 0, 1), parent="Region"),
        feature("Orphan", parent="Nowhere"),
    )
    response = await import_(client, tenant, alignment_id, body)
    assert response.status_code == 422
    problem = response.json()
    assert problem["field"] == "features"
    assert problem["detail"].startswith("2 of 4 features are invalid, so nothing was imported")
    assert [(e["index"], e["field"]) for e in problem["errors"]] == [
        (1, "features[1].geometry"),
        (3, "features[3].properties.parent"),
    ]
    assert "Self-intersection[0.5 0.5]" in problem["errors"][0]["message"]
    assert "'Nowhere'" in problem["errors"][1]["message"]
    written = await db.fetchrow(
        "SELECT (SELECT count(*) FROM territory WHERE alignment_id = $1) AS territories, "
        "(SELECT count(*) FROM territory_part WHERE alignment_id = $1) AS parts, "
        "(SELECT count(*) FROM territory_member WHERE rep_id = $2) AS members",
        uuid.UUID(alignment_id),
        uuid.UUID(rep_id),
    )
    assert tuple(written) == (0, 0, 0)


async def test_import_reports_every_kind_of_bad_feature(
    client: httpx.AsyncClient, tenant: TenantWithKey, other_tenant: TenantWithKey
) -> None:
    alignment_id = await new_alignment(client, tenant)
    foreign_rep = await new_rep(client, other_tenant, "Theirs")
    body = collection(
        feature("Loop A", parent="Loop B"),
        feature("Loop B", parent="Loop A"),
        {"type": "Feature", "geometry": None, "properties": {"name": "", "priority": -1}},
        feature("Twin"),
        feature("Twin"),
        feature("Unparsable", geometry={"type": "Polygon"}),
        feature("Point", geometry={"type": "Point", "coordinates": [0, 0]}),
        feature("Foreign", members=[{"rep_id": foreign_rep}]),
        feature("Queue 1", is_fallback=True),
        feature("Queue 2", is_fallback=True),
        feature("Good", geometry=square(0, 0, 1)),
    )
    response = await import_(client, tenant, alignment_id, body, repair=True)
    assert response.status_code == 422
    errors = response.json()["errors"]
    assert sorted({e["index"] for e in errors}) == [0, 1, 2, 4, 5, 6, 7, 8, 9]
    fields = {(e["index"], e["field"]) for e in errors}
    assert {
        (0, "features[0].properties.parent"),
        (1, "features[1].properties.parent"),
        (2, "features[2].properties.name"),
        (2, "features[2].properties.priority"),
        (4, "features[4].properties.name"),
        (5, "features[5].geometry"),
        (6, "features[6].geometry"),
        (7, "features[7].properties.members[0].rep_id"),
        (8, "features[8].properties.is_fallback"),
        (9, "features[9].properties.is_fallback"),
    } == fields
    messages = {e["index"]: e["message"] for e in errors}
    assert "coordinates" in messages[5] and "PostGIS cannot read" in messages[5]
    assert "got POINT" in messages[6]
    listed = await client.get(f"/assignment/alignments/{alignment_id}", headers=tenant.headers)
    assert listed.json()["territory_count"] == 0


async def test_import_repairs_on_request_and_says_which(
    client: httpx.AsyncClient, tenant: TenantWithKey, db: asyncpg.Connection
) -> None:
    alignment_id = await new_alignment(client, tenant)
    body = collection(
        feature("Square", geometry=square(0, 0, 1)), feature("Bow tie", geometry=BOW_TIE)
    )
    response = await import_(client, tenant, alignment_id, body, repair=True)
    assert response.status_code == 201, response.text
    assert response.json()["repaired"] == [
        {
            "index": 1,
            "name": "Bow tie",
            "repair_note": "repaired with ST_MakeValid: Self-intersection[0.5 0.5]",
        }
    ]
    stored = await db.fetchrow(
        "SELECT ST_IsValid(geom) AS valid, ST_NumGeometries(geom) AS polygons, "
        "ST_Area(geom) AS area FROM territory WHERE alignment_id = $1 AND name = 'Bow tie'",
        uuid.UUID(alignment_id),
    )
    assert (stored["valid"], stored["polygons"], stored["area"]) == (True, 2, 0.5)
    # The note is stored: a read of the territory says why its polygon is not the one sent.
    listed = await client.get(
        f"/assignment/alignments/{alignment_id}/territories?include_geometry=false",
        headers=tenant.headers,
    )
    assert {item["name"]: item["repair_note"] for item in listed.json()["items"]} == {
        "Square": None,
        "Bow tie": "repaired with ST_MakeValid: Self-intersection[0.5 0.5]",
    }


def counties(**members: Any) -> dict[str, Any]:
    """Two counties as a Census-derived file has them: foreign members at the top and in the
    features, properties of its own, the name under NAME."""

    def county(geoid: str, name: str, lon: float) -> dict[str, Any]:
        return {
            "type": "Feature",
            "id": int(geoid),
            "title": "a foreign member",
            "geometry": square(lon, 0, 1),
            "properties": {
                "GEOID": geoid, "NAME": name, "ALAND": 1_936_000_000, "id": geoid,
                "name": f"{name} County",
            },
        }  # fmt: skip

    return {
        "type": "FeatureCollection",
        "name": "cb_2023_06_county_500k",
        **members,
        "features": [county("06001", "Alameda", 0), county("06003", "Alpine", 1)],
    }


async def test_import_accepts_standard_geojson_and_keeps_its_properties(
    client: httpx.AsyncClient, tenant: TenantWithKey
) -> None:
    alignment_id = await new_alignment(client, tenant)
    crs84 = {"type": "name", "properties": {"name": "urn:ogc:def:crs:OGC:1.3:CRS84"}}
    response = await client.post(
        f"/assignment/alignments/{alignment_id}/territories:import",
        params={"name_property": "NAME"},
        json=counties(crs=crs84),
        headers=tenant.headers,
    )
    assert response.status_code == 201, response.text
    assert response.json()["territories_created"] == 2
    listed = await client.get(
        f"/assignment/alignments/{alignment_id}/territories?include_geometry=false",
        headers=tenant.headers,
    )
    by_name = {item["name"]: item["attributes"] for item in listed.json()["items"]}
    # Every other property is kept, the original name and the (non-UUID) id included.
    assert by_name == {
        "Alameda": {"GEOID": "06001", "ALAND": 1_936_000_000, "id": "06001",
                    "name": "Alameda County"},
        "Alpine": {"GEOID": "06003", "ALAND": 1_936_000_000, "id": "06003",
                   "name": "Alpine County"},
    }  # fmt: skip
    exported = await export(client, tenant, alignment_id)
    assert [f["properties"]["attributes"]["GEOID"] for f in exported["features"]] == [
        "06001", "06003",
    ]  # fmt: skip

    # Without name_property the file's own "name" property names them.
    plain = await new_alignment(client, tenant)
    response = await import_(client, tenant, plain, counties())
    assert response.status_code == 201, response.text
    listed = await client.get(
        f"/assignment/alignments/{plain}/territories?include_geometry=false",
        headers=tenant.headers,
    )
    assert sorted(item["name"] for item in listed.json()["items"]) == [
        "Alameda County", "Alpine County",
    ]  # fmt: skip
    assert listed.json()["items"][0]["attributes"]["NAME"] == "Alameda"


async def test_import_refuses_a_crs_other_than_wgs84_and_a_missing_name_property(
    client: httpx.AsyncClient, tenant: TenantWithKey
) -> None:
    alignment_id = await new_alignment(client, tenant)
    mercator = {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::3857"}}
    response = await import_(client, tenant, alignment_id, counties(crs=mercator))
    assert response.status_code == 422
    problem = response.json()
    assert problem["field"] == "crs"
    assert "EPSG::3857" in problem["detail"] and "not WGS 84" in problem["detail"]
    response = await client.post(
        f"/assignment/alignments/{alignment_id}/territories:import",
        params={"name_property": "COUNTY"},
        json=counties(),
        headers=tenant.headers,
    )
    assert response.status_code == 422
    errors = response.json()["errors"]
    assert [(e["field"], "'COUNTY' property" in e["message"]) for e in errors] == [
        ("features[0].properties.name", True), ("features[1].properties.name", True),
    ]  # fmt: skip
    listed = await client.get(f"/assignment/alignments/{alignment_id}", headers=tenant.headers)
    assert listed.json()["territory_count"] == 0


async def test_import_needs_a_draft_of_the_tenant(
    client: httpx.AsyncClient, tenant: TenantWithKey, other_tenant: TenantWithKey
) -> None:
    alignment_id, _ = await publishable_alignment(client, tenant)
    body = collection(feature("New"))
    foreign = await import_(client, other_tenant, alignment_id, body)
    assert foreign.status_code == 404
    await client.post(f"/assignment/alignments/{alignment_id}:publish", headers=tenant.headers)
    active = await import_(client, tenant, alignment_id, body)
    assert active.status_code == 409
    empty = await import_(client, tenant, alignment_id, collection())
    assert empty.status_code == 422


async def test_export_of_an_empty_alignment_is_an_empty_collection(
    client: httpx.AsyncClient, tenant: TenantWithKey
) -> None:
    alignment_id = await new_alignment(client, tenant)
    assert await export(client, tenant, alignment_id) == {
        "type": "FeatureCollection",
        "features": [],
    }


async def test_nan_in_the_collection_is_a_422_not_a_server_error(
    client: httpx.AsyncClient, tenant: TenantWithKey
) -> None:
    """Python reads NaN as a number, PostgreSQL's JSON does not: both ends must agree it is bad."""
    alignment_id = await new_alignment(client, tenant)
    url = f"/assignment/alignments/{alignment_id}/territories:import"
    headers = {**tenant.headers, "content-type": "application/json"}
    nan_corner = square(0, 0, 1)
    nan_corner["coordinates"][0][2] = [float("nan"), 1.0]
    in_geometry = collection(feature("Fine", geometry=square(0, 0, 1)), feature("NaN", nan_corner))
    response = await client.post(url, content=json.dumps(in_geometry), headers=headers)
    assert response.status_code == 422, response.text
    assert [e["field"] for e in response.json()["errors"]] == ["features[1].geometry"]

    in_bbox = {**collection(feature("Fine", geometry=square(0, 0, 1))), "bbox": [float("nan")] * 4}
    response = await client.post(url, content=json.dumps(in_bbox), headers=headers)
    assert response.status_code == 422, response.text
    assert "NaN" in response.json()["detail"]
    listed = await client.get(f"/assignment/alignments/{alignment_id}", headers=tenant.headers)
    assert listed.json()["territory_count"] == 0
