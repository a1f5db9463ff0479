"""The social-territories section of ``make bench-proximity``: 50,000 accounts × 200 reps
assigned by the solver the job uses (services/proximity/social_territories/solver.py), on the
scores the engine just computed (the main bench's 3-hop matrix), against the greedy baseline
and the LP bound over the full matrix, all in the same run.

Coordinate-free on purpose: the generated graph has no geography, so the "current" rep of an
account is a stand-in (round robin over the reps) and there is no distance limit; potentials
are drawn log-normal for the potential-balanced (MIP) case, run on a sample of accounts.
``python -m bench.proximity.social_territories`` runs it alone on a synthetic score matrix
of the same shape (heavy-tailed rep popularity, 2/3 of the pairs non-zero).
"""

import argparse
import asyncio
import json
import os
import time
from typing import Any

import numpy as np

from services.proximity.social_territories import solver

ACCOUNTS = 50_000
REPS = 200
TOLERANCE = 0.10
CAPACITY_OVER_MEAN = 1.10
MIP_ACCOUNTS = 2_000
# Potential is lumpy: with 10 accounts a rep, ±10% has often no integral solution at all.
POTENTIAL_TOLERANCE = 0.25


def pad_scores(engine_scores: np.ndarray, *, accounts: int, seed: int = 3) -> np.ndarray:
    """The engine's matrix covers the accounts with contacts; the rest (no contact reached)
    are rows of zeros, placed at random among them."""
    scores = np.zeros((max(accounts, len(engine_scores)), engine_scores.shape[1]))
    rows = np.random.default_rng(seed).permutation(len(scores))[: len(engine_scores)]
    scores[rows] = np.round(engine_scores, 6)
    return scores


