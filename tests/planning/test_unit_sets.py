"""Unit sets through the gateway with the real worker: polygon sets (rook, queen, minimum shared
length) imported as GeoJSON, point sets with explicit edges imported as NDJSON, per-feature
errors, overrides and islands changing a design, measures from the assignment service's
accounts, accounts moved and the scenario list."""

import asyncio
import json
from typing import Any

import httpx
import numpy as np
import shapely

from tests.factories import TenantWithKey
from tests.planning.maps import zip_voronoi
from tests.planning.test_engine import pieces
from tests.planning.test_scenarios import finished

SETS = "/planning/unit-sets"
CELL = 0.1  # degrees; at the equator 11,132 m wide and 11,057 m high
BOW_TIE = {"type": "Polygon", "coordinates": [[[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]]}


def square(x: float, y: float, size: float = CELL) -> dict[str, Any]:
    ring = [[x, y], [x + size, y], [x + size, y + size], [x, y + size], [x, y]]
    return {"type": "Polygon", "coordinates": [ring]}


def feature(code: str, geometry: dict[str, Any], **properties: Any) -> dict[str, Any]:
    return {"type": "Feature", "id": code, "geometry": geometry, "properties": properties}


def grid(rows: int, columns: int, **properties: Any) -> list[dict[str, Any]]:
    """Cells named r<row>c<column>, row 0 at the bottom."""
    return [
        feature(f"r{r}c{c}", square(c * CELL, r * CELL), **properties)
        for r in range(rows)
        for c in range(columns)
    ]


async def create_set(
    client: httpx.AsyncClient, tenant: TenantWithKey, **body: Any
) -> dict[str, Any]:
    response = await client.post(SETS, json={"name": "set", **body}, headers=tenant.headers)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def import_units(
    client: httpx.AsyncClient,
    tenant: TenantWithKey,
    unit_set_id: str,
    features: list[dict[str, Any]] | str,
    *,
    ndjson: bool = False,
    skip_invalid: bool = False,
    seconds: float = 120,
) -> dict[str, Any]:
    if ndjson:
        content = (
            features
            if isinstance(features, str)
            else "\n".join(json.dumps(item) for item in features)
        )
        media = "application/x-ndjson"
    else:
        content = json.dumps({"type": "FeatureCollection", "features": features})
        media = "application/geo+json"
    response = await client.post(
        f"{SETS}/{unit_set_id}/units:import",
        params={"skip_invalid": str(skip_invalid).lower()},
        content=content.encode(),
        headers={**tenant.headers, "Content-Type": media},
    )
    assert response.status_code == 202, response.text
    import_id = response.json()["id"]
    for _ in range(int(seconds / 0.2)):
        polled = await client.get(
            f"{SETS}/{unit_set_id}/imports/{import_id}", headers=tenant.headers
        )
        assert polled.status_code == 200, polled.text
        body: dict[str, Any] = polled.json()
        if body["status"] in ("succeeded", "failed"):
            return body
        await asyncio.sleep(0.2)
    raise AssertionError(f"import {import_id} did not finish: {body}")


async def summary(
    client: httpx.AsyncClient, tenant: TenantWithKey, unit_set_id: str
) -> dict[str, Any]:
    response = await client.get(f"{SETS}/{unit_set_id}", headers=tenant.headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def design(
    client: httpx.AsyncClient, tenant: TenantWithKey, body: dict[str, Any]
) -> dict[str, Any]:
    response = await client.post("/planning/scenarios", json=body, headers=tenant.headers)
    assert response.status_code == 202, response.text
    done = await finished(client, tenant, response.json()["id"])
    assert done["status"] == "succeeded", done
    return done


async def test_rook_queen_and_minimum_shared_length_on_an_imported_grid(
    gateway_client: httpx.AsyncClient, tenant: TenantWithKey
) -> None:
    cells = grid(3, 3, accounts=1)
    expected = {
        # 3x3: 6 horizontal + 6 vertical neighbours; queen adds the 2 × 4 diagonals.
        ("rook", 0.0): (12, 0),
        ("queen", 0.0): (20, 0),
        # 11,100 m: a cell's top/bottom border (0.1° of longitude, 11,132 m) is long enough,
        # its side (0.1° of latitude, 11,057 m) is not: three columns, two of them islands.
        ("rook", 11_100.0): (6, 2),
        ("queen", 11_100.0): (6, 2),
    }
    for (rule, minimum), (edges, island_count) in expected.items():
        unit_set = await create_set(
            gateway_client,
            tenant,
            name=f"{rule} {minimum}",
            adjacency=rule,
            min_shared_border_m=minimum,
            required_measures=["accounts"],
        )
        done = await import_units(gateway_client, tenant, unit_set["id"], cells)
        assert done["status"] == "succeeded", done
        assert done["imported"] == 9 and done["error_count"] == 0
        assert set(done["timings"]) >= {"parse", "check", "write", "adjacency", "islands"}
        body = await summary(gateway_client, tenant, unit_set["id"])
        assert (body["units"], body["border_edges"]) == (9, edges), (rule, minimum)
        assert len(body["islands"]) == island_count, (rule, minimum, body["islands"])
        if island_count:
            # Each island column is joined to the next column by a cell touching it (0 m).
            for island in body["islands"]:
                assert island["distance_m"] == 0.0
                assert island["unit"][2:] != island["attached_to"][2:]


async def test_bad_features_are_reported_and_nothing_is_written_unless_skipped(
    gateway_client: httpx.AsyncClient, tenant: TenantWithKey
) -> None:
    unit_set = await create_set(gateway_client, tenant, required_measures=["accounts"])
    lines = [
        json.dumps(feature("ok1", square(0, 0), accounts=3)),
        "{not json",
        json.dumps(feature("bowtie", BOW_TIE, accounts=1)),
        json.dumps(feature("nomeasure", square(1, 0))),
        json.dumps(feature("text", square(2, 0), accounts="many")),
        json.dumps(feature("ok1", square(3, 0), accounts=1)),
        json.dumps(feature("pt", {"type": "Point", "coordinates": [0, 0]}, accounts=1)),
        "",
        json.dumps({"type": "Feature", "geometry": square(4, 0), "properties": {"accounts": 1}}),
        json.dumps(feature("neg", square(5, 0), accounts=-2)),
        json.dumps(feature("ok2", square(0.1, 0), accounts=4, name="Second")),
    ]
    done = await import_units(gateway_client, tenant, unit_set["id"], "\n".join(lines), ndjson=True)
    assert done["status"] == "failed"
    assert done["imported"] == 0 and done["features"] == 10 and done["error_count"] == 8
    assert "nothing was imported" in done["error"] and "skip_invalid=true" in done["error"]
    by_line = {error["feature"]: error for error in done["errors"]}
    assert sorted(by_line) == [2, 3, 4, 5, 6, 7, 9, 10]
    assert by_line[2]["field"] == "feature" and "not JSON" in by_line[2]["message"]
    assert by_line[3]["field"] == "geometry"
    assert by_line[3]["message"].startswith("invalid geometry: Self-intersection")
    assert by_line[4]["field"] == "properties.accounts"
    assert "missing or not a number" in by_line[4]["message"]
    assert by_line[5]["field"] == "properties.accounts"
    assert by_line[6] == {
        "feature": 6,
        "id": "ok1",
        "field": "id",
        "message": "duplicate unit id 'ok1': feature 1 has it too",
    }
    assert "ST_Point in a set of polygon units" in by_line[7]["message"]
    assert by_line[9]["field"] == "id" and by_line[9]["id"] is None
    assert "negative" in by_line[10]["message"]
    assert (await summary(gateway_client, tenant, unit_set["id"]))["units"] == 0

    skipped = await import_units(
        gateway_client, tenant, unit_set["id"], "\n".join(lines), ndjson=True, skip_invalid=True
    )
    assert skipped["status"] == "succeeded", skipped
    assert skipped["imported"] == 2 and skipped["error_count"] == 8
    units = await gateway_client.get(
        "/planning/units", params={"unit_set_id": unit_set["id"]}, headers=tenant.headers
    )
    assert [(u["code"], u["name"], u["measures"]) for u in units.json()["items"]] == [
        ("ok1", None, {"accounts": 3}),
        ("ok2", "Second", {"accounts": 4}),
    ]
    assert (await summary(gateway_client, tenant, unit_set["id"]))["border_edges"] == 1

    # The same ids again: each is reported as already in the set.
    again = await import_units(
        gateway_client, tenant, unit_set["id"], [feature("ok1", square(0, 0), accounts=1)]
    )
    assert again["errors"][0]["message"].startswith("unit 'ok1' already exists in this set")
    not_geojson = await import_units(gateway_client, tenant, unit_set["id"], "[1, 2]", ndjson=True)
    assert not_geojson["errors"][0]["field"] == "feature"
    wrong_type = await gateway_client.post(
        f"{SETS}/{unit_set['id']}/units:import",
        content=b"code,geometry\n",
        headers={**tenant.headers, "Content-Type": "text/csv"},
    )
    assert wrong_type.status_code == 415
    assert wrong_type.headers["content-type"].startswith("application/problem+json")


async def test_point_units_with_explicit_edges_decide_the_design(
    gateway_client: httpx.AsyncClient, tenant: TenantWithKey
) -> None:
    unit_set = await create_set(
        gateway_client, tenant, name="zips", kind="point", required_measures=["accounts"]
    )
    # Four ZIP-like points on a line west to east, but the neighbour table says A-C-B-D: a
    # balanced split into two (A locked west, D east) can only be {A, C} and {B, D}.
    points = {"A": 0.0, "B": 0.1, "C": 0.2, "D": 0.3}
    neighbours = {"A": ["C"], "C": ["B"], "B": ["D"], "D": []}
    features = [
        feature(
            code, {"type": "Point", "coordinates": [x, 0]}, accounts=1, neighbours=neighbours[code]
        )
        for code, x in points.items()
    ]
    done = await import_units(gateway_client, tenant, unit_set["id"], features, ndjson=True)
    assert done["status"] == "succeeded", done
    body = await summary(gateway_client, tenant, unit_set["id"])
    assert (body["units"], body["explicit_edges"], body["islands"]) == (4, 3, [])
    units = await gateway_client.get(
        "/planning/units", params={"unit_set_id": unit_set["id"]}, headers=tenant.headers
    )
    for unit in units.json()["items"]:
        assert unit["point"]["type"] == "Point"
        assert unit["geometry"]["type"] == "MultiPolygon"  # its Voronoi cell
    request = {
        "name": "zips",
        "unit_set_id": unit_set["id"],
        "territories": 2,
        "balance": [{"measure": "accounts", "tolerance": 0.0}],
        "locked": {"A": 0, "D": 1},
        "time_limit_seconds": 1,
    }
    plan = (await design(gateway_client, tenant, request))["result"]["assignment"]
    assert plan == {"A": 0, "C": 0, "B": 1, "D": 1}

    # An edge list naming unknown units is refused row by row, and writes nothing.
    refused = await gateway_client.post(
        f"{SETS}/{unit_set['id']}/edges",
        json={"edges": [{"a": "A", "b": "B"}, {"a": "A", "b": "Z"}, {"a": "Y", "b": "D"}]},
        headers=tenant.headers,
    )
    assert refused.status_code == 422, refused.text
    problem = refused.json()
    assert [(e["row"], e["field"]) for e in problem["errors"]] == [
        (1, "edges[1].b"),
        (2, "edges[2].a"),
    ]
    assert "unknown unit id 'Z'" in problem["errors"][0]["message"]
    assert (await summary(gateway_client, tenant, unit_set["id"]))["explicit_edges"] == 3
    # Replacing the table with A-B, B-C, C-D (the line) changes the only balanced plan.
    replaced = await gateway_client.post(
        f"{SETS}/{unit_set['id']}/edges",
        json={
            "edges": [{"a": "A", "b": "B"}, {"a": "C", "b": "B"}, {"a": "C", "b": "D"}],
            "replace": True,
        },
        headers=tenant.headers,
    )
    assert replaced.status_code == 200, replaced.text
    assert replaced.json() == {"added": 3, "islands": []}
    plan = (await design(gateway_client, tenant, request))["result"]["assignment"]
    assert plan == {"A": 0, "B": 0, "C": 1, "D": 1}

    # An unknown neighbour in an import is a per-feature error.
    bad = await import_units(
        gateway_client,
        tenant,
        unit_set["id"],
        [
            feature(
                "E", {"type": "Point", "coordinates": [0.4, 0]}, accounts=1, neighbours=["D", "Q"]
            )
        ],
        ndjson=True,
    )
    assert bad["status"] == "failed"
    assert bad["errors"] == [
        {
            "feature": 1,
            "id": "E",
            "field": "properties.neighbours",
            "message": "unknown unit id 'Q': not in this upload or set",
        }
    ]


async def test_overrides_split_a_territory_choice_and_islands_are_joined(
    gateway_client: httpx.AsyncClient, tenant: TenantWithKey
) -> None:
    unit_set = await create_set(gateway_client, tenant, name="2x2", required_measures=["accounts"])
    cells = grid(2, 2, accounts=1)
    # A unit far out at sea (an island): nearest to r1c1, the top-right cell.
    cells.append(feature("island", square(1.0, 1.0), accounts=0))
    done = await import_units(gateway_client, tenant, unit_set["id"], cells)
    assert done["status"] == "succeeded", done
    body = await summary(gateway_client, tenant, unit_set["id"])
    assert body["border_edges"] == 4
    [island] = body["islands"]
    assert (island["unit"], island["attached_to"]) == ("island", "r1c1")
    # From (0.2, 0.2) to (1.0, 1.0): about 125 km on the spheroid.
    assert 120_000 < island["distance_m"] < 130_000

    request = {
        "name": "split",
        "unit_set_id": unit_set["id"],
        "territories": 2,
        "balance": [{"measure": "accounts", "tolerance": 0.0}],
        "locked": {"r0c0": 0, "r1c1": 1, "island": 1},
        "time_limit_seconds": 1,
    }
    # A river between r0c0 and r0c1: r0c0 can only go with r1c0.
    river = await gateway_client.post(
        f"{SETS}/{unit_set['id']}/overrides",
        json={"a": "r0c1", "b": "r0c0", "action": "remove", "reason": "river"},
        headers=tenant.headers,
    )
    assert river.status_code == 201, river.text
    assert (river.json()["a"], river.json()["b"]) in (("r0c0", "r0c1"), ("r0c1", "r0c0"))
    result = (await design(gateway_client, tenant, request))["result"]
    assert result["feasible"], result["violations"]
    assert result["assignment"] == {"r0c0": 0, "r1c0": 0, "r0c1": 1, "r1c1": 1, "island": 1}
    assert result["islands"] == [
        {"unit": "island", "attached_to": "r1c1", "distance_m": island["distance_m"]}
    ]
    duplicate = await gateway_client.post(
        f"{SETS}/{unit_set['id']}/overrides",
        json={"a": "r0c0", "b": "r0c1", "action": "add"},
        headers=tenant.headers,
    )
    assert duplicate.status_code == 409
    unknown = await gateway_client.post(
        f"{SETS}/{unit_set['id']}/overrides",
        json={"a": "r0c0", "b": "nowhere", "action": "add"},
        headers=tenant.headers,
    )
    assert unknown.status_code == 422 and "nowhere" in unknown.json()["detail"] + json.dumps(
        unknown.json()["errors"]
    )
    # The river goes, a wall between r0c0 and r1c0 comes: now r0c0 can only go with r0c1.
    deleted = await gateway_client.delete(
        f"{SETS}/{unit_set['id']}/overrides/{river.json()['id']}", headers=tenant.headers
    )
    assert deleted.status_code == 204
    wall = await gateway_client.post(
        f"{SETS}/{unit_set['id']}/overrides",
        json={"a": "r0c0", "b": "r1c0", "action": "remove"},
        headers=tenant.headers,
    )
    assert wall.status_code == 201, wall.text
    listed = await gateway_client.get(f"{SETS}/{unit_set['id']}/overrides", headers=tenant.headers)
    assert [(o["action"], {o["a"], o["b"]}) for o in listed.json()["items"]] == [
        ("remove", {"r0c0", "r1c0"})
    ]
    result = (await design(gateway_client, tenant, request))["result"]
    assert result["assignment"] == {"r0c0": 0, "r0c1": 0, "r1c0": 1, "r1c1": 1, "island": 1}

    # Removing both of r0c0's borders leaves it an island of its own, joined to its nearest
    # unit that is not across a removed edge, and reported.
    cut = await gateway_client.post(
        f"{SETS}/{unit_set['id']}/overrides",
        json={"a": "r0c0", "b": "r0c1", "action": "remove"},
        headers=tenant.headers,
    )
    assert cut.status_code == 201
    assert [(link["unit"], link["attached_to"]) for link in cut.json()["islands"]] == [
        ("island", "r1c1"),
        ("r0c0", "r1c1"),  # not across a removed edge: the unit touching its corner
    ]
    # A bridge (added edge) from r0c0 to r1c1 is honoured like a shared border.
    bridge = await gateway_client.post(
        f"{SETS}/{unit_set['id']}/overrides",
        json={"a": "r0c0", "b": "r1c1", "action": "add", "reason": "bridge"},
        headers=tenant.headers,
    )
    assert bridge.status_code == 201
    assert [link["unit"] for link in bridge.json()["islands"]] == ["island"]


async def test_real_polygons_import_matches_their_shared_borders(
    gateway_client: httpx.AsyncClient, tenant: TenantWithKey
) -> None:
    ri = zip_voronoi("RI")
    unit_set = await create_set(gateway_client, tenant, name="RI", required_measures=["accounts"])
    features = [
        feature(code, shapely.geometry.mapping(cell), accounts=float(ri.measures[i, 0]))
        for i, (code, cell) in enumerate(zip(ri.codes, ri.cells, strict=True))
    ]
    done = await import_units(gateway_client, tenant, unit_set["id"], features)
    assert done["status"] == "succeeded", done
    body = await summary(gateway_client, tenant, unit_set["id"])
    assert body["units"] == len(ri.codes)
    # PostGIS's rook adjacency is shapely's (computed independently in tests/planning/maps.py).
    assert body["border_edges"] == len(ri.edges)
    assert body["islands"] == []
    result = (
        await design(
            gateway_client,
            tenant,
            {
                "name": "RI",
                "unit_set_id": unit_set["id"],
                "territories": 3,
                "balance": [{"measure": "accounts", "tolerance": 0.05}],
                "time_limit_seconds": 2,
            },
        )
    )["result"]
    assert result["feasible"], result["violations"]
    plan = np.array([result["assignment"][code] for code in ri.codes])
    assert all(pieces(ri.edges, plan, t) == 1 for t in range(3))


def point_grid(columns: int, rows: int) -> list[dict[str, Any]]:
    """ZIP-like points on a lattice (0.01° apart), each listing its lattice neighbours."""
    features = []
    for r in range(rows):
        for c in range(columns):
            neighbours = [
                f"p{r + dr}_{c + dc}"
                for dr, dc in ((1, 0), (-1, 0), (0, 1), (0, -1))
                if 0 <= r + dr < rows and 0 <= c + dc < columns
            ]
            features.append(
                feature(
                    f"p{r}_{c}",
                    {"type": "Point", "coordinates": [-100 + c * 0.01, 40 + r * 0.01]},
                    accounts=(r * columns + c) % 7,
                    neighbours=neighbours,
                )
            )
    return features


async def test_five_thousand_points_with_their_neighbour_table_through_the_worker(
    gateway_client: httpx.AsyncClient, tenant: TenantWithKey
) -> None:
    # The suite's size; bench/planning/units_import.py measures 50,000 (README of the bench).
    columns, rows = 100, 50
    unit_set = await create_set(
        gateway_client, tenant, name="5k", kind="point", required_measures=["accounts"]
    )
    done = await import_units(
        gateway_client, tenant, unit_set["id"], point_grid(columns, rows), ndjson=True
    )
    assert done["status"] == "succeeded", done
    assert (done["features"], done["imported"], done["error_count"]) == (5000, 5000, 0)
    body = await summary(gateway_client, tenant, unit_set["id"])
    assert body["units"] == 5000
    assert body["explicit_edges"] == rows * (columns - 1) + columns * (rows - 1)
    assert body["islands"] == []
    units = await gateway_client.get(
        "/planning/units",
        params={"unit_set_id": unit_set["id"], "limit": 1000},
        headers=tenant.headers,
    )
    assert all(unit["geometry"]["type"] == "MultiPolygon" for unit in units.json()["items"])
