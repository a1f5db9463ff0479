"""The unit-import benchmark's harness cannot rot: a few hundred units through the same job
(``python -m bench.planning_units``) on the suite's database, every import succeeding."""

import json
import os
import subprocess
import sys
from pathlib import Path

from bench.planning.instances import REPO_ROOT


def test_bench_imports_polygons_and_points_and_writes_its_results(
    database_url: str, tmp_path: Path
) -> None:
    output = tmp_path / "planning_units.json"
    completed = subprocess.run(
        [sys.executable, "-m", "bench.planning_units", "--units", "300", "--output", str(output)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "DATABASE_URL": database_url},
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    assert "adjacency stage / bare GiST self-join" in completed.stdout
    results = json.loads(output.read_text())["results"]
    polygons, points = results["polygons (GeoJSON)"], results["points + edges (NDJSON)"]
    assert (polygons["status"], polygons["imported"], polygons["errors"]) == ("succeeded", 300, 0)
    assert (points["status"], points["imported"], points["errors"]) == ("succeeded", 300, 0)
    # Each polygon's border pairs are the bare self-join's intersecting pairs that share a line.
    assert 0 < polygons["edges"] <= results["bare GiST self-join (floor)"]["pairs"]
