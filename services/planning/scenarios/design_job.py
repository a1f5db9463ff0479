"""A design scenario's run on the job worker: the unit set read into a ``DesignProblem``, the
engine run in a thread (the event loop keeps polling for a cancel and writing progress), the
plan's statistics and dissolved territories (PostGIS) written to the scenario row."""

import asyncio
import logging
import math
import threading
import uuid
from typing import Any

import asyncpg
import numpy as np
from numpy.typing import NDArray
from scipy.spatial import ConvexHull, QhullError
from scipy.spatial.distance import pdist

from services.planning.design.engine import solve
from services.planning.design.graph import build_graph
from services.planning.design.problem import DesignProblem, DesignResult, MeasureBalance, Objective
from services.planning.scenarios import repository
from services.planning.units import repository as units_repository
from shared.jobs.connection import open_job_connection
from shared.settings import Settings

logger = logging.getLogger(__name__)

EARTH_RADIUS_M = 6_371_008.8
# Seconds between the job's polls of its scenario's status (cancel) and progress writes.
POLL_SECONDS = 0.3
# Seconds the job waits for its scenario row: the request that queued it commits after the
# job is queued, so a fast worker can see the job before the row.
ROW_WAIT_SECONDS = 10.0
# A realignment without a disruption weight still moves as few units as it can.
DEFAULT_REALIGN_DISRUPTION = 10.0
MAX_MOVES_LISTED = 5_000


class DesignInputError(Exception):
    """The scenario cannot be designed with the tenant's units as they are now."""


async def run(settings: Settings, *, tenant_id: uuid.UUID, scenario_id: uuid.UUID) -> None:
    connection = await open_job_connection(
        settings, tenant_id=tenant_id, application_name="planning-design"
    )
    try:
        await _run(connection, tenant_id=tenant_id, scenario_id=scenario_id)
    except Exception:
        # Not left 'running' for ever: the scenario says it failed, the log says why.
        logger.exception("design failed", extra={"scenario_id": str(scenario_id)})
        await repository.finish(
            connection,
            tenant_id=tenant_id,
            scenario_id=scenario_id,
            status="failed",
            statistics=None,
            error="the design failed on the worker; try again, or report the scenario id",
        )
        raise
    finally:
        await connection.close()


async def _run(
    connection: asyncpg.Connection, *, tenant_id: uuid.UUID, scenario_id: uuid.UUID
) -> None:
    loop = asyncio.get_running_loop()
    waited_until = loop.time() + ROW_WAIT_SECONDS
    while (
        row := await repository.claim(connection, tenant_id=tenant_id, scenario_id=scenario_id)
    ) is None:
        status = await repository.status_of(
            connection, tenant_id=tenant_id, scenario_id=scenario_id
        )
        if status is not None or loop.time() > waited_until:
            return  # cancelled before it started, or deleted
        await asyncio.sleep(0.1)
    parameters: dict[str, Any] = row["parameters"]
    try:
        built = await _build(connection, tenant_id=tenant_id, parameters=parameters)
    except DesignInputError as error:
        await repository.finish(
            connection,
            tenant_id=tenant_id,
            scenario_id=scenario_id,
            status="failed",
            statistics=None,
            error=str(error),
        )
        return
    stop = threading.Event()
    latest: list[float] = [0.0]

    def progress(fraction: float, _best: DesignResult | None) -> None:
        latest[0] = fraction

    task = asyncio.create_task(
        asyncio.to_thread(solve, built.problem, progress=progress, should_stop=stop.is_set)
    )
    try:
        while not task.done():
            await asyncio.wait({task}, timeout=POLL_SECONDS)
            status = await repository.status_of(
                connection, tenant_id=tenant_id, scenario_id=scenario_id
            )
            if status != "running":
                stop.set()
            else:
                await repository.set_progress(
                    connection, tenant_id=tenant_id, scenario_id=scenario_id, value=latest[0]
                )
        result = task.result()
    except BaseException:
        stop.set()  # the thread ends at its next poll instead of running out its budget
        raise
    statistics = await _statistics(connection, tenant_id=tenant_id, built=built, result=result)
    await repository.finish(
        connection,
        tenant_id=tenant_id,
        scenario_id=scenario_id,
        status="succeeded",
        statistics=statistics,
        error=None,
    )


class _Built:
    def __init__(
        self,
        problem: DesignProblem,
        unit_ids: list[uuid.UUID],
        codes: list[str],
        measure_names: list[str],
        current: NDArray[np.int64] | None,
        islands: list[dict[str, Any]],
        accounts: NDArray[np.float64] | None,
    ) -> None:
        self.islands = islands
        self.accounts = accounts  # each unit's account count, when the units carry one
        self.problem = problem
        self.unit_ids = unit_ids
        self.codes = codes
        self.measure_names = measure_names
        self.current = current


