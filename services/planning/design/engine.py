"""The territory-design engine: ``solve(problem) -> DesignResult`` (contract in ``problem.py``).

Why this algorithm
------------------
Districting with hard contiguity and two-sided balance on several measures is NP-hard; exact
models (flow or cut formulations) prove optima up to ~100 units and a handful of territories
and then stall, while Markov chains (GerryChain's ReCom) sample plans rather than optimise and,
with heavy units and tight tolerances, often reach no balanced plan. The methods that hold the
published records on these instances (Ricca & Simeone's local search, the tabu/ILS of Bozkaya
et al. and of King et al., Lagos et al.'s GRASP) are all the same shape: a multistart
construction followed by a local search over *boundary moves* with incremental evaluation and
an articulation check on the donor territory. That is what this module does:

1. **Construction**: first a recursive bisection along random spanning trees, every cut
   chosen over many trees for the balance of *all* measures at once (``bisect.py``; GerryChain's
   recursive_tree_part balances one), the start that holds several measures; then seeds spread
   like k-means++ (or the reps' homes), each territory grown in turn, the least filled first,
   taking its free neighbour nearest its seed (``construct.py``); locked units start in their
   territory. Contiguous by construction (a piece a lock leaves apart is joined by a shortest
   path). Several starts while they are cheap; the best after a short descent goes on.
2. **Search**: tabu search with a lexicographic objective, balance violation first (the sum,
   over territories and balanced measures, of the excess beyond the bounds relative to the
   mean target), then the weighted objective (cut edges weighted by shared boundary length, or
   moment of inertia, plus travel and disruption). Every iteration scores *all* boundary moves
   at once in numpy (O(edges) vector work: territory sums are a (k, m) array, so a move's
   balance delta is two row updates; its cut delta is the unit's border with the receiving
   territory minus its border with its own). Candidates are taken best first; the contiguity
   check (``graph.stays_connected``) runs only on the taken ones, first on the unit's own
   neighbours (the usual case, O(degree)) and otherwise as a BFS that stops once every
   neighbour is reached. While moves improve, a batch of non-overlapping moves (no territory
   twice) is applied per iteration, so large maps (30,000 units, 300 territories) progress
   hundreds of moves per vector pass; at a local optimum, the best non-tabu move is taken
   even if it worsens (tabu tenure randomised), and after a long stagnation the search
   restarts from the best plan with a random kick of boundary moves (iterated tabu search).
   Balance with several measures and heavy units is where single moves stall, so three more
   devices: while out of bounds, a small pull of every territory towards its targets (moves
   slack towards the territories lacking it); *swaps* (u leaves territory t for b, v comes
   back from b: every pair on their border scored at once) for the territories most out of
   bounds; and, once a plan within bounds is known, balance is *priced* with an adaptive
   penalty (strategic oscillation, as in Bozkaya et al.): the search may leave the bounds
   for one move and re-enter with the next, and is sent back to repair (balance first) when
   it stays out too long. The best plan is always ranked lexicographically.
3. **Exact neighbourhoods** (``lns.py``, ``exact.py``): when the tabu search stagnates, pairs
   of adjacent territories are re-split by an exact MIP (HiGHS; Shirabe flow contiguity, the
   units near their common border free, balance priced), the large move that single-unit moves
   cannot make (ReCom's merge-and-split, but optimal rather than random). Small maps (at most
   ``_EXACT_MAX_PAIRS`` unit-territory pairs, cut edges only) then get the whole-map exact model
   for the last part of the budget, warm-started from the heuristic's plan: it proves the
   optimum when it can, and otherwise its dual bound is the result's ``lower_bound``.
   Cut edges are *counted* (the measure of the districting literature and of the benchmarks);
   shared boundary length only breaks ties between plans with as many cut edges.
4. **Realignment**: with a ``current`` alignment the search starts from it (units of a
   territory that no longer exists go to their neighbours, a new territory starts at a unit
   far from its territory's centre), and disruption (the units' ``move_costs``) is part of the
   objective, so balance is restored with the fewest, cheapest moves.

Contiguity and locks are hard throughout: a move that would split its donor, or move a locked
unit or a rep's home, is never made. Reported violations say which measure missed which bound
by how much, with the best plan found.
"""

import math
import time

import numpy as np
from numpy.typing import NDArray

from services.planning.design.bisect import tree_bisection
from services.planning.design.construct import (
    fill_unassigned,
    grow,
    repair_contiguity,
    spread_seeds,
)
from services.planning.design.exact import SubProblem, canonical_labels, solve_exact
from services.planning.design.graph import Graph, build_graph, stays_connected, territory_pieces
from services.planning.design.lns import adjacent_pairs, recombine, resplit
from services.planning.design.problem import DesignProblem, DesignResult, Progress, ShouldStop

