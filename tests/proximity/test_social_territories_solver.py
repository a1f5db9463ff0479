"""The social territories solver on its own (no I/O): optimal against enumeration of every
assignment on tiny random cases, the bound never below the optimum, and candidate arcs
restricted to one per account still reaching the optimum (pricing adds what is missing)."""

import itertools

import numpy as np
import pytest

from services.proximity.social_territories import solver


def _enumerate(problem: solver.Problem) -> float:
    """The best total over every assignment meeting the bounds (-1: none does)."""
    accounts, reps = problem.scores.shape
    lower, upper = solver.count_bounds(problem)
    best = -1.0
    for combo in itertools.product(range(reps), repeat=accounts):
        choice = np.array(combo)
        if problem.allowed is not None and not problem.allowed[np.arange(accounts), choice].all():
            continue
        counts = np.bincount(choice, minlength=reps)
        if (counts < lower).any() or (counts > upper).any():
            continue
        if problem.balance_by == "potential":
            assert problem.potential is not None
            loads = np.bincount(choice, weights=problem.potential, minlength=reps)
            if (loads < problem.lower - 1e-9).any() or (loads > problem.upper + 1e-9).any():
                continue
        best = max(best, float(problem.scores[np.arange(accounts), choice].sum()))
    return best


@pytest.mark.parametrize("seed", range(8))
def test_min_cost_flow_is_optimal_and_proven(seed: int) -> None:
    rng = np.random.default_rng(seed)
    accounts, reps = 6, 5
    scores = np.round(rng.random((accounts, reps)) * (rng.random((accounts, reps)) < 0.7), 3)
    if seed >= 4:
        scores[:2] = 0.0  # accounts no rep reaches: one filler node supplies them
    allowed = None
    if seed % 2:
        allowed = rng.random((accounts, reps)) < 0.7
        allowed[np.arange(accounts), rng.integers(0, reps, accounts)] = True
    problem = solver.Problem(
        scores=scores,
        current=rng.integers(-1, reps, accounts),
        capacity=np.full(reps, accounts),
        lower=np.full(reps, float(seed % 2)),
        upper=np.full(reps, 2.0),
        allowed=allowed,
        top_k=1,
    )
    best = _enumerate(problem)
    solution = solver.solve(problem)
    assert abs(solution.total - best) < 1e-9
    assert solution.bound is not None and solution.bound >= best - 1e-9
    assert solution.proven_optimal
    counts = np.bincount(solution.rep_of, minlength=reps)
    assert counts.max() <= 2 and counts.min() >= seed % 2
    if allowed is not None:
        assert allowed[np.arange(accounts), solution.rep_of].all()
    greedy = solver.greedy(problem)
    placed = greedy >= 0
    assert scores[np.flatnonzero(placed), greedy[placed]].sum() <= solution.total + 1e-9


@pytest.mark.parametrize("seed", range(4))
def test_potential_mip_is_optimal(seed: int) -> None:
    rng = np.random.default_rng(100 + seed)
    accounts, reps = 6, 3
    scores = np.round(rng.random((accounts, reps)), 3)
    potential = rng.integers(1, 10, accounts).astype(np.float64)
    mean = potential.sum() / reps
    problem = solver.Problem(
        scores=scores,
        current=np.full(accounts, -1),
        capacity=np.full(reps, accounts),
        lower=np.full(reps, mean * 0.6),
        upper=np.full(reps, mean * 1.4),
        balance_by="potential",
        potential=potential,
        top_k=1,
    )
    best = _enumerate(problem)
    if best < 0:
        with pytest.raises(solver.InfeasibleProblem):
            solver.solve(problem)
        return
    solution = solver.solve(problem)
    assert abs(solution.total - best) < 1e-9
    assert solution.bound is not None and solution.bound >= best - 1e-9
    loads = np.bincount(solution.rep_of, weights=potential, minlength=reps)
    assert (loads >= mean * 0.6 - 1e-9).all() and (loads <= mean * 1.4 + 1e-9).all()


def test_infeasible_bounds_are_named() -> None:
    problem = solver.Problem(
        scores=np.ones((5, 2)),
        current=np.full(5, -1),
        capacity=np.full(2, 2),
        lower=np.zeros(2),
        upper=np.full(2, 5.0),
    )
    with pytest.raises(solver.InfeasibleProblem, match="maxima add up to 4"):
        solver.solve(problem)
