"""Large-neighbourhood moves for the tabu search (engine.py): two adjacent territories re-split
exactly (exact.py) with everything else fixed.

Single-unit moves and swaps stall where the better plan needs a whole chain of units to change
hands at once (a border shifted by several units, or three measures each needing a different
unit): that is exactly what GerryChain's ReCom does at random (merge two districts, cut a
spanning tree) and what a MIP on the pair does optimally. The pair's units near their common
border are free (up to ``max_free`` of them, nearest the border first), the rest keep their
territory and anchor the contiguity flows; balance is priced (soft) so the same move repairs
bounds and shortens borders, and the plan is only changed when the whole objective improves.
"""

from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

from services.planning.design.bisect import split_along_trees
from services.planning.design.exact import SubProblem, solve_exact
from services.planning.design.graph import territory_pieces

if TYPE_CHECKING:
    from services.planning.design.engine import _Search

# A relative violation of 1 (a whole target) costs this many cut edges in the pair model.
_SOFT_PENALTY = 1e4
# Random spanning trees tried per recombination of a pair.
_RECOMBINE_TREES = 30


def resplit(
    search: "_Search",
    first: int,
    second: int,
    *,
    time_limit: float,
    max_free: int = 60,
    should_stop: Callable[[], bool] | None = None,
) -> bool:
    """Re-split territories ``first`` and ``second`` optimally; True if the plan improved."""
    model = search.model
    assignment = search.assignment
    members = np.flatnonzero((assignment == first) | (assignment == second))
    size = len(members)
    if size < 3:
        return False
    local = np.full(model.n, -1, dtype=np.int64)
    local[members] = np.arange(size)
    graph = model.graph
    ends = local[graph.edges]
    inside = (ends[:, 0] >= 0) & (ends[:, 1] >= 0)
    edges = ends[inside]
    if not len(edges):
        return False
    labels = (assignment[members] == second).astype(np.int64)
    # Free: the units nearest the border (whole rings of hops, at most ``max_free``); the rest
    # keep their territory. Each side's root is its unit farthest from the border, fixed:
    # with the roots given, the flow model is far tighter than with roots to choose.
    hops = _hops_from_border(size, edges, labels)
    ring = np.bincount(np.minimum(hops, size), minlength=size + 1).cumsum()
    depth = max(0, int(np.searchsorted(ring, max_free, side="right")) - 1)
    free = hops <= depth
    fixed = np.where(free, -1, labels)
    globally_locked = model.locked[members] >= 0
    fixed[globally_locked] = labels[globally_locked]
    roots = np.full(2, -1, dtype=np.int64)
    for side in (0, 1):
        anchored = np.flatnonzero(fixed == side)
        candidates = anchored if len(anchored) else np.flatnonzero(labels == side)
        roots[side] = candidates[np.argmax(hops[candidates])]
        fixed[roots[side]] = side
    if (fixed < 0).sum() < 2:
        return False
    pair = np.array([first, second])
    balanced = model.balanced
    unit_costs = None
    if model.uses_centres or model.disruption_weight:
        centres = model.centres(assignment) if model.uses_centres else np.zeros((model.k, 2))
        unit_costs = np.column_stack(
            [
                model.unit_costs(members, np.full(size, territory), centres)
                for territory in (first, second)
            ]
        )
    sub = SubProblem(
        n=size,
        k=2,
        edges=edges,
        weights=model.cut_weight * graph.weights[inside],
        measures=model.measures[members][:, balanced],
        lower=model.lower[pair][:, balanced],
        upper=model.upper[pair][:, balanced],
        scale=model.scale[balanced],
        locked=fixed,
        roots=roots,
        soft_penalty=_SOFT_PENALTY,
        unit_costs=unit_costs,
    )
    result = solve_exact(sub, time_limit=time_limit, start=labels, should_stop=should_stop)
    if result.assignment is None or np.array_equal(result.assignment, labels):
        return False
    proposed = assignment.copy()
    proposed[members] = pair[result.assignment]
    if not _contiguous(model.n, graph.edges, proposed, members, pair):
        return False
    violation = float(model.violation_rows(model.sums(proposed), np.arange(model.k)).sum())
    value = model.objective(proposed)
    before = (round(search.violation, 12), search.value)
    if (round(violation, 12), value) >= (before[0], before[1] - 1e-9):
        return False
    changed = members[result.assignment != labels]
    for unit in changed.tolist():
        donor = int(assignment[unit])
        search._apply(unit, donor, second if donor == first else first)
    search.violation = violation
    search.value = value
    return True


