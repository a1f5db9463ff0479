"""Integration benchmark: ``make bench-integration`` (or ``python -m bench.integration`` with
DATABASE_URL set). Prints one table and writes bench/results/integration.json.

Runs against its own database on DATABASE_URL's server (``territory_bench_integration``,
created and migrated if missing, the assignment benchmark's dataset built once inside it) and
its own platform (every service, the job worker and nginx, as the test suite starts them), so it
needs no ``make run``.

1. The outbox on the bulk path: the same CSV of ``--rows`` leads through the bulk job
   (``bulk.service.upload_leads``, in this process, the job's own code) with the outbox write on
   and off, interleaved, ``--rounds`` each; the ratio of the medians.
2. The outbox on the single-lead path: the commit statement of POST /assignment/leads straight
   from asyncpg, with and without its event, interleaved; per-commit medians.
3. Feed visibility: a lead through the gateway, then the feed read once after its answer: is the
   event there (its transaction committed before the answer)?
4. Webhook delivery: leads through the gateway at a steady rate, each ``lead.assigned`` signed
   and sent by the worker's pump to a receiver on loopback; latency = arrival at the receiver
   minus the event's ``occurred_at`` (its transaction's start: an upper bound of
   "after commit"), p50/p99.
5. Feed read throughput: the bulk run's events read back through the gateway, 1,000 a page.
"""

import argparse
import asyncio
import json
import os
import platform as host_platform
import statistics
import tempfile
import time
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from alembic import command
from alembic.config import Config

from bench.assignment import dataset
from bench.integration.receiver import Receiver
from services.assignment.bulk import jobs
from services.assignment.bulk import service as bulk_service
from services.assignment.leads import repository as leads_repository
from shared import api_keys
from shared.db import create_engine, create_sessionmaker
from shared.jobs.connection import init_job_connection
from shared.settings import Settings
from shared.tenancy import (
    TenantBoundConnection,
    bind_caller,
    bind_pool_connection,
    reset_pool_connection,
)
from tests.harness import NginxProcess, WorkerProcess, start_services, stop_all, upstreams_of

REPO_ROOT = Path(__file__).resolve().parents[2]
RESULTS_PATH = REPO_ROOT / "bench" / "results" / "integration.json"
BENCH_DIR = REPO_ROOT / ".run" / "bench"
DATABASE = "territory_bench_integration"
TARGET_BULK_RATIO = 1.20
TARGET_DELIVERY_P99_SECONDS = 2.0
BULK_SEED = 0.25


def log(*parts: Any) -> None:
    print(*parts, flush=True)


def _server_url() -> str:
    url = os.environ.get("DATABASE_URL") or os.environ.get("TERRITORY_DATABASE_URL")
    if not url:
        raise SystemExit("DATABASE_URL is not set (make bench-integration sets it)")
    return Settings(database_url=url).libpq_database_url


async def ensure_database(server_url: str) -> str:
    connection = await asyncpg.connect(server_url)
    try:
        exists = await connection.fetchval(
            "SELECT EXISTS (SELECT FROM pg_database WHERE datname = $1)", DATABASE
        )
        if not exists:
            await connection.execute(f'CREATE DATABASE "{DATABASE}"')
    finally:
        await connection.close()
    url = server_url.rsplit("/", 1)[0] + "/" + DATABASE
    config = Config(str(REPO_ROOT / "alembic.ini"))
    config.attributes["database_url"] = Settings(database_url=url).database_url
    config.attributes["configure_logger"] = False
    await asyncio.to_thread(command.upgrade, config, "head")
    return url


async def admin_key(settings: Settings, tenant_id: uuid.UUID) -> str:
    engine = create_engine(settings, application_name="bench", as_owner=True)
    try:
        async with create_sessionmaker(engine)() as session, session.begin():
            issued = await api_keys.issue_key(
                session, tenant_id=tenant_id, name="bench-admin", scopes=["read", "write", "admin"]
            )
            return issued.token
    finally:
        await engine.dispose()