async def _build(
    connection: asyncpg.Connection, *, tenant_id: uuid.UUID, parameters: dict[str, Any]
) -> _Built:
    unit_set_id = await _unit_set_of(connection, tenant_id=tenant_id, parameters=parameters)
    units = await repository.load_units(connection, tenant_id=tenant_id, unit_set_id=unit_set_id)
    # Computed or given edges with the set's overrides applied and its islands joined.
    adjacency = await units_repository.effective_edge_index(
        connection, tenant_id=tenant_id, unit_set_id=unit_set_id, with_islands=True
    )
    island_rows = await units_repository.island_links(
        connection, tenant_id=tenant_id, unit_set_id=unit_set_id
    )
    k = int(parameters["k"])
    if len(units) < k:
        raise DesignInputError(
            f"{k} territories were asked of {len(units)} basic units: add units or ask for fewer"
        )
    codes = [unit["code"] for unit in units]
    unit_ids = [unit["id"] for unit in units]
    index = {code: i for i, code in enumerate(codes)}
    rules = parameters.get("balance", [])
    balanced_names = [rule["measure"] for rule in rules]
    others = sorted({key for unit in units for key in unit["measures"]} - set(balanced_names))
    measure_names = balanced_names + others
    measures = np.array(
        [[float(unit["measures"].get(name, 0.0)) for name in measure_names] for unit in units],
        dtype=float,
    ).reshape(len(units), len(measure_names))
    missing = [name for j, name in enumerate(balanced_names) if not measures[:, j].any()]
    if missing:
        raise DesignInputError(
            f"no unit has a positive {missing[0]!r}: set the measure on the units or balance"
            " another one"
        )
    balance = tuple(
        MeasureBalance(
            name=rule["measure"],
            tolerance=rule.get("tolerance"),
            lower=rule.get("lower"),
            upper=rule.get("upper"),
        )
        for rule in rules
    ) + tuple(MeasureBalance(name=name) for name in others)
    lon = np.radians([float(unit["lon"]) for unit in units])
    lat = np.radians([float(unit["lat"]) for unit in units])
    coordinates = np.column_stack(
        [EARTH_RADIUS_M * lon * math.cos(float(lat.mean())), EARTH_RADIUS_M * lat]
    )
    edges = np.column_stack(
        [np.array(adjacency["a"], dtype=np.int64), np.array(adjacency["b"], dtype=np.int64)]
    ).reshape(-1, 2)
    lengths = np.array(adjacency["length_m"], dtype=float)
    reps = parameters.get("reps") or None
    seeds = capacities = None
    if reps:
        seeds = np.array([index[rep["home_unit"]] for rep in reps], dtype=np.int64)
        capacities = np.array([rep.get("capacity") or 1.0 for rep in reps], dtype=float)
    locked = np.full(len(units), -1, dtype=np.int64)
    for code, territory in parameters.get("locked", {}).items():
        locked[index[code]] = territory
    current = None
    plan: dict[str, int] | None = parameters.get("current")
    if parameters.get("base_scenario_id"):
        plan = await repository.load_plan(
            connection, tenant_id=tenant_id, scenario_id=uuid.UUID(parameters["base_scenario_id"])
        )
    if plan:
        current = np.array([plan.get(code, -1) for code in codes], dtype=np.int64)
    weights = dict(parameters.get("objective", {}))
    if current is not None and not weights.get("disruption_weight"):
        weights["disruption_weight"] = DEFAULT_REALIGN_DISRUPTION
    objective = Objective(
        compactness=weights.get("compactness", "cut_edges"),
        compactness_weight=float(weights.get("compactness_weight", 1.0)),
        travel_weight=float(weights.get("travel_weight", 0.0)),
        disruption_weight=float(weights.get("disruption_weight") or 0.0),
    )
    problem = DesignProblem(
        unit_ids=tuple(codes),
        measures=measures,
        balance=balance,
        edges=edges,
        coordinates=coordinates,
        territories=k,
        edge_lengths=lengths,
        seeds=seeds,
        capacities=capacities,
        locked=locked,
        current=current,
        objective=objective,
        time_limit_seconds=float(parameters.get("time_limit_seconds", 10.0)),
        random_seed=int(parameters.get("random_seed", 0)),
    )
    islands = [
        {"unit": row["a_code"], "attached_to": row["b_code"], "distance_m": row["distance_m"]}
        for row in island_rows
    ]
    accounts_measure = parameters.get("accounts_measure") or "accounts"
    accounts = (
        measures[:, measure_names.index(accounts_measure)]
        if accounts_measure in measure_names
        else None
    )
    return _Built(problem, unit_ids, codes, measure_names, current, islands, accounts)


async def _unit_set_of(
    connection: asyncpg.Connection, *, tenant_id: uuid.UUID, parameters: dict[str, Any]
) -> uuid.UUID:
    """The scenario's unit set; scenarios queued before unit sets existed used the default."""
    if parameters.get("unit_set_id"):
        return uuid.UUID(parameters["unit_set_id"])
    unit_set_id: uuid.UUID | None = await connection.fetchval(
        "SELECT id FROM unit_set WHERE tenant_id = $1 AND is_default", tenant_id
    )
    if unit_set_id is None:
        raise DesignInputError("the tenant has no default unit set: name the unit set")
    return unit_set_id


