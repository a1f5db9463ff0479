"""The exact reference on small maps: minimise cut edges subject to balance of every measure and
contiguity, with the engine's own exact model (services/planning/design/exact.py: Shirabe's
flow contiguity, HiGHS), unweighted and warm-started from our plan when there is one. It returns
the proven optimum, or the best plan and the lower bound it reached within the time limit."""

import time
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from bench.planning.instances import Instance


@dataclass(frozen=True)
class MipResult:
    assignment: NDArray[np.int64] | None
    status: str  # optimal | time limit (feasible) | time limit (no plan) | infeasible
    objective: float | None
    lower_bound: float | None
    seconds: float


def solve_mip(
    instance: Instance, *, time_limit: float, start: NDArray[np.int64] | None = None
) -> MipResult:
    from bench.planning.methods import engine_path

    engine_path()
    from services.planning.design.exact import SubProblem, canonical_labels, solve_exact

    started = time.perf_counter()
    n, k = instance.units, instance.territories
    targets = instance.measures.sum(axis=0) / k
    tolerances = np.asarray(instance.tolerances, dtype=float)
    sub = SubProblem(
        n=n,
        k=k,
        edges=np.asarray(instance.edges, dtype=np.int64),
        weights=np.ones(len(instance.edges)),
        measures=instance.measures,
        lower=np.repeat((targets * (1 - tolerances))[None, :], k, axis=0),
        upper=np.repeat((targets * (1 + tolerances))[None, :], k, axis=0),
        scale=targets,
        locked=np.full(n, -1, dtype=np.int64),
        interchangeable=True,
    )
    warm = None if start is None else canonical_labels(np.asarray(start, dtype=np.int64), k)
    result = solve_exact(sub, time_limit=time_limit, start=warm)
    seconds = time.perf_counter() - started
    bound = _finite(result.bound)
    if result.assignment is None:
        status = "infeasible" if result.status == "Infeasible" else "time limit (no plan)"
        return MipResult(None, status, None, bound, seconds)
    cut = float(round(result.objective or 0.0))  # a count of edges: float noise removed
    return MipResult(
        result.assignment,
        "optimal" if result.optimal else "time limit (feasible)",
        cut,
        cut if result.optimal else bound,
        seconds,
    )


def _finite(value: float | None) -> float | None:
    """A proven bound on a count of edges, rounded up (less a tolerance for float noise)."""
    if value is None or not np.isfinite(value):
        return None
    return float(np.ceil(value - 1e-6))
