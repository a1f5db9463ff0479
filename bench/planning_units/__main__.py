"""Bulk unit imports at 50,000 units: the worker's import job (``import_job.run``, the function
the job worker runs) on GeoJSON polygons (Voronoi cells, shared-border adjacency by a GiST
self-join) and NDJSON points (with a neighbour table, Voronoi cells), timed per stage, against
the bare GiST self-join of the same polygons measured in the same run (the floor of the
adjacency stage).

    DATABASE_URL=postgresql://…/a_migrated_database python -m bench.planning_units [--units N]

Needs a migrated database (``alembic upgrade head``); makes its own tenant and deletes it.
Writes ``bench/results/planning_units.json``.
"""

import argparse
import asyncio
import json
import os
import platform
import time
import uuid
from pathlib import Path
from typing import Any

import asyncpg
import numpy as np
import shapely

from services.planning.units import import_job
from shared.settings import Settings

RESULTS = Path(__file__).resolve().parents[1] / "results" / "planning_units.json"


def voronoi_features(count: int, seed: int = 11) -> list[dict[str, Any]]:
    """Voronoi cells of ``count`` random points over a 5° × 5° box (about a US state)."""
    rng = np.random.default_rng(seed)
    points = rng.uniform([-100.0, 35.0], [-95.0, 40.0], size=(count, 2))
    box = shapely.box(-100.0, 35.0, -95.0, 40.0)
    regions = shapely.voronoi_polygons(shapely.multipoints(points), extend_to=box)
    cells = shapely.intersection(np.asarray(regions.geoms), box)
    centres = shapely.points(points)
    tree = shapely.STRtree(cells)
    owner = tree.query(centres, predicate="within")
    site_of_cell = dict(zip(owner[1].tolist(), owner[0].tolist(), strict=True))
    features = []
    for index, cell in enumerate(cells):
        site = site_of_cell.get(index, index)
        features.append(
            {
                "type": "Feature",
                "id": f"c{site}",
                "geometry": shapely.geometry.mapping(cell),
                "properties": {"accounts": int(rng.integers(0, 50))},
            }
        )
    return features


def point_lines(count: int) -> str:
    columns = int(np.ceil(np.sqrt(count * 2)))
    rows = int(np.ceil(count / columns))
    lines = []
    for n in range(count):
        r, c = divmod(n, columns)
        neighbours = [
            f"p{rr * columns + cc}"
            for rr, cc in ((r + 1, c), (r, c + 1))
            if rr < rows and cc < columns and rr * columns + cc < count
        ]
        lines.append(
            json.dumps(
                {
                    "type": "Feature",
                    "id": f"p{n}",
                    "geometry": {"type": "Point", "coordinates": [-100 + c * 0.01, 35 + r * 0.01]},
                    "properties": {"accounts": n % 9, "neighbours": neighbours},
                }
            )
        )
    return "\n".join(lines)


async def stage_import(
    owner: asyncpg.Connection, *, tenant_id: uuid.UUID, kind: str, fmt: str, body: str
) -> tuple[uuid.UUID, uuid.UUID]:
    unit_set_id, import_id = uuid.uuid4(), uuid.uuid4()
    async with owner.transaction():
        await owner.execute("SELECT set_config('app.tenant_id', $1, true)", str(tenant_id))
        await owner.execute(
            "INSERT INTO unit_set (id, tenant_id, name, kind, required_measures)"
            " VALUES ($1, $2, $3, $4, '[\"accounts\"]')",
            unit_set_id,
            tenant_id,
            f"bench {kind}",
            kind,
        )
        await owner.execute(
            "INSERT INTO unit_import (id, tenant_id, unit_set_id, format) VALUES ($1, $2, $3, $4)",
            import_id,
            tenant_id,
            unit_set_id,
            fmt,
        )
        await owner.execute(
            "INSERT INTO unit_import_upload (import_id, tenant_id, body) VALUES ($1, $2, $3)",
            import_id,
            tenant_id,
            body,
        )
    return unit_set_id, import_id


