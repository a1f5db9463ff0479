"""Map benchmark: ``make bench-map`` (or ``python -m bench.map``). Prints one table and writes
bench/results/map.json.

1. Data: the assignment benchmark's tenant (bench/assignment/dataset.py, built once and reused):
   10,000 irregular territories over the continental US (13 to hundreds of vertices each),
   500 reps with homes, 100,000 accounts.
2. Tiles through the gateway (nginx → assignment service → PostGIS), sequentially on one
   keep-alive connection, at several zooms, each at tile addresses where the accounts are:
   - cold: each tile's first request in the run (no HTTP cache; the service keeps no tiles);
   - warm: the same tiles requested again: below zoom 8 (no accounts) a published alignment's
     tiles come from the service's memory; from zoom 8 on the service builds each again (the
     data in shared buffers);
   - 304: a revalidation with the ETag.
3. In the same run, direct on asyncpg as the services' role under row-level security, the SQL of
   the service against two baselines drawing the same layers: "naive" (ST_AsMVTGeom over the
   territories as stored: projected and clipped whole on every request) and "parts" (over the
   ST_Subdivide'd ``territory_part`` pieces the lead matcher uses, projected per request).

Platform: with ``--start-platform`` the benchmark makes its own database on DATABASE_URL's server,
migrates it and starts the services and nginx on free ports (tests/harness.py), then drops the
database (and the dataset with it); otherwise it uses GATEWAY_URL and DATABASE_URL from .run/env.
"""

import argparse
import asyncio
import json
import math
import os
import platform as platform_module
import random
import statistics
import subprocess
import tempfile
import time
import uuid
from contextlib import ExitStack
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from bench.assignment.dataset import ensure_dataset
from services.assignment.tiles.repository import ACCOUNTS_MIN_ZOOM, tile_sql
from shared.settings import Settings
from shared.tenancy import set_connection_tenant

REPO_ROOT = Path(__file__).resolve().parents[2]
RESULTS_PATH = REPO_ROOT / "bench" / "results" / "map.json"
TARGETS = {"warm_p99_ms": 50.0, "cold_p99_ms": 200.0}
ZOOMS = (3, 5, 7, 8, 10, 12, 14)

log = partial(print, flush=True)

_SERVICE_SQL = tile_sql(14)
_LAYERS_AFTER_TERRITORIES = _SERVICE_SQL.split("), accounts AS (", 1)[1]
_BOUNDS = _SERVICE_SQL.split("), territories AS (", 1)[0]
_OWNER = """
    LEFT JOIN LATERAL (
        SELECT m.rep_id FROM territory_member m
        WHERE m.territory_id = t.id AND m.role = 'owner'
        ORDER BY m.weight DESC, m.rep_id LIMIT 1
    ) owner ON true
    LEFT JOIN rep r ON r.id = owner.rep_id
"""
# The baselines differ from the service's SQL only in where the territory polygons come from.
NAIVE_SQL = f"""{_BOUNDS}), territories AS (
    SELECT t.id::text AS territory_id, t.name, t.level, t.parent_id::text AS parent_id,
           owner.rep_id::text AS owner_rep_id, r.name AS owner_name,
           ST_AsMVTGeom(ST_Transform(t.geom, 3857), bounds.tile, 4096, 64, true) AS geom
    FROM bounds
    JOIN territory t ON ST_Intersects(t.geom, bounds.buffered_4326)
    {_OWNER}
    WHERE t.tenant_id = $1 AND t.alignment_id = $2
    ORDER BY t.level
), accounts AS ({_LAYERS_AFTER_TERRITORIES}"""
PARTS_SQL = f"""{_BOUNDS}), territories AS (
    SELECT t.id::text AS territory_id, t.name, t.level, t.parent_id::text AS parent_id,
           owner.rep_id::text AS owner_rep_id, r.name AS owner_name,
           ST_AsMVTGeom(ST_Transform(p.geom, 3857), bounds.tile, 4096, 64, true) AS geom
    FROM bounds
    JOIN territory_part p ON ST_Intersects(p.geom, bounds.buffered_4326)
    JOIN territory t ON t.id = p.territory_id
    {_OWNER}
    WHERE p.tenant_id = $1 AND p.alignment_id = $2
    ORDER BY t.level
), accounts AS ({_LAYERS_AFTER_TERRITORIES}"""


def tile_of(longitude: float, latitude: float, zoom: int) -> tuple[int, int, int]:
    n = 2**zoom
    x = min(n - 1, int((longitude + 180.0) / 360.0 * n))
    y = min(n - 1, int((1.0 - math.asinh(math.tan(math.radians(latitude))) / math.pi) / 2.0 * n))
    return zoom, x, y


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, math.ceil(fraction * len(ordered)) - 1))
    return ordered[index]