async def reset(settings: Settings, tenant_id: uuid.UUID) -> None:
    """Forget earlier runs' leads, assignments and events. TRUNCATE: this database is the
    benchmark's alone, and a DELETE of many assignments is quadratic (each deleted row checks
    the unindexed self-references replaces/replaced_by_assignment_id by a scan)."""
    connection = await asyncpg.connect(settings.libpq_owner_database_url)
    try:
        await connection.execute(
            "TRUNCATE lead, assignment, assignment_transition, assignment_job,"
            " assignment_job_error, assignment_bulk.reservation, idempotency_record,"
            " outbox_event, webhook_delivery"
        )
        await connection.execute("DELETE FROM webhook_subscription")
        await connection.execute(
            "UPDATE rep SET open_assignments = 0 WHERE tenant_id = $1 AND open_assignments > 0",
            tenant_id,
        )
        await connection.execute(
            "UPDATE territory_turn SET turn_counter = 0 WHERE tenant_id = $1 AND turn_counter > 0",
            tenant_id,
        )
        await connection.execute(
            "UPDATE territory_member SET assigned_count = 0"
            " WHERE tenant_id = $1 AND assigned_count > 0",
            tenant_id,
        )
        await connection.execute("VACUUM ANALYZE rep, territory_member, territory_turn")
    finally:
        await connection.close()


async def _file_body(path: Path) -> AsyncIterator[bytes]:
    with path.open("rb") as file:
        while chunk := file.read(1 << 20):
            yield chunk


async def bulk_once(
    settings: Settings, pool: asyncpg.Pool, tenant_id: uuid.UUID, csv_path: Path, events: bool
) -> dict[str, Any]:
    jobs.PUBLISH_EVENTS = events
    bind_caller(tenant_id)
    started = time.perf_counter()
    result = await bulk_service.upload_leads(
        settings=settings,
        pool=pool,
        queue=None,  # type: ignore[arg-type]  # inline (wait=True) never queues
        tenant_id=tenant_id,
        content_type="text/csv",
        body=_file_body(csv_path),
        wait=True,
    )
    seconds = time.perf_counter() - started
    job = result.job.model_dump(mode="json")
    if job["status"] != "succeeded":
        raise RuntimeError(f"bulk job failed: {job}")
    timings = job.get("summary", {}).get("seconds", {})
    return {
        "events": events,
        "seconds": round(seconds, 2),
        "assigned_rows": job["assigned_rows"],
        "inserting_events": timings.get("inserting_events"),
        "inserting_assignments": timings.get("inserting_assignments"),
    }


async def bulk_ratio(
    settings: Settings, tenant_id: uuid.UUID, rows: int, rounds: int
) -> dict[str, Any]:
    csv_path = BENCH_DIR / f"integration-leads-{rows}.csv"
    if not csv_path.exists():
        log(f"writing {rows:,} leads to {csv_path}")
        await dataset.write_leads_csv(
            settings, csv_path, count=rows, seed=BULK_SEED, prefix="bulk-"
        )
    pool = await asyncpg.create_pool(
        settings.libpq_database_url,
        min_size=1,
        max_size=2,
        init=init_job_connection,
        setup=bind_pool_connection,
        reset=reset_pool_connection,
        connection_class=TenantBoundConnection,
        server_settings=settings.server_settings("bench-integration"),
    )
    runs: list[dict[str, Any]] = []
    try:
        # Interleaved (off, on, on, off, ...) so that drift in the box's load hits both.
        order = [False, True, True, False] * rounds
        for events in order[: 2 * rounds]:
            await reset(settings, tenant_id)
            run = await bulk_once(settings, pool, tenant_id, csv_path, events)
            log(f"  bulk {rows:,} {'with' if events else 'without'} outbox: {run['seconds']} s")
            runs.append(run)
    finally:
        jobs.PUBLISH_EVENTS = True
        await pool.close()
    with_events = statistics.median(r["seconds"] for r in runs if r["events"])
    without = statistics.median(r["seconds"] for r in runs if not r["events"])
    connection = await asyncpg.connect(settings.libpq_owner_database_url)
    try:
        events_written = await connection.fetchval(
            "SELECT count(*) FROM outbox_event WHERE tenant_id = $1", tenant_id
        )
    finally:
        await connection.close()
    return {
        "rows": rows,
        "runs": runs,
        "with_events_seconds": with_events,
        "without_events_seconds": without,
        "ratio": round(with_events / without, 3),
        "events_in_last_run": int(events_written),
    }


