"""Proximity benchmark: ``make bench-proximity`` (or ``python -m bench.proximity`` with
DATABASE_URL set). Prints one table and writes bench/results/proximity.json.

On the generated graph of issue 9 (``--scale`` shrinks every count), in one run: the COPY load;
the cold build of the cached sparse graph (a first request after a restart); one account's
ranking as the assignment rule calls it (10 reps, 2 hops) and all reps at 3 hops, p50/p99, from
the cache (services/proximity/rankings/service.py, the service path without HTTP) against the
recursive SQL reference on the same accounts; how long a new tie takes to show; networkx's 3-hop
BFS from every rep against the engine's full accounts × reps matrix; social territories on
that matrix (bench/proximity/social_territories.py); peak memory.
"""

import argparse
import asyncio
import json
import os
import platform
import resource
import time
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import asyncpg
import networkx as nx
import numpy as np
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bench.proximity import dataset, social_territories
from services.proximity.rankings import repository as sql_reference
from services.proximity.rankings import service
from services.proximity.scoring import cache, repository
from shared.db import create_engine, create_sessionmaker, set_session_tenant
from shared.settings import Settings

RESULTS_PATH = Path(__file__).resolve().parents[1] / "results" / "proximity.json"
BUDGET_MS = 150.0


def _percentiles(samples_ms: list[float]) -> dict[str, float]:
    values = np.array(samples_ms)
    return {
        "p50_ms": round(float(np.percentile(values, 50)), 2),
        "p99_ms": round(float(np.percentile(values, 99)), 2),
        "max_ms": round(float(values.max()), 2),
        "over_budget": int((values > BUDGET_MS).sum()),
        "n": len(samples_ms),
    }


async def _timed_rankings(
    sessionmaker: async_sessionmaker[AsyncSession],
    tenant_id: uuid.UUID,
    calls: Sequence[tuple[uuid.UUID, list[uuid.UUID] | None, int]],
    *,
    reference: bool,
) -> tuple[list[float], int]:
    """Each call in its own transaction, like a request; returns times and SQL errors."""
    times, errors = [], 0
    for account_id, rep_ids, max_hops in calls:
        started = time.perf_counter()
        async with sessionmaker() as session, session.begin():
            await set_session_tenant(session, tenant_id)
            try:
                if reference:
                    await sql_reference.rank_reps(
                        session,
                        tenant_id=tenant_id,
                        account_id=account_id,
                        rep_ids=rep_ids,
                        max_hops=max_hops,
                        limit=10,
                    )
                else:
                    await service.rank_reps(
                        session,
                        tenant_id=tenant_id,
                        account_id=account_id,
                        rep_ids=rep_ids,
                        max_hops=max_hops,
                        limit=10,
                    )
            except Exception:  # the 2 s statement timeout of the reference
                errors += 1
        times.append((time.perf_counter() - started) * 1000)
    return times, errors