def summary(values: list[float]) -> dict[str, float]:
    return {
        "n": len(values),
        "p50_ms": round(percentile(values, 0.5), 2),
        "p99_ms": round(percentile(values, 0.99), 2),
        "max_ms": round(max(values), 2) if values else float("nan"),
    }


async def tile_addresses(
    connection: asyncpg.Connection, tenant_id: uuid.UUID, *, per_zoom: int, seed: int
) -> dict[int, list[tuple[int, int, int]]]:
    """Distinct tiles per zoom where accounts are (so where people look), in a seeded order."""
    rows = await connection.fetch(
        "SELECT ST_X(location) AS lon, ST_Y(location) AS lat FROM account"
        " WHERE tenant_id = $1 AND location IS NOT NULL ORDER BY id LIMIT 20000",
        tenant_id,
    )
    rng = random.Random(seed)
    points = [(row["lon"], row["lat"]) for row in rows]
    rng.shuffle(points)
    addresses: dict[int, list[tuple[int, int, int]]] = {}
    for zoom in ZOOMS:
        seen: dict[tuple[int, int, int], None] = {}
        for lon, lat in points:
            seen.setdefault(tile_of(lon, lat, zoom))
            if len(seen) >= per_zoom:
                break
        addresses[zoom] = list(seen)
    return addresses


async def through_gateway(
    client: httpx.AsyncClient,
    key: str,
    alignment_id: uuid.UUID,
    tiles: list[tuple[int, int, int]],
    warm_repeats: int,
) -> dict[str, Any]:
    cold: list[float] = []
    warm: list[float] = []
    revalidated: list[float] = []
    sizes: list[int] = []
    etags: dict[tuple[int, int, int], str] = {}
    headers = {"X-API-Key": key, "Accept-Encoding": "gzip"}
    params = {"alignment_id": str(alignment_id)}

    async def fetch(address: tuple[int, int, int], extra: dict[str, str]) -> httpx.Response:
        z, x, y = address
        response = await client.get(
            f"/assignment/tiles/{z}/{x}/{y}.mvt", params=params, headers={**headers, **extra}
        )
        if response.status_code not in (200, 304):
            raise RuntimeError(f"tile {address}: HTTP {response.status_code} {response.text}")
        return response

    for address in tiles:
        started = time.perf_counter()
        response = await fetch(address, {})
        cold.append((time.perf_counter() - started) * 1000)
        sizes.append(len(response.content))
        etags[address] = response.headers["etag"]
    for _ in range(warm_repeats):
        for address in tiles:
            started = time.perf_counter()
            await fetch(address, {})
            warm.append((time.perf_counter() - started) * 1000)
    for address in tiles:
        started = time.perf_counter()
        response = await fetch(address, {"If-None-Match": etags[address]})
        revalidated.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 304, response.status_code
    return {
        "cold": summary(cold),
        "warm": summary(warm),
        "not_modified": summary(revalidated),
        "mean_bytes_gzip": round(statistics.fmean(sizes)) if sizes else 0,
    }


async def direct_sql(
    database_url: str,
    tenant_id: uuid.UUID,
    alignment_id: uuid.UUID,
    tiles: list[tuple[int, int, int]],
    *,
    sample_size: int,
    repeats: int,
) -> dict[str, Any]:
    """The service's statement and the two baselines over the same tiles (the first
    ``sample_size``), each run ``repeats`` times per tile after one unmeasured run, as the
    services' role under row-level security, JIT off (as the service's pool)."""
    connection = await asyncpg.connect(
        database_url, server_settings={"jit": "off", "role": "territory_app"}
    )
    try:
        await set_connection_tenant(connection, tenant_id)
        results: dict[str, Any] = {}
        zoom = tiles[0][0]
        # The same tiles for all three, so that the ratios compare like with like.
        sample = tiles[:sample_size]
        for name, sql in (
            ("service", tile_sql(zoom)),
            ("parts", PARTS_SQL),
            ("naive", NAIVE_SQL),
        ):
            timings: list[float] = []
            sizes: list[int] = []
            for z, x, y in sample:
                args = (tenant_id, alignment_id, z, x, y, ACCOUNTS_MIN_ZOOM)
                body = await connection.fetchval(sql, *args)
                sizes.append(len(body))
                for _ in range(repeats):
                    started = time.perf_counter()
                    await connection.fetchval(sql, *args)
                    timings.append((time.perf_counter() - started) * 1000)
            results[name] = {**summary(timings), "mean_bytes": round(statistics.fmean(sizes))}
        return results
    finally:
        await connection.close()


