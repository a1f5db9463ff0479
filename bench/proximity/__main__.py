"""Proximity benchmark: ``make bench-proximity`` (or ``python -m bench.proximity`` with
DATABASE_URL set, and GATEWAY_URL or ``--start-platform``). Prints one table and writes
bench/results/proximity.json.

On the generated graph of issue 9 (``--scale`` shrinks every count), in one run: the ingestion of
its people and connections as CSV uploads through the gateway and the job worker, against the
bare COPY of the same file (baseline); one account's ranking (all reps, 3 hops) through the
gateway at concurrency 1 (p50/p99) and 16 (throughput); how long a new tie takes to show in the
rankings; a restarted proximity service's readiness and first answers; the cold build of the
cached graph; the full accounts × reps matrix against networkx's 3-hop BFS from every rep; peak
memory. Sections other modules add (``EXTRA_SECTIONS``) run last on the same tenant and graph.
"""

import argparse
import asyncio
import importlib
import json
import os
import platform
import resource
import tempfile
import time
import uuid
from contextlib import nullcontext
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import networkx as nx
import numpy as np

from bench.proximity import gateway, ingest
from services.proximity.scoring import cache
from shared import api_keys
from shared.db import create_engine, create_sessionmaker
from shared.settings import Settings
from shared.tenancy import connect_for_tenant

RESULTS_PATH = Path(__file__).resolve().parents[1] / "results" / "proximity.json"
# Modules with ``async def run(context: dict[str, Any]) -> dict[str, Any]``, run after the
# sections above when they exist; what they return joins the results (their own table rows
# under "rows": [(label, value), ...]).
EXTRA_SECTIONS = ("bench.proximity.social_territories",)


async def _tenant(settings: Settings) -> tuple[uuid.UUID, str]:
    """A new tenant and a high-rate-tier key (the benchmark's load is no client's)."""
    engine = create_engine(settings, application_name="bench-proximity", as_owner=True)
    try:
        async with create_sessionmaker(engine)() as session, session.begin():
            slug = f"bench-proximity-{uuid.uuid4().hex[:8]}"
            tenant = await api_keys.create_tenant(session, slug=slug, name=slug)
            issued = await api_keys.issue_key(
                session,
                tenant_id=tenant.id,
                name="bench",
                scopes=["read", "write", "admin"],
                rate_tier="high",
            )
    finally:
        await engine.dispose()
    return tenant.id, issued.token


def _person_ids(base_url: str, api_key: str, query: str) -> dict[str, str]:
    """external id → person id of the people a listing query returns (first 100)."""
    answer = httpx.get(
        f"{base_url}/proximity/people?limit=100&{query}", headers={"X-API-Key": api_key}
    )
    answer.raise_for_status()
    return {p["external_id"]: p["id"] for p in answer.json()["items"]}


