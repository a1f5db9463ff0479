"""A starting plan by recursive bisection along random spanning trees, balanced on every
measure at once.

Growing territories from seeds (construct.py) balances well on one measure; with three
measures that pull apart (accounts, potential, workload) it leaves territories far out of
bounds, and single-unit moves then crawl. GerryChain's recursive_tree_part shows the better
start: cut the map in two along one edge of a random spanning tree so that each side holds its
share of the territories' targets, then recurse. Every piece is contiguous by construction (a
subtree and the rest of a tree are both connected). GerryChain balances one measure; here every
cut is scored on all balanced measures at once (each relative deviation divided by its
tolerance, the worst counting), over many trees, and the best cut is taken. Subtree sums of a
whole tree are one pass over its breadth-first order by depth levels, in numpy, so a tree costs
O(n) vector work and hundreds of trees per split are affordable.
"""

import time

import numpy as np
from numpy.typing import NDArray
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import breadth_first_order, minimum_spanning_tree

from services.planning.design.graph import Graph

# A cut scoring at most this (the worst measure's deviation as a share of its tolerance) is
# taken at once; otherwise the best of the trees tried.
_GOOD_ENOUGH = 0.25


def tree_bisection(
    graph: Graph,
    measures: NDArray[np.float64],
    targets: NDArray[np.float64],
    tolerances: NDArray[np.float64],
    locked: NDArray[np.int64],
    rng: np.random.Generator,
    *,
    deadline: float,
    trees_per_split: int = 40,
) -> NDArray[np.int64] | None:
    """A contiguous plan of ``len(targets)`` territories, or None if some split found no cut
    (locks on both sides everywhere) or time ran out.

    ``measures`` (n, b) and ``targets`` (k, b): the balanced measures; ``tolerances`` (b,) the
    relative half-width of each measure's bounds (inf: unbounded)."""
    k = len(targets)
    assignment = np.full(graph.n, -1, dtype=np.int64)
    stack: list[tuple[NDArray[np.int64], NDArray[np.int64]]] = [(np.arange(graph.n), np.arange(k))]
    while stack:
        units, territories = stack.pop()
        if len(territories) == 1:
            assignment[units] = territories[0]
            continue
        # Past the deadline every split still gets one tree: a plan, if a rougher one.
        half = len(territories) // 2
        first, second = territories[:half], territories[half:]
        # Each side's target is its share of what these units actually hold, so an error of
        # an earlier cut is spread over all the territories below it, not left to the last.
        held = measures[units].sum(axis=0)
        wanted = targets[territories].sum(axis=0)
        share = np.where(
            wanted > 0, targets[first].sum(axis=0) / np.where(wanted > 0, wanted, 1), 0.5
        )
        inside = split_along_trees(
            graph,
            units,
            measures,
            held * share,
            held * (1 - share),
            tolerances,
            np.isin(locked[units], first),
            np.isin(locked[units], second),
            rng,
            trees_per_split,
            deadline,
        )
        if inside is None:
            return None
        stack.append((units[inside], first))
        stack.append((units[~inside], second))
    return assignment