async def single_commit_cost(
    settings: Settings, tenant_id: uuid.UUID, count: int
) -> dict[str, Any]:
    """The single-lead write statement (assign_lead_commit + audit + event CTE) with and
    without its event, alternating call by call on one connection."""
    # synchronous_commit off: the event adds no flush of its own (it commits with the lead),
    # so the difference is its CPU and WAL bytes, which the flush's jitter on this shared box
    # would otherwise bury.
    connection = await asyncpg.connect(
        settings.libpq_database_url,
        server_settings=settings.server_settings("bench-commit", synchronous_commit="off"),
    )
    await init_job_connection(connection)
    await connection.execute("SELECT set_config('app.tenant_id', $1, false)", str(tenant_id))
    try:
        target = await connection.fetchrow(
            """
            SELECT t.alignment_id, t.id AS territory_id,
                   (SELECT f.id FROM territory f WHERE f.alignment_id = t.alignment_id
                       AND f.is_fallback) AS fallback_id
              FROM territory t JOIN alignment a ON a.id = t.alignment_id
             WHERE a.status = 'active' AND t.distribution_rule = 'round_robin'
               AND EXISTS (SELECT FROM territory_member m WHERE m.territory_id = t.id)
             ORDER BY t.id LIMIT 1
            """
        )
        timings: dict[bool, list[float]] = {True: [], False: []}
        for n in range(count):
            publish = n % 2 == 0
            started = time.perf_counter()
            await connection.fetchrow(
                leads_repository._COMMIT_SQL,
                tenant_id,
                target["alignment_id"],
                target["territory_id"],
                target["fallback_id"],
                None,
                None,
                None,
                "bench",
                {"external_id": f"commit-{n}", "longitude": -100.0, "latitude": 40.0},
                None,
                "geography",
                [{"step": "geography", "outcome": "matched"}],
                None,
                None,
                publish,
            )
            timings[publish].append((time.perf_counter() - started) * 1000)
    finally:
        await connection.close()
    with_event = statistics.median(timings[True])
    without = statistics.median(timings[False])
    return {
        "commits": count,
        "with_event_ms_p50": round(with_event, 3),
        "without_event_ms_p50": round(without, 3),
        "added_ms_p50": round(with_event - without, 3),
        "ratio": round(with_event / without, 3),
    }


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))]