async def bare_self_join(owner: asyncpg.Connection, *, tenant_id: uuid.UUID) -> tuple[int, float]:
    """The floor: count the intersecting pairs of the set's polygons, nothing else."""
    started = time.perf_counter()
    async with owner.transaction():
        await owner.execute("SELECT set_config('app.tenant_id', $1, true)", str(tenant_id))
        pairs = await owner.fetchval(
            "SELECT count(*) FROM basic_unit a JOIN basic_unit b ON b.tenant_id = $1"
            " AND b.unit_set_id = a.unit_set_id AND uuid_lt(a.id, b.id)"
            " AND ST_Intersects(a.geom, b.geom)"
            " WHERE a.tenant_id = $1 AND a.unit_set_id IN"
            " (SELECT id FROM unit_set WHERE tenant_id = $1 AND kind = 'polygon')",
            tenant_id,
        )
    return int(pairs), time.perf_counter() - started


async def main(units: int, output: Path) -> None:
    settings = Settings()
    owner = await asyncpg.connect(settings.libpq_owner_database_url)
    await owner.set_type_codec("jsonb", encoder=json.dumps, decoder=json.loads, schema="pg_catalog")
    tenant_id = uuid.uuid4()
    await owner.execute(
        "INSERT INTO tenant (id, name, slug) VALUES ($1, 'bench planning units', $2)",
        tenant_id,
        f"bench-units-{tenant_id.hex[:8]}",
    )
    results: dict[str, Any] = {}
    try:
        started = time.perf_counter()
        features = voronoi_features(units)
        polygons = json.dumps({"type": "FeatureCollection", "features": features})
        points = point_lines(units)
        generation = time.perf_counter() - started
        for label, kind, fmt, body in (
            ("polygons (GeoJSON)", "polygon", "geojson", polygons),
            ("points + edges (NDJSON)", "point", "ndjson", points),
        ):
            _, import_id = await stage_import(
                owner, tenant_id=tenant_id, kind=kind, fmt=fmt, body=body
            )
            started = time.perf_counter()
            await import_job.run(settings, tenant_id=tenant_id, import_id=import_id)
            wall = time.perf_counter() - started
            async with owner.transaction():
                await owner.execute("SELECT set_config('app.tenant_id', $1, true)", str(tenant_id))
                row = await owner.fetchrow(
                    "SELECT status, imported, error_count, timings, error FROM unit_import"
                    " WHERE id = $1",
                    import_id,
                )
                edges = await owner.fetchval(
                    "SELECT count(*) FROM unit_adjacency a JOIN unit_import i"
                    " ON i.unit_set_id = a.unit_set_id WHERE i.id = $1",
                    import_id,
                )
            results[label] = {
                "status": row["status"],
                "imported": row["imported"],
                "errors": row["error_count"],
                "edges": edges,
                "megabytes": round(len(body.encode()) / 1e6, 1),
                "wall_seconds": round(wall, 2),
                "stages": row["timings"],
                "error": row["error"],
            }
        pairs, floor = await bare_self_join(owner, tenant_id=tenant_id)
        results["bare GiST self-join (floor)"] = {"pairs": pairs, "wall_seconds": round(floor, 2)}
    finally:
        await owner.execute("DELETE FROM tenant WHERE id = $1", tenant_id)
        await owner.close()
    adjacency = results["polygons (GeoJSON)"]["stages"].get("adjacency", float("nan"))
    lines = [
        f"{'import of ' + str(units) + ' units':<34} {'wall s':>8} {'stages (s)':<60}",
        *(
            f"{label:<34} {figures['wall_seconds']:>8} "
            + ", ".join(f"{k} {v}" for k, v in figures.get("stages", {}).items())
            for label, figures in results.items()
        ),
        f"adjacency stage / bare GiST self-join: {adjacency / max(floor, 1e-9):.2f}x",
    ]
    print("\n".join(lines))  # noqa: T201 - the benchmark's table
    machine = {
        "cpus": os.cpu_count(),
        "load_average": os.getloadavg(),
        "python": platform.python_version(),
        "data_generation_seconds": round(generation, 1),
    }
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(
        json.dumps({"units": units, "results": results, "machine": machine}, indent=2, default=str)
        + "\n"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--units", type=int, default=50_000)
    parser.add_argument("--output", type=Path, default=RESULTS)
    arguments = parser.parse_args()
    asyncio.run(main(arguments.units, arguments.output))