def split_along_trees(
    graph: Graph,
    units: NDArray[np.int64],
    measures: NDArray[np.float64],
    target_first: NDArray[np.float64],
    target_second: NDArray[np.float64],
    tolerances: NDArray[np.float64],
    locked_first: NDArray[np.bool_],
    locked_second: NDArray[np.bool_],
    rng: np.random.Generator,
    trees: int,
    deadline: float,
) -> NDArray[np.bool_] | None:
    """Which of ``units`` go to the first side: the best-balanced cut over random trees."""
    size = len(units)
    local = np.full(graph.n, -1, dtype=np.int64)
    local[units] = np.arange(size)
    ends = local[graph.edges]
    keep = (ends[:, 0] >= 0) & (ends[:, 1] >= 0)
    edges = ends[keep]
    if size < 2 or not len(edges):
        return None
    # Per unit: its balanced measures, then its locks to either side (for the subtree sums).
    values = np.column_stack(
        [measures[units], locked_first.astype(float), locked_second.astype(float)]
    )
    total = values.sum(axis=0)
    b = measures.shape[1]
    safe = np.where(tolerances > 0, tolerances, 1e-9)
    first_target = np.where(target_first > 0, target_first, 1.0)
    second_target = np.where(target_second > 0, target_second, 1.0)
    best_score, best_inside = np.inf, None
    for attempt in range(trees):
        if attempt and time.monotonic() > deadline:
            break
        weights = rng.random(len(edges)) + 1e-3
        matrix = coo_matrix((weights, (edges[:, 0], edges[:, 1])), shape=(size, size)).tocsr()
        tree = minimum_spanning_tree(matrix)
        root = int(rng.integers(size))
        order, parent = breadth_first_order(tree, root, directed=False)
        if len(order) < size:
            return None  # the units are not connected: nothing to cut
        sums = _subtree_sums(order, parent, values)
        below = sums[:, :b]  # the subtree under each unit (the cut edge: unit - parent)
        above = total[:b] - below
        # The subtree as the first side, or as the second.
        score_a = np.maximum(_worst(below, first_target, safe), _worst(above, second_target, safe))
        score_b = np.maximum(_worst(below, second_target, safe), _worst(above, first_target, safe))
        # Locks: a side may not hold units locked to the other one.
        lock_first, lock_second = sums[:, b], sums[:, b + 1]
        score_a[(lock_second > 0) | (total[b] - lock_first > 0)] = np.inf
        score_b[(lock_first > 0) | (total[b + 1] - lock_second > 0)] = np.inf
        score_a[root] = score_b[root] = np.inf
        a, c = int(np.argmin(score_a)), int(np.argmin(score_b))
        pick, first_is_subtree = (a, True) if score_a[a] <= score_b[c] else (c, False)
        score = min(score_a[a], score_b[c])
        if score < best_score:
            best_score = score
            inside = _subtree(order, parent, pick, size)
            best_inside = inside if first_is_subtree else ~inside
        if best_score <= _GOOD_ENOUGH:
            break
    return best_inside


def _worst(
    sums: NDArray[np.float64], target: NDArray[np.float64], tolerance: NDArray[np.float64]
) -> NDArray[np.float64]:
    deviation = np.abs(sums / target[None, :] - 1.0) / tolerance[None, :]
    return np.asarray(deviation.max(axis=1))


def _subtree_sums(
    order: NDArray[np.int32], parent: NDArray[np.int32], values: NDArray[np.float64]
) -> NDArray[np.float64]:
    """Sum of ``values`` over each unit's subtree, level by level from the deepest."""
    depth = _depths(order, parent)
    sums = values.copy()
    by_depth = order[np.argsort(-depth[order], kind="stable")]
    levels = np.bincount(depth, minlength=depth.max() + 1)[::-1]
    start = 0
    for count in levels[:-1].tolist():  # every level but the root's
        level = by_depth[start : start + count]
        np.add.at(sums, parent[level], sums[level])
        start += count
    return sums


def _depths(order: NDArray[np.int32], parent: NDArray[np.int32]) -> NDArray[np.int64]:
    """Each unit's depth below the root, by pointer jumping (log(depth) vector steps)."""
    size = len(order)
    ancestor = np.asarray(parent, dtype=np.int64).copy()
    root = int(order[0])
    ancestor[root] = root
    depth = (np.arange(size) != root).astype(np.int64)  # distance to ``ancestor``
    while True:
        further = ancestor[ancestor]
        if np.array_equal(further, ancestor):
            return depth
        depth = depth + depth[ancestor]
        ancestor = further


def _subtree(
    order: NDArray[np.int32], parent: NDArray[np.int32], top: int, size: int
) -> NDArray[np.bool_]:
    inside = np.zeros(size, dtype=bool)
    inside[top] = True
    for unit in order.tolist():  # BFS order: parents before children
        if unit != top and parent[unit] >= 0 and inside[parent[unit]]:
            inside[unit] = True
    return inside
