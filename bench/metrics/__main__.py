"""Metrics benchmark: ``make bench-metrics`` (or ``python -m bench.metrics``). Prints one table
and writes bench/results/metrics.json.

1. Data (dataset.py): 1,000 territories under 10 regions, a rep each, 100,000 accounts,
   ``--opportunities`` opportunities and as many activities over 3 years, loaded through the
   bulk import (``POST /metrics/{opportunities,activities}:import`` via the gateway, staged by
   COPY, validated and upserted by the job worker) into the indexed tables: the ingest figure
   (wall time from the first upload to the last job's end).
2. Through the gateway, sequentially on one keep-alive connection: one territory-quarter KPI set
   (random territory each request) p50/p99; the full rep leaderboard of a quarter; a territory's
   monthly time series of a year; the time for a new won opportunity to show in its KPIs.
3. In the same run, the baseline for each: the naive query over the raw rows (the same totals
   with index scans disabled, so every request reads the table), direct on asyncpg; the table
   gives baseline / gateway.

Platform: with ``--start-platform`` the benchmark makes its own database on DATABASE_URL's
server, migrates it and starts the services and nginx on free ports (tests/harness.py), then
drops the database; otherwise it uses GATEWAY_URL and DATABASE_URL from ``.run/env``.
"""

import argparse
import asyncio
import json
import os
import platform as platform_module
import random
import statistics
import sys
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

from bench.metrics import dataset
from shared import api_keys
from shared.settings import Settings

REPO_ROOT = Path(__file__).resolve().parents[2]
RESULTS_PATH = REPO_ROOT / "bench" / "results" / "metrics.json"
TARGETS = {"ingest_10m_s": 120.0, "kpi_p99_ms": 50.0, "leaderboard_ms": 1000.0, "fresh_s": 5.0}
QUARTER = {"period": "2025-Q2"}  # calendar quarter (the bench tenant keeps UTC, FY from January)

log = partial(print, flush=True)

NAIVE_KPI = """
SELECT sum(amount_reporting) FILTER (WHERE status = 'won' AND closed_at >= $3 AND closed_at < $4),
       count(*) FILTER (WHERE status = 'won' AND closed_at >= $3 AND closed_at < $4),
       count(*) FILTER (WHERE status = 'lost' AND closed_at >= $3 AND closed_at < $4),
       sum(amount_reporting) FILTER (WHERE status = 'open')
  FROM opportunity WHERE tenant_id = $1 AND territory_id = $2
"""
NAIVE_LEADERBOARD = """
SELECT rep_id, sum(amount_reporting) FILTER (WHERE status = 'won') AS revenue
  FROM opportunity WHERE tenant_id = $1 AND closed_at >= $2 AND closed_at < $3
 GROUP BY rep_id ORDER BY revenue DESC NULLS LAST
"""
NAIVE_SERIES = """
SELECT date_trunc('month', closed_at), sum(amount_reporting)
  FROM opportunity WHERE tenant_id = $1 AND territory_id = $2 AND status = 'won'
   AND closed_at >= $3 AND closed_at < $4
 GROUP BY 1 ORDER BY 1
"""


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


async def _timed_get(client: httpx.AsyncClient, path: str, params: dict[str, Any]) -> float:
    started = time.perf_counter()
    response = await client.get(path, params=params)
    elapsed = (time.perf_counter() - started) * 1000
    if response.status_code != 200:
        raise RuntimeError(f"{path} answered {response.status_code}: {response.text[:300]}")
    return elapsed


async def _naive(connection: asyncpg.Connection, sql: str, *args: Any) -> float:
    started = time.perf_counter()
    await connection.fetch(sql, *args)
    return (time.perf_counter() - started) * 1000


