"""The territory-design problem and its result, as arrays: the contract between the planning
service (which builds a problem from unit sets, reps and the current alignment) and the design
engine (which searches for the plan). Units are indexed 0..n-1, territories 0..k-1.

The engine's entry point is ``services.planning.design.engine.solve(problem, *, progress=None,
should_stop=None) -> DesignResult``: contiguity and locks are hard constraints; balance within
every measure's bounds is the first objective, then the weighted ``Objective``.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
from numpy.typing import NDArray

Compactness = Literal["cut_edges", "inertia", "diameter"]


@dataclass(frozen=True)
class MeasureBalance:
    """How one measure (one column of ``DesignProblem.measures``) must be balanced.

    ``tolerance``: every territory within ``target * (1 ± tolerance)``, the target being the
    total divided among the territories in proportion to ``DesignProblem.capacities`` (equal
    shares by default). ``lower``/``upper``: absolute bounds per territory instead (either may
    be None). Neither: the measure is reported, not balanced.
    """

    name: str
    tolerance: float | None = None
    lower: float | None = None
    upper: float | None = None


@dataclass(frozen=True)
class Objective:
    """What to minimise once balance holds, each term weighted: compactness (cut edges counted,
    the shared boundary length breaking ties; moment of inertia about the territory's seed or
    centre; or the largest territory diameter), rep travel (distance from each unit to its
    territory's seed, weighted by the first balanced measure), and disruption (``move_costs``
    of the units that leave their ``current`` territory)."""

    compactness: Compactness = "cut_edges"
    compactness_weight: float = 1.0
    travel_weight: float = 0.0
    disruption_weight: float = 0.0


@dataclass(frozen=True)
class DesignProblem:
    unit_ids: tuple[str, ...]
    measures: NDArray[np.float64]  # (n, m)
    balance: tuple[MeasureBalance, ...]  # one per column of ``measures``
    edges: NDArray[np.int64]  # (e, 2) undirected contiguity edges, each pair once
    coordinates: NDArray[np.float64]  # (n, 2) unit centroids, projected, in metres
    territories: int  # k
    edge_lengths: NDArray[np.float64] | None = None  # (e,) shared boundary in metres
    seeds: NDArray[np.int64] | None = None  # (k,) unit of each territory's rep home
    capacities: NDArray[np.float64] | None = None  # (k,) relative share of each territory
    locked: NDArray[np.int64] | None = None  # (n,) territory of a locked unit, else -1
    current: NDArray[np.int64] | None = None  # (n,) current territory (realignment), else -1
    move_costs: NDArray[np.float64] | None = None  # (n,) cost of moving a unit (default 1)
    objective: Objective = field(default_factory=Objective)
    time_limit_seconds: float = 10.0
    random_seed: int = 0


@dataclass
class DesignResult:
    assignment: NDArray[np.int64]  # (n,) territory of every unit
    feasible: bool  # contiguous, locks honoured, every balanced measure within its bounds
    violations: list[str]  # why not feasible, in words a planner can act on
    deviation: NDArray[np.float64]  # (k, m) each territory's relative deviation per measure
    max_relative_deviation: NDArray[np.float64]  # (m,)
    cut_edges: int
    moved_units: int  # units whose territory differs from ``current`` (0 without one)
    objective_value: float
    elapsed_seconds: float
    iterations: int
    # Cut edges no plan within the constraints can go below, when the exact model proved one
    # (small maps, cut-edge objective); equal to ``cut_edges`` when the plan is optimal.
    lower_bound: float | None = None


# ``progress(fraction_done, best_so_far)``; ``should_stop()`` is polled (cancel, time budget).
Progress = Callable[[float, DesignResult | None], None]
ShouldStop = Callable[[], bool]
