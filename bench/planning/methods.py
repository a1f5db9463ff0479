"""The methods compared, each ``run(instance, budget) -> Outcome``: our engine (through the
contract in services/planning/design/problem.py), GerryChain (recursive_tree_part; a ReCom
chain keeping its best plan), spopt (region k-means and max-p, as they come) and the exact MIP.
Each runs in its own process (worker.py), so memory and failures stay apart."""

import importlib
import os
import random
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any, cast

import numpy as np
from numpy.typing import NDArray

from bench.planning.evaluate import deviations
from bench.planning.instances import Instance


@dataclass
class Budget:
    seconds: float  # wall time the method may use (ours: the problem's time limit)
    seed: int = 0
    recom_steps: int | None = None  # ReCom: stop after this many steps even with time left
    current: NDArray[np.int64] | None = None  # ours: realign from this plan


@dataclass
class Outcome:
    assignment: NDArray[np.int64] | None
    note: str = ""
    details: dict[str, Any] = field(default_factory=dict)


def _within(instance: Instance, assignment: NDArray[np.int64]) -> bool:
    return bool(np.all(np.abs(deviations(instance, assignment)).max(axis=0) <= instance.tolerances))


# --- ours -----------------------------------------------------------------------------------


# Another checkout to import the engine from (``--engine-path``: try the harness against an
# engine still on its branch); it goes first on sys.path, before this checkout.
ENGINE_PATH_VARIABLE = "BENCH_PLANNING_ENGINE_PATH"


def engine_path() -> None:
    path = os.environ.get(ENGINE_PATH_VARIABLE)
    if path and path not in sys.path:
        if "services" in sys.modules:
            raise RuntimeError(f"{ENGINE_PATH_VARIABLE}: services was imported before it")
        sys.path.insert(0, path)


def engine_available() -> str | None:
    """None when services.planning.design.engine.solve imports, else why not."""
    try:
        _engine()
    except (ImportError, AttributeError) as error:
        return f"no engine ({error})"
    return None


def _engine() -> Callable[..., Any]:
    # Imported by name: the engine may live in another checkout (--engine-path), and this
    # one's type check must not depend on which.
    engine_path()
    module = importlib.import_module("services.planning.design.engine")
    return cast(Callable[..., Any], module.solve)


def run_ours(instance: Instance, budget: Budget) -> Outcome:
    solve = _engine()
    from services.planning.design.problem import DesignProblem, MeasureBalance, Objective

    realign = budget.current is not None
    problem = DesignProblem(
        unit_ids=instance.unit_ids,
        measures=instance.measures,
        balance=tuple(
            MeasureBalance(name=name, tolerance=tolerance)
            for name, tolerance in zip(instance.measure_names, instance.tolerances, strict=True)
        ),
        edges=instance.edges,
        coordinates=instance.coordinates,
        territories=instance.territories,
        edge_lengths=instance.edge_lengths,
        current=budget.current,
        # Realignment: move as few units as possible, compactness only as a tie-breaker.
        objective=Objective(compactness_weight=0.01, disruption_weight=1.0)
        if realign
        else Objective(compactness="cut_edges"),
        time_limit_seconds=budget.seconds,
        random_seed=budget.seed,
    )
    result = solve(problem)
    return Outcome(
        np.asarray(result.assignment, dtype=np.int64),
        "; ".join(result.violations[:2]),
        {
            "engine_feasible": result.feasible,
            "engine_cut_edges": result.cut_edges,
            "engine_moved_units": result.moved_units,
            "iterations": result.iterations,
            "engine_elapsed_seconds": result.elapsed_seconds,
            "engine_lower_bound": result.lower_bound,
        },
    )


# --- GerryChain -----------------------------------------------------------------------------


def _gerrychain_graph(instance: Instance) -> Any:
    import networkx
    from gerrychain import Graph

    nx_graph = networkx.Graph()
    for unit in range(instance.units):
        attributes = {f"m{j}": float(v) for j, v in enumerate(instance.measures[unit])}
        nx_graph.add_node(unit, idx=unit, **attributes)
    nx_graph.add_edges_from(instance.edges.tolist())
    return Graph.from_networkx(nx_graph)


def _tree_part(instance: Instance, graph: Any, seed: int) -> dict[Any, Any]:
    from gerrychain.partition.initial_partition_generators import recursive_tree_part

    target = float(instance.measures[:, 0].sum() / instance.territories)
    return recursive_tree_part(
        graph,
        list(range(instance.territories)),
        target,
        "m0",
        instance.tolerances[0],
        rng=random.Random(seed),
    )


def _from_partition(instance: Instance, partition: Any) -> NDArray[np.int64]:
    assignment = np.full(instance.units, -1, dtype=np.int64)
    for part, nodes in partition.parts.items():
        for node in nodes:
            assignment[partition.graph.node_data(node)["idx"]] = part
    return assignment


def run_gerrychain_tree(instance: Instance, budget: Budget) -> Outcome:
    """recursive_tree_part at the first measure's tolerance (it balances one measure)."""
    graph = _gerrychain_graph(instance)
    flips = _tree_part(instance, graph, budget.seed)
    assignment = np.full(instance.units, -1, dtype=np.int64)
    for node, part in flips.items():
        assignment[graph.node_data(node)["idx"]] = part
    return Outcome(assignment)


