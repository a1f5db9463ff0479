"""Exact districting model, solved by HiGHS (highspy): minimise the weighted cut edges subject to
every measure's bounds, locks and contiguity. Used twice by the engine (engine.py):

1. **Whole map, small instances** (a few hundred units × territories): warm-started from the
   heuristic's best plan, it proves optimality when it can and otherwise reports the solver's
   dual bound as ``DesignResult.lower_bound``.
2. **Pairs of adjacent territories** (large-neighbourhood search): the units of two territories
   are re-split optimally, everything else fixed. The pair's cut edges and balance are then
   optimal over every contiguous split, which single-unit moves cannot reach (a whole chain of
   units changing hands at once). With ``soft`` balance, bound violations are priced instead of
   forbidden, so the same model repairs balance on several measures at once.

Contiguity is Shirabe's single-commodity flow (SHIR in Validi, Buchanan & Lykhovyd 2022,
"Imposing contiguity constraints in political districting models"): territory j has one root;
the root emits up to M = |U| - k + 1 units of flow along arcs whose head is in j, and every other
unit of j absorbs one, so every unit of j is reached from its root inside j. Validi et al. find
the cut-based model (a,b-separators added lazily) fastest with Gurobi's callbacks; HiGHS has no
lazy-constraint callback, so the compact flow model, which needs none, is the practical choice
here. Symmetry: where territories are interchangeable (no locks, seeds or capacities), the root
of a territory is its lowest-numbered unit and roots rise with the territory number (as in
Validi et al.'s ordering); where a territory has a locked unit, that unit is its root.
"""

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import highspy
import numpy as np
from numpy.typing import NDArray
from scipy.sparse import coo_matrix, csr_matrix


@dataclass(frozen=True)
class SubProblem:
    """The units ``0..n-1`` of a (sub)map and ``k`` territories to split them into."""

    n: int
    k: int
    edges: NDArray[np.int64]  # (e, 2) local unit indices, each pair once
    weights: NDArray[np.float64]  # (e,) cost of cutting each edge
    measures: NDArray[np.float64]  # (n, b) balanced measures only
    lower: NDArray[np.float64]  # (k, b)
    upper: NDArray[np.float64]  # (k, b)
    scale: NDArray[np.float64]  # (b,) a violation of ``scale`` counts as 1 (soft balance)
    locked: NDArray[np.int64]  # (n,) territory or -1
    roots: NDArray[np.int64] | None = None  # (k,) root unit of each territory, or None: free
    interchangeable: bool = False  # labels may be permuted (symmetry breaking allowed)
    soft_penalty: float | None = None  # price of violation instead of hard bounds
    unit_costs: NDArray[np.float64] | None = None  # (n, k) cost of unit i in territory j


@dataclass
class ExactResult:
    assignment: NDArray[np.int64] | None  # None: no plan found in time
    objective: float | None  # the model's objective (cut weights, plus priced violation)
    bound: float | None  # the solver's proven lower bound on that objective
    optimal: bool
    status: str