async def measure(
    gateway_url: str, database_url: str, *, opportunities: int, samples: int, seed: int
) -> dict[str, Any]:
    connection = await asyncpg.connect(database_url)
    token = api_keys.new_token("high")

    async def add_key(tenant_id: uuid.UUID) -> None:
        await connection.execute(
            "INSERT INTO api_key (id, tenant_id, name, prefix, key_hash, scopes, rate_tier)"
            " VALUES ($1, $2, 'bench', $3, $4, '{read,write,admin}', 'high')",
            uuid.uuid4(),
            tenant_id,
            token[:12],
            api_keys.hash_token(token),
        )

    try:
        log(f"building the data set ({opportunities:,} opportunities + activities)…")
        data = await dataset.build(
            connection,
            opportunities=opportunities,
            seed=seed,
            log=log,
            add_key=add_key,
            upload=partial(_upload, gateway_url, token),
        )
        # The naive baseline reads the raw rows: no index may answer for it.
        for setting in ("enable_indexscan", "enable_indexonlyscan", "enable_bitmapscan"):
            await connection.execute(f"SET {setting} = off")
        rng = random.Random(seed)
        start_at, end_at = datetime(2025, 4, 1, tzinfo=UTC), datetime(2025, 7, 1, tzinfo=UTC)
        async with httpx.AsyncClient(
            base_url=gateway_url, headers={"X-API-Key": token}, timeout=60
        ) as client:
            for _ in range(20):  # warm-up: connections, caches, the planner's statistics
                await _timed_get(
                    client,
                    "/metrics/kpis",
                    {"territory_id": str(rng.choice(data.territory_ids)), **QUARTER},
                )
            kpi_ms = [
                await _timed_get(
                    client,
                    "/metrics/kpis",
                    {"territory_id": str(rng.choice(data.territory_ids)), **QUARTER},
                )
                for _ in range(samples)
            ]
            region_ms = [
                await _timed_get(client, "/metrics/kpis", {"territory_id": str(region), **QUARTER})
                for region in data.region_ids
            ]
            naive_kpi_ms = [
                await _naive(
                    connection,
                    NAIVE_KPI,
                    data.tenant_id,
                    rng.choice(data.territory_ids),
                    start_at,
                    end_at,
                )
                for _ in range(5)
            ]
            leaderboard_ms = [
                await _timed_get(
                    client, "/metrics/leaderboard", {"by": "rep", "limit": 10_000, **QUARTER}
                )
                for _ in range(5)
            ]
            naive_leaderboard_ms = [
                await _naive(connection, NAIVE_LEADERBOARD, data.tenant_id, start_at, end_at)
                for _ in range(3)
            ]
            series_ms = [
                await _timed_get(
                    client,
                    "/metrics/timeseries",
                    {
                        "territory_id": str(rng.choice(data.territory_ids)),
                        "grain": "month",
                        "period": "2025",
                    },
                )
                for _ in range(20)
            ]
            naive_series_ms = [
                await _naive(
                    connection,
                    NAIVE_SERIES,
                    data.tenant_id,
                    rng.choice(data.territory_ids),
                    datetime(2025, 1, 1, tzinfo=UTC),
                    datetime(2026, 1, 1, tzinfo=UTC),
                )
                for _ in range(5)
            ]
            fresh_s = await _freshness(client, data)
    finally:
        await connection.close()
    kpi_p50, kpi_p99 = percentile(kpi_ms, 0.5), percentile(kpi_ms, 0.99)
    leaderboard = statistics.median(leaderboard_ms)
    series = statistics.median(series_ms)
    ingest_10m = data.ingest_seconds * 10_000_000 / data.opportunities
    return {
        "opportunities": data.opportunities,
        "activities": data.activities,
        "territories": len(data.territory_ids),
        "ingest_seconds": round(data.ingest_seconds, 2),
        "ingest_jobs": data.job_seconds,
        "ingest_rows_per_second": round(2 * data.opportunities / data.ingest_seconds),
        "ingest_10m_extrapolated_seconds": round(ingest_10m, 1),
        "kpi_set_p50_ms": round(kpi_p50, 2),
        "kpi_set_p99_ms": round(kpi_p99, 2),
        "kpi_set_region_median_ms": round(statistics.median(region_ms), 2),
        "kpi_naive_median_ms": round(statistics.median(naive_kpi_ms), 2),
        "leaderboard_median_ms": round(leaderboard, 2),
        "leaderboard_naive_median_ms": round(statistics.median(naive_leaderboard_ms), 2),
        "timeseries_median_ms": round(series, 2),
        "timeseries_naive_median_ms": round(statistics.median(naive_series_ms), 2),
        "new_opportunity_visible_seconds": round(fresh_s, 3),
        "samples": samples,
    }


