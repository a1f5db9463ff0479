"""The exact model (services/planning/design/exact.py) against brute force on small lattices,
the lower bound the engine reports, and the exact pair re-split of the search (lns.py). Every
optimum here is recomputed by enumerating all plans (connectivity by scipy, sums by numpy)."""

import itertools

import numpy as np
from numpy.typing import NDArray
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from services.planning.design.engine import _Model, _Search, solve
from services.planning.design.exact import SubProblem, canonical_labels, solve_exact
from services.planning.design.lns import resplit
from services.planning.design.problem import DesignProblem, MeasureBalance


def lattice(rows: int, cols: int) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
    index = np.arange(rows * cols).reshape(rows, cols)
    edges = np.concatenate(
        [
            np.stack([index[:, :-1].ravel(), index[:, 1:].ravel()], 1),
            np.stack([index[:-1, :].ravel(), index[1:, :].ravel()], 1),
        ]
    ).astype(np.int64)
    r, c = np.divmod(np.arange(rows * cols), cols)
    return edges, np.stack([c * 1000.0, r * 1000.0], 1)


def contiguous(n: int, edges: NDArray[np.int64], plan: NDArray[np.int64], k: int) -> bool:
    inside = plan[edges[:, 0]] == plan[edges[:, 1]]
    kept = edges[inside]
    matrix = coo_matrix((np.ones(len(kept)), (kept[:, 0], kept[:, 1])), shape=(n, n))
    _, labels = connected_components(matrix, directed=False)
    return all(len(np.unique(labels[plan == t])) == 1 for t in range(k))


def brute_force(
    n: int,
    k: int,
    edges: NDArray[np.int64],
    measures: NDArray[np.float64],
    lower: float,
    upper: float,
) -> int | None:
    """Fewest cut edges over every contiguous plan with all territory sums in [lower, upper]."""
    best: int | None = None
    for tail in itertools.product(range(k), repeat=n - 1):
        plan = np.array((0, *tail), dtype=np.int64)
        sums = np.bincount(plan, measures, minlength=k)
        if sums.min() < lower or sums.max() > upper:
            continue
        cut = int((plan[edges[:, 0]] != plan[edges[:, 1]]).sum())
        if best is not None and cut >= best:
            continue
        if contiguous(n, edges, plan, k):
            best = cut
    return best


def sub_problem(
    edges: NDArray[np.int64], measures: NDArray[np.float64], k: int, tolerance: float
) -> SubProblem:
    n = len(measures)
    target = measures.sum() / k
    return SubProblem(
        n=n,
        k=k,
        edges=edges,
        weights=np.ones(len(edges)),
        measures=measures[:, None],
        lower=np.full((k, 1), target * (1 - tolerance)),
        upper=np.full((k, 1), target * (1 + tolerance)),
        scale=np.array([target]),
        locked=np.full(n, -1, dtype=np.int64),
        interchangeable=True,
    )


def test_exact_model_proves_the_brute_force_optimum() -> None:
    rng = np.random.default_rng(3)
    for rows, cols, k, tolerance in ((3, 4, 2, 0.05), (3, 3, 3, 0.15)):
        edges, _ = lattice(rows, cols)
        n = rows * cols
        measures = rng.integers(1, 9, n).astype(np.float64)
        target = measures.sum() / k
        expected = brute_force(
            n, k, edges, measures, target * (1 - tolerance), target * (1 + tolerance)
        )
        assert expected is not None
        result = solve_exact(sub_problem(edges, measures, k, tolerance), time_limit=60)
        assert result.optimal and result.assignment is not None
        assert round(result.objective or 0) == expected
        assert result.bound is not None and abs(result.bound - expected) < 1e-6
        plan = result.assignment
        assert contiguous(n, edges, plan, k)
        sums = np.bincount(plan, measures, minlength=k)
        assert sums.min() >= target * (1 - tolerance) - 1e-9
        assert sums.max() <= target * (1 + tolerance) + 1e-9


def test_exact_model_accepts_a_warm_start_and_answers_infeasible() -> None:
    edges, _ = lattice(3, 4)
    measures = np.ones(12)
    sub = sub_problem(edges, measures, 2, 0.0)
    start = canonical_labels(np.array([1, 1, 0, 0] * 3, dtype=np.int64), 2)
    result = solve_exact(sub, time_limit=30, start=start)
    assert result.optimal and round(result.objective or 0) == 3  # a straight vertical cut
    # One unit worth more than a whole territory's upper bound: no plan at all.
    heavy = measures.copy()
    heavy[5] = 100.0
    answer = solve_exact(sub_problem(edges, heavy, 2, 0.05), time_limit=30)
    assert answer.assignment is None and not answer.optimal


