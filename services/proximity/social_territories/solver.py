"""Social territories as an optimisation: accounts to reps, maximising total proximity under
per-rep capacity and balance. Pure numpy / OR-Tools / HiGHS, no I/O, so the job, the tests and
the benchmark run the same code.

- Arcs: each account's top-K reps by score (one ``argpartition`` over the dense score matrix),
  its current rep, and a few spread "fallback" reps so that the balance bounds can be met; all
  built as arrays, deduplicated by ``account · R + rep`` codes (never a per-arc Python call).
- Balance by accounts: a min-cost flow (OR-Tools ``SimpleMinCostFlow``, array API). Rep bounds
  [min, max] are node demands plus arcs of capacity ``max - min``; an overflow node with a
  penalty larger than any total proximity keeps it feasible whatever the candidates (without a
  distance limit), so the solver minimises fallback first and proximity second.
- Balance by potential: a MIP on HiGHS (``scipy.optimize.milp``) over the same arcs, its LP
  relaxation (``linprog``) giving the rep prices.
- The bound: weak LP duality on the FULL problem (every account × every allowed rep, not just
  the candidate arcs): for any rep prices π (and potential prices), ``Σ_a max_r (S[a,r] - π_r)
  + Σ_r π_r⁺·max_r - π_r⁻·min_r`` bounds every feasible assignment's total from above. Prices
  come from the solution's complementary slackness (a longest-path pass over the 200 × 200 rep
  exchange graph) or the LP's duals. When the bound meets the solution, the solution is proven
  optimal for the whole matrix, not only for the top-K arcs.
"""

import time
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import numpy.typing as npt
from ortools.graph.python import min_cost_flow
from scipy import sparse
from scipy.optimize import Bounds, LinearConstraint, linprog, milp

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

# Scores are given to 6 decimals (the rankings' rounding): integral costs lose nothing.
COST_SCALE = 1_000_000
FALLBACK_ARCS = 4
UNASSIGNED = -1


class InfeasibleProblem(Exception):
    """No assignment meets the bounds with the allowed reps (said in words)."""


@dataclass(frozen=True, slots=True)
class Problem:
    """Accounts (rows) × reps (columns).

    ``lower``/``upper``: per rep, bounds on the balanced measure (accounts, or potential);
    ``capacity``: per rep, the most accounts; ``allowed``: reps an account may go to (the
    distance limit), None for all; ``potential``: per account, when balance is by potential."""

    scores: FloatArray
    current: IntArray
    capacity: IntArray
    lower: FloatArray
    upper: FloatArray
    balance_by: Literal["accounts", "potential"] = "accounts"
    potential: FloatArray | None = None
    allowed: BoolArray | None = None
    top_k: int = 10
    time_limit_seconds: float = 60.0
    mip_relative_gap: float = 1e-4


@dataclass(slots=True)
class Solution:
    rep_of: IntArray  # per account: rep column, or UNASSIGNED
    total: float
    method: str
    status: str
    arcs: int
    fallback_accounts: int  # placed through the overflow (no candidate arc had room)
    bound: float | None  # upper bound on the full problem's total (None: not computed)
    proven_optimal: bool
    candidate_bound: float | None = None  # HiGHS's MIP bound over the candidate arcs
    prices: FloatArray | None = None  # per rep: the duals of the reps' bounds (flow only)
    seconds: dict[str, float] = field(default_factory=dict)

    @property
    def gap(self) -> float | None:
        if self.bound is None:
            return None
        return max(0.0, self.bound - self.total) / max(self.bound, 1e-12)


def _allowed_scores(problem: Problem) -> FloatArray:
    """Scores with the disallowed pairs at -1 (never a candidate)."""
    if problem.allowed is None:
        return problem.scores
    return np.where(problem.allowed, problem.scores, -1.0)