async def run(args: argparse.Namespace, work_dir: Path) -> dict[str, Any]:
    settings = Settings(database_url=args.database_url)
    people = int(200_000 * args.scale)
    ties = int(1_000_000 * args.scale)
    accounts = int(50_000 * args.scale)
    reps = 200
    tenant_id, api_key = await _tenant(settings)
    owner = await asyncpg.connect(settings.libpq_owner_database_url)
    try:
        print(f"generating {people:,} people and {ties:,} ties as CSV ...", flush=True)
        files = await ingest.prepare(
            owner,
            work_dir,
            tenant_id=tenant_id,
            people=people,
            ties=ties,
            reps=reps,
            accounts=accounts,
        )
        floor_s = await ingest.copy_floor(owner, files.ties_csv)
    finally:
        await owner.close()
    results: dict[str, Any] = {"people": people, "ties": files.ties, "reps": reps}
    results["copy_floor_ties_s"] = round(floor_s, 2)

    base_url = args.gateway_url
    platform_context = (
        gateway.platform(args.database_url, work_dir / "platform")
        if args.start_platform
        else nullcontext(base_url)
    )
    with platform_context as base_url:
        print(f"ingesting through {base_url} ...", flush=True)
        people_job = ingest.upload(base_url, api_key, "people", files.people_csv)
        ties_job = ingest.upload(base_url, api_key, "connections", files.ties_csv)
        for name, job in (("people", people_job), ("connections", ties_job)):
            if job["status"] != "succeeded":
                raise SystemExit(f"the {name} upload failed: {job}")
            results[f"ingest_{name}"] = {
                key: job[key]
                for key in ("total_rows", "inserted", "wall_s", "upload_s", "created_at")
            } | {"finished_at": job["finished_at"]}
        results["ingest_total_s"] = round(people_job["wall_s"] + ties_job["wall_s"], 1)
        results["ingest_ties_vs_copy_floor"] = round(ties_job["wall_s"] / max(floor_s, 1e-9), 1)
        print("ingest", results["ingest_people"], results["ingest_connections"], flush=True)

        rng = np.random.default_rng(1)
        sample = [files.account_ids[i] for i in rng.choice(len(files.account_ids), args.samples)]
        paths = [gateway.ranking_path(a) for a in sample]
        # The import's commit told the service to build the graph: the first ranking waits
        # only for what is left of that build.
        first, _ = await gateway.sequential(base_url, api_key, paths[:1])
        results["first_ranking_after_import_ms"] = round(first[0], 1)
        await gateway.sequential(base_url, api_key, paths[:10])
        times, errors = await gateway.sequential(base_url, api_key, paths)
        results["gateway_all_reps_3_hops_c1"] = gateway.percentiles(times) | {"errors": errors}
        results["gateway_all_reps_3_hops_c16"] = await gateway.throughput(
            base_url, api_key, paths, concurrency=16, seconds=args.seconds
        )
        print("rankings", results["gateway_all_reps_3_hops_c1"], flush=True)
        print("c16", results["gateway_all_reps_3_hops_c16"], flush=True)

        account_id = sample[0]
        contacts = _person_ids(base_url, api_key, f"account_id={account_id}")
        rep_people = _person_ids(base_url, api_key, "kind=rep")
        rep_external = next(iter(sorted(rep_people)))
        rep_number = int(rep_external[1:])
        results["update"] = await gateway.update_visible(
            base_url,
            api_key,
            account_id=account_id,
            rep_id=files.rep_ids[rep_number],
            rep_person_id=rep_people[rep_external],
            contact_person_id=next(iter(contacts.values())),
        )
        print("update", results["update"], flush=True)

    print("restarting a proximity service ...", flush=True)
    results["restart"] = await asyncio.to_thread(
        gateway.restarted_service,
        args.database_url,
        work_dir / "restart",
        api_key,
        paths[: args.restart_samples],
    )
    print("restart", results["restart"], flush=True)

    connection = await connect_for_tenant(settings, tenant_id, application_name="bench-proximity")
    try:
        cache.clear()
        started = time.perf_counter()
        graph = await cache.build(connection, tenant_id=tenant_id)
        results["cold_build_s"] = round(time.perf_counter() - started, 2)
    finally:
        await connection.close()
    started = time.perf_counter()
    matrix = graph.matrix(max_hops=3)
    results["engine_matrix_s"] = round(time.perf_counter() - started, 1)
    results["engine_matrix_shape"] = list(matrix.shape)
    coo = graph.weights.tocoo()
    nx_graph = nx.Graph()
    nx_graph.add_edges_from(zip(coo.row.tolist(), coo.col.tolist(), strict=True))
    started = time.perf_counter()
    for person in graph.rep_person.tolist():
        nx.single_source_shortest_path_length(nx_graph, person, cutoff=3)
    results["networkx_bfs_3_hops_all_reps_s"] = round(time.perf_counter() - started, 1)
    results["engine_vs_networkx"] = round(
        results["networkx_bfs_3_hops_all_reps_s"] / max(results["engine_matrix_s"], 1e-9), 2
    )
    del nx_graph, coo, matrix

    context = {
        "settings": settings,
        "tenant_id": tenant_id,
        "api_key": api_key,
        "graph": graph,
        "accounts": accounts,
    }
    for name in EXTRA_SECTIONS:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError:
            continue
        results[name.rsplit(".", 1)[-1]] = await module.run(context)
    results["bench_peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    results["machine"] = {
        "cpus": os.cpu_count(),
        "load_average_at_end": [round(x, 2) for x in os.getloadavg()],
        "python": platform.python_version(),
    }
    return results