def solve_exact(
    sub: SubProblem,
    *,
    time_limit: float,
    start: NDArray[np.int64] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> ExactResult:
    """Solve ``sub`` within ``time_limit`` seconds, warm-started from ``start`` if given;
    ``should_stop`` (a cancel) is polled from the solver's interrupt callbacks."""
    deadline = time.monotonic() + max(float(time_limit), 0.01)
    n, k = sub.n, sub.k
    edges = np.asarray(sub.edges, dtype=np.int64).reshape(-1, 2)
    e = len(edges)
    arcs = np.concatenate([edges, edges[:, ::-1]])  # (tail, head)
    a = len(arcs)
    b = sub.measures.shape[1]
    big_m = float(n - k + 1)
    soft = sub.soft_penalty is not None
    # Columns: x (n*k), r (n*k), y (e), f (a*k), then slacks (k*b over, k*b under) if soft.
    x0, r0, y0, f0 = 0, n * k, 2 * n * k, 2 * n * k + e
    s0 = f0 + a * k
    columns = s0 + (2 * k * b if soft else 0)
    cost = np.zeros(columns)
    cost[y0:f0] = sub.weights
    if sub.unit_costs is not None:
        cost[x0 : x0 + n * k] = np.asarray(sub.unit_costs, dtype=float).ravel()
    lower = np.zeros(columns)
    upper = np.concatenate([np.ones(f0), np.full(a * k, big_m), np.full(columns - s0, np.inf)])
    if soft:
        assert sub.soft_penalty is not None
        scale = np.where(sub.scale > 0, sub.scale, 1.0)
        cost[s0:] = sub.soft_penalty / np.tile(np.repeat(scale[None, :], k, 0).ravel(), 2)

    unit, terr = np.meshgrid(np.arange(n), np.arange(k), indexing="ij")
    xi = (x0 + unit * k + terr).ravel()
    ri = (r0 + unit * k + terr).ravel()
    rows = _Rows()
    rows.add(np.repeat(np.arange(n), k), xi, 1.0, 1.0, 1.0, n)  # one territory per unit
    # Balance of every measure (slacks when soft: sum - over <= upper, sum + under >= lower).
    for j in range(b):
        weights = np.repeat(sub.measures[:, j][:, None], k, 1).ravel()
        row_t = np.tile(np.arange(k), n)
        if soft:
            over = s0 + np.arange(k) * b + j
            under = s0 + k * b + np.arange(k) * b + j
            rows.add(
                np.concatenate([row_t, np.arange(k)]),
                np.concatenate([xi, over]),
                np.concatenate([weights, -np.ones(k)]),
                -np.inf,
                sub.upper[:, j],
                k,
            )
            rows.add(
                np.concatenate([row_t, np.arange(k)]),
                np.concatenate([xi, under]),
                np.concatenate([weights, np.ones(k)]),
                sub.lower[:, j],
                np.inf,
                k,
            )
        else:
            rows.add(row_t, xi, weights, sub.lower[:, j], sub.upper[:, j], k)
    rows.add(np.tile(np.arange(k), n), ri, 1.0, 1.0, 1.0, k)  # one root per territory
    flat = np.arange(n * k)
    rows.add(np.concatenate([flat, flat]), np.concatenate([ri, xi]), _pm(n * k), -np.inf, 0, n * k)
    # Flow: inflow - outflow >= x - M r at every unit, for every territory.
    arc_id, arc_t = np.meshgrid(np.arange(a), np.arange(k), indexing="ij")
    fi = (f0 + arc_id * k + arc_t).ravel()
    heads = (arcs[arc_id, 1] * k + arc_t).ravel()
    tails = (arcs[arc_id, 0] * k + arc_t).ravel()
    rows.add(
        np.concatenate([heads, tails, flat, flat]),
        np.concatenate([fi, fi, xi, ri]),
        np.concatenate([np.ones(a * k), -np.ones(a * k), -np.ones(n * k), np.full(n * k, big_m)]),
        0.0,
        np.inf,
        n * k,
    )
    # Flow only into units of the territory: f[arc, j] <= M x[head, j].
    head_x = (x0 + arcs[arc_id, 1] * k + arc_t).ravel()
    arc_rows = np.arange(a * k)
    rows.add(
        np.concatenate([arc_rows, arc_rows]),
        np.concatenate([fi, head_x]),
        np.concatenate([np.ones(a * k), np.full(a * k, -big_m)]),
        -np.inf,
        0.0,
        a * k,
    )
    # Cut edges: y[e] >= x[u, j] - x[v, j] for every j and both directions.
    edge_id, edge_t = np.meshgrid(np.arange(e), np.arange(k), indexing="ij")
    xu = (x0 + edges[edge_id, 0] * k + edge_t).ravel()
    xv = (x0 + edges[edge_id, 1] * k + edge_t).ravel()
    ye = (y0 + edge_id).ravel()
    edge_rows = np.arange(e * k)
    for first, second in ((xu, xv), (xv, xu)):
        rows.add(
            np.concatenate([edge_rows] * 3),
            np.concatenate([ye, first, second]),
            np.concatenate([np.ones(e * k), -np.ones(e * k), np.ones(e * k)]),
            0.0,
            np.inf,
            e * k,
        )
    # Locks and fixed roots.
    for i in np.flatnonzero(sub.locked >= 0).tolist():
        t = int(sub.locked[i])
        lower[x0 + i * k + t] = 1.0
    if sub.roots is not None:
        for t, i in enumerate(sub.roots.tolist()):
            if i >= 0:
                upper[r0 + np.arange(n) * k + t] = 0.0
                upper[r0 + i * k + t] = 1.0
                lower[r0 + i * k + t] = 1.0
                lower[x0 + i * k + t] = 1.0
    if sub.interchangeable and sub.roots is None and k > 1:
        _break_symmetry(rows, n, k, x0, r0)

    highs = highspy.Highs()
    highs.setOptionValue("output_flag", False)
    highs.setOptionValue("time_limit", max(float(time_limit), 0.01))
    highs.setOptionValue("threads", 1)
    highs.setOptionValue("mip_rel_gap", 1e-6)
    integral = f0
    highs.addVars(columns, lower, upper)
    highs.changeColsCost(columns, np.arange(columns, dtype=np.int32), cost)
    highs.changeColsIntegrality(
        integral,
        np.arange(integral, dtype=np.int32),
        np.full(integral, 1, dtype=np.uint8),
    )
    matrix, row_lower, row_upper = rows.matrix(columns)
    highs.addRows(
        matrix.shape[0],
        row_lower,
        row_upper,
        matrix.nnz,
        matrix.indptr.astype(np.int32),
        matrix.indices.astype(np.int32),
        matrix.data,
    )
    if start is not None:
        values = _start_values(sub, start, arcs, columns, x0, r0, y0, f0, s0, big_m)
        if values is not None:
            highs.setSolution(columns, np.arange(columns, dtype=np.int32), values)

    # HiGHS checks its own time limit only between some phases; its interrupt callbacks
    # come often, so the deadline and a cancel are enforced there too.
    def interrupt(event: Any) -> None:
        if time.monotonic() > deadline or (should_stop is not None and should_stop()):
            event.interrupt()

    highs.cbMipInterrupt.subscribe(interrupt)
    highs.cbSimplexInterrupt.subscribe(interrupt)
    highs.run()
    status = highs.modelStatusToString(highs.getModelStatus())
    info = highs.getInfo()
    bound = float(info.mip_dual_bound) if np.isfinite(info.mip_dual_bound) else None
    if info.primal_solution_status != 2:  # no feasible solution
        return ExactResult(None, None, bound, False, status)
    solution = np.asarray(highs.getSolution().col_value)
    assignment = np.argmax(solution[: n * k].reshape(n, k), axis=1).astype(np.int64)
    optimal = highs.getModelStatus() == highspy.HighsModelStatus.kOptimal
    objective = float(info.objective_function_value)
    return ExactResult(assignment, objective, objective if optimal else bound, optimal, status)


def _pm(count: int) -> NDArray[np.float64]:
    return np.concatenate([np.ones(count), -np.ones(count)])


def _break_symmetry(rows: "_Rows", n: int, k: int, x0: int, r0: int) -> None:
    """The root of territory j is its lowest-numbered unit (no unit below i in j if i is its
    root: sum_{i' < i} x[i', j] <= i (1 - r[i, j])), and roots rise with j."""
    row_ids, cols, vals = [], [], []
    count = 0
    for i in range(1, n):
        for j in range(k):
            row_ids.append(np.full(i + 1, count))
            cols.append(np.concatenate([x0 + np.arange(i) * k + j, [r0 + i * k + j]]))
            vals.append(np.concatenate([np.ones(i), [float(i)]]))
            count += 1
    rows.add(
        np.concatenate(row_ids),
        np.concatenate(cols),
        np.concatenate(vals),
        -np.inf,
        np.repeat(np.arange(1, n), k).astype(np.float64),
        count,
    )
    # sum_i i r[i, j+1] - sum_i i r[i, j] >= 1
    ordered = np.arange(k - 1)
    index = np.arange(n)
    rows.add(
        np.concatenate([np.repeat(ordered, n), np.repeat(ordered, n)]),
        np.concatenate(
            [
                (r0 + index[None, :] * k + (ordered[:, None] + 1)).ravel(),
                (r0 + index[None, :] * k + ordered[:, None]).ravel(),
            ]
        ),
        np.concatenate([np.tile(index, k - 1), -np.tile(index, k - 1)]).astype(np.float64),
        1.0,
        np.inf,
        k - 1,
    )
    # Unit 0 is in territory 0 (it is the lowest-numbered unit of whichever territory holds it).
    rows.add(np.array([0]), np.array([r0 + 0]), 1.0, 1.0, 1.0, 1)


def canonical_labels(assignment: NDArray[np.int64], k: int) -> NDArray[np.int64]:
    """Relabel territories in the order of their lowest-numbered unit (the symmetry-broken
    model's labels), so a heuristic plan can warm-start it."""
    first = np.full(k, len(assignment), dtype=np.int64)
    np.minimum.at(first, assignment, np.arange(len(assignment)))
    order = np.argsort(first, kind="stable")
    relabel = np.empty(k, dtype=np.int64)
    relabel[order] = np.arange(k)
    return relabel[assignment]


def _start_values(
    sub: SubProblem,
    start: NDArray[np.int64],
    arcs: NDArray[np.int64],
    columns: int,
    x0: int,
    r0: int,
    y0: int,
    f0: int,
    s0: int,
    big_m: float,
) -> NDArray[np.float64] | None:
    """A complete solution vector for ``start`` (roots, flows along BFS trees, cut indicators,
    slacks), or None if ``start`` is not a contiguous plan with every territory used."""
    n, k = sub.n, sub.k
    values = np.zeros(columns)
    values[x0 + np.arange(n) * k + start] = 1.0
    neighbours: list[list[tuple[int, int]]] = [[] for _ in range(n)]
    for arc, (tail, head) in enumerate(arcs.tolist()):
        neighbours[tail].append((head, arc))
    for t in range(k):
        members = np.flatnonzero(start == t)
        if not len(members):
            return None
        if sub.roots is not None and sub.roots[t] >= 0:
            root = int(sub.roots[t])
        elif sub.interchangeable:
            root = int(members[0])
        else:
            locked = members[sub.locked[members] == t]
            root = int(locked[0]) if len(locked) else int(members[0])
        if start[root] != t:
            return None
        values[r0 + root * k + t] = 1.0
        parent_arc = {root: -1}
        order = [root]
        queue = deque([root])
        while queue:
            u = queue.popleft()
            for v, arc in neighbours[u]:
                if start[v] == t and v not in parent_arc:
                    parent_arc[v] = arc
                    order.append(v)
                    queue.append(v)
        if len(order) != len(members):
            return None
        subtree = {u: 1.0 for u in order}
        for u in reversed(order[1:]):
            arc = parent_arc[u]
            values[f0 + arc * k + t] = subtree[u]
            subtree[int(arcs[arc, 0])] += subtree[u]
        if subtree[root] > big_m + 1:
            return None
    values[y0 : y0 + len(sub.edges)] = (start[sub.edges[:, 0]] != start[sub.edges[:, 1]]).astype(
        float
    )
    if sub.soft_penalty is not None:
        b = sub.measures.shape[1]
        sums = np.zeros((k, b))
        np.add.at(sums, start, sub.measures)
        values[s0 : s0 + k * b] = np.maximum(sums - sub.upper, 0).ravel()
        values[s0 + k * b :] = np.maximum(sub.lower - sums, 0).ravel()
    return values


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
        rows = np.asarray(rows, dtype=np.int64).ravel()
        self.rows.append(rows + self.count)
        self.cols.append(np.asarray(cols, dtype=np.int64).ravel())
        self.vals.append(np.broadcast_to(np.asarray(vals, dtype=np.float64), rows.shape).ravel())
        self.lower.append(np.broadcast_to(np.asarray(lower, dtype=np.float64), (how_many,)))
        self.upper.append(np.broadcast_to(np.asarray(upper, dtype=np.float64), (how_many,)))
        self.count += how_many

    def matrix(self, columns: int) -> tuple[csr_matrix, NDArray[np.float64], NDArray[np.float64]]:
        matrix = coo_matrix(
            (np.concatenate(self.vals), (np.concatenate(self.rows), np.concatenate(self.cols))),
            shape=(self.count, columns),
        ).tocsr()
        matrix.sum_duplicates()
        return matrix, np.concatenate(self.lower), np.concatenate(self.upper)