async def delivery_and_feed(
    platform_url: str, token: str, admin: str, leads: int, rate: float
) -> dict[str, Any]:
    headers = {"X-API-Key": token}
    with Receiver() as receiver:
        async with httpx.AsyncClient(base_url=platform_url, timeout=30) as client:
            created = await client.post(
                "/assignment/webhooks",
                json={"url": receiver.url("/bench"), "event_types": ["lead.assigned"]},
                headers={"X-API-Key": admin},
            )
            created.raise_for_status()
            # The pump starts within a periodic tick (5 s) of the first subscription.
            await asyncio.sleep(7)
            # The end of the feed in one read: a type with no events moves the cursor past all.
            start = await client.get(
                "/assignment/events", params={"types": "alignment.published"}, headers=headers
            )
            cursor = start.json()["next_cursor"]
            visible_first_read = 0
            visibility: list[float] = []
            sent_ids: set[str] = set()
            for n in range(leads):
                began = time.perf_counter()
                answer = await client.post(
                    "/assignment/leads",
                    json={
                        "external_id": f"latency-{uuid.uuid4().hex[:8]}",
                        "longitude": -120 + (n % 50),
                        "latitude": 30 + (n % 15),
                    },
                    headers=headers,
                )
                answer.raise_for_status()
                lead_id = answer.json()["lead_id"]
                sent_ids.add(lead_id)
                answered = time.perf_counter()
                reads = 0
                while True:
                    page = await client.get(
                        "/assignment/events", params={"after": cursor}, headers=headers
                    )
                    reads += 1
                    items = page.json()["items"]
                    if any(item["subject_id"] == lead_id for item in items):
                        cursor = page.json()["next_cursor"]
                        break
                    if time.perf_counter() - answered > 10:
                        raise RuntimeError(f"lead {lead_id}'s event not in the feed after 10 s")
                    await asyncio.sleep(0.01)
                visible_first_read += reads == 1
                visibility.append(0.0 if reads == 1 else time.perf_counter() - answered)
                await asyncio.sleep(max(0.0, 1 / rate - (time.perf_counter() - began)))
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                got = {r.event["subject_id"] for r in receiver.received}
                if sent_ids <= got:
                    break
                await asyncio.sleep(0.2)
            latencies = []
            for request in receiver.received:
                event = request.event
                if event["subject_id"] in sent_ids:
                    occurred = datetime.fromisoformat(event["occurred_at"])
                    latencies.append(request.wall - occurred.timestamp())
            await client.delete(
                f"/assignment/webhooks/{created.json()['id']}", headers={"X-API-Key": admin}
            )
    delivered = len({r.event["subject_id"] for r in receiver.received} & sent_ids)
    return {
        "leads": leads,
        "rate_per_second": rate,
        "delivered": delivered,
        "delivery_p50_seconds": round(_percentile(latencies, 0.5), 3) if latencies else None,
        "delivery_p99_seconds": round(_percentile(latencies, 0.99), 3) if latencies else None,
        "delivery_max_seconds": round(max(latencies), 3) if latencies else None,
        "visible_on_first_read": visible_first_read,
        # From the answer of POST /assignment/leads to the read that had its event (0 when
        # the first read had it, else the time until a later one did).
        "feed_visible_p50_seconds": round(_percentile(visibility, 0.5), 3),
        "feed_visible_p99_seconds": round(_percentile(visibility, 0.99), 3),
    }


async def feed_throughput(platform_url: str, token: str, seconds: float) -> dict[str, Any]:
    headers = {"X-API-Key": token}
    read = 0
    cursor = None
    async with httpx.AsyncClient(base_url=platform_url, timeout=30) as client:
        started = time.perf_counter()
        while time.perf_counter() - started < seconds:
            params: dict[str, Any] = {"limit": 1000}
            if cursor:
                params["after"] = cursor
            page = await client.get("/assignment/events", params=params, headers=headers)
            page.raise_for_status()
            body = page.json()
            read += len(body["items"])
            cursor = body["next_cursor"]
            if not body["has_more"]:
                break
        elapsed = time.perf_counter() - started
    return {
        "events_read": read,
        "seconds": round(elapsed, 2),
        "events_per_second": round(read / elapsed),
    }


def start_platform(
    database_url: str, log_dir: Path
) -> tuple[dict[str, Any], WorkerProcess, NginxProcess]:
    env = {
        "DATABASE_URL": database_url,
        "TERRITORY_LOG_JSON": "false",
        "TERRITORY_LOG_LEVEL": "WARNING",
        "TERRITORY_AUTH_FAILURE_LIMIT": "1000000",
    }
    services = start_services(env=env, log_dir=log_dir)
    worker = WorkerProcess(env=env, database_url=database_url, log_dir=log_dir).start()
    nginx = NginxProcess(
        runtime_dir=log_dir / "nginx",
        upstreams=upstreams_of(services),
        rate_limit_rps=10_000,
        rate_limit_burst=10_000,
    ).start()
    return services, worker, nginx