_EPS = 1e-9
# Seconds between progress reports and between polls of ``should_stop``.
_REPORT_EVERY = 0.5
_POLL_EVERY = 0.2
# Weight of the pull towards the targets while a bound is missed (see ``_candidates``).
_PULL = 0.05
# Price of a unit of violation (a territory 1% out of bounds costs ~1 cut edge at 100).
_PENALTY_START, _PENALTY_MIN, _PENALTY_MAX = 100.0, 5.0, 1e7
# Seconds one exact pair re-split may take (lns.py).
_PAIR_SECONDS = 0.5
# The whole map goes to the exact model when it has at most this many unit-territory pairs,
# with this share of the time budget (after the heuristic, warm-started from its plan).
_EXACT_MAX_PAIRS, _EXACT_SHARE = 300, 0.3


class _Model:
    """The problem's arrays in the form the search scores moves with."""

    def __init__(self, problem: DesignProblem) -> None:
        self.problem = problem
        self.n = len(problem.unit_ids)
        self.k = problem.territories
        measures = np.asarray(problem.measures, dtype=float).reshape(self.n, -1)
        self.measures = measures
        self.m = measures.shape[1]
        self.coordinates = np.asarray(problem.coordinates, dtype=float).reshape(self.n, 2)
        self.graph: Graph = build_graph(
            self.n, problem.edges, problem.edge_lengths, self.coordinates
        )
        self.original_edges = len(self.graph.edges) - len(self.graph.added_edges)
        shares = (
            np.ones(self.k)
            if problem.capacities is None
            else np.asarray(problem.capacities, dtype=float)
        )
        shares = shares / shares.sum()
        totals = measures.sum(axis=0)
        self.targets = shares[:, None] * totals[None, :]  # (k, m)
        self.lower = np.full((self.k, self.m), -np.inf)
        self.upper = np.full((self.k, self.m), np.inf)
        self.balanced = np.zeros(self.m, dtype=bool)
        for j, balance in enumerate(problem.balance[: self.m]):
            if balance.tolerance is not None:
                self.lower[:, j] = self.targets[:, j] * (1 - balance.tolerance)
                self.upper[:, j] = self.targets[:, j] * (1 + balance.tolerance)
                self.balanced[j] = True
            if balance.lower is not None:
                self.lower[:, j] = balance.lower
                self.balanced[j] = True
            if balance.upper is not None:
                self.upper[:, j] = balance.upper
                self.balanced[j] = True
        mean_target = totals / max(self.k, 1)
        self.scale = np.where(mean_target > 0, mean_target, 1.0)
        # Locks: the reps' homes are locked to their territory too.
        locked = (
            np.full(self.n, -1, dtype=np.int64)
            if problem.locked is None
            else np.asarray(problem.locked, dtype=np.int64).copy()
        )
        self.lock_conflicts: list[str] = []
        self.seeds = None if problem.seeds is None else np.asarray(problem.seeds, dtype=np.int64)
        if self.seeds is not None:
            for territory, unit in enumerate(self.seeds.tolist()):
                if locked[unit] >= 0 and locked[unit] != territory:
                    self.lock_conflicts.append(
                        f"unit {problem.unit_ids[unit]} is the home of territory {territory}'s"
                        f" rep but is locked to territory {int(locked[unit])}"
                    )
                    continue
                locked[unit] = territory
        self.locked = locked
        self.movable = locked < 0
        # Objective terms, normalised so that weight 1 means: one average edge cut, or one
        # average unit moved one unit spacing (travel), or one average unit moved (disruption).
        objective = problem.objective
        extent = np.ptp(self.coordinates, axis=0) if self.n else np.zeros(2)
        area = max(float(extent[0] * extent[1]), 1.0)
        self.spacing = max(math.sqrt(area / max(self.n, 1)), 1e-9)
        first = int(np.flatnonzero(self.balanced)[0]) if self.balanced.any() else 0
        mass = measures[:, first] if self.m else np.ones(self.n)
        self.mass = mass / mass.mean() if self.m and mass.mean() > 0 else np.ones(self.n)
        self.cut_weight = (
            objective.compactness_weight if objective.compactness == "cut_edges" else 0.0
        )
        self.inertia_weight = (
            objective.compactness_weight if objective.compactness != "cut_edges" else 0.0
        )
        self.travel_weight = objective.travel_weight
        self.current = (
            None if problem.current is None else np.asarray(problem.current, dtype=np.int64).copy()
        )
        costs = (
            np.ones(self.n)
            if problem.move_costs is None
            else np.asarray(problem.move_costs, dtype=float)
        )
        self.move_costs = costs / costs.mean() if costs.mean() > 0 else costs
        self.disruption_weight = objective.disruption_weight if self.current is not None else 0.0
        self.balanced_measures = measures[:, self.balanced]
        # Relative half-width of each measure's bounds (the tightest territory's; inf: none).
        with np.errstate(divide="ignore", invalid="ignore"):
            width = (self.upper - self.lower) / (self.upper + self.lower)
        self.tolerances = np.where(np.isfinite(width) & (width > 0), width, np.inf).min(axis=0)
        self.balanced_targets = self.targets[:, self.balanced]

    # --- balance -------------------------------------------------------------------------

    def violation_rows(
        self, sums: NDArray[np.float64], rows: NDArray[np.int64]
    ) -> NDArray[np.float64]:
        """Relative excess beyond the bounds of each territory ``rows[i]`` holding ``sums[i]``."""
        over = np.maximum(sums - self.upper[rows], 0.0) + np.maximum(self.lower[rows] - sums, 0.0)
        return (over[:, self.balanced] / self.scale[self.balanced]).sum(axis=1)

    def spread_rows(
        self, sums: NDArray[np.float64], rows: NDArray[np.int64]
    ) -> NDArray[np.float64]:
        """Squared relative distance of each territory from its targets (balanced measures)."""
        gap = (sums - self.targets[rows])[:, self.balanced] / self.scale[self.balanced]
        return np.square(gap).sum(axis=1)

    def sums(self, assignment: NDArray[np.int64]) -> NDArray[np.float64]:
        totals = np.zeros((self.k, self.m))
        np.add.at(totals, assignment, self.measures)
        return totals

    # --- objective -----------------------------------------------------------------------

    def centres(self, assignment: NDArray[np.int64]) -> NDArray[np.float64]:
        if self.seeds is not None:
            return self.coordinates[self.seeds]
        weight = np.bincount(assignment, self.mass + 1e-9, minlength=self.k)
        x = np.bincount(assignment, (self.mass + 1e-9) * self.coordinates[:, 0], minlength=self.k)
        y = np.bincount(assignment, (self.mass + 1e-9) * self.coordinates[:, 1], minlength=self.k)
        safe = np.where(weight > 0, weight, 1.0)
        return np.column_stack([x / safe, y / safe])

    @property
    def uses_centres(self) -> bool:
        return self.travel_weight > 0 or self.inertia_weight > 0

    def unit_costs(
        self, units: NDArray[np.int64], territories: NDArray[np.int64], centres: NDArray[np.float64]
    ) -> NDArray[np.float64]:
        """The per-unit terms of the objective for ``units[i]`` in ``territories[i]``."""
        cost = np.zeros(len(units))
        if self.uses_centres:
            distance = np.linalg.norm(self.coordinates[units] - centres[territories], axis=1)
            distance /= self.spacing
            if self.travel_weight:
                cost += self.travel_weight * self.mass[units] * distance
            if self.inertia_weight:
                cost += self.inertia_weight * self.mass[units] * distance**2
        if self.disruption_weight and self.current is not None:
            moved = (self.current[units] >= 0) & (self.current[units] != territories)
            cost += self.disruption_weight * self.move_costs[units] * moved
        return cost

    def objective(self, assignment: NDArray[np.int64]) -> float:
        graph = self.graph
        cut = assignment[graph.edges[:, 0]] != assignment[graph.edges[:, 1]]
        value = self.cut_weight * float(graph.weights[cut].sum())
        units = np.arange(self.n)
        value += float(self.unit_costs(units, assignment, self.centres(assignment)).sum())
        return value