def run_gerrychain_recom(instance: Instance, budget: Budget) -> Outcome:
    """A ReCom chain from a recursive_tree_part plan, balancing the first measure, for the
    wall time (or steps) given, keeping the plan with the fewest cut edges among those within
    every measure's tolerance (or, when none is, the least deviation)."""
    from gerrychain import MarkovChain, Partition
    from gerrychain.accept import always_accept
    from gerrychain.constraints import within_percent_of_ideal_population
    from gerrychain.proposals import recom
    from gerrychain.updaters import Tally, cut_edges

    started = time.perf_counter()
    graph = _gerrychain_graph(instance)
    measures = instance.measures.shape[1]
    updaters: dict[str, Callable[..., Any]] = {"cut_edges": cut_edges}
    updaters |= {f"m{j}": Tally(f"m{j}", alias=f"m{j}") for j in range(measures)}
    initial = Partition(graph, _tree_part(instance, graph, budget.seed), updaters)
    start_seconds = time.perf_counter() - started
    target = float(instance.measures[:, 0].sum() / instance.territories)
    tolerance = instance.tolerances[0]
    proposal = partial(recom, pop_col="m0", pop_target=target, epsilon=tolerance)
    chain = MarkovChain(
        proposal_fn=proposal,
        constraints=[within_percent_of_ideal_population(initial, tolerance, pop_key="m0")],
        acceptance_fn=always_accept,
        initial_partition=initial,
        total_steps=budget.recom_steps or 10**9,
        rng=random.Random(budget.seed),
    )
    targets = instance.measures.sum(axis=0) / instance.territories
    limits = np.asarray(instance.tolerances)
    best: tuple[float, int] | None = None
    best_partition = initial
    steps = 0
    deadline = started + budget.seconds
    for partition in chain:
        steps += 1
        worst = max(
            float(np.max(np.abs(np.fromiter(partition[f"m{j}"].values(), float) / targets[j] - 1)))
            - float(limits[j])
            for j in range(measures)
        )
        # Within every tolerance first (worst <= 0), then fewest cut edges; else least excess.
        key = (max(worst, 0.0), len(partition["cut_edges"]))
        if best is None or key < best:
            best, best_partition = key, partition
        if time.perf_counter() >= deadline:
            break
    return Outcome(
        _from_partition(instance, best_partition),
        details={"steps": steps, "start_plan_seconds": start_seconds},
    )


# --- spopt ----------------------------------------------------------------------------------


def _spopt_weights(instance: Instance) -> Any:
    from libpysal.weights import W

    neighbours: dict[int, list[int]] = {unit: [] for unit in range(instance.units)}
    for a, b in instance.edges.tolist():
        neighbours[a].append(b)
        neighbours[b].append(a)
    return W(neighbours, silence_warnings=True)


def run_spopt_kmeans(instance: Instance, budget: Budget) -> Outcome:
    """spopt's RegionKMeansHeuristic on the unit coordinates: k contiguous, compact regions;
    it has no balance constraint at all."""
    from spopt.region import RegionKMeansHeuristic

    model = RegionKMeansHeuristic(
        instance.coordinates / 1000.0,
        instance.territories,
        _spopt_weights(instance),
        seed=budget.seed,
    )
    model.solve()
    return Outcome(np.asarray(model.labels_, dtype=np.int64))


def run_spopt_maxp(instance: Instance, budget: Budget) -> Outcome:
    """spopt's MaxPHeuristic: as many contiguous regions as possible, each holding at least the
    lower tolerance bound of the first measure (one-sided balance), compact on coordinates.
    Its region count is its own: a plan with another count than k is reported infeasible."""
    import geopandas
    from spopt.region import MaxPHeuristic

    frame = geopandas.GeoDataFrame(
        {
            "x": instance.coordinates[:, 0] / 1000.0,
            "y": instance.coordinates[:, 1] / 1000.0,
            "m0": instance.measures[:, 0],
        },
        geometry=geopandas.points_from_xy(instance.coordinates[:, 0], instance.coordinates[:, 1]),
    )
    floor = float(instance.measures[:, 0].sum() / instance.territories) * (
        1 - instance.tolerances[0]
    )
    np.random.seed(budget.seed)
    model = MaxPHeuristic(
        frame, _spopt_weights(instance), ["x", "y"], "m0", floor, top_n=2, verbose=False
    )
    model.solve()
    labels = np.asarray(model.labels_, dtype=np.int64)
    regions = int(model.p)
    note = f"{regions} regions"
    if regions != instance.territories or labels.min() < 1:
        return Outcome(None, f"{note}, not {instance.territories}", {"regions": regions})
    return Outcome(labels - 1, note, {"regions": regions})


# --- exact MIP ------------------------------------------------------------------------------


def run_mip(instance: Instance, budget: Budget) -> Outcome:
    from bench.planning.mip import solve_mip

    result = solve_mip(instance, time_limit=budget.seconds, start=budget.current)
    return Outcome(
        result.assignment,
        result.status,
        {"status": result.status, "objective": result.objective, "lower_bound": result.lower_bound},
    )


METHODS: dict[str, Callable[[Instance, Budget], Outcome]] = {
    "ours": run_ours,
    "gerrychain-tree": run_gerrychain_tree,
    "gerrychain-recom": run_gerrychain_recom,
    "spopt-kmeans": run_spopt_kmeans,
    "spopt-maxp": run_spopt_maxp,
    "mip": run_mip,
}
