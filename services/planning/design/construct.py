"""Starting plans for the search: seeds spread like k-means++ (or the reps' homes), territories
grown from them in turn, the least filled first, each taking its nearest free neighbour; locked
units start in their territory and the pieces they leave apart are joined by a shortest path."""

import heapq
from collections import deque

import numpy as np
from numpy.typing import NDArray

from services.planning.design.graph import Graph, territory_pieces


def spread_seeds(
    coordinates: NDArray[np.float64],
    k: int,
    fixed: dict[int, int],
    rng: np.random.Generator,
    candidates: NDArray[np.bool_],
) -> NDArray[np.int64]:
    """One seed unit per territory: ``fixed`` (territory → unit) kept, the others drawn with
    probability growing with the squared distance to the nearest seed so far (k-means++)."""
    seeds = np.full(k, -1, dtype=np.int64)
    for territory, unit in fixed.items():
        seeds[territory] = unit
    pool = np.flatnonzero(candidates)
    if not len(pool):
        pool = np.arange(len(coordinates))
    chosen = [int(s) for s in seeds if s >= 0]
    if chosen:
        nearest = np.min(
            np.linalg.norm(coordinates[pool, None, :] - coordinates[None, chosen, :], axis=2),
            axis=1,
        )
    else:
        nearest = np.full(len(pool), np.inf)
    for missing in np.flatnonzero(seeds < 0).tolist():
        if np.isinf(nearest).all():
            pick = int(rng.integers(len(pool)))
        else:
            weights = np.square(nearest)
            total = weights.sum()
            pick = (
                int(rng.choice(len(pool), p=weights / total))
                if total > 0
                else int(rng.integers(len(pool)))
            )
        seeds[missing] = pool[pick]
        nearest = np.minimum(
            nearest, np.linalg.norm(coordinates[pool] - coordinates[pool[pick]], axis=1)
        )
    return seeds


def grow(
    graph: Graph,
    coordinates: NDArray[np.float64],
    weights: NDArray[np.float64],
    targets: NDArray[np.float64],
    seeds: NDArray[np.int64],
    locked: NDArray[np.int64],
    rng: np.random.Generator,
) -> NDArray[np.int64]:
    """Grow every territory from its seed (and its locked units): the territory least filled
    (its largest share of a target) takes its free neighbour nearest to its seed.

    ``weights`` (n, b) are the balanced measures, ``targets`` (k, b) their targets."""
    n, k = graph.n, len(seeds)
    assignment = locked.copy()
    assignment[seeds] = np.arange(k)
    safe_targets = np.where(targets > 0, targets, 1.0)
    fill = np.zeros((k, weights.shape[1]))
    np.add.at(
        fill,
        assignment[assignment >= 0],
        weights[assignment >= 0] / safe_targets[assignment[assignment >= 0]],
    )
    # Ties broken at random so that every start of a multistart differs.
    jitter = rng.random(n) * 1e-6
    frontiers: list[list[tuple[float, int]]] = [[] for _ in range(k)]
    for start in np.flatnonzero(assignment >= 0).tolist():
        territory = int(assignment[start])
        seed_xy = coordinates[seeds[territory]]
        for v in graph.neighbours[start]:
            if assignment[v] < 0:
                distance = float(np.hypot(*(coordinates[v] - seed_xy)))
                heapq.heappush(frontiers[territory], (distance + jitter[v], v))
    order = [(float(fill[t].max()), t) for t in range(k)]
    heapq.heapify(order)
    remaining = int((assignment < 0).sum())
    while remaining and order:
        _, territory = heapq.heappop(order)
        frontier = frontiers[territory]
        while frontier and assignment[frontier[0][1]] >= 0:
            heapq.heappop(frontier)
        if not frontier:
            continue  # closed in by its neighbours: it takes no more units
        _, unit = heapq.heappop(frontier)
        assignment[unit] = territory
        remaining -= 1
        fill[territory] += weights[unit] / safe_targets[territory]
        seed_xy = coordinates[seeds[territory]]
        for v in graph.neighbours[unit]:
            if assignment[v] < 0:
                distance = float(np.hypot(*(coordinates[v] - seed_xy)))
                heapq.heappush(frontier, (distance + jitter[v], v))
        heapq.heappush(order, (float(fill[territory].max()), territory))
    if remaining:  # only when a territory set has no way into part of the graph
        fill_unassigned(graph, assignment)
    return assignment


def fill_unassigned(graph: Graph, assignment: NDArray[np.int64]) -> None:
    """Give every unit without a territory the territory of its nearest assigned unit (BFS)."""
    queue = deque(int(u) for u in np.flatnonzero(assignment >= 0))
    while queue:
        unit = queue.popleft()
        for v in graph.neighbours[unit]:
            if assignment[v] < 0:
                assignment[v] = assignment[unit]
                queue.append(v)


def repair_contiguity(
    graph: Graph,
    assignment: NDArray[np.int64],
    anchors: NDArray[np.int64],
    locked: NDArray[np.int64],
) -> None:
    """Make every territory one piece, in place: a piece holding locked units is joined to the
    territory's anchor (seed) piece by the shortest path through unlocked units; any other
    stray piece goes to the neighbouring territory it shares the longest border with."""
    n = graph.n
    for _ in range(20):
        count, labels = territory_pieces(n, graph.edges, assignment)
        anchor_piece = labels[anchors]
        stray = np.ones(count, dtype=bool)
        stray[anchor_piece] = False
        if not stray[labels].any():
            return
        locked_pieces = np.unique(labels[(locked >= 0) & stray[labels]])
        for piece in locked_pieces:
            territory = int(assignment[np.flatnonzero(labels == piece)[0]])
            _join_piece(
                graph, assignment, labels, piece, int(anchor_piece[territory]), territory, locked
            )
        count, labels = territory_pieces(n, graph.edges, assignment)
        anchor_piece = labels[anchors]
        stray = np.ones(count, dtype=bool)
        stray[anchor_piece] = False
        stray[np.unique(labels[locked >= 0])] = False
        if not stray.any():
            continue
        source, target = graph.source, graph.target
        crossing = stray[labels[source]] & (labels[source] != labels[target])
        # For each stray piece, the territory across its longest border.
        piece_of = labels[source[crossing]]
        other = assignment[target[crossing]]
        border = graph.directed_weights[crossing]
        best: dict[int, tuple[float, int]] = {}
        totals: dict[tuple[int, int], float] = {}
        for piece, territory, length in zip(
            piece_of.tolist(), other.tolist(), border.tolist(), strict=True
        ):
            key = (piece, territory)
            totals[key] = totals.get(key, 0.0) + length
            if totals[key] > best.get(piece, (-1.0, -1))[0]:
                best[piece] = (totals[key], territory)
        for piece, (_, territory) in best.items():
            assignment[labels == piece] = territory


def _join_piece(
    graph: Graph,
    assignment: NDArray[np.int64],
    labels: NDArray[np.int64],
    piece: int,
    anchor_piece: int,
    territory: int,
    locked: NDArray[np.int64],
) -> None:
    start = np.flatnonzero(labels == piece).tolist()
    parent = {u: -1 for u in start}
    queue = deque(start)
    while queue:
        unit = queue.popleft()
        for v in graph.neighbours[unit]:
            if v in parent or (locked[v] >= 0 and locked[v] != territory):
                continue
            parent[v] = unit
            if labels[v] == anchor_piece:
                step = unit
                while parent.get(step, -1) != -1:
                    assignment[step] = territory
                    step = parent[step]
                return
            queue.append(v)