def table(results: dict[str, Any]) -> str:
    bulk, single = results["bulk"], results["single_commit"]
    delivery, feed = results["delivery"], results["feed_read"]
    rows = [
        ("metric", "value", "target", "verdict"),
        (
            f"bulk {bulk['rows']:,}: with outbox / without (same run)",
            f"{bulk['with_events_seconds']:.1f} / {bulk['without_events_seconds']:.1f} s"
            f" = {bulk['ratio']:.2f}x",
            f"<= {TARGET_BULK_RATIO:.2f}x",
            "met" if bulk["ratio"] <= TARGET_BULK_RATIO else "NOT met",
        ),
        ("events written by the last bulk run", f"{bulk['events_in_last_run']:,}", "", ""),
        (
            "single-lead commit p50: with event / without",
            f"{single['with_event_ms_p50']:.3f} / {single['without_event_ms_p50']:.3f} ms"
            f" (+{single['added_ms_p50']:.3f} ms)",
            "",
            "",
        ),
        (
            "lead event in the feed on the first read after its answer",
            f"{delivery['visible_on_first_read']} / {delivery['leads']}",
            "",
            "",
        ),
        (
            "answer -> event readable in the feed p50 / p99",
            f"{delivery['feed_visible_p50_seconds']} / {delivery['feed_visible_p99_seconds']} s",
            "",
            "",
        ),
        (
            "webhook delivery after commit p50 / p99",
            f"{delivery['delivery_p50_seconds']} / {delivery['delivery_p99_seconds']} s",
            f"p99 <= {TARGET_DELIVERY_P99_SECONDS:g} s",
            "met"
            if (delivery["delivery_p99_seconds"] or 1e9) <= TARGET_DELIVERY_P99_SECONDS
            else "NOT met",
        ),
        ("webhooks delivered", f"{delivery['delivered']} / {delivery['leads']}", "all", ""),
        (
            "feed read through the gateway (1,000 a page)",
            f"{feed['events_per_second']:,} events/s",
            "",
            "",
        ),
        (
            "load average at start / end (2 cores, shared)",
            f"{results['load_average_start']} / {results['load_average_end']}",
            "",
            "",
        ),
    ]
    widths = [max(len(str(row[i])) for row in rows) for i in range(4)]
    lines = [" | ".join(str(cell).ljust(widths[i]) for i, cell in enumerate(row)) for row in rows]
    lines.insert(1, "-+-".join("-" * width for width in widths))
    return "\n".join(lines)


async def main(args: argparse.Namespace) -> None:
    load_start = [round(value, 2) for value in os.getloadavg()]
    database_url = await ensure_database(_server_url())
    settings = Settings(database_url=database_url)
    data = await dataset.ensure_dataset(settings, log=log)
    admin = await admin_key(settings, data.tenant_id)
    results: dict[str, Any] = {
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "host": {"cpus": os.cpu_count(), "machine": host_platform.machine()},
        "load_average_start": load_start,
        "note": "2-core box shared with other jobs: figures are pessimistic",
    }
    log(f"load average {load_start}; bulk {args.rows:,} rows x {args.rounds} rounds each way")
    results["bulk"] = await bulk_ratio(settings, data.tenant_id, args.rows, args.rounds)
    results["single_commit"] = await single_commit_cost(settings, data.tenant_id, args.commits)
    log_dir = Path(tempfile.mkdtemp(prefix="bench-integration-"))
    services, worker, nginx = start_platform(database_url, log_dir)
    try:
        results["feed_read"] = await feed_throughput(nginx.url, data.api_key, args.feed_seconds)
        results["delivery"] = await delivery_and_feed(
            nginx.url, data.api_key, admin, args.leads, args.rate
        )
    finally:
        stop_all([nginx, worker, *services.values()])
    results["load_average_end"] = [round(value, 2) for value in os.getloadavg()]
    print(table(results))
    RESULTS_PATH.parent.mkdir(parents=True, exist_ok=True)
    RESULTS_PATH.write_text(json.dumps(results, indent=2) + "\n")
    log(f"wrote {RESULTS_PATH.relative_to(REPO_ROOT)}")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.integration", description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000, help="leads in the bulk upload")
    parser.add_argument("--rounds", type=int, default=1, help="bulk runs each way")
    parser.add_argument("--commits", type=int, default=2000, help="single-lead commits")
    parser.add_argument("--leads", type=int, default=300, help="leads for delivery latency")
    parser.add_argument("--rate", type=float, default=20.0, help="leads per second")
    parser.add_argument("--feed-seconds", type=float, default=20.0, help="feed read time")
    return parser.parse_args()


if __name__ == "__main__":
    asyncio.run(main(parse_args()))