def recombine(search: "_Search", first: int, second: int, *, deadline: float) -> bool:
    """ReCom as an improvement move: merge two adjacent territories and cut them again along
    the best-balanced edge of random spanning trees (bisect.py), scored on every measure
    against the two territories' own targets; True if the plan improved (balance first, then
    the objective). Cheap (vector work per tree), so tried before the exact re-split."""
    model = search.model
    assignment = search.assignment
    members = np.flatnonzero((assignment == first) | (assignment == second))
    if len(members) < 3 or not model.balanced.any():
        return False
    inside = split_along_trees(
        model.graph,
        members,
        model.balanced_measures,
        model.balanced_targets[first],
        model.balanced_targets[second],
        model.tolerances[model.balanced],
        model.locked[members] == first,
        model.locked[members] == second,
        search.rng,
        _RECOMBINE_TREES,
        deadline,
    )
    if inside is None:
        return False
    proposed = assignment.copy()
    proposed[members] = np.where(inside, first, second)
    if np.array_equal(proposed, assignment):
        return False
    violation = float(model.violation_rows(model.sums(proposed), np.arange(model.k)).sum())
    value = model.objective(proposed)
    if (round(violation, 12), value) >= (round(search.violation, 12), search.value - 1e-9):
        return False
    for unit in members[proposed[members] != assignment[members]].tolist():
        donor = int(assignment[unit])
        search._apply(unit, donor, second if donor == first else first)
    search.violation = violation
    search.value = value
    return True


def _hops_from_border(
    size: int, edges: NDArray[np.int64], labels: NDArray[np.int64]
) -> NDArray[np.int64]:
    """Each unit's distance in hops from the border between the two labels (0 on it)."""
    neighbours: list[list[int]] = [[] for _ in range(size)]
    for u, v in edges.tolist():
        neighbours[u].append(v)
        neighbours[v].append(u)
    crossing = labels[edges[:, 0]] != labels[edges[:, 1]]
    start = np.unique(edges[crossing].ravel()).tolist()
    hops = np.full(size, size, dtype=np.int64)
    hops[start] = 0
    queue = deque(start)
    while queue:
        u = queue.popleft()
        for v in neighbours[u]:
            if hops[v] > hops[u] + 1:
                hops[v] = hops[u] + 1
                queue.append(v)
    return hops


def _contiguous(
    n: int,
    edges: NDArray[np.int64],
    assignment: NDArray[np.int64],
    members: NDArray[np.int64],
    pair: NDArray[np.int64],
) -> bool:
    """Both territories of ``pair`` in one piece each (a guard against solver tolerances)."""
    _, labels = territory_pieces(n, edges, assignment)
    return all(
        len(np.unique(labels[members[assignment[members] == territory]])) == 1
        for territory in pair.tolist()
    )


def adjacent_pairs(
    assignment: NDArray[np.int64], edges: NDArray[np.int64], k: int
) -> NDArray[np.int64]:
    """Pairs (t1 < t2) of territories sharing a border, with the number of edges between them
    as a third column."""
    a, b = assignment[edges[:, 0]], assignment[edges[:, 1]]
    cut = a != b
    low, high = np.minimum(a[cut], b[cut]), np.maximum(a[cut], b[cut])
    keys, counts = np.unique(low * k + high, return_counts=True)
    return np.column_stack([keys // k, keys % k, counts])
