"""One yardstick for every method's plan, computed here from the assignment alone (no method
grades itself): contiguity, deviation per measure, cut edges, diameter, units moved."""

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy.optimize import linear_sum_assignment
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from scipy.spatial import ConvexHull, QhullError
from scipy.spatial.distance import pdist

from bench.planning.instances import Instance

# Float noise in a sum of thousands of measures must not fail a plan at exactly the bound.
SLACK = 1e-9


@dataclass(frozen=True)
class Evaluation:
    feasible: bool
    contiguous: bool
    within_tolerance: bool
    territories_used: int
    max_deviation: tuple[float, ...]  # per measure, relative, absolute value
    cut_edges: int
    cut_length_km: float
    max_diameter_km: float
    problems: tuple[str, ...]

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def deviations(instance: Instance, assignment: NDArray[np.int64]) -> NDArray[np.float64]:
    """(k, m) relative deviation of each territory from an equal share, per measure."""
    k = instance.territories
    totals = np.stack(
        [
            np.bincount(assignment, weights=instance.measures[:, j], minlength=k)
            for j in range(instance.measures.shape[1])
        ],
        axis=1,
    )
    target = instance.measures.sum(axis=0) / k
    return np.asarray((totals - target) / target, dtype=np.float64)


def _territory_components(instance: Instance, assignment: NDArray[np.int64]) -> int:
    """Connected pieces over all territories: equals the territories used when each is whole."""
    n = instance.units
    a, b = instance.edges[:, 0], instance.edges[:, 1]
    inside = assignment[a] == assignment[b]
    graph = coo_matrix((np.ones(int(inside.sum())), (a[inside], b[inside])), shape=(n, n))
    count, _ = connected_components(graph, directed=False)
    return int(count)


def _diameter(points: NDArray[np.float64]) -> float:
    if len(points) < 2:
        return 0.0
    if len(points) > 3:
        try:
            points = points[ConvexHull(points).vertices]
        except QhullError:  # collinear or repeated points: the plain pairwise maximum
            pass
    return float(pdist(points).max())


def evaluate(instance: Instance, assignment: NDArray[np.int64] | None) -> Evaluation | None:
    if assignment is None:
        return None
    assignment = np.asarray(assignment, dtype=np.int64)
    k = instance.territories
    problems = []
    if assignment.shape != (instance.units,) or assignment.min() < 0 or assignment.max() >= k:
        raise ValueError(f"not a plan of {instance.units} units into {k} territories")
    used = int(len(np.unique(assignment)))
    if used < k:
        problems.append(f"{k - used} territories empty")
    pieces = _territory_components(instance, assignment)
    contiguous = pieces == used
    if not contiguous:
        problems.append(f"{pieces - used} territory pieces cut off")
    deviation = np.abs(deviations(instance, assignment)).max(axis=0)
    within = bool(np.all(deviation <= np.asarray(instance.tolerances) + SLACK)) and used == k
    for name, value, tolerance in zip(
        instance.measure_names, deviation, instance.tolerances, strict=True
    ):
        if value > tolerance + SLACK:
            problems.append(f"{name} off by {value:.2%} > {tolerance:.1%}")
    cut = assignment[instance.edges[:, 0]] != assignment[instance.edges[:, 1]]
    diameters = [_diameter(instance.coordinates[assignment == territory]) for territory in range(k)]
    return Evaluation(
        feasible=contiguous and within,
        contiguous=contiguous,
        within_tolerance=within,
        territories_used=used,
        max_deviation=tuple(float(v) for v in deviation),
        cut_edges=int(cut.sum()),
        cut_length_km=float(instance.edge_lengths[cut].sum() / 1000),
        max_diameter_km=float(max(diameters) / 1000),
        problems=tuple(problems),
    )


def units_moved(
    before: NDArray[np.int64], after: NDArray[np.int64], territories: int, *, match: bool
) -> int:
    """Units whose territory changed. ``match``: the two plans name territories independently
    (a fresh design), so first pair each territory with the one it overlaps most (Hungarian)."""
    if not match:
        return int((before != after).sum())
    overlap = np.zeros((territories, territories), dtype=np.int64)
    np.add.at(overlap, (before, after), 1)
    rows, cols = linear_sum_assignment(overlap, maximize=True)
    return int(len(before) - overlap[rows, cols].sum())
