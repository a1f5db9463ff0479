"""One method on one instance, in a process of its own: ``python -m bench.planning.worker
REQUEST.json``. Writes the plan and its wall time and peak memory to the request's ``output``.
A fresh process per run keeps one method's memory and imports out of another's figures, and
lets the harness kill a run that overstays its budget."""

import importlib
import json
import sys
import time
import traceback
from pathlib import Path
from typing import Any

import numpy as np

PRELOAD = {
    "ours": ("services.planning.design.engine",),
    "gerrychain-tree": ("gerrychain", "gerrychain.partition.initial_partition_generators"),
    "gerrychain-recom": ("gerrychain", "gerrychain.proposals", "gerrychain.updaters"),
    "spopt-kmeans": ("spopt.region", "libpysal.weights"),
    "spopt-maxp": ("spopt.region", "libpysal.weights", "geopandas"),
    "mip": ("scipy.optimize",),
}


def _memory_mib(field: str) -> float:
    """VmRSS (now) or VmHWM (peak) of this process, MiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return 0.0


def run(request: dict[str, Any]) -> dict[str, Any]:
    from bench.planning.instances import Instance
    from bench.planning.methods import METHODS, Budget, engine_path

    instance = Instance.load(Path(request["instance"]))
    current = np.load(request["current"]) if request.get("current") else None
    budget = Budget(
        seconds=float(request["seconds"]),
        seed=int(request.get("seed", 0)),
        recom_steps=request.get("recom_steps"),
        current=current,
    )
    method = METHODS[request["method"]]
    # Library imports are not the method's wall time: load them before the clock starts.
    if request["method"] == "ours":
        engine_path()
    for module in PRELOAD.get(request["method"], ()):
        importlib.import_module(module)
    rss_before = _memory_mib("VmRSS")
    started = time.perf_counter()
    outcome = method(instance, budget)
    wall = time.perf_counter() - started
    return {
        "assignment": None if outcome.assignment is None else outcome.assignment.tolist(),
        "wall_seconds": wall,
        "peak_rss_mib": _memory_mib("VmHWM"),
        "rss_before_mib": rss_before,
        "note": outcome.note,
        "details": outcome.details,
        "error": None,
    }


def main() -> int:
    request = json.loads(Path(sys.argv[1]).read_text())
    try:
        answer = run(request)
    except Exception as error:  # a failed method is a result to report, not a crash
        answer = {
            "assignment": None,
            "error": f"{type(error).__name__}: {error}"[:300],
            "traceback": traceback.format_exc()[-2000:],
            "peak_rss_mib": _memory_mib("VmHWM"),
        }
    Path(request["output"]).write_text(json.dumps(answer, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
