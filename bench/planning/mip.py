"""The exact reference on small maps: minimise cut edges subject to balance of every measure and
contiguity, solved by HiGHS (scipy.optimize.milp) within a time limit; it returns the proven
optimum, or the best plan and the lower bound it reached.

Contiguity is the single-commodity flow model (Shirabe 2009; Validi, Buchanan & Lykhovyd 2022
call it SHIR): each territory j picks one root r[i,j]; the root may emit up to M = n - k + 1
units of flow along arcs inside territory j, and every other unit of j consumes one, so every
unit of j is reached from its root through j. Cut edges: y[e] >= |x[u,j] - x[v,j]| for all j.
"""

import time
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy.optimize import Bounds, LinearConstraint, milp
from scipy.sparse import coo_matrix, csr_matrix

from bench.planning.instances import Instance


@dataclass(frozen=True)
class MipResult:
    assignment: NDArray[np.int64] | None
    status: str  # optimal | time limit (feasible) | time limit (no plan) | infeasible
    objective: float | None
    lower_bound: float | None
    seconds: float


class _Rows:
    """Sparse constraint rows accumulated as (row, column, value) triplets."""

    def __init__(self) -> None:
        self.rows: list[NDArray[np.int64]] = []
        self.cols: list[NDArray[np.int64]] = []
        self.vals: list[NDArray[np.float64]] = []
        self.lower: list[NDArray[np.float64]] = []
        self.upper: list[NDArray[np.float64]] = []
        self.count = 0

    def add(
        self,
        rows: NDArray[np.int64],
        cols: NDArray[np.int64],
        vals: NDArray[np.float64] | float,
        lower: NDArray[np.float64] | float,
        upper: NDArray[np.float64] | float,
        how_many: int,
    ) -> None:
        self.rows.append(np.asarray(rows, dtype=np.int64).ravel() + self.count)
        self.cols.append(np.asarray(cols, dtype=np.int64).ravel())
        values = np.broadcast_to(np.asarray(vals, dtype=np.float64), np.shape(rows))
        self.vals.append(values.ravel())
        self.lower.append(np.broadcast_to(np.asarray(lower, dtype=np.float64), (how_many,)))
        self.upper.append(np.broadcast_to(np.asarray(upper, dtype=np.float64), (how_many,)))
        self.count += how_many

    def constraint(self, variables: int) -> LinearConstraint:
        matrix = coo_matrix(
            (np.concatenate(self.vals), (np.concatenate(self.rows), np.concatenate(self.cols))),
            shape=(self.count, variables),
        )
        return LinearConstraint(
            csr_matrix(matrix), np.concatenate(self.lower), np.concatenate(self.upper)
        )


