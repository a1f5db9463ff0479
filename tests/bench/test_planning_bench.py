"""The planning benchmark's harness cannot rot: its smoke suite (a 4x4 grid into 2 territories)
runs end to end through ``python -m bench.planning`` with the baselines only, and the shipped
county map's adjacency matches the one libpysal ships with it."""

import json
import subprocess
import sys
from pathlib import Path

import libpysal
import numpy as np

from bench.planning.instances import REPO_ROOT, Spec, build, sids2_path


def test_smoke_suite_runs_every_baseline_and_grades_their_plans(tmp_path: Path) -> None:
    output = tmp_path / "planning.json"
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench.planning",
            "--suite",
            "smoke",
            "--baselines-only",
            "--output",
            str(output),
        ],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    assert "Targets (issue 8)" in completed.stdout
    results = json.loads(output.read_text())
    assert results["machine"]["nproc"] >= 1 and "load_average_at_start" in results["machine"]
    (case,) = results["cases"]
    assert case["instance"]["units"] == 16 and case["instance"]["territories"] == 2
    runs = {run["method"]: run for run in case["runs"]}
    assert set(runs) == {"gerrychain-tree", "gerrychain-recom", "spopt-kmeans", "mip"}
    for method, run in runs.items():
        assert run["error"] is None, (method, run["error"], run["details"])
        assert run["evaluation"] is not None, method
        assert run["wall_seconds"] > 0 and run["peak_rss_mib"] > 0, method
    # The MIP proves the optimum of this map: no feasible plan has fewer cut edges, and its
    # plan is graded feasible by the same yardstick as everyone else's.
    mip = runs["mip"]
    assert mip["details"]["status"] == "optimal"
    assert mip["evaluation"]["feasible"]
    optimum = mip["evaluation"]["cut_edges"]
    assert mip["details"]["lower_bound"] == optimum
    for method, run in runs.items():
        if run["evaluation"]["feasible"]:
            assert run["evaluation"]["cut_edges"] >= optimum, method
    # GerryChain balances this one measure within tolerance.
    assert runs["gerrychain-tree"]["evaluation"]["feasible"]
    assert runs["gerrychain-recom"]["evaluation"]["within_tolerance"]


def test_county_adjacency_matches_the_one_libpysal_ships() -> None:
    instance, _ = build(Spec("nc-counties", "nc", 7, (0.005,), measures=("BIR74",)))
    shipped = libpysal.io.open(str(sids2_path().with_suffix(".gal"))).read()
    order = {fips: index for index, fips in enumerate(instance.unit_ids)}
    expected = {
        tuple(sorted((order[a], order[b])))
        for a, neighbours in shipped.neighbors.items()
        for b in neighbours
    }
    assert set(map(tuple, instance.edges.tolist())) == expected
    assert instance.units == 100 and instance.islands_attached == 0
    assert np.isclose(instance.measures[:, 0].sum(), 329_962)