async def _upload(
    gateway_url: str, token: str, chunks: list[tuple[str, Any]]
) -> tuple[float, list[dict[str, Any]]]:
    """Every chunk through the bulk import, one after the other (the worker runs jobs while
    later chunks stage); the wall time to the last job's end, and each job's timings."""
    headers = {"X-API-Key": token, "content-type": "text/csv"}
    async with httpx.AsyncClient(base_url=gateway_url, headers=headers, timeout=600) as client:
        started = time.perf_counter()
        locations = []
        for kind, body in chunks:
            response = await client.post(f"/metrics/{kind}:import", content=body.getvalue())
            if response.status_code != 202:
                raise RuntimeError(f"uploading {kind}: {response.text[:300]}")
            locations.append(response.headers["location"])
            log(f"  staged {kind} upload {len(locations)}/{len(chunks)} at "
                f"{time.perf_counter() - started:.1f} s")  # fmt: skip
        jobs: list[dict[str, Any]] = []
        for location in locations:
            while True:
                job = (await client.get(location)).json()
                if job["status"] in ("succeeded", "failed"):
                    break
                await asyncio.sleep(0.5)
            if job["status"] != "succeeded" or job["failed_rows"]:
                raise RuntimeError(f"import {location} ended {job['status']}: {job['error']}")
            log(f"  {job['kind']} job done at {time.perf_counter() - started:.1f} s: "
                f"{job['inserted_rows']:,} rows, {job['summary']['seconds']}")  # fmt: skip
            jobs.append({"kind": job["kind"], "rows": job["total_rows"], **job["summary"]})
        return time.perf_counter() - started, jobs


async def _freshness(client: httpx.AsyncClient, data: dataset.BenchData) -> float:
    """Seconds from posting a won opportunity to seeing it in its territory's KPIs."""
    territory = str(data.territory_ids[0])
    params = {"territory_id": territory, "period": "2025-Q2"}
    before = (await client.get("/metrics/kpis", params=params)).json()["won_count"]
    started = time.perf_counter()
    response = await client.post(
        "/metrics/opportunities",
        json={
            "external_id": f"fresh-{uuid.uuid4()}",
            "name": "fresh",
            "territory_id": territory,
            "amount": 1,
            "status": "won",
            "closed_at": "2025-05-01T12:00:00Z",
        },
    )
    if response.status_code != 201:
        raise RuntimeError(f"posting the fresh opportunity: {response.text[:300]}")
    while time.perf_counter() - started < 30:
        if (await client.get("/metrics/kpis", params=params)).json()["won_count"] > before:
            return time.perf_counter() - started
    return float("inf")