async def measure(
    gateway_url: str, database_url: str, *, per_zoom: int, warm_repeats: int, seed: int
) -> dict[str, Any]:
    settings = Settings(database_url=database_url)
    data = await ensure_dataset(settings, log=log)
    owner = await asyncpg.connect(settings.libpq_owner_database_url)
    try:
        await owner.execute("ANALYZE territory_tile_geometry")
        prepared = await owner.fetchrow(
            "SELECT count(*) AS rows, sum(ST_NPoints(geom)) FILTER (WHERE band = 0) AS band0,"
            " sum(ST_NPoints(geom)) FILTER (WHERE band = 3) AS band3,"
            " sum(ST_NPoints(geom)) FILTER (WHERE band = 5) AS band5"
            " FROM territory_tile_geometry WHERE alignment_id = $1",
            data.alignment_id,
        )
        addresses = await tile_addresses(owner, data.tenant_id, per_zoom=per_zoom, seed=seed)
        # What the trigger adds to an import or a clone of the alignment: every band computed.
        started = time.perf_counter()
        await owner.fetchval(
            "SELECT count(*) FROM territory t CROSS JOIN LATERAL territory_tile_bands(t.geom) b"
            " WHERE t.alignment_id = $1",
            data.alignment_id,
        )
        prepare_seconds = time.perf_counter() - started
    finally:
        await owner.close()
    log(
        f"dataset: {data.counts['geo_territories']} territories, {data.counts['reps']} reps, "
        f"{data.counts['accounts']} accounts"
        + (f" (built in {data.build_seconds:.0f} s)" if data.built else " (reused)")
        + f"; prepared vertices band 0 / 3 / 5: {prepared['band0']:,} / {prepared['band3']:,}"
        f" / {prepared['band5']:,}; preparing all bands of the alignment: {prepare_seconds:.1f} s"
    )
    zooms: dict[str, Any] = {}
    async with httpx.AsyncClient(base_url=gateway_url, timeout=60.0) as client:
        for zoom in ZOOMS:
            tiles = addresses[zoom]
            gateway = await through_gateway(
                client, data.api_key, data.alignment_id, tiles, warm_repeats
            )
            direct = await direct_sql(
                database_url,
                data.tenant_id,
                data.alignment_id,
                tiles,
                sample_size=12,
                repeats=2,
            )
            zooms[str(zoom)] = {"tiles": len(tiles), "gateway": gateway, "sql": direct}
            log(
                f"z{zoom:>2}: {len(tiles)} tiles, warm p50/p99 {gateway['warm']['p50_ms']:.1f}/"
                f"{gateway['warm']['p99_ms']:.1f} ms, cold p99 {gateway['cold']['p99_ms']:.1f} ms;"
                f" SQL p50 service {direct['service']['p50_ms']:.1f}, parts "
                f"{direct['parts']['p50_ms']:.1f}, naive {direct['naive']['p50_ms']:.1f} ms"
            )
    return {
        "dataset": data.counts,
        "prepared_vertices": {
            "band0": prepared["band0"],
            "band3": prepared["band3"],
            "band5_as_stored": prepared["band5"],
        },
        "prepare_all_bands_seconds": round(prepare_seconds, 2),
        "zooms": zooms,
    }


