"""Assignment benchmark: ``make bench-assignment`` (or ``python -m bench.assignment`` with
.run/env sourced). Prints one table and writes bench/results/assignment.json.

1. The dataset (dataset.py): built once, then reused; leads of earlier runs are deleted.
2. Single-lead latency and throughput through nginx with wrk at concurrency 1 and 16, and in
   the same rounds the same database work issued straight from asyncpg (direct.py), each
   configuration ``--rounds`` times, interleaved; the table shows medians.
   The floor in the same rounds (direct.py --floor): per lead, the bare point-in-polygon query
   on territory_part and one durable commit of a lead and an assignment row.
3. Bulk: a 1,000,000-row CSV through POST /assignment/leads:bulk, timed to the job's end; then
   its floor, one bare spatial join of the same points with territory_part.
4. ``--profile``: py-spy on the assignment service under load (not part of the default run).
"""

import argparse
import asyncio
import os
import statistics
import sys
import time
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import asyncpg

from bench.assignment import bulk, cpu, dataset, gateway, loadgen, profile, report
from bench.assignment.loadgen import LoadResult
from bench.assignment.report import Row, spread, verdict
from shared.settings import Settings, get_settings

REPO_ROOT = report.REPO_ROOT
RUN_DIR = REPO_ROOT / ".run"
BENCH_DIR = RUN_DIR / "bench"
RESULTS_PATH = REPO_ROOT / "bench" / "results" / "assignment.json"

TARGET_P50_MS = 3.0
TARGET_P99_MS = 10.0
TARGET_C16_SHARE = 0.5
TARGET_BULK_SECONDS = 60.0
TARGET_OVER_FLOOR = 2.0  # single-lead database work over its floor
TARGET_P99_OVER_P50 = 3.0
TARGET_BULK_OVER_FLOOR = 3.0
LEADS_SEED = 0.5
BULK_SEED = 0.25

log = partial(print, flush=True)


@dataclass(frozen=True)
class Setup:
    data: dataset.BenchDataset
    reset: dict[str, int]
    reset_seconds: float
    database: dict[str, Any]
    commit_probe: dict[str, float]
    postmaster_pid: int | None


async def _setup(settings: Settings, leads_path: Path, lead_count: int) -> Setup:
    data = await dataset.ensure_dataset(settings, log=log)
    started = time.perf_counter()
    reset = await dataset.reset_run_state(settings, data.tenant_id)
    reset_seconds = time.perf_counter() - started
    await dataset.write_leads_jsonl(
        settings, leads_path, count=lead_count, seed=LEADS_SEED, prefix="bench-lead-"
    )
    connection = await asyncpg.connect(settings.libpq_database_url)
    try:
        database = await report.database_info(connection)
        probe = await report.commit_probe(connection, data.tenant_id)
        # The postmaster: parent of our backend, read while the backend still exists (None
        # when the server runs on another machine).
        postmaster_pid = cpu.parent_of(await connection.fetchval("SELECT pg_backend_pid()"))
    finally:
        await connection.close()
    return Setup(
        data=data,
        reset=reset,
        reset_seconds=reset_seconds,
        database=database,
        commit_probe=probe,
        postmaster_pid=postmaster_pid,
    )


def _show(round_number: int, rounds: int, result: LoadResult) -> None:
    errors = f"  non-2xx {result.non2xx}" if result.non2xx or result.socket_errors else ""
    log(
        f"  round {round_number}/{rounds}  {result.label:<12} {result.rate:7.0f} req/s   "
        f"p50 {result.p50_ms:6.2f} ms   p99 {result.p99_ms:7.2f} ms   ({result.requests} leads)"
        f"{errors}"
    )
    if result.first_error:
        log(f"    first error: {result.first_error}")