def table(result: dict[str, Any]) -> str:
    def ratio(naive: float, served: float) -> str:
        return f"{naive / served:.1f}x" if served else "-"

    rows = [
        ("ingest (bulk import on the worker, opp. + act.)",
         f"{result['ingest_seconds']:.1f} s for {2 * result['opportunities']:,} rows "
         f"({result['ingest_rows_per_second']:,}/s)", "-",
         f"10M: {result['ingest_10m_extrapolated_seconds']:.0f} s extrapolated (target 120 s)"),
        ("KPI set, territory-quarter, p50 / p99",
         f"{result['kpi_set_p50_ms']:.1f} / {result['kpi_set_p99_ms']:.1f} ms",
         f"{result['kpi_naive_median_ms']:.0f} ms "
         f"({ratio(result['kpi_naive_median_ms'], result['kpi_set_p50_ms'])})",
         "p99 ≤ 50 ms"),
        ("KPI set, region (100 territories rolled up)",
         f"{result['kpi_set_region_median_ms']:.1f} ms", "-", "-"),
        ("leaderboard, every rep, one quarter",
         f"{result['leaderboard_median_ms']:.0f} ms",
         f"{result['leaderboard_naive_median_ms']:.0f} ms "
         f"({ratio(result['leaderboard_naive_median_ms'], result['leaderboard_median_ms'])})",
         "≤ 1,000 ms"),
        ("time series, territory, 12 months",
         f"{result['timeseries_median_ms']:.1f} ms",
         f"{result['timeseries_naive_median_ms']:.0f} ms "
         f"({ratio(result['timeseries_naive_median_ms'], result['timeseries_median_ms'])})",
         "-"),
        ("new opportunity visible in KPIs",
         f"{result['new_opportunity_visible_seconds']:.3f} s", "-", "≤ 5 s"),
    ]  # fmt: skip
    header = ("measure", "through the gateway", "naive over raw rows (ratio)", "target")
    widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(4)]
    lines = [" | ".join(str(cell).ljust(width) for cell, width in zip(row, widths, strict=True))
             for row in [header, *rows]]  # fmt: skip
    lines.insert(1, "-+-".join("-" * width for width in widths))
    return "\n".join(lines)


def _own_platform(stack: ExitStack, server_url: str) -> tuple[str, str]:
    """A fresh migrated database and every service behind nginx on free ports."""
    from alembic import command
    from alembic.config import Config

    from tests.harness import (
        NginxProcess,
        WorkerProcess,
        start_services,
        stop_all,
        upstreams_of,
    )

    name = f"territory_bench_metrics_{uuid.uuid4().hex[:8]}"

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
    log_dir = Path(tempfile.mkdtemp(prefix="bench-metrics-"))
    env = {"DATABASE_URL": database_url, "TERRITORY_LOG_JSON": "false",
           "TERRITORY_LOG_LEVEL": "WARNING"}  # fmt: skip
    services = start_services(env=env, log_dir=log_dir)
    worker = WorkerProcess(env=env, database_url=database_url, log_dir=log_dir)
    stack.callback(stop_all, [*services.values(), worker])
    stack.enter_context(worker)
    nginx = NginxProcess(
        runtime_dir=Path(tempfile.mkdtemp(prefix="bench-metrics-nginx-")),
        upstreams=upstreams_of(services),
        rate_limit_rps=100_000,
        rate_limit_burst=100_000,
    )
    stack.enter_context(nginx)
    return nginx.url, database_url


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--opportunities", type=int, default=10_000_000)
    parser.add_argument("--samples", type=int, default=500, help="KPI-set requests to time")
    parser.add_argument("--seed", type=int, default=10)
    parser.add_argument("--start-platform", action="store_true")
    args = parser.parse_args()
    server_url = Settings(
        database_url=os.environ.get("DATABASE_URL") or os.environ["TERRITORY_DATABASE_URL"]
    ).libpq_database_url
    with ExitStack() as stack:
        if args.start_platform:
            gateway_url, database_url = _own_platform(stack, server_url)
        else:
            gateway_url, database_url = os.environ["GATEWAY_URL"], server_url
        result = asyncio.run(
            measure(
                gateway_url,
                database_url,
                opportunities=args.opportunities,
                samples=args.samples,
                seed=args.seed,
            )
        )
    result["targets"] = TARGETS
    result["machine"] = {
        "cpus": os.cpu_count(),
        "load_average": os.getloadavg(),
        "python": sys.version.split()[0],
        "platform": platform_module.platform(),
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    print(table(result), flush=True)
    RESULTS_PATH.write_text(json.dumps(result, indent=2) + "\n")
    log(f"wrote {RESULTS_PATH.relative_to(REPO_ROOT)}")


if __name__ == "__main__":
    main()