async def run(args: argparse.Namespace) -> dict[str, Any]:
    settings = Settings(database_url=args.database_url)
    people = int(200_000 * args.scale)
    ties = int(1_000_000 * args.scale)
    accounts = int(50_000 * args.scale)
    reps = 200
    connection = await asyncpg.connect(settings.libpq_owner_database_url)
    try:
        print(f"generating and loading {people:,} people, {ties:,} ties ...", flush=True)
        data, copy_seconds = await dataset.load(
            connection, people=people, ties=ties, reps=reps, accounts=accounts
        )
    finally:
        await connection.close()
    engine = create_engine(settings, application_name="bench-proximity")
    sessionmaker = create_sessionmaker(engine)
    rng = np.random.default_rng(1)
    sample = [data.account_ids[i] for i in rng.choice(len(data.account_ids), args.samples)]
    assignment_calls = [
        (a, [data.rep_ids[i] for i in rng.choice(reps, 10, replace=False)], 2) for a in sample
    ]
    all_reps_calls = [(a, None, 3) for a in sample]
    results: dict[str, Any] = {"people": people, "ties": data.tie_count, "reps": reps}
    results["copy_load_s"] = round(copy_seconds, 1)
    try:
        cache.clear()
        first, _ = await _timed_rankings(
            sessionmaker, data.tenant_id, assignment_calls[:1], reference=False
        )
        results["cold_first_request_ms"] = round(first[0], 1)
        for name, calls in (
            ("assignment_10_reps_2_hops", assignment_calls),
            ("all_reps_3_hops", all_reps_calls),
        ):
            await _timed_rankings(sessionmaker, data.tenant_id, calls[:5], reference=False)
            times, _ = await _timed_rankings(sessionmaker, data.tenant_id, calls, reference=False)
            results[f"engine_{name}"] = _percentiles(times)
            reference_calls = calls[: args.reference_samples]
            times, errors = await _timed_rankings(
                sessionmaker, data.tenant_id, reference_calls, reference=True
            )
            results[f"sql_{name}"] = _percentiles(times) | {"errors": errors}
            print(name, results[f"engine_{name}"], results[f"sql_{name}"], flush=True)

        # A new tie between a rep and a sampled account's contact: time until a ranking has it.
        async with sessionmaker() as session, session.begin():
            await set_session_tenant(session, data.tenant_id)
            graph = await cache.tenant_graph(
                await repository.driver_of(session), tenant_id=data.tenant_id
            )
        account_id = sample[0]
        contact = graph.person_ids[int(graph.contacts_of[account_id][0])]
        rep_person = graph.person_ids[int(graph.rep_person[0])]
        low, high = sorted((contact, rep_person))
        started = time.perf_counter()
        async with sessionmaker() as session, session.begin():
            await set_session_tenant(session, data.tenant_id)
            await session.execute(
                text(
                    "INSERT INTO connection (tenant_id, person_a_id, person_b_id, kind, strength)"
                    " VALUES (:t, :a, :b, 'referral', 1.0) ON CONFLICT (person_a_id, person_b_id,"
                    " kind) DO UPDATE SET strength = 1.0, last_interaction_at = NULL"
                ),
                {"t": data.tenant_id, "a": low, "b": high},
            )
        while time.perf_counter() - started < 120:
            async with sessionmaker() as session, session.begin():
                await set_session_tenant(session, data.tenant_id)
                ranking = await service.rank_reps(
                    session,
                    tenant_id=data.tenant_id,
                    account_id=account_id,
                    rep_ids=[graph.rep_ids[0]],
                    max_hops=1,
                    limit=1,
                )
            if ranking.ranked and ranking.ranked[0].score == 1.0:
                break
        results["update_visible_s"] = round(time.perf_counter() - started, 2)

        async with sessionmaker() as session, session.begin():
            await set_session_tenant(session, data.tenant_id)
            graph = await cache.tenant_graph(
                await repository.driver_of(session), tenant_id=data.tenant_id
            )
        started = time.perf_counter()
        matrix = graph.matrix(max_hops=3)
        results["engine_matrix_s"] = round(time.perf_counter() - started, 1)
        results["engine_matrix_shape"] = list(matrix.shape)
        results["engine_matrix_nonzero_share"] = round(float((matrix > 0).mean()), 3)
        print("social territories on the matrix ...", flush=True)
        results["social_territories"] = social_territories.run(
            social_territories.pad_scores(matrix, accounts=accounts)
        )
        del matrix
        coo = graph.weights.tocoo()
        nx_graph = nx.Graph()
        nx_graph.add_edges_from(zip(coo.row.tolist(), coo.col.tolist(), strict=True))
        started = time.perf_counter()
        for person in graph.rep_person.tolist():
            nx.single_source_shortest_path_length(nx_graph, person, cutoff=3)
        results["networkx_bfs_3_hops_all_reps_s"] = round(time.perf_counter() - started, 1)
        results["engine_vs_networkx"] = round(
            results["networkx_bfs_3_hops_all_reps_s"] / max(results["engine_matrix_s"], 1e-9),
            2,
        )
    finally:
        await engine.dispose()
    results["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    results["machine"] = {
        "cpus": os.cpu_count(),
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "python": platform.python_version(),
    }
    return results


def _table(results: dict[str, Any]) -> str:
    rows = [
        ("ties / people", f"{results['ties']:,} / {results['people']:,}"),
        ("COPY load (people + ties)", f"{results['copy_load_s']} s"),
        ("cold first request (load + build)", f"{results['cold_first_request_ms']} ms"),
    ]
    for name in ("assignment_10_reps_2_hops", "all_reps_3_hops"):
        engine, sql = results[f"engine_{name}"], results[f"sql_{name}"]
        rows.append(
            (
                f"{name} p50 / p99 / max (over 150 ms)",
                f"engine {engine['p50_ms']} / {engine['p99_ms']} / {engine['max_ms']} ms "
                f"({engine['over_budget']}/{engine['n']}); SQL {sql['p50_ms']} / {sql['p99_ms']}"
                f" / {sql['max_ms']} ms ({sql['over_budget']}/{sql['n']}, {sql['errors']} errors)",
            )
        )
    rows += [
        ("new tie visible in a ranking", f"{results['update_visible_s']} s"),
        (
            "matrix accounts × reps, 3 hops (share > 0)",
            f"{results['engine_matrix_s']} s for {results['engine_matrix_shape']}"
            f" ({results['engine_matrix_nonzero_share']})",
        ),
        *social_territories.table_rows(results["social_territories"]),
        ("networkx 3-hop BFS, every rep", f"{results['networkx_bfs_3_hops_all_reps_s']} s"),
        ("networkx / engine matrix", f"{results['engine_vs_networkx']}×"),
        ("peak RSS (bench process)", f"{results['peak_rss_mb']} MB"),
    ]
    width = max(len(label) for label, _ in rows)
    return "\n".join(f"| {label.ljust(width)} | {value} |" for label, value in rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL"))
    parser.add_argument("--scale", type=float, default=1.0, help="fraction of the issue's sizes")
    parser.add_argument("--samples", type=int, default=300, help="accounts timed per engine case")
    parser.add_argument("--reference-samples", type=int, default=100)
    args = parser.parse_args()
    if not args.database_url:
        raise SystemExit("DATABASE_URL is not set (make bench-proximity sources .run/env)")
    results = asyncio.run(run(args))
    results["scale"] = args.scale
    print(_table(results))
    RESULTS_PATH.parent.mkdir(parents=True, exist_ok=True)
    RESULTS_PATH.write_text(json.dumps(results, indent=2) + "\n")
    print(f"written to {RESULTS_PATH}")


if __name__ == "__main__":
    main()