def candidate_arcs(problem: Problem, prices: FloatArray | None = None) -> tuple[IntArray, IntArray]:
    """(account, rep) arrays: top-K by score (score > 0), top-K by score less the reps'
    estimated ``prices`` (where capacity pushes accounts), the current rep, and fallback reps
    spread over all reps (or random allowed ones under a distance limit); unique pairs."""
    accounts, reps = problem.scores.shape
    masked = _allowed_scores(problem)
    k = min(problem.top_k, reps)
    parts_account: list[IntArray] = []
    parts_rep: list[IntArray] = []
    if k > 0 and accounts:
        top = np.argpartition(-masked, k - 1, axis=1)[:, :k]
        rows = np.repeat(np.arange(accounts), k)
        columns = top.ravel()
        keep = masked[rows, columns] > 0
        parts_account.append(rows[keep])
        parts_rep.append(columns[keep])
        if prices is not None:
            priced = np.where(masked >= 0, masked - prices[None, :], -np.inf)
            top = np.argpartition(-priced, k - 1, axis=1)[:, :k]
            columns = top.ravel()
            keep = np.isfinite(priced[rows, columns])
            parts_account.append(rows[keep])
            parts_rep.append(columns[keep])
    owned = np.flatnonzero(problem.current >= 0)
    if problem.allowed is not None:
        owned = owned[problem.allowed[owned, problem.current[owned]]]
    parts_account.append(owned)
    parts_rep.append(problem.current[owned])
    spread = min(FALLBACK_ARCS, reps)
    if spread and accounts:
        if problem.allowed is None:
            step = max(reps // spread, 1)
            offsets = np.arange(spread) * step
            rows = np.repeat(np.arange(accounts), spread)
            columns = (rows + np.tile(offsets, accounts)) % reps
        else:
            # Random allowed reps: a fixed seed, so a rerun gives the same arcs.
            keys = np.random.default_rng(7).random((accounts, reps), dtype=np.float32)
            keys[~problem.allowed] = -1.0
            top = np.argpartition(-keys, spread - 1, axis=1)[:, :spread]
            rows = np.repeat(np.arange(accounts), spread)
            columns = top.ravel()
            keep = keys[rows, columns] >= 0
            rows, columns = rows[keep], columns[keep]
        parts_account.append(rows)
        parts_rep.append(columns)
    codes = _unique(
        np.concatenate(parts_account).astype(np.int64) * reps
        + np.concatenate(parts_rep).astype(np.int64)
    )
    return codes // reps, codes % reps


def _unique(codes: IntArray) -> IntArray:
    """Sorted distinct values: a sort and a comparison (numpy 2's hash-based ``unique`` took
    3.4 s on 1.6M arc codes here, this ~0.1 s)."""
    codes = np.sort(codes)
    first = np.ones(len(codes), dtype=bool)
    first[1:] = codes[1:] != codes[:-1]
    return codes[first]


def check_feasible(*, accounts: int, lower: FloatArray, upper: FloatArray, total: float) -> None:
    """The bounds alone: each rep's min ≤ max, and Σ min ≤ total ≤ Σ max."""
    bad = np.flatnonzero(lower > upper + 1e-9)
    if len(bad):
        raise InfeasibleProblem(
            f"{len(bad)} rep(s) have a minimum above their maximum (capacity below the balance "
            "minimum): raise their capacity or widen the balance tolerance"
        )
    if float(upper.sum()) + 1e-9 < total:
        raise InfeasibleProblem(
            f"the reps' maxima add up to {float(upper.sum()):g} but the {accounts} accounts "
            f"need {total:g}: raise capacity, add reps or widen the balance tolerance"
        )
    if float(lower.sum()) - 1e-9 > total:
        raise InfeasibleProblem(
            f"the reps' minima add up to {float(lower.sum()):g}, more than the {total:g} of the "
            f"{accounts} accounts: lower the minimum or widen the balance tolerance"
        )


def count_bounds(problem: Problem) -> tuple[IntArray, IntArray]:
    """Per rep, the accounts it must and may take: balance bounds (accounts) ∩ capacity."""
    upper = np.minimum(problem.capacity, np.floor(problem.upper + 1e-9)).astype(np.int64)
    if problem.balance_by == "accounts":
        lower = np.ceil(problem.lower - 1e-9).astype(np.int64)
    else:
        lower = np.zeros(len(upper), dtype=np.int64)
        upper = problem.capacity.astype(np.int64)
    return np.maximum(lower, 0), upper


def solve(problem: Problem) -> Solution:
    if problem.balance_by == "accounts":
        return _solve_flow(problem)
    return _solve_mip(problem)


# Rounds of pricing: arcs the full matrix's prices show are missing are added, and re-solved.
PRICING_ROUNDS = 6
ARCS_ADDED_PER_ACCOUNT = 3
# Above this many accounts, the reps' prices are first estimated on a random sample of them
# (bounds scaled down), so the first candidate arcs already point where capacity sends the
# accounts and pricing needs a round or two rather than five (measured on 50,000 × 200).
PRICE_SAMPLE = 5_000
# Up to this many arcs HiGHS solves the whole MIP (exact on the candidates; seconds); above,
# the LP's integral choices are kept and only its fractional accounts go to the MIP (measured
# on 2,000 × 200: the whole MIP stopped at 30 s with a 36% gap, this 0.2% in 12 s).
EXACT_MIP_ARCS = 20_000


def _solve_flow(problem: Problem) -> Solution:
    """Min-cost flow on the candidate arcs, then the bound from the solution's prices over the
    full matrix; while it is not met, the accounts' best arcs at those prices are added and
    the flow solved again (column generation, at most ``PRICING_ROUNDS`` times)."""
    started = time.perf_counter()
    accounts, reps = problem.scores.shape
    lower, upper = count_bounds(problem)
    has_allowed = (
        np.ones(accounts, dtype=bool) if problem.allowed is None else problem.allowed.any(axis=1)
    )
    check_feasible(
        accounts=accounts,
        lower=lower.astype(float),
        upper=upper.astype(float),
        total=float(accounts),
    )
    estimate = _sample_prices(problem, lower, upper)
    seconds = {"sample": time.perf_counter() - started}
    # Accounts no rep reaches score 0 anywhere: interchangeable, so one node supplies them all
    # (arcs to every rep) instead of an arc set each, which left the flow and the pricing
    # with thousands of equal-cost moves (measured on the bench graph: a third of the accounts
    # have no contact a rep reaches within 3 hops). Not under a distance limit: each has its own.
    filler = np.zeros(accounts, dtype=bool)
    if problem.allowed is None:
        filler = problem.scores.max(axis=1, initial=0.0) <= 0
    arc_account, arc_rep = candidate_arcs(problem, estimate)
    scored = ~filler[arc_account]
    arc_account, arc_rep = arc_account[scored], arc_rep[scored]
    seconds |= {"arcs": time.perf_counter() - started - seconds["sample"], "solve": 0.0}
    seconds["bound"] = 0.0
    rounds = 0
    while True:
        rounds += 1
        solve_started = time.perf_counter()
        rep_of, fallback, arcs = _flow(problem, arc_account, arc_rep, lower, upper, filler)
        seconds["solve"] += time.perf_counter() - solve_started
        total = _total(problem.scores, rep_of)
        solution = Solution(
            rep_of=rep_of,
            total=total,
            method="min_cost_flow",
            status="optimal",
            arcs=arcs,
            fallback_accounts=fallback,
            bound=None,
            proven_optimal=False,
            seconds=seconds,
        )
        if (rep_of[has_allowed] == UNASSIGNED).any():
            return solution  # the full problem has no feasible point to bound
        bound_started = time.perf_counter()
        # The restricted problem's optimal prices (its duals), then every pair of the full
        # matrix priced with them: the bound, and the arcs worth adding (positive reduced score).
        prices = _rep_prices(problem, rep_of, lower, upper, arcs=(arc_account, arc_rep))
        solution.prices = prices
        reduced = _allowed_scores(problem) - prices[None, :]
        if problem.allowed is not None:
            reduced = np.where(problem.allowed, reduced, -np.inf)
        solution.bound = _bound(problem, reduced, prices, lower, upper)
        solution.proven_optimal = solution.bound - total <= 1e-6 * max(1.0, abs(total))
        seconds["bound"] += time.perf_counter() - bound_started
        if solution.proven_optimal or rounds > PRICING_ROUNDS:
            seconds["pricing_rounds"] = float(rounds - 1)
            return solution
        placed = rep_of >= 0
        own = np.full(accounts, np.inf)
        own[placed] = reduced[np.flatnonzero(placed), rep_of[placed]]
        best = np.argpartition(-reduced, ARCS_ADDED_PER_ACCOUNT - 1, axis=1)[
            :, :ARCS_ADDED_PER_ACCOUNT
        ]
        rows = np.repeat(np.arange(accounts), ARCS_ADDED_PER_ACCOUNT)
        columns = best.ravel()
        keep = (reduced[rows, columns] > own[rows] + 1e-9) & ~filler[rows]
        codes = _unique(
            np.concatenate((arc_account * reps + arc_rep, rows[keep] * reps + columns[keep]))
        )
        if len(codes) == len(arc_account):
            seconds["pricing_rounds"] = float(rounds - 1)
            return solution
        arc_account, arc_rep = codes // reps, codes % reps


def _sample_prices(problem: Problem, lower: IntArray, upper: IntArray) -> FloatArray | None:
    """The reps' prices on a random sample of the accounts with proportionally scaled bounds
    (rounded outward, so the sample stays feasible); None for a small problem."""
    accounts, reps = problem.scores.shape
    if accounts <= 2 * PRICE_SAMPLE:
        return None
    sample = np.sort(np.random.default_rng(11).choice(accounts, PRICE_SAMPLE, replace=False))
    share = PRICE_SAMPLE / accounts
    sub_upper = np.ceil(upper * share).astype(np.int64)
    smaller = Problem(
        scores=problem.scores[sample],
        current=problem.current[sample],
        capacity=sub_upper,
        lower=np.floor(lower * share),
        upper=sub_upper.astype(np.float64),
        allowed=None if problem.allowed is None else problem.allowed[sample],
        top_k=problem.top_k,
    )
    try:
        return _solve_flow(smaller).prices
    except InfeasibleProblem:
        return None


def _flow(
    problem: Problem,
    arc_account: IntArray,
    arc_rep: IntArray,
    lower: IntArray,
    upper: IntArray,
    filler: BoolArray,
) -> tuple[IntArray, int, int]:
    """The min-cost flow on these arcs: (rep per account, accounts through the overflow, arcs).
    ``filler`` accounts (no score anywhere) come from one node, then are handed out by count."""
    accounts, reps = problem.scores.shape
    sink = accounts + reps
    overflow = sink + 1
    filler_node = sink + 2
    fillers = np.flatnonzero(filler)
    penalty = (accounts + 1) * COST_SCALE
    solver = min_cost_flow.SimpleMinCostFlow()
    arc_score = np.round(problem.scores[arc_account, arc_rep] * COST_SCALE).astype(np.int64)
    account_nodes = np.arange(accounts, dtype=np.int64)
    rep_nodes = accounts + np.arange(reps, dtype=np.int64)
    # Without a distance limit the overflow reaches every rep: a placement always exists. With
    # one, it reaches none: an account no allowed rep can take stays unassigned (said so).
    overflow_reaches = problem.allowed is None
    tails = [arc_account, account_nodes]
    heads = [accounts + arc_rep, np.full(accounts, overflow, dtype=np.int64)]
    capacities = [np.ones(len(arc_account), dtype=np.int64), np.ones(accounts, dtype=np.int64)]
    costs = [-arc_score, np.full(accounts, penalty, dtype=np.int64)]
    first_filler_arc = len(arc_account) + accounts
    tails.append(np.full(reps, filler_node, dtype=np.int64))
    heads.append(rep_nodes)
    capacities.append(upper.astype(np.int64))
    costs.append(np.zeros(reps, dtype=np.int64))
    first_overflow_out = first_filler_arc + reps
    if overflow_reaches:
        tails.append(np.full(reps, overflow, dtype=np.int64))
        heads.append(rep_nodes)
        capacities.append(np.full(reps, accounts, dtype=np.int64))
        costs.append(np.zeros(reps, dtype=np.int64))
    else:
        tails.append(np.array([overflow], dtype=np.int64))
        heads.append(np.array([sink], dtype=np.int64))
        capacities.append(np.array([accounts], dtype=np.int64))
        costs.append(np.array([penalty], dtype=np.int64))
    # Rep bounds: the minimum as the rep's demand, the rest as an arc to the sink.
    tails.append(rep_nodes)
    heads.append(np.full(reps, sink, dtype=np.int64))
    capacities.append(upper - lower)
    costs.append(np.zeros(reps, dtype=np.int64))
    solver.add_arcs_with_capacity_and_unit_cost(
        np.concatenate(tails),
        np.concatenate(heads),
        np.concatenate(capacities),
        np.concatenate(costs),
    )
    supplies = np.zeros(accounts + reps + 3, dtype=np.int64)
    supplies[:accounts] = ~filler
    supplies[filler_node] = len(fillers)
    supplies[accounts : accounts + reps] = -lower
    supplies[sink] = -(accounts - int(lower.sum()))
    solver.set_nodes_supplies(np.arange(len(supplies), dtype=np.int64), supplies)
    status = solver.solve()
    if status != solver.OPTIMAL:
        raise InfeasibleProblem(
            "no assignment meets every rep's minimum with the reps the accounts may go to "
            f"(min-cost flow status {status}): widen the balance tolerance or the distance limit"
        )
    flows = solver.flows(np.arange(first_overflow_out))
    rep_of = np.full(accounts, UNASSIGNED, dtype=np.int64)
    used = flows[: len(arc_account)] > 0
    rep_of[arc_account[used]] = arc_rep[used]
    through_overflow = np.flatnonzero(flows[len(arc_account) : first_filler_arc] > 0)
    if len(fillers):
        _hand_out(problem.current, rep_of, fillers, flows[first_filler_arc:first_overflow_out])
    if overflow_reaches and len(through_overflow):
        # The flow says how many overflow accounts each rep takes, not which: hand each rep its
        # count, best-scoring accounts first (any split has the same flow cost).
        overflow_out = solver.flows(np.arange(first_overflow_out, first_overflow_out + reps))
        _place_overflow(problem.scores, rep_of, through_overflow, overflow_out)
    return rep_of, int(len(through_overflow)), int(solver.num_arcs())


def _hand_out(current: IntArray, rep_of: IntArray, accounts: IntArray, per_rep: IntArray) -> None:
    """Give each rep its count of these (interchangeable) accounts, each to its current rep
    while that rep has room (fewer moves), the rest in order."""
    remaining = per_rep.astype(np.int64).copy()
    own = current[accounts]
    stays = np.zeros(len(accounts), dtype=bool)
    with_owner = np.flatnonzero(own >= 0)
    if len(with_owner):
        order = with_owner[np.argsort(own[with_owner], kind="stable")]
        # The k-th account of a rep (in this order) stays when k < the rep's count.
        first_of_rep = np.searchsorted(own[order], own[order])
        rank = np.arange(len(order)) - first_of_rep
        keep = rank < remaining[own[order]]
        stays[order[keep]] = True
        rep_of[accounts[order[keep]]] = own[order[keep]]
        remaining -= np.bincount(own[order[keep]], minlength=len(remaining))
    slots = np.repeat(np.arange(len(remaining)), remaining)
    rep_of[accounts[~stays]] = slots[: int((~stays).sum())]


def _place_overflow(
    scores: FloatArray, rep_of: IntArray, accounts: IntArray, per_rep: IntArray
) -> None:
    slots = np.repeat(np.arange(len(per_rep)), per_rep)
    order = np.argsort(-scores[accounts].max(axis=1), kind="stable") if len(accounts) else accounts
    # Each overflow account in turn takes the free slot it scores best on.
    remaining = np.bincount(slots, minlength=len(per_rep))
    for account in accounts[order].tolist():
        row = np.where(remaining > 0, scores[account], -np.inf)
        rep = int(np.argmax(row))
        rep_of[account] = rep
        remaining[rep] -= 1


def _total(scores: FloatArray, rep_of: IntArray) -> float:
    placed = np.flatnonzero(rep_of >= 0)
    return float(scores[placed, rep_of[placed]].sum())


def _exchange_graph(
    problem: Problem, rep_of: IntArray, arcs: tuple[IntArray, IntArray] | None = None
) -> FloatArray:
    """``W[r, s]``: the most total proximity gained by moving one of r's accounts to s, over
    ``arcs`` (account, rep) when given, else over every allowed pair."""
    reps = problem.scores.shape[1]
    exchange = np.full((reps, reps), -np.inf)
    if arcs is not None:
        arc_account, arc_rep = arcs
        placed = rep_of[arc_account] >= 0
        arc_account, arc_rep = arc_account[placed], arc_rep[placed]
        owner = rep_of[arc_account]
        gain = problem.scores[arc_account, arc_rep] - problem.scores[arc_account, owner]
        np.maximum.at(exchange, (owner, arc_rep), gain)
        # An account placed through the overflow (no arc to its rep) may move at no cost.
        on_arc = np.zeros(len(rep_of), dtype=bool)
        on_arc[arc_account[arc_rep == owner]] = True
        overflowed = np.unique(rep_of[(rep_of >= 0) & ~on_arc])
        exchange[overflowed] = np.maximum(exchange[overflowed], 0.0)
    else:
        placed_accounts = np.flatnonzero(rep_of >= 0)
        order = placed_accounts[np.argsort(rep_of[placed_accounts], kind="stable")]
        own = problem.scores[order, rep_of[order]]
        gain = problem.scores[order] - own[:, None]
        if problem.allowed is not None:
            gain = np.where(problem.allowed[order], gain, -np.inf)
        if len(order):
            groups, starts = np.unique(rep_of[order], return_index=True)
            exchange[groups] = np.maximum.reduceat(gain, starts, axis=0)
    np.fill_diagonal(exchange, -np.inf)
    return exchange


def _rep_prices(
    problem: Problem,
    rep_of: IntArray,
    lower: IntArray,
    upper: IntArray,
    *,
    arcs: tuple[IntArray, IntArray] | None = None,
) -> FloatArray:
    """Rep prices satisfying complementary slackness with ``rep_of`` (they exist exactly when it
    is optimal over ``arcs``, or the full matrix): π_s - π_r ≥ W[r, s]; π_r ≥ 0 if the rep is
    above its minimum, ≤ 0 if below its maximum. A system of difference constraints: shortest
    paths from a virtual source (Bellman-Ford, vectorised rounds over ≤ 201 nodes), node ``R``
    standing for 0."""
    reps = problem.scores.shape[1]
    load = np.bincount(rep_of[rep_of >= 0], minlength=reps)
    weights = np.full((reps + 1, reps + 1), np.inf)
    # π_r - π_s ≤ -W[r, s]: an edge s → r of weight -W[r, s].
    exchange = _exchange_graph(problem, rep_of, arcs).T
    weights[:reps, :reps] = np.where(np.isfinite(exchange), -exchange, np.inf)
    weights[reps, :reps] = np.where(load < upper, 0.0, np.inf)  # π_r - π_0 ≤ 0
    weights[:reps, reps] = np.where(load > lower, 0.0, np.inf)  # π_0 - π_r ≤ 0
    distance = np.zeros(reps + 1)
    for _ in range(reps + 2):
        relaxed = np.minimum(distance, (distance[:, None] + weights).min(axis=0))
        if np.array_equal(relaxed, distance):
            break
        distance = relaxed
    # A negative cycle (not optimal) leaves prices that still give a valid, looser bound: the
    # bound holds for any prices.
    return distance[:reps] - distance[reps]


def _bound(
    problem: Problem, reduced: FloatArray, prices: FloatArray, lower: IntArray, upper: IntArray
) -> float:
    """Weak duality: Σ_a max_r (S[a,r] - π_r) + Σ_r (π_r⁺ upper_r - π_r⁻ lower_r), over every
    allowed pair of the full matrix (``reduced``: S - π, -inf where not allowed; accounts
    without any allowed rep left out)."""
    if problem.allowed is not None:
        reduced = reduced[problem.allowed.any(axis=1)]
    best = reduced.max(axis=1).sum() if len(reduced) else 0.0
    return float(
        best + (np.maximum(prices, 0) * upper).sum() - (np.maximum(-prices, 0) * lower).sum()
    )


def _count_prices(problem: Problem) -> FloatArray | None:
    """For the MIP's arcs: the reps' prices of the same accounts balanced by count in the same
    proportion as the potential bounds (an even book of potential is roughly an even book of
    accounts), so the candidates include the reps capacity will push accounts to. Without
    them the top-K arcs crowd on the popular reps and the potential minima cannot be met."""
    assert problem.potential is not None
    accounts, reps = problem.scores.shape
    mean_potential = float(problem.potential.sum()) / max(reps, 1)
    if accounts <= 4 * reps or mean_potential <= 0:
        return None
    mean_count = accounts / reps
    upper = np.minimum(np.ceil(mean_count * problem.upper / mean_potential), problem.capacity)
    balanced = Problem(
        scores=problem.scores,
        current=problem.current,
        capacity=problem.capacity,
        lower=np.floor(mean_count * problem.lower / mean_potential),
        upper=upper.astype(np.float64),
        allowed=problem.allowed,
        top_k=problem.top_k,
    )
    try:
        return _solve_flow(balanced).prices
    except InfeasibleProblem:
        return None


def _solve_mip(problem: Problem) -> Solution:
    """Balance by potential: x_e ∈ {0, 1} per arc; Σ_r x = 1 per account; per rep, accounts ≤
    capacity and potential within [lower, upper]. HiGHS, time-limited, relative gap stated."""
    started = time.perf_counter()
    assert problem.potential is not None
    accounts, reps = problem.scores.shape
    potential = problem.potential
    capacity = problem.capacity.astype(np.float64)
    check_feasible(
        accounts=accounts, lower=problem.lower, upper=problem.upper, total=float(potential.sum())
    )
    check_feasible(
        accounts=accounts,
        lower=np.zeros(reps),
        upper=capacity,
        total=float(accounts),
    )
    too_large = np.flatnonzero(potential > float(problem.upper.max()) + 1e-9)
    if len(too_large):
        raise InfeasibleProblem(
            f"{len(too_large)} account(s) alone have more potential than any rep's maximum "
            f"({float(problem.upper.max()):g}): widen the balance tolerance or leave them out"
        )
    arc_account, arc_rep = candidate_arcs(problem, _count_prices(problem))
    arcs = len(arc_account)
    arc_index = np.arange(arcs)
    one_each = sparse.csr_matrix((np.ones(arcs), (arc_account, arc_index)), shape=(accounts, arcs))
    per_rep = sparse.csr_matrix((np.ones(arcs), (arc_rep, arc_index)), shape=(reps, arcs))
    weighted = sparse.csr_matrix((potential[arc_account], (arc_rep, arc_index)), shape=(reps, arcs))
    cost = -problem.scores[arc_account, arc_rep]
    constraints = [
        LinearConstraint(one_each, 1.0, 1.0),
        LinearConstraint(per_rep, 0.0, capacity),
        LinearConstraint(weighted, problem.lower, problem.upper),
    ]
    seconds = {"arcs": time.perf_counter() - started}
    relaxed = linprog(
        cost,
        A_ub=sparse.vstack([per_rep, weighted, -weighted]).tocsr(),
        b_ub=np.concatenate([capacity, problem.upper, -problem.lower]),
        A_eq=one_each,
        b_eq=np.ones(accounts),
        bounds=(0, 1),
        method="highs",
    )
    seconds["lp"] = time.perf_counter() - started - seconds["arcs"]
    if relaxed.status == 2:
        raise InfeasibleProblem(
            "no assignment meets every rep's potential bounds with the candidate reps: widen "
            "the balance tolerance, raise top_k or the distance limit"
        )
    # The relaxation's vertex leaves only a few accounts fractional (at most one per binding
    # rep row): keep its integral choices and solve the MIP over the fractional ones alone,
    # within the bounds that remain. Only when that has no solution, the whole MIP.
    chosen: BoolArray | None = None
    status, candidate_bound = "optimal", None
    method = "lp_rounding_mip_highs"
    if arcs > EXACT_MIP_ARCS:
        chosen, status, candidate_bound = _round_and_repair(
            problem, relaxed.x, cost, arc_account, arc_rep, one_each, per_rep, weighted
        )
    if chosen is None:
        result = milp(
            cost,
            constraints=constraints,
            integrality=np.ones(arcs),
            bounds=Bounds(0, 1),
            options={
                "time_limit": problem.time_limit_seconds,
                "mip_rel_gap": problem.mip_relative_gap,
            },
        )
        if result.x is None:
            raise InfeasibleProblem(
                "HiGHS found no integral assignment meeting the potential bounds within "
                f"{problem.time_limit_seconds:g} s ({result.message}): widen the balance "
                "tolerance"
            )
        chosen = result.x > 0.5
        status = "optimal" if result.status == 0 else "time_limit"
        candidate_bound = float(-result.mip_dual_bound)
        method = "mip_highs"
    seconds["mip"] = time.perf_counter() - started - seconds["arcs"] - seconds["lp"]
    rep_of = np.full(accounts, UNASSIGNED, dtype=np.int64)
    rep_of[arc_account[chosen]] = arc_rep[chosen]
    total = _total(problem.scores, rep_of)
    # Duals of the relaxation: HiGHS gives d(objective)/d(b_ub) ≤ 0 when minimising; negated,
    # they are the prices of capacity (λ), of the potential maximum (α) and minimum (β).
    prices = np.maximum(-relaxed.ineqlin.marginals, 0.0)
    count_price, above, below = prices[:reps], prices[reps : 2 * reps], prices[2 * reps :]
    reduced = problem.scores - count_price[None, :] - potential[:, None] * (above - below)[None, :]
    if problem.allowed is not None:
        reduced = np.where(problem.allowed, reduced, -np.inf)[problem.allowed.any(axis=1)]
    bound = float(
        reduced.max(axis=1).sum()
        + (count_price * capacity).sum()
        + (above * problem.upper).sum()
        - (below * problem.lower).sum()
    )
    seconds["bound"] = time.perf_counter() - started - sum(seconds.values())
    tolerance = problem.mip_relative_gap * max(abs(bound), 1e-12) + 1e-6
    return Solution(
        rep_of=rep_of,
        total=total,
        method=method,
        status=status,
        arcs=arcs,
        fallback_accounts=0,
        bound=bound,
        # HiGHS proves the candidate arcs' optimum; the full matrix's needs the LP bound met
        # (an integrality gap can keep it open on small cases: then the gap is reported).
        proven_optimal=bound - total <= tolerance,
        candidate_bound=candidate_bound,
        seconds=seconds,
    )


def _round_and_repair(
    problem: Problem,
    relaxed_x: FloatArray,
    cost: FloatArray,
    arc_account: IntArray,
    arc_rep: IntArray,
    one_each: sparse.csr_matrix,
    per_rep: sparse.csr_matrix,
    weighted: sparse.csr_matrix,
) -> tuple[BoolArray | None, str, float | None]:
    """(chosen arcs, status, bound over the candidates) or (None, ...) when the fractional
    accounts cannot be placed within what the integral ones left."""
    assert problem.potential is not None
    accounts, reps = problem.scores.shape
    candidate_bound = float(-(cost * relaxed_x).sum())
    integral = relaxed_x > 1 - 1e-6
    settled = np.zeros(accounts, dtype=bool)
    settled[arc_account[integral]] = True
    if settled.all():
        return integral, "optimal", candidate_bound
    # First only the fractional accounts are re-decided; when what the others left admits no
    # solution, also every account on a rep the fractional ones touch.
    touched = np.zeros(reps, dtype=bool)
    touched[arc_rep[(relaxed_x > 1e-6) & ~settled[arc_account]]] = True
    widened = (
        settled & ~touched[np.maximum(_rep_of_arcs(accounts, arc_account, arc_rep, integral), 0)]
    )
    for keep in (settled, widened):
        fixed = integral & keep[arc_account]
        free = np.flatnonzero(~keep[arc_account])
        fixed_count = np.bincount(arc_rep[fixed], minlength=reps)
        fixed_potential = np.bincount(
            arc_rep[fixed], weights=problem.potential[arc_account[fixed]], minlength=reps
        )
        result = milp(
            cost[free],
            constraints=[
                LinearConstraint(one_each[np.flatnonzero(~keep)][:, free], 1.0, 1.0),
                LinearConstraint(per_rep[:, free], 0.0, problem.capacity - fixed_count),
                LinearConstraint(
                    weighted[:, free],
                    np.maximum(problem.lower - fixed_potential, 0.0),
                    problem.upper - fixed_potential,
                ),
            ],
            integrality=np.ones(len(free)),
            bounds=Bounds(0, 1),
            options={
                "time_limit": problem.time_limit_seconds / 2,
                "mip_rel_gap": problem.mip_relative_gap,
            },
        )
        if result.x is not None:
            chosen = fixed.copy()
            chosen[free] = result.x > 0.5
            status = "optimal" if result.status == 0 else "time_limit"
            return chosen, status, candidate_bound
    return None, "infeasible", None


def _rep_of_arcs(
    accounts: int, arc_account: IntArray, arc_rep: IntArray, chosen: BoolArray
) -> IntArray:
    rep_of = np.full(accounts, UNASSIGNED, dtype=np.int64)
    rep_of[arc_account[chosen]] = arc_rep[chosen]
    return rep_of


def greedy(problem: Problem) -> IntArray:
    """The baseline: accounts by their best score, each to its best allowed rep with room
    (count capacity and the balance maximum); then, balancing by accounts, each rep short of
    its minimum takes the account that loses least by moving from a rep above its own (minima
    of potential are not repaired)."""
    accounts, reps = problem.scores.shape
    masked = _allowed_scores(problem)
    lower, upper = count_bounds(problem)
    room = upper.astype(np.float64)
    potential_room = problem.upper.astype(np.float64).copy()
    weights = problem.potential if problem.balance_by == "potential" else None
    rep_of = np.full(accounts, UNASSIGNED, dtype=np.int64)
    order = np.argsort(-masked.max(axis=1), kind="stable") if accounts else np.zeros(0, int)
    for account in order.tolist():
        fits = room > 0
        if weights is not None:
            fits &= potential_room >= weights[account]
        row = np.where(fits, masked[account], -np.inf)
        rep = int(np.argmax(row))
        if not np.isfinite(row[rep]) or row[rep] < 0:
            continue
        rep_of[account] = rep
        room[rep] -= 1
        if weights is not None:
            potential_room[rep] -= weights[account]
    if weights is None:
        _fill_minima(masked, rep_of, lower)
    return rep_of


def _fill_minima(masked: FloatArray, rep_of: IntArray, lower: IntArray) -> None:
    """Each rep short of its minimum, in turn, takes the accounts losing least by the move
    (unassigned ones, or from reps above their minimum): one sort per short rep."""
    load = np.bincount(rep_of[rep_of >= 0], minlength=len(lower))
    index = np.arange(len(rep_of))
    for rep in np.flatnonzero(load < lower).tolist():
        own = np.where(rep_of >= 0, masked[index, np.maximum(rep_of, 0)], 0.0)
        change = np.where((rep_of != rep) & (masked[:, rep] >= 0), masked[:, rep] - own, -np.inf)
        for account in np.argsort(-change, kind="stable").tolist():
            if load[rep] >= lower[rep] or not np.isfinite(change[account]):
                break
            source = int(rep_of[account])
            if source >= 0 and load[source] <= lower[source]:
                continue
            if source >= 0:
                load[source] -= 1
            rep_of[account] = rep
            load[rep] += 1
