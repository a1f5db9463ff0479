"""The design engine on Voronoi cells of Connecticut's ZIP centroids (272 units, rook
adjacency from the shared borders): contiguity, tolerance, locks, explicit adjacency with an
island, infeasible tolerances, stopping, and realignment. Checks are independent of the engine
(connectivity by scipy on the input edges, sums recomputed here)."""

import functools
import time

import numpy as np
import pytest
from numpy.typing import NDArray
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from services.planning.design.engine import solve
from services.planning.design.problem import DesignProblem, MeasureBalance, Objective
from tests.planning.maps import VoronoiMap, zip_voronoi

TOLERANCE = 0.05


@functools.cache
def connecticut() -> VoronoiMap:
    return zip_voronoi("CT")


def problem(
    measures: NDArray[np.float64] | None = None,
    *,
    k: int = 7,
    seconds: float = 2.0,
    **extra: object,
) -> DesignProblem:
    ct = connecticut()
    return DesignProblem(
        unit_ids=tuple(ct.codes),
        measures=ct.measures if measures is None else measures,
        balance=(
            MeasureBalance("accounts", tolerance=TOLERANCE),
            MeasureBalance("potential", tolerance=TOLERANCE),
        ),
        edges=ct.edges,
        edge_lengths=ct.edge_lengths,
        coordinates=ct.coordinates,
        territories=k,
        time_limit_seconds=seconds,
        **extra,  # type: ignore[arg-type]
    )


def pieces(edges: NDArray[np.int64], assignment: NDArray[np.int64], territory: int) -> int:
    members = np.flatnonzero(assignment == territory)
    inside = np.isin(edges, members).all(axis=1)
    n = len(assignment)
    graph = coo_matrix((np.ones(inside.sum()), edges[inside].T), shape=(n, n))
    labels = connected_components(graph, directed=False)[1]
    return len(np.unique(labels[members]))


def deviations(
    measures: NDArray[np.float64], assignment: NDArray[np.int64], k: int
) -> NDArray[np.float64]:
    sums = np.zeros((k, measures.shape[1]))
    np.add.at(sums, assignment, measures)
    target = measures.sum(axis=0) / k
    return np.abs(sums / target - 1)


def test_design_is_contiguous_and_within_tolerance_on_every_measure() -> None:
    ct = connecticut()
    result = solve(problem())
    assert result.feasible, result.violations
    assert all(pieces(ct.edges, result.assignment, t) == 1 for t in range(7))
    assert deviations(ct.measures, result.assignment, 7).max() <= TOLERANCE + 1e-9
    assert np.allclose(
        result.max_relative_deviation, deviations(ct.measures, result.assignment, 7).max(axis=0)
    )
    # Compactness: far fewer cut edges than a random contiguous plan would have (~half of all).
    assert result.cut_edges < 0.25 * len(ct.edges)


def test_locked_units_stay_in_their_territories() -> None:
    ct = connecticut()
    # The westmost, eastmost, northmost and southmost units, locked to four territories.
    x, y = ct.coordinates[:, 0], ct.coordinates[:, 1]
    corners = [int(np.argmin(x)), int(np.argmax(x)), int(np.argmax(y)), int(np.argmin(y))]
    locked = np.full(len(ct.codes), -1, dtype=np.int64)
    locked[corners] = [3, 1, 0, 2]
    result = solve(problem(locked=locked))
    assert result.feasible, result.violations
    assert result.assignment[corners].tolist() == [3, 1, 0, 2]
    assert all(pieces(ct.edges, result.assignment, t) == 1 for t in range(7))


def test_explicit_adjacency_with_an_island_joins_it_to_its_nearest_unit() -> None:
    # Points and an edge list only: a 6x6 lattice, plus one unit (36) with no edge at all,
    # nearest to unit 5 (the lattice's bottom-right corner).
    side = 6
    grid = np.arange(side * side).reshape(side, side)
    edges = np.vstack(
        [
            np.column_stack([grid[:, :-1].ravel(), grid[:, 1:].ravel()]),
            np.column_stack([grid[:-1].ravel(), grid[1:].ravel()]),
        ]
    )
    coordinates = np.array(
        [[col * 1000.0, row * 1000.0] for row in range(side) for col in range(side)]
        + [[7000.0, 0.0]]
    )
    measures = np.ones((37, 1))
    result = solve(
        DesignProblem(
            unit_ids=tuple(str(i) for i in range(37)),
            measures=measures,
            balance=(MeasureBalance("accounts", lower=9, upper=10),),
            edges=edges,
            coordinates=coordinates,
            territories=4,
            time_limit_seconds=1.0,
        )
    )
    assert result.feasible, result.violations
    # The island is in its nearest unit's territory (its only way to be contiguous).
    assert result.assignment[36] == result.assignment[5]
    counts = np.bincount(result.assignment, minlength=4)
    assert counts.min() >= 9 and counts.max() <= 10