def test_engine_reports_the_proven_optimum_as_lower_bound_on_a_small_map() -> None:
    edges, coordinates = lattice(4, 4)
    measures = np.random.default_rng(5).integers(1, 6, 16).astype(np.float64)
    problem = DesignProblem(
        unit_ids=tuple(f"u{i}" for i in range(16)),
        measures=measures[:, None],
        balance=(MeasureBalance("accounts", tolerance=0.1),),
        edges=edges,
        coordinates=coordinates,
        territories=2,
        time_limit_seconds=20,
    )
    result = solve(problem)
    target = measures.sum() / 2
    optimum = brute_force(16, 2, edges, measures, target * 0.9, target * 1.1)
    assert result.feasible and optimum is not None
    assert result.lower_bound is not None
    assert result.lower_bound <= result.cut_edges
    assert result.cut_edges == optimum  # the exact model proves it on 16 units
    assert result.lower_bound == optimum


def test_pair_resplit_straightens_a_ragged_border_and_repairs_balance() -> None:
    rows, cols = 6, 6
    edges, coordinates = lattice(rows, cols)
    n = rows * cols
    measures = np.ones(n)
    # A staircase border leaving territory 1 at 15 units, out of ±5% of its share of 18.
    row, col = np.divmod(np.arange(n), cols)
    plan = (col > 2 + (row % 2)).astype(np.int64)
    assert contiguous(n, edges, plan, 2)
    problem = DesignProblem(
        unit_ids=tuple(f"u{i}" for i in range(n)),
        measures=measures[:, None],
        balance=(MeasureBalance("units", tolerance=0.05),),
        edges=edges,
        coordinates=coordinates,
        territories=2,
    )
    model = _Model(problem)
    search = _Search(model, plan, np.random.default_rng(0))
    cut_before = int((plan[edges[:, 0]] != plan[edges[:, 1]]).sum())
    assert search.violation > 0
    assert resplit(search, 0, 1, time_limit=30, max_free=n)
    after = search.assignment
    assert contiguous(n, edges, after, 2)
    assert search.violation == 0
    assert sorted(np.bincount(after, minlength=2).tolist()) == [18, 18]
    cut_after = int((after[edges[:, 0]] != after[edges[:, 1]]).sum())
    assert cut_after == 6 < cut_before  # a straight line between the halves


def test_tree_bisection_start_is_contiguous_honours_locks_and_balances_every_measure() -> None:
    from services.planning.design.bisect import tree_bisection
    from services.planning.design.graph import build_graph

    rows = cols = 12
    edges, coordinates = lattice(rows, cols)
    n, k = rows * cols, 4
    rng = np.random.default_rng(11)
    measures = np.column_stack([np.ones(n), rng.uniform(0.5, 1.5, n), rng.uniform(0.8, 1.2, n)])
    targets = np.repeat(measures.sum(axis=0)[None, :] / k, k, axis=0)
    locked = np.full(n, -1, dtype=np.int64)
    locked[[0, n - 1]] = [3, 0]  # opposite corners, against the natural order of the cuts
    graph = build_graph(n, edges, None, coordinates)
    plan = tree_bisection(
        graph, measures, targets, np.full(3, 0.05), locked, rng, deadline=float("inf")
    )
    assert plan is not None
    assert sorted(np.unique(plan).tolist()) == list(range(k))
    assert contiguous(n, edges, plan, k)
    assert plan[0] == 3 and plan[n - 1] == 0
    sums = np.zeros((k, 3))
    np.add.at(sums, plan, measures)
    assert np.abs(sums / targets - 1).max() <= 0.05


def test_exact_model_stops_when_asked() -> None:
    """A cancel reaches the solver through its interrupt callbacks: asked to stop from the
    start, it answers at once without a proof (no timing asserted, only the outcome)."""
    rows = cols = 9
    edges, _ = lattice(rows, cols)
    measures = np.random.default_rng(2).integers(1, 9, rows * cols).astype(np.float64)
    sub = sub_problem(edges, measures, 5, 0.02)
    calls = []

    def stop() -> bool:
        calls.append(1)
        return True

    result = solve_exact(sub, time_limit=600, should_stop=stop)
    assert calls
    assert not result.optimal
    assert "interrupt" in result.status.lower()