def synthetic_scores(accounts: int, reps: int, *, seed: int = 1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    popularity = rng.pareto(1.5, reps) + 1.0
    raw = rng.random((accounts, reps)) * (popularity / popularity.max())[None, :]
    raw *= rng.random((accounts, reps)) < 0.67
    return np.round(np.minimum(raw * 1.5, 1.0), 6)


def _count_problem(scores: np.ndarray, *, top_k: int) -> solver.Problem:
    accounts, reps = scores.shape
    mean = accounts / reps
    return solver.Problem(
        scores=scores,
        current=np.arange(accounts, dtype=np.int64) % reps,
        capacity=np.full(reps, int(np.ceil(mean * CAPACITY_OVER_MEAN)), dtype=np.int64),
        lower=np.full(reps, float(np.floor(mean * (1 - TOLERANCE)))),
        upper=np.full(reps, float(np.ceil(mean * (1 + TOLERANCE)))),
        top_k=top_k,
    )


def _potential_problem(scores: np.ndarray, *, seed: int, top_k: int) -> solver.Problem:
    accounts, reps = scores.shape
    potential = np.round(np.random.default_rng(seed).lognormal(10.0, 0.6, accounts), 2)
    mean = potential.sum() / reps
    return solver.Problem(
        scores=scores,
        current=np.arange(accounts, dtype=np.int64) % reps,
        capacity=np.full(reps, int(np.ceil(accounts / reps * 1.5)), dtype=np.int64),
        lower=np.full(reps, mean * (1 - POTENTIAL_TOLERANCE)),
        upper=np.full(reps, mean * (1 + POTENTIAL_TOLERANCE)),
        balance_by="potential",
        potential=potential,
        top_k=top_k,
        time_limit_seconds=30.0,
        mip_relative_gap=1e-3,
    )


def _row(problem: solver.Problem, *, label: str) -> dict[str, Any]:
    started = time.perf_counter()
    try:
        solution = solver.solve(problem)
    except solver.InfeasibleProblem as error:
        return {"case": label, "error": str(error), "seconds": time.perf_counter() - started}
    seconds = time.perf_counter() - started
    started = time.perf_counter()
    greedy = solver.greedy(problem)
    greedy_seconds = time.perf_counter() - started
    placed = greedy >= 0
    greedy_total = float(problem.scores[np.flatnonzero(placed), greedy[placed]].sum())
    current_total = float(problem.scores[np.arange(len(problem.current)), problem.current].sum())
    measure = problem.potential if problem.balance_by == "potential" else None
    loads = np.bincount(
        solution.rep_of[solution.rep_of >= 0],
        weights=None if measure is None else measure[solution.rep_of >= 0],
        minlength=problem.scores.shape[1],
    )
    row = {
        "case": label,
        "accounts": int(problem.scores.shape[0]),
        "reps": int(problem.scores.shape[1]),
        "method": solution.method,
        "status": solution.status,
        "seconds": round(seconds, 2),
        "stages_s": {name: round(value, 2) for name, value in solution.seconds.items()},
        "arcs": solution.arcs,
        "total": round(solution.total, 3),
        "lp_bound": None if solution.bound is None else round(solution.bound, 3),
        "gap": None if solution.gap is None else float(f"{solution.gap:.2e}"),
        "proven_optimal": solution.proven_optimal,
        "greedy_total": round(greedy_total, 3),
        "greedy_seconds": round(greedy_seconds, 2),
        "greedy_unassigned": int((~placed).sum()),
        "vs_greedy": round(solution.total / max(greedy_total, 1e-12), 4),
        "current_total": round(current_total, 3),
        "accounts_moved": int((solution.rep_of != problem.current).sum()),
        "balance_min_max": [round(float(loads.min()), 1), round(float(loads.max()), 1)],
        "bounds": [round(float(problem.lower[0]), 1), round(float(problem.upper[0]), 1)],
    }
    if solution.candidate_bound is not None:
        row["candidate_bound"] = round(solution.candidate_bound, 3)
    return row


def solve_cases(scores: np.ndarray, *, top_k: int = 10, seed: int = 5) -> dict[str, Any]:
    """Both cases on ``scores`` (accounts × reps): balance by accounts (every account), and by
    potential on a sample of ``MIP_ACCOUNTS`` accounts (a MIP: its size grows with the arcs)."""
    results = {"by_accounts": _row(_count_problem(scores, top_k=top_k), label="accounts ±10%")}
    sample = np.random.default_rng(seed).choice(
        len(scores), min(MIP_ACCOUNTS, len(scores)), replace=False
    )
    results["by_potential"] = _row(
        _potential_problem(scores[np.sort(sample)], seed=seed, top_k=top_k),
        label=f"potential ±{POTENTIAL_TOLERANCE:.0%}, {len(sample):,} accounts",
    )
    return results


async def run(context: dict[str, Any]) -> dict[str, Any]:
    """The section make bench-proximity runs last (its EXTRA_SECTIONS): both cases on the
    engine's 3-hop matrix of the benchmark's graph, padded to every account of the dataset."""
    matrix = context["graph"].matrix(max_hops=3)
    scores = pad_scores(matrix, accounts=int(context.get("accounts", len(matrix))))
    del matrix
    results = await asyncio.to_thread(solve_cases, scores)
    return {**results, "rows": table_rows(results)}


def table_rows(results: dict[str, Any]) -> list[tuple[str, str]]:
    rows = []
    for row in results.values():
        if "error" in row:
            rows.append((f"social territories, {row['case']}", f"failed: {row['error']}"))
            continue
        gap = "n/a" if row["gap"] is None else f"{row['gap']:.1e}"
        rows.append(
            (
                f"social territories, {row['case']} ({row['accounts']:,} × {row['reps']})",
                f"{row['seconds']} s {row['method']} ({row['arcs']:,} arcs); total "
                f"{row['total']} vs LP bound {row['lp_bound']} (gap {gap}, proven "
                f"{row['proven_optimal']}); greedy {row['greedy_total']} "
                f"(×{row['vs_greedy']}); per rep {row['balance_min_max']} in {row['bounds']}",
            )
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--accounts", type=int, default=ACCOUNTS)
    parser.add_argument("--reps", type=int, default=REPS)
    parser.add_argument("--top-k", type=int, default=10)
    args = parser.parse_args()
    results = solve_cases(synthetic_scores(args.accounts, args.reps), top_k=args.top_k)
    for label, value in table_rows(results):
        print(f"| {label} | {value} |")
    print(json.dumps(results, indent=2))
    print("load average", os.getloadavg())


if __name__ == "__main__":
    main()