def solve_mip(instance: Instance, *, time_limit: float) -> MipResult:
    started = time.perf_counter()
    n, k = instance.units, instance.territories
    edges = instance.edges
    e = len(edges)
    arcs = np.concatenate([edges, edges[:, ::-1]])  # tail, head
    a = len(arcs)
    big_m = float(n - k + 1)
    units, terr = np.meshgrid(np.arange(n), np.arange(k), indexing="ij")

    def x(i: NDArray[np.int64], j: NDArray[np.int64]) -> NDArray[np.int64]:
        return np.asarray(i * k + j, dtype=np.int64)

    def r(i: NDArray[np.int64], j: NDArray[np.int64]) -> NDArray[np.int64]:
        return np.asarray(n * k + i * k + j, dtype=np.int64)

    y0 = 2 * n * k
    f0 = y0 + e
    variables = f0 + a * k

    def f(arc: NDArray[np.int64], j: NDArray[np.int64]) -> NDArray[np.int64]:
        return np.asarray(f0 + arc * k + j, dtype=np.int64)

    rows = _Rows()
    # every unit in exactly one territory
    rows.add(units, x(units, terr), 1.0, 1.0, 1.0, n)
    # balance of every measure
    totals = instance.measures.sum(axis=0) / k
    for column, tolerance in enumerate(instance.tolerances):
        weights = instance.measures[:, column][units]
        rows.add(
            terr,
            x(units, terr),
            weights,
            totals[column] * (1 - tolerance),
            totals[column] * (1 + tolerance),
            k,
        )
    # one root per territory, inside it
    rows.add(terr, r(units, terr), 1.0, 1.0, 1.0, k)
    flat = np.arange(n * k).reshape(n, k)
    rows.add(
        np.stack([flat, flat], -1),
        np.stack([r(units, terr), x(units, terr)], -1),
        np.array([1.0, -1.0]),
        -np.inf,
        0.0,
        n * k,
    )
    # flow: a non-root unit of j consumes one unit (inflow - outflow >= x - M r)
    arc_ids, arc_terr = np.meshgrid(np.arange(a), np.arange(k), indexing="ij")
    heads, tails = arcs[arc_ids, 1], arcs[arc_ids, 0]
    inflow = heads * k + arc_terr
    outflow = tails * k + arc_terr
    rows.add(
        np.concatenate([inflow.ravel(), outflow.ravel(), flat.ravel(), flat.ravel()]),
        np.concatenate(
            [
                f(arc_ids, arc_terr).ravel(),
                f(arc_ids, arc_terr).ravel(),
                x(units, terr).ravel(),
                r(units, terr).ravel(),
            ]
        ),
        np.concatenate(
            [np.ones(inflow.size), -np.ones(outflow.size), -np.ones(n * k), np.full(n * k, big_m)]
        ),
        0.0,
        np.inf,
        n * k,
    )
    # flow only into units of j: f[arc, j] <= M x[head, j]
    arc_rows = np.arange(a * k).reshape(a, k)
    rows.add(
        np.stack([arc_rows, arc_rows], -1),
        np.stack([f(arc_ids, arc_terr), x(heads, arc_terr)], -1),
        np.array([1.0, -big_m]),
        -np.inf,
        0.0,
        a * k,
    )
    # cut edges: y[e] >= x[u,j] - x[v,j] and >= x[v,j] - x[u,j]
    edge_ids, edge_terr = np.meshgrid(np.arange(e), np.arange(k), indexing="ij")
    u, v = edges[edge_ids, 0], edges[edge_ids, 1]
    edge_rows = np.arange(e * k).reshape(e, k)
    for sign in (1.0, -1.0):
        rows.add(
            np.stack([edge_rows] * 3, -1),
            np.stack([y0 + edge_ids, x(u, edge_terr), x(v, edge_terr)], -1),
            np.array([1.0, -sign, sign]),
            0.0,
            np.inf,
            e * k,
        )

    # Symmetry: territory labels are interchangeable, so fix them. The root of j is the
    # lowest-numbered unit of j (no unit below it in j), and roots rise with j.
    # sum over i' < i of x[i', j] + i r[i, j] <= i, for every i >= 1 and j
    pairs_i, pairs_j, earlier = [], [], []
    for i in range(1, n):
        pairs_i.append(np.full(i * k, i))
        pairs_j.append(np.repeat(np.arange(k), i))
        earlier.append(np.tile(np.arange(i), k))
    unit_i, unit_j, unit_earlier = (np.concatenate(p) for p in (pairs_i, pairs_j, earlier))
    row_of = (unit_i - 1) * k + unit_j
    rows.add(
        np.concatenate([row_of, ((np.arange(1, n)[:, None] - 1) * k + np.arange(k)).ravel()]),
        np.concatenate(
            [
                x(unit_earlier, unit_j),
                r(np.repeat(np.arange(1, n), k), np.tile(np.arange(k), n - 1)),
            ]
        ),
        np.concatenate([np.ones(len(row_of)), np.repeat(np.arange(1, n), k).astype(np.float64)]),
        -np.inf,
        np.repeat(np.arange(1, n), k).astype(np.float64),
        (n - 1) * k,
    )
    ordered = np.arange(k - 1)
    rows.add(
        np.concatenate([np.repeat(ordered, n), np.repeat(ordered, n)]),
        np.concatenate(
            [
                r(np.tile(np.arange(n), k - 1), np.repeat(ordered + 1, n)),
                r(np.tile(np.arange(n), k - 1), np.repeat(ordered, n)),
            ]
        ),
        np.concatenate([np.tile(np.arange(n), k - 1), -np.tile(np.arange(n), k - 1)]).astype(
            np.float64
        ),
        1.0,
        np.inf,
        k - 1,
    )

    cost = np.zeros(variables)
    cost[y0:f0] = 1.0
    integrality = np.zeros(variables)
    integrality[:f0] = 1
    lower = np.zeros(variables)
    upper = np.concatenate([np.ones(f0), np.full(a * k, big_m)])
    lower[x(np.array(0), np.array(0))] = 1.0  # unit 0 in territory 0: one symmetry fewer
    result = milp(
        cost,
        integrality=integrality,
        bounds=Bounds(lower, upper),
        constraints=rows.constraint(variables),
        options={"time_limit": time_limit, "disp": False},
    )
    seconds = time.perf_counter() - started
    bound = getattr(result, "mip_dual_bound", None)
    if result.x is None:
        status = "infeasible" if result.status == 2 else "time limit (no plan)"
        return MipResult(None, status, None, _finite(bound), seconds)
    assignment = np.argmax(result.x[: n * k].reshape(n, k), axis=1).astype(np.int64)
    optimal = result.status == 0
    cut = float(round(result.fun))  # a count of edges: the solver's float noise removed
    return MipResult(
        assignment,
        "optimal" if optimal else "time limit (feasible)",
        cut,
        cut if optimal else _finite(bound),
        seconds,
    )


def _finite(value: float | None) -> float | None:
    """A proven bound on a count of edges, rounded up (less a tolerance for float noise)."""
    if value is None or not np.isfinite(value):
        return None
    return float(np.ceil(value - 1e-6))
