"""The contiguity graph of a design problem: CSR arrays for the vectorised scoring, neighbour
lists for the few breadth-first searches the search makes, and the repair of a disconnected
graph (an island joined to its nearest unit, as the planners' tools do)."""

from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy.sparse import coo_matrix, csr_matrix
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree


@dataclass
class Graph:
    n: int
    edges: NDArray[np.int64]  # (e, 2), bridges to islands included
    weights: NDArray[np.float64]  # (e,) 1 per edge + a boundary-length tie-break (< 1 in all)
    source: NDArray[np.int64]  # (2e,) both directions of every edge
    target: NDArray[np.int64]
    directed_weights: NDArray[np.float64]
    neighbours: list[list[int]]  # per unit, for the BFS of the contiguity check
    added_edges: NDArray[np.int64]  # (a, 2) edges added to join islands


def build_graph(
    n: int,
    edges: NDArray[np.int64],
    edge_lengths: NDArray[np.float64] | None,
    coordinates: NDArray[np.float64],
) -> Graph:
    edges = np.asarray(edges, dtype=np.int64).reshape(-1, 2)
    lengths = np.ones(len(edges)) if edge_lengths is None else np.asarray(edge_lengths, dtype=float)
    keep = edges[:, 0] != edges[:, 1]
    edges, lengths = edges[keep], lengths[keep]
    # A zero-length border (a point given as adjacent) still counts as a border: give it a
    # tenth of the median so it is cheap, not free, to cut.
    positive = lengths[lengths > 0]
    floor = 0.1 * float(np.median(positive)) if len(positive) else 1.0
    lengths = np.where(lengths > 0, lengths, floor)
    edges, lengths = _deduplicate(edges, lengths, n)
    added = _join_components(n, edges, coordinates)
    if len(added):
        edges = np.vstack([edges, added])
        lengths = np.concatenate([lengths, np.full(len(added), floor)])
    # Cut edges are counted (the literature's and the planners' measure); the shared boundary
    # length only breaks ties: the tie-breaks of all edges together weigh less than one edge.
    weights = 1.0 + 0.5 * lengths / lengths.sum() if len(lengths) else lengths
    source = np.concatenate([edges[:, 0], edges[:, 1]])
    target = np.concatenate([edges[:, 1], edges[:, 0]])
    directed = np.concatenate([weights, weights])
    order = np.argsort(source, kind="stable")
    indptr = np.searchsorted(source[order], np.arange(n + 1))
    sorted_targets = target[order].tolist()
    neighbours = [sorted_targets[indptr[i] : indptr[i + 1]] for i in range(n)]
    return Graph(n, edges, weights, source, target, directed, neighbours, added)


def _deduplicate(
    edges: NDArray[np.int64], lengths: NDArray[np.float64], n: int
) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
    if not len(edges):
        return edges, lengths
    low, high = np.minimum(edges[:, 0], edges[:, 1]), np.maximum(edges[:, 0], edges[:, 1])
    matrix = coo_matrix((lengths, (low, high)), shape=(n, n)).tocsr()
    matrix.sum_duplicates()
    rows, cols = matrix.nonzero()
    return np.column_stack([rows, cols]).astype(np.int64), np.asarray(matrix[rows, cols]).ravel()


def _join_components(
    n: int, edges: NDArray[np.int64], coordinates: NDArray[np.float64]
) -> NDArray[np.int64]:
    """Edges joining every component to the largest one through the nearest pair of units,
    the smallest component first (so an island chain joins the mainland by short hops)."""
    added: list[tuple[int, int]] = []
    matrix = _adjacency(n, edges)
    count, labels = connected_components(matrix, directed=False)
    while count > 1:
        sizes = np.bincount(labels)
        main = int(np.argmax(sizes))
        smallest = int(np.argmin(np.where(np.arange(count) == main, n + 1, sizes)))
        inside = np.flatnonzero(labels == smallest)
        outside = np.flatnonzero(labels != smallest)
        distance, nearest = cKDTree(coordinates[outside]).query(coordinates[inside])
        best = int(np.argmin(distance))
        added.append((int(inside[best]), int(outside[nearest[best]])))
        labels[labels == smallest] = labels[outside[nearest[best]]]
        _, labels = np.unique(labels, return_inverse=True)
        count -= 1
    return np.array(added, dtype=np.int64).reshape(-1, 2)


def _adjacency(n: int, edges: NDArray[np.int64]) -> csr_matrix:
    return coo_matrix((np.ones(len(edges)), (edges[:, 0], edges[:, 1])), shape=(n, n)).tocsr()


def territory_pieces(
    n: int, edges: NDArray[np.int64], assignment: NDArray[np.int64]
) -> tuple[int, NDArray[np.int64]]:
    """Connected pieces of the territories: (count, piece label per unit)."""
    inside = assignment[edges[:, 0]] == assignment[edges[:, 1]]
    return connected_components(_adjacency(n, edges[inside]), directed=False)


def stays_connected(
    unit: int, territory: int, assignment: Sequence[int], neighbours: list[list[int]]
) -> bool:
    """Whether ``territory`` stays connected without ``unit``: first among the unit's own
    neighbours (enough in most cases: they touch each other around it), else a BFS through the
    territory that stops once every one of them is reached."""
    own = [v for v in neighbours[unit] if assignment[v] == territory]
    if len(own) <= 1:
        return True
    wanted = set(own)
    # Local ring: the unit's neighbours in the territory joined by edges among themselves.
    seen = {own[0]}
    queue = deque([own[0]])
    while queue:
        current = queue.popleft()
        for v in neighbours[current]:
            if v in wanted and v not in seen:
                seen.add(v)
                queue.append(v)
    if len(seen) == len(wanted):
        return True
    seen = {own[0], unit}
    queue = deque([own[0]])
    found = 1
    while queue:
        current = queue.popleft()
        for v in neighbours[current]:
            if v not in seen and assignment[v] == territory:
                seen.add(v)
                if v in wanted:
                    found += 1
                    if found == len(wanted):
                        return True
                queue.append(v)
    return False