class _Search:
    """One tabu search state: the plan, its territory sums and sizes, the best plan seen."""

    def __init__(
        self, model: _Model, assignment: NDArray[np.int64], rng: np.random.Generator
    ) -> None:
        self.model = model
        self.rng = rng
        self.assignment = assignment.copy()
        self.assignment_list: list[int] = self.assignment.tolist()
        self.sums = model.sums(self.assignment)
        self.sizes = np.bincount(self.assignment, minlength=model.k)
        self.tabu_until = np.zeros(model.n, dtype=np.int64)
        self.iteration = 0
        self.violation = float(model.violation_rows(self.sums, np.arange(model.k)).sum())
        self.value = model.objective(self.assignment)
        self.best_assignment = self.assignment.copy()
        self.best = (self.violation, self.value)

    def _candidates(
        self, penalty: float | None
    ) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.int64], NDArray[np.bool_]]:
        """Every boundary move (unit, from, to) not forbidden, best first, and whether it
        improves: balance first then the objective (``penalty`` None), or the objective plus
        ``penalty`` times the balance violation."""
        model, graph, assignment = self.model, self.model.graph, self.assignment
        from_territory = assignment[graph.source]
        to_territory = assignment[graph.target]
        cut = from_territory != to_territory
        inside_border = np.bincount(
            graph.source[~cut], graph.directed_weights[~cut], minlength=model.n
        )
        keys = graph.source[cut] * model.k + to_territory[cut]
        unique_keys, inverse = np.unique(keys, return_inverse=True)
        border_to = np.bincount(inverse, graph.directed_weights[cut])
        units = unique_keys // model.k
        receivers = unique_keys % model.k
        donors = assignment[units]
        allowed = (
            model.movable[units]
            & (self.sizes[donors] > 1)
            & (self.tabu_until[units] <= self.iteration)
        )
        units, receivers, donors, border_to = (
            units[allowed],
            receivers[allowed],
            donors[allowed],
            border_to[allowed],
        )
        moved = model.measures[units]
        balance_delta = (
            model.violation_rows(self.sums[donors] - moved, donors)
            + model.violation_rows(self.sums[receivers] + moved, receivers)
            - model.violation_rows(self.sums[donors], donors)
            - model.violation_rows(self.sums[receivers], receivers)
        )
        if self.violation > _EPS and penalty is None:
            # While some bound is missed, also pull every territory towards its target: a
            # gradient that moves slack from where it is to the territories that lack it,
            # where the violation alone is flat (several measures, heavy units).
            balance_delta = balance_delta + _PULL * (
                model.spread_rows(self.sums[donors] - moved, donors)
                + model.spread_rows(self.sums[receivers] + moved, receivers)
                - model.spread_rows(self.sums[donors], donors)
                - model.spread_rows(self.sums[receivers], receivers)
            )
        objective_delta = model.cut_weight * (inside_border[units] - border_to)
        if model.uses_centres or model.disruption_weight:
            centres = model.centres(assignment) if model.uses_centres else np.zeros((model.k, 2))
            objective_delta += model.unit_costs(units, receivers, centres) - model.unit_costs(
                units, donors, centres
            )
        if penalty is None:
            order = np.lexsort((objective_delta, np.round(balance_delta, 12)))
            improving = (balance_delta < -_EPS) | (
                (np.abs(balance_delta) <= _EPS) & (objective_delta < -_EPS)
            )
        else:
            score = objective_delta + penalty * balance_delta
            order = np.argsort(score, kind="stable")
            improving = score < -_EPS
        return units[order], donors[order], receivers[order], improving[order]

    def _apply(self, unit: int, donor: int, receiver: int) -> None:
        self.assignment[unit] = receiver
        self.assignment_list[unit] = receiver
        row = self.model.measures[unit]
        self.sums[donor] -= row
        self.sums[receiver] += row
        self.sizes[donor] -= 1
        self.sizes[receiver] += 1

    def step(
        self, tenure: int, batch: int, *, worsening: bool = True, penalty: float | None = None
    ) -> bool:
        """One iteration; False when no move was made (none possible, or with
        ``worsening=False``, none improving)."""
        self.iteration += 1
        units, donors, receivers, improving = self._candidates(penalty)
        if not len(units):
            return False
        touched: set[int] = set()
        applied = 0
        neighbours = self.model.graph.neighbours
        if not improving[0] and not worsening:
            return False
        limit = batch if improving[0] else 1
        for index in range(len(units)):
            if applied >= limit or (applied and not improving[index]):
                break
            donor, receiver = int(donors[index]), int(receivers[index])
            if donor in touched or receiver in touched:
                continue
            unit = int(units[index])
            if not stays_connected(unit, donor, self.assignment_list, neighbours):
                continue
            self._apply(unit, donor, receiver)
            self.tabu_until[unit] = self.iteration + tenure + int(self.rng.integers(tenure + 1))
            touched.update((donor, receiver))
            applied += 1
            if applied == 1 and limit == 1:
                break
        if not applied:
            return False
        self.violation = float(self.model.violation_rows(self.sums, np.arange(self.model.k)).sum())
        self.value = self.model.objective(self.assignment)
        return True

    def swap_step(self, tries: int = 3) -> bool:
        """Balance by exchange, where no single move helps (several measures, heavy units):
        for the territories most out of bounds, the pair (u leaves for a neighbour b, v comes
        back from b) that most reduces the violation, both moves keeping contiguity."""
        model, graph, assignment = self.model, self.model.graph, self.assignment
        per_territory = model.violation_rows(self.sums, np.arange(model.k))
        source_territory = assignment[graph.source]
        target_territory = assignment[graph.target]
        for territory in np.argsort(-per_territory)[:tries].tolist():
            if per_territory[territory] <= _EPS:
                break
            leaving = (source_territory == territory) & (target_territory != territory)
            for neighbour in np.unique(target_territory[leaving]).tolist():
                border = leaving & (target_territory == neighbour)
                outgoing = np.unique(graph.source[border])
                incoming = np.unique(graph.target[border])
                outgoing = outgoing[model.movable[outgoing]]
                incoming = incoming[model.movable[incoming]]
                if not len(outgoing) or not len(incoming):
                    continue
                u, v = np.meshgrid(outgoing, incoming, indexing="ij")
                u, v = u.ravel(), v.ravel()
                change = model.measures[v] - model.measures[u]
                rows_t = np.full(len(u), territory)
                rows_b = np.full(len(u), neighbour)
                delta = (
                    model.violation_rows(self.sums[territory] + change, rows_t)
                    + model.violation_rows(self.sums[neighbour] - change, rows_b)
                    - per_territory[territory]
                    - per_territory[neighbour]
                )
                for index in np.argsort(delta)[:20].tolist():
                    if delta[index] >= -_EPS:
                        break
                    if self._try_swap(int(u[index]), int(v[index]), territory, neighbour):
                        self.violation = float(
                            model.violation_rows(self.sums, np.arange(model.k)).sum()
                        )
                        self.value = model.objective(self.assignment)
                        return True
        return False

    def _try_swap(self, unit: int, other: int, territory: int, neighbour: int) -> bool:
        neighbours = self.model.graph.neighbours
        if self.sizes[territory] < 2 or not stays_connected(
            unit, territory, self.assignment_list, neighbours
        ):
            return False
        self._apply(unit, territory, neighbour)
        joins = any(self.assignment_list[w] == territory for w in neighbours[other])
        if joins and stays_connected(other, neighbour, self.assignment_list, neighbours):
            self._apply(other, neighbour, territory)
            return True
        self._apply(unit, neighbour, territory)
        return False

    def record_if_best(self) -> bool:
        score = (round(self.violation, 12), self.value)
        best = (round(self.best[0], 12), self.best[1])
        if score[0] < best[0] or (score[0] == best[0] and score[1] < best[1] - _EPS):
            self.best = (self.violation, self.value)
            self.best_assignment = self.assignment.copy()
            return True
        return False

    def restart_from_best(self, kick: int) -> None:
        """Back to the best plan, then ``kick`` random contiguity-keeping boundary moves."""
        self.assignment = self.best_assignment.copy()
        self.assignment_list = self.assignment.tolist()
        self.sums = self.model.sums(self.assignment)
        self.sizes = np.bincount(self.assignment, minlength=self.model.k)
        graph = self.model.graph
        for _ in range(kick):
            cut = np.flatnonzero(self.assignment[graph.source] != self.assignment[graph.target])
            if not len(cut):
                break
            edge = int(self.rng.choice(cut))
            unit, receiver = int(graph.source[edge]), int(self.assignment[graph.target[edge]])
            donor = int(self.assignment[unit])
            if (
                self.model.movable[unit]
                and self.sizes[donor] > 1
                and stays_connected(unit, donor, self.assignment_list, graph.neighbours)
            ):
                self._apply(unit, donor, receiver)
                self.tabu_until[unit] = self.iteration + 3
        self.violation = float(self.model.violation_rows(self.sums, np.arange(self.model.k)).sum())
        self.value = self.model.objective(self.assignment)