def render_table(result: dict[str, Any]) -> str:
    header = (
        "zoom",
        "tiles",
        "warm p50/p99 ms",
        "cold p50/p99 ms",
        "304 p50 ms",
        "KB gz",
        "SQL p50 ms: service / parts / naive",
        "naive ÷ service",
    )
    rows = [header]
    for zoom, entry in result["zooms"].items():
        gateway, sql = entry["gateway"], entry["sql"]
        ratio = sql["naive"]["p50_ms"] / max(sql["service"]["p50_ms"], 1e-6)
        rows.append(
            (
                zoom,
                str(entry["tiles"]),
                f"{gateway['warm']['p50_ms']:.1f} / {gateway['warm']['p99_ms']:.1f}",
                f"{gateway['cold']['p50_ms']:.1f} / {gateway['cold']['p99_ms']:.1f}",
                f"{gateway['not_modified']['p50_ms']:.1f}",
                f"{gateway['mean_bytes_gzip'] / 1024:.1f}",
                f"{sql['service']['p50_ms']:.1f} / {sql['parts']['p50_ms']:.1f} / "
                f"{sql['naive']['p50_ms']:.1f}",
                f"{ratio:.1f}×",
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = [" | ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True))
             for row in rows]  # fmt: skip
    lines.insert(1, "-+-".join("-" * width for width in widths))
    return "\n".join(lines)


def verdicts(result: dict[str, Any]) -> dict[str, Any]:
    warm = max(entry["gateway"]["warm"]["p99_ms"] for entry in result["zooms"].values())
    cold = max(entry["gateway"]["cold"]["p99_ms"] for entry in result["zooms"].values())
    return {
        "worst_warm_p99_ms": warm,
        "warm_met": warm <= TARGETS["warm_p99_ms"],
        "worst_cold_p99_ms": cold,
        "cold_met": cold <= TARGETS["cold_p99_ms"],
    }


def _own_platform(stack: ExitStack, server_url: str) -> tuple[str, str]:
    """A fresh migrated database and every service behind nginx on free ports."""
    from alembic import command
    from alembic.config import Config

    from tests.harness import NginxProcess, start_services, stop_all, upstreams_of

    name = f"territory_bench_map_{uuid.uuid4().hex[:8]}"

    async def admin(sql: str) -> None:
        connection = await asyncpg.connect(server_url)
        try:
            await connection.execute(sql)
        finally:
            await connection.close()

    asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    stack.callback(lambda: asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')))
    database_url = server_url.rsplit("/", 1)[0] + "/" + name
    config = Config(str(REPO_ROOT / "alembic.ini"))
    config.attributes["database_url"] = Settings(database_url=database_url).database_url
    config.attributes["configure_logger"] = False
    command.upgrade(config, "head")
    log_dir = Path(tempfile.mkdtemp(prefix="bench-map-"))
    env = {"DATABASE_URL": database_url, "TERRITORY_LOG_JSON": "false",
           "TERRITORY_LOG_LEVEL": "WARNING"}  # fmt: skip
    services = start_services(env=env, log_dir=log_dir)
    stack.callback(stop_all, list(services.values()))
    nginx = NginxProcess(
        runtime_dir=Path(tempfile.mkdtemp(prefix="bench-map-nginx-")),
        upstreams=upstreams_of(services),
        rate_limit_rps=100_000,
        rate_limit_burst=100_000,
    )
    stack.enter_context(nginx)
    return nginx.url, database_url


def _git_revision() -> str:
    try:
        return subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
            cwd=REPO_ROOT,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tiles", type=int, default=40, help="distinct tiles per zoom (40)")
    parser.add_argument("--warm-repeats", type=int, default=3, help="warm passes (3)")
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--start-platform", action="store_true")
    parser.add_argument("--output", type=Path, default=RESULTS_PATH)
    args = parser.parse_args()
    server_url = Settings(
        database_url=os.environ.get("DATABASE_URL") or os.environ["TERRITORY_DATABASE_URL"]
    ).libpq_database_url
    load_before = os.getloadavg()
    with ExitStack() as stack:
        if args.start_platform:
            gateway_url, database_url = _own_platform(stack, server_url)
        else:
            gateway_url, database_url = os.environ["GATEWAY_URL"], server_url
        result = asyncio.run(
            measure(
                gateway_url,
                database_url,
                per_zoom=args.tiles,
                warm_repeats=args.warm_repeats,
                seed=args.seed,
            )
        )
    result["targets"] = TARGETS
    result["verdict"] = verdicts(result)
    result["machine"] = {
        "cpus": os.cpu_count(),
        "load_average_before": load_before,
        "load_average_after": os.getloadavg(),
        "python": platform_module.python_version(),
    }
    result["revision"] = _git_revision()
    result["finished_at"] = datetime.now(UTC).isoformat(timespec="seconds")
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, indent=2) + "\n")
    log("")
    log(render_table(result))
    verdict = result["verdict"]
    log(
        f"\nworst warm p99 {verdict['worst_warm_p99_ms']:.1f} ms (target ≤ "
        f"{TARGETS['warm_p99_ms']:.0f}: {'met' if verdict['warm_met'] else 'NOT met'}); "
        f"worst cold p99 {verdict['worst_cold_p99_ms']:.1f} ms (target ≤ "
        f"{TARGETS['cold_p99_ms']:.0f}: {'met' if verdict['cold_met'] else 'NOT met'}); "
        f"load average {load_before[0]:.1f} before, {os.getloadavg()[0]:.1f} after "
        f"(a shared 2-core box: pessimistic figures). Results: {args.output}"
    )


if __name__ == "__main__":
    main()