def test_an_unreachable_tolerance_is_answered_with_the_measure_and_the_best_plan() -> None:
    ct = connecticut()
    heavy = ct.measures.copy()
    heavy[0, 0] = heavy[:, 0].sum()  # one unit holds half of all accounts
    result = solve(problem(heavy, seconds=1.0))
    assert not result.feasible
    assert any("'accounts'" in text and "territory" in text for text in result.violations)
    # The best plan is still returned, contiguous, with its deviations.
    assert all(pieces(ct.edges, result.assignment, t) == 1 for t in range(7))
    assert result.max_relative_deviation[0] >= 2.0  # the heavy unit's territory: >3x its share
    assert np.isclose(
        result.max_relative_deviation[0], deviations(heavy, result.assignment, 7)[:, 0].max()
    )


def test_more_territories_than_units_is_refused_in_words() -> None:
    result = solve(
        DesignProblem(
            unit_ids=("a", "b"),
            measures=np.ones((2, 1)),
            balance=(MeasureBalance("accounts", tolerance=0.1),),
            edges=np.array([[0, 1]]),
            coordinates=np.array([[0.0, 0.0], [1.0, 0.0]]),
            territories=3,
        )
    )
    assert not result.feasible
    assert "3 territories were asked of 2 units" in result.violations[0]


def test_should_stop_ends_the_search_at_once() -> None:
    started = time.monotonic()
    result = solve(problem(seconds=60.0), should_stop=lambda: time.monotonic() - started > 0.3)
    assert time.monotonic() - started < 3.0
    assert len(result.assignment) == len(connecticut().codes)


def test_progress_reports_fractions_and_best_plans() -> None:
    reports: list[tuple[float, int]] = []
    solve(
        problem(seconds=1.5),
        progress=lambda f, best: reports.append((f, best.cut_edges if best else -1)),
    )
    assert reports and all(0 <= f < 1 for f, _ in reports)
    assert all(cut > 0 for _, cut in reports)


@pytest.mark.parametrize("seed", [1, 2])
def test_realignment_after_a_shift_moves_far_fewer_units_than_a_fresh_design(seed: int) -> None:
    ct = connecticut()
    original = solve(problem(seconds=2.0))
    rng = np.random.default_rng(seed)
    # Every measure shifted by up to ±20%, and a new random seed for the fresh design.
    shifted = ct.measures * rng.uniform(0.8, 1.2, ct.measures.shape)
    fresh = solve(problem(shifted, seconds=2.0, random_seed=seed))
    realigned = solve(
        problem(
            shifted,
            seconds=2.0,
            current=original.assignment,
            objective=Objective(disruption_weight=10.0),
        )
    )
    assert fresh.feasible and realigned.feasible, (fresh.violations, realigned.violations)
    fresh_moved = int((fresh.assignment != original.assignment).sum())
    assert realigned.moved_units == int((realigned.assignment != original.assignment).sum())
    assert realigned.moved_units < 0.25 * max(fresh_moved, 1)
    assert deviations(shifted, realigned.assignment, 7).max() <= TOLERANCE + 1e-9


def test_a_rep_leaving_hands_the_territory_to_its_neighbours() -> None:
    ct = connecticut()
    original = solve(problem(seconds=1.5))
    realigned = solve(
        problem(
            k=6,
            seconds=2.0,
            current=original.assignment,
            objective=Objective(disruption_weight=10.0),
        )
    )
    assert realigned.feasible, realigned.violations
    assert realigned.assignment.max() == 5
    assert all(pieces(ct.edges, realigned.assignment, t) == 1 for t in range(6))
    # The units of territory 6 all moved; most of the others stayed.
    left = original.assignment == 6
    assert (realigned.assignment[left] != 6).all()
    stayed = (realigned.assignment[~left] == original.assignment[~left]).mean()
    assert stayed > 0.6


def test_a_new_rep_gets_a_territory_carved_from_the_largest() -> None:
    ct = connecticut()
    original = solve(problem(seconds=1.5))
    realigned = solve(
        problem(
            k=8,
            seconds=2.0,
            current=original.assignment,
            objective=Objective(disruption_weight=10.0),
        )
    )
    assert realigned.feasible, realigned.violations
    assert all(pieces(ct.edges, realigned.assignment, t) == 1 for t in range(8))
    assert deviations(ct.measures, realigned.assignment, 8).max() <= TOLERANCE + 1e-9