def _cpu_per_request(samples: list[dict[str, float]], requests: list[int]) -> dict[str, float]:
    """Median over rounds of CPU milliseconds per request, per component."""
    names = sorted({name for sample in samples for name in sample})
    return {
        name: statistics.median(
            1000 * sample.get(name, 0.0) / count
            for sample, count in zip(samples, requests, strict=True)
            if count
        )
        for name in names
    }


def _median(results: list[LoadResult], attribute: str) -> float:
    return float(statistics.median(getattr(result, attribute) for result in results))


def _ratios(numerators: list[LoadResult], denominators: list[LoadResult], attribute: str) -> float:
    """Median of the per-round ratios: rounds are interleaved, so each pair saw the same box."""
    return float(
        statistics.median(
            getattr(a, attribute) / getattr(b, attribute)
            for a, b in zip(numerators, denominators, strict=True)
            if getattr(b, attribute)
        )
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.assignment", description=__doc__)
    parser.add_argument("--seconds", type=float, default=10, help="per measured run (10)")
    parser.add_argument("--rounds", type=int, default=3, help="runs per configuration (3)")
    parser.add_argument("--warmup", type=float, default=5, help="gateway warm-up seconds (5)")
    parser.add_argument("--direct-warmup", type=float, default=2)
    parser.add_argument("--leads", type=int, default=20_000, help="distinct leads sent (20000)")
    parser.add_argument(
        "--gateway-port", type=int, default=int(os.environ.get("BENCH_GATEWAY_PORT", 8180))
    )
    parser.add_argument("--bulk-rows", type=int, default=1_000_000)
    parser.add_argument("--skip-bulk", action="store_true")
    parser.add_argument(
        "--profile", type=float, default=0, metavar="SECONDS", help="py-spy the service under load"
    )
    parser.add_argument("--output", type=Path, default=RESULTS_PATH)
    args = parser.parse_args(argv)

    settings = get_settings()
    machine = report.machine_info()
    leads_path = BENCH_DIR / "leads.jsonl"
    log(f"assignment benchmark on {machine['nproc']} x {machine['cpu_model']}")
    setup = asyncio.run(_setup(settings, leads_path, args.leads))
    counts = setup.data.counts
    log(
        f"dataset: {counts['geo_territories']} territories ({counts['territory_parts']} parts, "
        f"{counts['min_vertices']}-{counts['max_vertices']} vertices, median "
        f"{counts['median_vertices']}), {counts['rule_territories']} rule territories, "
        f"{counts['reps']} reps, {counts['accounts']} accounts"
        + (f"; built in {setup.data.build_seconds:.0f} s" if setup.data.built else "; reused")
    )
    log(
        f"cleared {setup.reset['deleted_leads']} leads of earlier runs in "
        f"{setup.reset_seconds:.1f} s; smallest durable commit: p50 "
        f"{setup.commit_probe['p50_ms']:.2f} ms, p99 {setup.commit_probe['p99_ms']:.2f} ms"
    )
    service_pid = cpu.read_pid(RUN_DIR / "pids" / "assignment.pid")
    stale = report.stale_code(service_pid)
    if stale:
        log(
            f"warning: the running assignment service predates changes to {len(stale)} file(s) "
            f"({', '.join(stale[:3])}{', ...' if len(stale) > 3 else ''}); "
            "`make stop` first to measure the current code"
        )
    nginx_dir = BENCH_DIR / "nginx"
    tenant = str(setup.data.tenant_id)
    key = setup.data.api_key
    runs: dict[str, list[LoadResult]] = {"gateway_c1": [], "direct_c1": [], "gateway_c16": []}
    runs |= {"direct_c16": [], "floor_c1": [], "floor_c16": []}
    cpu_samples: dict[str, list[dict[str, float]]] = {
        "gateway_c16": [],
        "direct_c16": [],
        "floor_c16": [],
    }
    bulk_floor: dict[str, Any] | None = None
    bulk_result: bulk.BulkResult | None = None
    bulk_note = ""
    profile_summary: profile.ProfileSummary | None = None
    profile_run: LoadResult | None = None

    with gateway.bench_gateway(nginx_dir, port=args.gateway_port) as url:
        roots = {
            "assignment service": service_pid,
            "nginx": cpu.read_pid(nginx_dir / "nginx.pid"),
            "postgres": setup.postmaster_pid,
        }
        wrk = partial(loadgen.run_wrk, base_url=url, leads_path=leads_path, api_key=key)
        direct = partial(
            loadgen.run_direct,
            tenant_id=tenant,
            leads_path=leads_path,
            seconds=args.seconds,
            warmup=args.direct_warmup,
            postmaster_pid=setup.postmaster_pid,
        )
        log(f"bench gateway {url} (nginx, rate limit off) -> the services of `make run`")
        log(f"warm-up: {args.warmup:.0f} s at concurrency 16")
        wrk(threads=2, connections=16, seconds=args.warmup, label="warm-up")
        for number in range(1, args.rounds + 1):
            result = wrk(threads=1, connections=1, seconds=args.seconds, label="gateway c1")
            runs["gateway_c1"].append(result)
            _show(number, args.rounds, result)
            result = direct(concurrency=1, label="direct c1")
            runs["direct_c1"].append(result)
            _show(number, args.rounds, result)
            with cpu.cpu_meter(roots) as meter:
                result = wrk(threads=2, connections=16, seconds=args.seconds, label="gateway c16")
            runs["gateway_c16"].append(result)
            cpu_samples["gateway_c16"].append(meter.seconds)
            _show(number, args.rounds, result)
            result = direct(concurrency=16, label="direct c16")
            runs["direct_c16"].append(result)
            cpu_samples["direct_c16"].append(result.cpu_seconds)
            _show(number, args.rounds, result)
            result = direct(concurrency=1, label="floor c1", floor=True)
            runs["floor_c1"].append(result)
            _show(number, args.rounds, result)
            result = direct(concurrency=16, label="floor c16", floor=True)
            runs["floor_c16"].append(result)
            cpu_samples["floor_c16"].append(result.cpu_seconds)
            _show(number, args.rounds, result)

        if args.profile:
            if service_pid is None:
                raise RuntimeError("no .run/pids/assignment.pid: is `make run` up?")
            raw_path = BENCH_DIR / "assignment-profile.txt"
            log(f"profiling the assignment service (py-spy, {args.profile:.0f} s at c16)")
            recorder = profile.start_recording(
                service_pid, seconds=args.profile, rate=200, raw_path=raw_path
            )
            time.sleep(1)  # py-spy attaches before the load starts
            profile_run = wrk(threads=2, connections=16, seconds=args.profile, label="profiled")
            _, stderr = recorder.communicate(timeout=args.profile + 60)
            if recorder.returncode != 0:
                raise RuntimeError(f"py-spy failed: {stderr}")
            profile_summary = profile.summarise(raw_path, seconds=args.profile, rate=200)

        if args.skip_bulk:
            bulk_note = "skipped (--skip-bulk)"
        elif not bulk.bulk_available(url):
            bulk_note = "not available (no POST /assignment/leads:bulk in the running service)"
        else:
            csv_path = BENCH_DIR / f"leads-{args.bulk_rows}-{dataset.DATASET_NAME[-2:]}.csv"
            if not csv_path.exists():
                log(f"writing {args.bulk_rows:,} leads to {csv_path.relative_to(REPO_ROOT)}")
                asyncio.run(
                    dataset.write_leads_csv(
                        settings, csv_path, count=args.bulk_rows, seed=BULK_SEED, prefix="bulk-"
                    )
                )
            log(f"bulk: {args.bulk_rows:,} leads through POST {bulk.BULK_PATH}")
            bulk_result = bulk.run_bulk(
                base_url=url, api_key=key, csv_path=csv_path, rows=args.bulk_rows
            )
            log(
                f"  job {bulk_result.status} in {bulk_result.wall_seconds:.1f} s "
                f"(upload answered after {bulk_result.upload_seconds:.1f} s)"
            )
            if bulk_result.job.get("id"):
                bulk_floor = asyncio.run(
                    bulk.spatial_join_floor(
                        settings.libpq_database_url, tenant_id=tenant, job_id=bulk_result.job["id"]
                    )
                )
                log(
                    f"  floor: spatial join of its {bulk_floor['points']:,} points in "
                    f"{bulk_floor['seconds']:.1f} s"
                )

    cpu_table = {
        name: _cpu_per_request(cpu_samples[name], [r.requests for r in runs[name]])
        for name in cpu_samples
    }
    rows, summary = _summarise(runs, bulk_result, bulk_note, args.bulk_rows)
    rows += _floor_rows(runs, cpu_table, bulk_result, bulk_floor, summary)
    results = {
        "benchmark": "assignment",
        "command": "make bench-assignment",
        "machine": {
            **machine,
            "load_average_at_end": list(os.getloadavg()),
            "postgres": setup.database,
            "smallest_durable_commit_ms": setup.commit_probe,
            "assignment_service_command": report.command_line(service_pid),
            "assignment_service_older_than": stale,
            "service_db_pool_size": os.environ.get("TERRITORY_DB_POOL_SIZE", "10 (default)"),
        },
        "config": {
            "seconds_per_run": args.seconds,
            "rounds": args.rounds,
            "warmup_seconds": args.warmup,
            "distinct_leads": args.leads,
            "wrk": {"c1": "-t1 -c1", "c16": "-t2 -c16"},
            "direct_connections": {"c1": 1, "c16": 16},
            "gateway": f"dedicated nginx on :{args.gateway_port}, rate limit "
            f"{gateway.BENCH_RATE_LIMIT}/s per key, else the platform's template",
        },
        "dataset": {**counts, "built_now": setup.data.built, "seconds": setup.data.build_seconds},
        "medians": summary,
        "cpu_ms_per_request": cpu_table,
        "runs": {name: [r.as_dict() for r in results] for name, results in runs.items()},
        "bulk": bulk_result.as_dict() if bulk_result else {"note": bulk_note},
        "bulk_floor": bulk_floor,
        "profile": (
            {**profile_summary.as_dict(), "run": profile_run.as_dict() if profile_run else None}
            if profile_summary
            else None
        ),
        "table": [row.as_dict() for row in rows],
    }
    report.write_results(args.output, results)

    log("")
    log(report.render_table(rows))
    log("")
    log("CPU per request at concurrency 16 (ms, median of rounds):")
    for name, per_request in cpu_table.items():
        parts = ", ".join(f"{component} {value:.2f}" for component, value in per_request.items())
        log(f"  {name}: {parts}")
    if profile_summary:
        log("")
        log(f"py-spy, {profile_summary.samples} samples; innermost frame:")
        for label, share in profile_summary.leaf.items():
            log(f"  {share:6.1%}  {label}")
        log(
            f"  of the {profile_summary.code_samples} samples in code (groups overlap: "
            "a frame and its callers):"
        )
        for label, share in profile_summary.inclusive_of_code.items():
            log(f"  {share:6.1%}  {label}")
        log("  socket writes, by the Python frame that wrote:")
        for frame, share in profile_summary.writes_by_caller:
            log(f"  {share:6.1%}  {frame}")
        log("  top frames (self):")
        for frame, share in profile_summary.top_self[:10]:
            log(f"  {share:6.1%}  {frame}")
    log(f"\nresults: {args.output}")
    return 0


def _summarise(
    runs: dict[str, list[LoadResult]],
    bulk_result: bulk.BulkResult | None,
    bulk_note: str,
    bulk_rows: int,
) -> tuple[list[Row], dict[str, Any]]:
    g1, d1, g16, d16 = (runs[k] for k in ("gateway_c1", "direct_c1", "gateway_c16", "direct_c16"))
    p50 = _median(g1, "p50_ms")
    p99 = _median(g1, "p99_ms")
    share = _ratios(g16, d16, "rate")
    bad = sum(r.non2xx + r.socket_errors for rs in (g1, g16) for r in rs)
    summary: dict[str, Any] = {
        "gateway_c1": {k: _median(g1, k) for k in ("rate", "p50_ms", "p90_ms", "p99_ms")},
        "direct_c1": {k: _median(d1, k) for k in ("rate", "p50_ms", "p90_ms", "p99_ms")},
        "gateway_c16": {k: _median(g16, k) for k in ("rate", "p50_ms", "p90_ms", "p99_ms")},
        "direct_c16": {k: _median(d16, k) for k in ("rate", "p50_ms", "p90_ms", "p99_ms")},
        "c16_rate_share_of_direct": share,
        "c1_p50_over_direct": _ratios(g1, d1, "p50_ms"),
        "c1_p99_over_direct": _ratios(g1, d1, "p99_ms"),
        "non2xx_or_socket_errors": bad,
    }

    def values(results: list[LoadResult], attribute: str) -> list[float]:
        return [getattr(r, attribute) for r in results]

    rows = [
        Row(
            "gateway c1 p50",
            spread(values(g1, "p50_ms"), "ms", 2),
            f"<= {TARGET_P50_MS:g} ms",
            f"{summary['c1_p50_over_direct']:.2f}x direct",
            verdict(p50 <= TARGET_P50_MS),
        ),
        Row(
            "gateway c1 p99",
            spread(values(g1, "p99_ms"), "ms", 2),
            f"<= {TARGET_P99_MS:g} ms",
            f"{summary['c1_p99_over_direct']:.2f}x direct",
            verdict(p99 <= TARGET_P99_MS),
        ),
        Row(
            "gateway c1 throughput",
            spread(values(g1, "rate"), "req/s", 0),
            ratio=f"{_ratios(g1, d1, 'rate'):.0%} of direct",
        ),
        Row(
            "gateway c16 throughput",
            spread(values(g16, "rate"), "req/s", 0),
            f">= {TARGET_C16_SHARE:.0%} of direct",
            f"{share:.0%} of direct",
            verdict(share >= TARGET_C16_SHARE),
        ),
        Row("gateway c16 p50 / p99", _pair(g16)),
        Row("direct c1 p50 / p99", _pair(d1)),
        Row("direct c1 throughput", spread(values(d1, "rate"), "req/s", 0)),
        Row("direct c16 throughput", spread(values(d16, "rate"), "req/s", 0)),
        Row("direct c16 p50 / p99", _pair(d16)),
        Row("non-2xx + socket errors", str(bad), "0", "", verdict(bad == 0)),
    ]
    one_by_one = bulk_rows / summary["gateway_c1"]["rate"]
    parallel = bulk_rows / summary["gateway_c16"]["rate"]
    summary["one_by_one_extrapolated_seconds"] = {"c1": one_by_one, "c16": parallel}
    summary["one_by_one_sample_leads"] = sum(r.requests for r in g1)
    if bulk_result is None:
        rows.append(
            Row(f"bulk {bulk_rows:,}", f"bulk: {bulk_note}", f"<= {TARGET_BULK_SECONDS:g} s")
        )
    else:
        ok = bulk_result.status == "succeeded" and bulk_result.wall_seconds <= TARGET_BULK_SECONDS
        job = bulk_result.job
        rows.append(
            Row(
                f"bulk {bulk_rows:,} wall time",
                f"{bulk_result.wall_seconds:.1f} s ({bulk_result.status}, "
                f"{job.get('assigned_rows', '?')} assigned, {job.get('failed_rows', '?')} failed)",
                f"<= {TARGET_BULK_SECONDS:g} s",
                f"{one_by_one / bulk_result.wall_seconds:.0f}x faster than one by one",
                verdict(ok),
            )
        )
        summary["bulk_speedup"] = {
            "vs_one_by_one_c1": one_by_one / bulk_result.wall_seconds,
            "vs_parallel_c16": parallel / bulk_result.wall_seconds,
        }
    rows.append(
        Row(
            f"one by one, {bulk_rows:,} extrapolated",
            f"{one_by_one:.0f} s at c1, {parallel:.0f} s at c16",
            ratio=f"from {summary['one_by_one_sample_leads']} leads sent one by one at c1",
        )
    )
    return rows, summary


def _floor_rows(
    runs: dict[str, list[LoadResult]],
    cpu_table: dict[str, dict[str, float]],
    bulk_result: bulk.BulkResult | None,
    bulk_floor: dict[str, Any] | None,
    summary: dict[str, Any],
) -> list[Row]:
    """The work against its floor: latency at c1 and Postgres CPU per lead at c16 (the
    database work, whatever else the box is doing), the c1 tail, bulk against its join."""
    g1, d1, f1 = runs["gateway_c1"], runs["direct_c1"], runs["floor_c1"]
    latency = _ratios(d1, f1, "p50_ms")
    postgres = cpu_table["direct_c16"].get("postgres", 0.0)
    postgres_floor = cpu_table["floor_c16"].get("postgres", 0.0)
    cpu_ratio = postgres / postgres_floor if postgres_floor else float("nan")
    tail = _median(g1, "p99_ms") / _median(g1, "p50_ms")
    summary["floor"] = {
        "floor_c1": {k: _median(f1, k) for k in ("rate", "p50_ms", "p90_ms", "p99_ms")},
        "floor_c16": {k: _median(runs["floor_c16"], k) for k in ("rate", "p50_ms", "p99_ms")},
        "direct_c1_p50_over_floor": latency,
        "postgres_cpu_ms_per_lead": {"direct_c16": postgres, "floor_c16": postgres_floor},
        "postgres_cpu_over_floor": cpu_ratio,
        "gateway_c1_p99_over_p50": tail,
    }
    rows = [
        Row("floor c1 p50 / p99", _pair(f1)),
        Row("floor c16 throughput", spread([r.rate for r in runs["floor_c16"]], "req/s", 0)),
        Row(
            "single DB work c1 p50 / floor",
            f"{_median(d1, 'p50_ms'):.2f} / {_median(f1, 'p50_ms'):.2f} ms",
            f"<= {TARGET_OVER_FLOOR:g}x",
            f"{latency:.2f}x",
            verdict(latency <= TARGET_OVER_FLOOR),
        ),
        Row(
            "Postgres CPU per lead c16 / floor",
            f"{postgres:.2f} / {postgres_floor:.2f} ms",
            f"<= {TARGET_OVER_FLOOR:g}x",
            f"{cpu_ratio:.2f}x",
            verdict(cpu_ratio <= TARGET_OVER_FLOOR),
        ),
        Row(
            "gateway c1 p50 / p99 (tail)",
            _pair(g1),
            f"<= {TARGET_P99_OVER_P50:g}x",
            f"{tail:.2f}x",
            verdict(tail <= TARGET_P99_OVER_P50),
        ),
    ]
    if bulk_result is not None and bulk_floor is not None:
        ratio = bulk_result.wall_seconds / bulk_floor["seconds"]
        summary["floor"]["bulk_over_floor"] = ratio
        rows.append(
            Row(
                "bulk / its spatial-join floor",
                f"{bulk_result.wall_seconds:.1f} / {bulk_floor['seconds']:.1f} s",
                f"<= {TARGET_BULK_OVER_FLOOR:g}x",
                f"{ratio:.2f}x",
                verdict(ratio <= TARGET_BULK_OVER_FLOOR),
            )
        )
    return rows


def _pair(results: list[LoadResult]) -> str:
    return f"{_median(results, 'p50_ms'):.2f} / {_median(results, 'p99_ms'):.2f} ms"


if __name__ == "__main__":
    sys.exit(main())