async def _statistics(
    connection: asyncpg.Connection, *, tenant_id: uuid.UUID, built: _Built, result: DesignResult
) -> dict[str, Any]:
    problem, codes = built.problem, built.codes
    k, assignment = problem.territories, result.assignment
    sums = np.zeros((k, len(built.measure_names)))
    np.add.at(sums, assignment, problem.measures)
    shares = (
        np.ones(k) if problem.capacities is None else np.asarray(problem.capacities, dtype=float)
    )
    targets = (shares / shares.sum())[:, None] * problem.measures.sum(axis=0)[None, :]
    edges = np.asarray(problem.edges).reshape(-1, 2)
    cut = assignment[edges[:, 0]] != assignment[edges[:, 1]] if len(edges) else np.zeros(0, bool)
    cut_per_territory = np.bincount(
        np.concatenate([assignment[edges[cut, 0]], assignment[edges[cut, 1]]]), minlength=k
    )
    shapes = await repository.dissolve(
        connection, tenant_id=tenant_id, unit_ids=built.unit_ids, territories=assignment.tolist()
    )
    shape_of = {row["territory"]: row for row in shapes}
    territories: list[dict[str, Any]] = []
    features: list[dict[str, Any]] = []
    for territory in range(k):
        members = np.flatnonzero(assignment == territory)
        shape = shape_of.get(territory)
        polsby_popper = None
        if shape is not None and shape["perimeter_m"]:
            polsby_popper = 4 * math.pi * shape["area_m2"] / shape["perimeter_m"] ** 2
        measures = {
            name: {
                "value": float(sums[territory, j]),
                "target": float(targets[territory, j]),
                "deviation": float(result.deviation[territory, j]),
            }
            for j, name in enumerate(built.measure_names)
        }
        statistics = {
            "territory": territory,
            "units": len(members),
            "seed_unit": codes[int(problem.seeds[territory])]
            if problem.seeds is not None
            else None,
            "measures": measures,
            "cut_edges": int(cut_per_territory[territory]),
            "polsby_popper": polsby_popper,
            "diameter_m": _diameter(problem.coordinates[members]),
            "area_m2": float(shape["area_m2"]) if shape is not None else None,
        }
        territories.append(statistics)
        if shape is not None:
            features.append(
                {
                    "type": "Feature",
                    "geometry": shape["geometry"],
                    "properties": {k_: v for k_, v in statistics.items() if k_ != "measures"}
                    | {name: m["value"] for name, m in measures.items()},
                }
            )
    moves: list[dict[str, Any]] = []
    accounts_moved: float | None = None
    if built.current is not None:
        moved = np.flatnonzero((built.current >= 0) & (built.current != assignment))
        if built.accounts is not None:
            accounts_moved = float(built.accounts[moved].sum())
        moves = [
            {
                "unit": codes[u],
                "from": int(built.current[u]),
                "to": int(assignment[u]),
                "accounts": float(built.accounts[u]) if built.accounts is not None else None,
                "why": "its territory no longer exists"
                if built.current[u] >= k
                else "to bring the territories within their balance bounds",
            }
            for u in moved[:MAX_MOVES_LISTED].tolist()
        ]
    sums_mean = sums.mean(axis=0)
    return {
        "feasible": result.feasible,
        "violations": result.violations,
        "max_relative_deviation": dict(
            zip(built.measure_names, result.max_relative_deviation.tolist(), strict=True)
        ),
        "coefficient_of_variation": {
            name: float(sums[:, j].std() / sums_mean[j]) if sums_mean[j] else 0.0
            for j, name in enumerate(built.measure_names)
        },
        "cut_edges": result.cut_edges,
        "moved_units": result.moved_units,
        "accounts_moved": accounts_moved,
        "moves": moves,
        "objective_value": result.objective_value,
        "elapsed_seconds": result.elapsed_seconds,
        "iterations": result.iterations,
        "islands": built.islands,
        "islands_joined": _islands(problem, codes),
        "territories": territories,
        "assignment": dict(zip(codes, assignment.tolist(), strict=True)),
        "geojson": {"type": "FeatureCollection", "features": features},
    }


def _diameter(points: NDArray[np.float64]) -> float:
    """Largest distance between two unit centres of the territory, in metres."""
    if len(points) < 2:
        return 0.0
    try:
        points = points[ConvexHull(points).vertices]
    except (QhullError, ValueError):  # collinear or too few points: all of them then
        points = points[:2000]
    return float(pdist(points).max())


def _islands(problem: DesignProblem, codes: list[str]) -> list[list[str]]:
    """Units with no neighbour path to the rest, and the unit each was joined to."""
    graph = build_graph(len(codes), problem.edges, problem.edge_lengths, problem.coordinates)
    return [[codes[a], codes[b]] for a, b in graph.added_edges.tolist()]