def solve(
    problem: DesignProblem,
    *,
    progress: Progress | None = None,
    should_stop: ShouldStop | None = None,
) -> DesignResult:
    """Search for the best plan within ``problem.time_limit_seconds``; see the module text."""
    started = time.monotonic()
    model = _Model(problem)
    rng = np.random.default_rng(problem.random_seed)
    deadline = started + max(problem.time_limit_seconds, 0.0)
    if model.k < 1 or model.n < model.k:
        assignment = np.zeros(model.n, dtype=np.int64) if model.k >= 1 else np.full(model.n, -1)
        result = _result(model, np.clip(assignment, 0, None), started, 0)
        result.feasible = False
        result.violations.insert(
            0,
            f"{model.k} territories were asked of {model.n} units: every territory needs at"
            " least one unit; ask for fewer territories",
        )
        return result

    stopper = _Stopper(should_stop, deadline)
    reporter = _Reporter(progress, model, started, deadline)

    starts = _starting_plans(model, rng, stopper)
    best_search: _Search | None = None
    iterations = 0
    fresh_design = model.current is None or model.disruption_weight == 0
    # Multistart: each start searched by descent with a share of the time; the best goes on.
    share = (deadline - time.monotonic()) * (0.4 if fresh_design else 1.0) / max(len(starts), 1)
    for assignment in starts:
        search = _Search(model, assignment, rng)
        start_deadline = time.monotonic() + share
        stale = 0
        while not stopper.stop(limit=start_deadline):
            if not search.step(tenure=0, batch=max(1, model.k // 2), worsening=False) and not (
                search.violation > _EPS and search.swap_step()
            ):
                break
            # The pull towards the targets can circle on a plateau: stop when the plan itself
            # (violation, then objective) has not improved for a while.
            stale = 0 if search.record_if_best() else stale + 1
            if stale > 50:
                break
            iterations += 1
            reporter.report(search.best_assignment, iterations)
        if best_search is None or _better(search.best, best_search.best):
            best_search = search
        if not fresh_design:
            break
        if stopper.stop():
            break
    assert best_search is not None
    exact = (
        fresh_design
        and model.k > 1
        and model.n * model.k <= _EXACT_MAX_PAIRS
        and model.cut_weight > 0
        and not model.uses_centres
    )
    tabu_deadline = deadline
    if exact:
        tabu_deadline = time.monotonic() + (deadline - time.monotonic()) * (1 - _EXACT_SHARE)
    iterations += _tabu(model, best_search, _Stopper(should_stop, tabu_deadline), reporter)
    best = best_search.best_assignment
    lower_bound = None
    left = deadline - time.monotonic()
    if exact and left > 0.2 and not stopper.stop():
        plan, lower_bound = _exact_whole(model, best, left, stopper.stop)
        if plan is not None:
            candidate = _Search(model, plan, rng)
            if _better(candidate.best, best_search.best):
                best = plan
    result = _result(model, best, started, iterations)
    if lower_bound is not None:
        result.lower_bound = min(lower_bound, float(result.cut_edges))
    return result


def _better(a: tuple[float, float], b: tuple[float, float]) -> bool:
    return round(a[0], 12) < round(b[0], 12) or (
        round(a[0], 12) == round(b[0], 12) and a[1] < b[1] - _EPS
    )


def _tabu(
    model: _Model,
    search: _Search,
    stopper: "_Stopper",
    reporter: "_Reporter",
    *,
    converge: bool = True,
) -> int:
    """Iterated tabu search from the best plan until the time budget or a stop, with rounds of
    exact pair re-splits (lns.py) at every stagnation and at least every few seconds."""
    search.restart_from_best(kick=0)
    search.tabu_until[:] = 0
    base_tenure = max(3, min(20, int(math.sqrt(model.n) / 2)))
    patience = max(100, 4 * int(math.sqrt(model.n) * model.k))
    since_best = 0
    iterations = 0
    last_improvement = time.monotonic()
    budget = reporter.deadline - reporter.started
    lns = _PairSearch(model, search.rng)
    # Exact pair re-splits at a stagnation of the tabu search, at most every ``lns_every``.
    lns_every = max(1.0, 0.1 * budget)
    next_lns = time.monotonic()
    # Adaptive penalty (strategic oscillation): balance is priced, not lexicographic, so the
    # search may step out of the bounds for a move and back in with the next (a swap in two
    # moves); the price rises while the plan is out of bounds and falls while it is in.
    penalty = _PENALTY_START
    out_of_bounds, repair_after = 0, 20 + model.k
    while not stopper.stop():
        now = time.monotonic()
        stalled = since_best >= patience or now - last_improvement > lns_every
        if model.k > 1 and stalled and now >= next_lns:
            # Stagnation: a round of exact re-splits of adjacent pairs from the best plan
            # before the random kick.
            search.restart_from_best(kick=0)
            slice_end = min(reporter.deadline, now + 0.3 * lns_every)
            improved = lns.round(search, stopper, slice_end)
            next_lns = time.monotonic() + lns_every
            if search.record_if_best() or improved:
                since_best = 0
                last_improvement = time.monotonic()
                continue
        # Out of bounds for long: repair with balance first (and the pull towards the
        # targets) from where the search is, then price balance again.
        # Until a plan within bounds is found, balance comes first outright.
        priced = penalty if search.best[0] <= _EPS and out_of_bounds < repair_after else None
        repaired = priced is None and search.violation > _EPS and search.swap_step()
        if not repaired and not search.step(
            tenure=base_tenure, batch=max(1, model.k // 2), penalty=priced
        ):
            search.restart_from_best(kick=max(2, model.k))
        iterations += 1
        if search.violation > _EPS:
            penalty = min(penalty * 1.05, _PENALTY_MAX)
            out_of_bounds += 1
        else:
            penalty = max(penalty / 1.05, _PENALTY_MIN)
            out_of_bounds = 0
        if search.record_if_best():
            since_best = 0
            last_improvement = time.monotonic()
        else:
            since_best += 1
        reporter.report(search.best_assignment, iterations)
        if since_best >= patience and (model.k == 1 or time.monotonic() < next_lns):
            search.restart_from_best(kick=int(search.rng.integers(2, 2 + max(3, model.k))))
            since_best = 0
        # Converged: a feasible plan unimproved for half the time budget.
        now = time.monotonic()
        if converge and search.best[0] <= _EPS and now - last_improvement > max(2.0, 0.5 * budget):
            break
    search.restart_from_best(kick=0)
    return iterations


class _PairSearch:
    """Chooses the pairs of adjacent territories to re-split exactly: the most out of bounds
    first while a bound is missed, else at random weighted by their common border; a pair
    that did not improve is not tried again until one of its two territories changes."""

    def __init__(self, model: _Model, rng: np.random.Generator) -> None:
        self.model = model
        self.rng = rng
        self.failed: dict[tuple[int, int], int] = {}

    def _signature(self, search: _Search, first: int, second: int) -> int:
        members = np.flatnonzero((search.assignment == first) | (search.assignment == second))
        return hash((members.tobytes(), (search.assignment[members] == first).tobytes()))

    def _pairs(self, search: _Search) -> list[tuple[int, int]]:
        model = self.model
        pairs = adjacent_pairs(search.assignment, model.graph.edges, model.k)
        if not len(pairs):
            return []
        if search.violation > _EPS:
            per_territory = model.violation_rows(search.sums, np.arange(model.k))
            score = per_territory[pairs[:, 0]] + per_territory[pairs[:, 1]]
            score = score + 1e-6 * self.rng.random(len(pairs))
            order = np.argsort(-score)
        else:
            weight = pairs[:, 2].astype(float)
            keys = self.rng.random(len(pairs)) ** (1.0 / weight)
            order = np.argsort(-keys)
        return [(int(pairs[i, 0]), int(pairs[i, 1])) for i in order]

    def round(self, search: _Search, stopper: "_Stopper", until: float) -> bool:
        improved = False
        for first, second in self._pairs(search):
            if stopper.stop(limit=until):
                break
            signature = self._signature(search, first, second)
            if self.failed.get((first, second)) == signature:
                continue
            left = until - time.monotonic()
            if left < 0.05:
                break
            if recombine(search, first, second, deadline=until) or resplit(
                search,
                first,
                second,
                time_limit=min(left, _PAIR_SECONDS),
                should_stop=stopper.stop,
            ):
                improved = True
                search.record_if_best()
            else:
                self.failed[(first, second)] = signature
        return improved


def _exact_whole(
    model: _Model,
    assignment: NDArray[np.int64],
    seconds: float,
    should_stop: ShouldStop | None = None,
) -> tuple[NDArray[np.int64] | None, float | None]:
    """The exact model of the whole map warm-started from ``assignment``: a better plan if it
    finds one, and the proven lower bound on the cut edges."""
    interchangeable = (
        model.seeds is None
        and not (model.locked >= 0).any()
        and np.allclose(model.lower, model.lower[:1])
        and np.allclose(model.upper, model.upper[:1])
    )
    start = canonical_labels(assignment, model.k) if interchangeable else assignment
    sub = SubProblem(
        n=model.n,
        k=model.k,
        edges=model.graph.edges,
        weights=model.graph.weights,
        measures=model.balanced_measures,
        lower=model.lower[:, model.balanced],
        upper=model.upper[:, model.balanced],
        scale=model.scale[model.balanced],
        locked=model.locked,
        interchangeable=interchangeable,
    )
    result = solve_exact(sub, time_limit=seconds, start=start, should_stop=should_stop)
    bound = None
    if result.bound is not None:
        # The weights are 1 per edge plus tie-breaks below 0.5 in all: a bound on the count.
        bound = float(max(0, math.ceil(result.bound - 0.5 - 1e-6)))
    return result.assignment, bound


def _starting_plans(
    model: _Model, rng: np.random.Generator, stopper: "_Stopper"
) -> list[NDArray[np.int64]]:
    plans: list[NDArray[np.int64]] = []
    if model.current is not None and (model.current >= 0).any():
        plans.append(_from_current(model, rng))
        if model.disruption_weight > 0:
            return plans
    if model.balanced.any() and model.k > 1:
        # Recursive spanning-tree bisection balanced on every measure (bisect.py): the start
        # that holds several measures; a fifth of the budget at most.
        share = 0.2 * max(stopper.deadline - time.monotonic(), 0.0)
        plan = tree_bisection(
            model.graph,
            model.balanced_measures,
            model.balanced_targets,
            model.tolerances[model.balanced],
            model.locked,
            rng,
            deadline=time.monotonic() + share,
        )
        if plan is not None:
            plans.append(plan)
    starts = 1 if model.seeds is not None else max(1, min(8, 20_000 // max(model.n, 1)))
    if plans:  # the bisection start usually wins: fewer grown ones, more time for each
        starts = min(starts, 3)
    for _ in range(starts):
        plans.append(_constructed(model, rng))
        if stopper.stop():
            break
    return plans


def _anchor_seeds(model: _Model, rng: np.random.Generator) -> NDArray[np.int64]:
    fixed: dict[int, int] = {}
    if model.seeds is not None:
        fixed = dict(enumerate(model.seeds.tolist()))
    else:
        for territory in range(model.k):
            units = np.flatnonzero(model.locked == territory)
            if len(units):
                fixed[territory] = int(units[0])
    return spread_seeds(model.coordinates, model.k, fixed, rng, model.movable)


def _constructed(model: _Model, rng: np.random.Generator) -> NDArray[np.int64]:
    seeds = _anchor_seeds(model, rng)
    weights = model.balanced_measures if model.balanced.any() else np.ones((model.n, 1))
    targets = (
        model.balanced_targets if model.balanced.any() else np.full((model.k, 1), model.n / model.k)
    )
    assignment = grow(model.graph, model.coordinates, weights, targets, seeds, model.locked, rng)
    repair_contiguity(model.graph, assignment, seeds, model.locked)
    return assignment


def _from_current(model: _Model, rng: np.random.Generator) -> NDArray[np.int64]:
    """The current alignment made a valid start: units of territories that no longer exist go
    to their neighbours' territory, a new territory starts at a unit far from the centre of the
    largest one, and stray pieces are joined."""
    assert model.current is not None
    assignment = model.current.copy()
    assignment[(assignment < 0) | (assignment >= model.k)] = -1
    locked = model.locked >= 0
    assignment[locked] = model.locked[locked]
    fill_unassigned(model.graph, assignment)
    assignment[assignment < 0] = 0
    anchors = np.full(model.k, -1, dtype=np.int64)
    count, labels = territory_pieces(model.n, model.graph.edges, assignment)
    piece_sizes = np.bincount(labels, minlength=count)
    for territory in range(model.k):
        if model.seeds is not None:
            anchors[territory] = model.seeds[territory]
            continue
        units = np.flatnonzero(assignment == territory)
        if len(units):
            anchors[territory] = units[np.argmax(piece_sizes[labels[units]])]
    for new_territory in np.flatnonzero(anchors < 0).tolist():
        sizes = np.bincount(assignment, minlength=model.k)
        largest = int(np.argmax(sizes))
        candidates = (assignment == largest) & model.movable
        candidates[anchors[anchors >= 0]] = False  # the donor keeps its own anchor
        units = np.flatnonzero(candidates)
        if not len(units):  # the largest is one unit: any free unit will do
            spare = model.movable.copy()
            spare[anchors[anchors >= 0]] = False
            units = np.flatnonzero(spare)[:1]
        centre = model.coordinates[units].mean(axis=0)
        far = units[np.argmax(np.linalg.norm(model.coordinates[units] - centre, axis=1))]
        assignment[far] = new_territory
        anchors[new_territory] = far
    assignment[anchors] = np.arange(model.k)
    repair_contiguity(model.graph, assignment, anchors, model.locked)
    return assignment


class _Stopper:
    def __init__(self, should_stop: ShouldStop | None, deadline: float) -> None:
        self.should_stop = should_stop
        self.deadline = deadline
        self.next_poll = 0.0
        self.stopped = False

    def stop(self, limit: float | None = None) -> bool:
        now = time.monotonic()
        if self.stopped or now >= self.deadline or (limit is not None and now >= limit):
            return True
        if self.should_stop is not None and now >= self.next_poll:
            self.next_poll = now + _POLL_EVERY
            self.stopped = bool(self.should_stop())
        return self.stopped


class _Reporter:
    def __init__(
        self, progress: Progress | None, model: _Model, started: float, deadline: float
    ) -> None:
        self.progress = progress
        self.model = model
        self.started = started
        self.deadline = deadline
        self.next_report = started + _REPORT_EVERY

    def report(self, assignment: NDArray[np.int64], iterations: int) -> None:
        now = time.monotonic()
        if self.progress is None or now < self.next_report:
            return
        self.next_report = now + _REPORT_EVERY
        fraction = min(0.99, (now - self.started) / max(self.deadline - self.started, 1e-9))
        self.progress(fraction, _result(self.model, assignment, self.started, iterations))


def _result(
    model: _Model, assignment: NDArray[np.int64], started: float, iterations: int
) -> DesignResult:
    problem = model.problem
    sums = model.sums(assignment)
    safe = np.where(model.targets > 0, model.targets, 1.0)
    deviation = np.where(model.targets > 0, (sums - model.targets) / safe, 0.0)
    max_deviation = np.abs(deviation).max(axis=0) if model.k else np.zeros(model.m)
    violations = list(model.lock_conflicts)
    locked = model.locked >= 0
    broken_locks = np.flatnonzero(locked & (assignment != model.locked))
    for unit in broken_locks[:5].tolist():
        violations.append(
            f"locked unit {problem.unit_ids[unit]} could not be kept in territory"
            f" {int(model.locked[unit])}: no contiguous territory joins it to its other units"
        )
    count, labels = territory_pieces(model.n, model.graph.edges, assignment)
    pieces = np.array([len(np.unique(labels[assignment == t])) for t in range(model.k)])
    for territory in np.flatnonzero(pieces > 1)[:5].tolist():
        violations.append(
            f"territory {territory} is in {int(pieces[territory])} pieces: its locked units"
            " cannot be joined without crossing another territory's locked units"
        )
    for territory in np.flatnonzero(pieces == 0)[:5].tolist():
        violations.append(f"territory {territory} has no units")
    violations.extend(_balance_violations(model, sums))
    edges = model.graph.edges[: model.original_edges]
    cut_edges = int((assignment[edges[:, 0]] != assignment[edges[:, 1]]).sum())
    moved = 0
    if model.current is not None:
        moved = int(((model.current >= 0) & (model.current != assignment)).sum())
    return DesignResult(
        assignment=assignment.copy(),
        feasible=not violations,
        violations=violations,
        deviation=deviation,
        max_relative_deviation=max_deviation,
        cut_edges=cut_edges,
        moved_units=moved,
        objective_value=model.objective(assignment),
        elapsed_seconds=time.monotonic() - started,
        iterations=iterations,
    )


def _balance_violations(model: _Model, sums: NDArray[np.float64]) -> list[str]:
    messages: list[str] = []
    for j in np.flatnonzero(model.balanced).tolist():
        balance = model.problem.balance[j]
        over = sums[:, j] - model.upper[:, j]
        under = model.lower[:, j] - sums[:, j]
        rule = (
            f"±{balance.tolerance:.1%} of its target"
            if balance.tolerance is not None
            else "its bounds"
        )
        bad = np.flatnonzero((over > _EPS * model.scale[j]) | (under > _EPS * model.scale[j]))
        if not len(bad):
            continue
        worst = int(bad[np.argmax(np.maximum(over[bad], under[bad]))])
        if over[worst] > under[worst]:
            detail = (
                f"{sums[worst, j]:,.6g} is {over[worst]:,.6g} above its upper bound"
                f" {model.upper[worst, j]:,.6g}"
            )
        else:
            detail = (
                f"{sums[worst, j]:,.6g} is {under[worst]:,.6g} below its lower bound"
                f" {model.lower[worst, j]:,.6g}"
            )
        messages.append(
            f"measure {balance.name!r} could not be balanced within {rule} in"
            f" {len(bad)} of {model.k} territories; the worst, territory {worst}, at {detail}."
            " Widen the tolerance, allow more time, or unlock units"
        )
    return messages
