"""Adjacency of the benchmark maps, without libpysal: polygons that share a boundary (shapely
STRtree, shared length in metres), Voronoi cells of points clipped to their convex hull, and
islands attached to their nearest unit (as the planning service does, issue 8)."""

from dataclasses import dataclass

import numpy as np
import shapely
from numpy.typing import NDArray
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree


@dataclass(frozen=True)
class Adjacency:
    edges: NDArray[np.int64]  # (e, 2), i < j, each pair once
    lengths: NDArray[np.float64]  # (e,) shared boundary in metres (0 for an island link)
    islands_attached: int


def polygon_adjacency(
    polygons: NDArray[np.object_], *, min_shared_length: float = 1.0, snap: float = 0.0
) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
    """Rook adjacency: pairs of polygons whose boundaries share at least ``min_shared_length``
    metres. ``snap`` (metres) tolerates digitising gaps between neighbours in real shapefiles:
    the shared length is then measured on a boundary buffered by ``snap``."""
    tree = shapely.STRtree(polygons)
    probe = shapely.buffer(polygons, snap) if snap > 0 else polygons
    left, right = tree.query(probe, predicate="intersects")
    keep = left < right
    left, right = left[keep], right[keep]
    boundaries = shapely.boundary(polygons)
    if snap > 0:
        shared = shapely.intersection(boundaries[left], shapely.buffer(boundaries[right], snap))
    else:
        shared = shapely.intersection(boundaries[left], boundaries[right])
    lengths = shapely.length(shared)
    keep = lengths >= min_shared_length
    edges = np.stack([left[keep], right[keep]], axis=1).astype(np.int64)
    return edges, lengths[keep].astype(np.float64)


def attach_islands(
    edges: NDArray[np.int64], lengths: NDArray[np.float64], coordinates: NDArray[np.float64]
) -> Adjacency:
    """Link every component but the largest to its nearest unit outside it, until one remains:
    a territory map is one connected graph, and an island belongs with the closest mainland."""
    n = len(coordinates)
    attached = 0
    while True:
        graph = coo_matrix((np.ones(len(edges)), (edges[:, 0], edges[:, 1])), shape=(n, n))
        count, labels = connected_components(graph, directed=False)
        if count == 1:
            return Adjacency(edges, lengths, attached)
        sizes = np.bincount(labels)
        main = int(np.argmax(sizes))
        mainland = np.flatnonzero(labels == main)
        tree = cKDTree(coordinates[mainland])
        new_edges = []
        for component in range(count):
            if component == main:
                continue
            members = np.flatnonzero(labels == component)
            distances, nearest = tree.query(coordinates[members])
            best = int(np.argmin(distances))
            pair = sorted((int(members[best]), int(mainland[nearest[best]])))
            new_edges.append(pair)
            attached += 1
        edges = np.concatenate([edges, np.asarray(new_edges, dtype=np.int64)])
        lengths = np.concatenate([lengths, np.zeros(len(new_edges))])


def voronoi_cells(
    points: NDArray[np.float64],
) -> tuple[NDArray[np.object_], shapely.Polygon]:
    """Voronoi cells of distinct ``points`` (metres), clipped to their convex hull, in the order
    of the points."""
    hull = shapely.convex_hull(shapely.multipoints(points))
    cells = shapely.voronoi_polygons(shapely.multipoints(points), extend_to=hull, ordered=True)
    parts = np.asarray(shapely.get_parts(cells))
    # ``ordered`` keeps the input order; check rather than trust: cell i holds point i.
    inside = shapely.contains_xy(parts, points[:, 0], points[:, 1])
    if len(parts) != len(points) or not inside.all():
        raise ValueError("Voronoi cells are not in the order of the points")
    clipped = shapely.intersection(parts, hull)
    return np.asarray(clipped), hull