def _table(results: dict[str, Any]) -> str:
    people_job, ties_job = results["ingest_people"], results["ingest_connections"]
    c1, c16 = results["gateway_all_reps_3_hops_c1"], results["gateway_all_reps_3_hops_c16"]
    restart, update = results["restart"], results["update"]
    rows = [
        ("ties / people", f"{results['ties']:,} / {results['people']:,}", ""),
        (
            "ingest people (CSV upload → worker → written)",
            f"{people_job['wall_s']} s ({people_job['total_rows']:,} rows)",
            "",
        ),
        (
            "ingest connections (CSV upload → worker → written)",
            f"{ties_job['wall_s']} s ({ties_job['total_rows']:,} rows; "
            f"upload {ties_job['upload_s']} s)",
            "≤ 60 s",
        ),
        (
            "baseline: bare COPY of the connections file / ratio",
            f"{results['copy_floor_ties_s']} s / {results['ingest_ties_vs_copy_floor']}×",
            "",
        ),
        ("first ranking after the import", f"{results['first_ranking_after_import_ms']} ms", ""),
        (
            "one account, all reps, 3 hops, gateway c1 p50 / p99 / max",
            f"{c1['p50_ms']} / {c1['p99_ms']} / {c1['max_ms']} ms "
            f"({c1['over_budget']}/{c1['n']} over 150 ms)",
            "p99 ≤ 20 ms, none > 150 ms",
        ),
        (
            "same at c16: throughput (p50 / p99)",
            f"{c16['requests_per_s']} req/s ({c16['p50_ms']} / {c16['p99_ms']} ms, "
            f"{c16['errors']} errors)",
            "",
        ),
        (
            "a new tie visible in the ranking (slowest answer meanwhile)",
            f"{update['visible_s']} s ({update['slowest_ranking_meanwhile_ms']} ms)",
            "≤ 10 s",
        ),
        (
            "restarted service: ready / first request / first p99, max",
            f"{restart['ready_s']} s / {restart['first_request_ms']} ms / "
            f"{restart['first_requests']['p99_ms']}, {restart['first_requests']['max_ms']} ms",
            "none > 150 ms",
        ),
        ("cold build of the cached graph (load + build)", f"{results['cold_build_s']} s", ""),
        (
            "matrix accounts × reps, 3 hops / networkx 3-hop BFS from every rep",
            f"{results['engine_matrix_s']} s for {results['engine_matrix_shape']} / "
            f"{results['networkx_bfs_3_hops_all_reps_s']} s = {results['engine_vs_networkx']}×",
            "≤ 10 s, ≥ 5×",
        ),
        (
            "peak RSS: proximity service / bench process",
            f"{restart['service_peak_rss_mb']} MB / {results['bench_peak_rss_mb']} MB",
            "≤ 4 GB",
        ),
        ("load average at the end", str(results["machine"]["load_average_at_end"]), ""),
    ]
    for name in EXTRA_SECTIONS:
        section = results.get(name.rsplit(".", 1)[-1])
        if isinstance(section, dict):
            rows += [(str(label), str(value), "") for label, value in section.get("rows", [])]
    width = max(len(label) for label, _, _ in rows)
    value_width = max(len(value) for _, value, _ in rows)
    return "\n".join(
        f"| {label.ljust(width)} | {value.ljust(value_width)} | {target} |"
        for label, value, target in rows
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL"))
    parser.add_argument("--gateway-url", default=os.environ.get("GATEWAY_URL"))
    parser.add_argument(
        "--start-platform",
        action="store_true",
        help="start the services, the worker and nginx on free ports (no `make run`)",
    )
    parser.add_argument("--scale", type=float, default=1.0, help="fraction of the issue's sizes")
    parser.add_argument("--samples", type=int, default=300, help="accounts timed at c1")
    parser.add_argument("--seconds", type=float, default=10.0, help="the c16 run")
    parser.add_argument("--restart-samples", type=int, default=50)
    args = parser.parse_args()
    if not args.database_url:
        raise SystemExit("DATABASE_URL is not set (make bench-proximity sources .run/env)")
    if not args.gateway_url and not args.start_platform:
        raise SystemExit("GATEWAY_URL is not set: run `make run` first, or pass --start-platform")
    with tempfile.TemporaryDirectory(prefix="bench-proximity-") as work_dir:
        results = asyncio.run(run(args, Path(work_dir)))
    results["scale"] = args.scale
    print(_table(results))
    RESULTS_PATH.parent.mkdir(parents=True, exist_ok=True)
    RESULTS_PATH.write_text(json.dumps(results, indent=2, default=str) + "\n")
    print(f"written to {RESULTS_PATH}")


if __name__ == "__main__":
    main()
