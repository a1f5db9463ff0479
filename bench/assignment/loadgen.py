"""Drives POST /assignment/leads with wrk (a separate C process, not a Python client)."""

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

LUA_SCRIPT = Path(__file__).with_name("leads.lua")


@dataclass(frozen=True)
class LoadResult:
    """One timed run: rate in requests/s, latencies in milliseconds."""

    label: str
    concurrency: int
    requests: int
    seconds: float
    rate: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    p999_ms: float
    max_ms: float
    non2xx: int
    socket_errors: int
    first_error: str
    # direct.py only: CPU seconds per component during its measured window.
    cpu_seconds: dict[str, float] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def wrk_binary() -> str:
    found = shutil.which("wrk")
    if found is None:
        raise RuntimeError("wrk is not installed: run deploy/local/bootstrap.sh (Debian's wrk)")
    return found


def run_wrk(
    *,
    base_url: str,
    leads_path: Path,
    api_key: str,
    threads: int,
    connections: int,
    seconds: float,
    label: str,
) -> LoadResult:
    """Run wrk for ``seconds`` with ``connections`` open connections; parse the script's JSON."""
    command = [
        wrk_binary(),
        f"-t{threads}",
        f"-c{connections}",
        f"-d{max(1, round(seconds))}s",
        "--timeout",
        "10s",
        "-s",
        str(LUA_SCRIPT),
        base_url,
    ]
    environment = {**os.environ, "BENCH_LEADS": str(leads_path), "BENCH_API_KEY": api_key}
    completed = subprocess.run(
        command, env=environment, capture_output=True, text=True, check=False, timeout=seconds + 60
    )
    line = next(
        (row for row in completed.stdout.splitlines() if row.startswith("BENCH_JSON ")), None
    )
    if completed.returncode != 0 or line is None:
        raise RuntimeError(
            f"wrk failed (exit {completed.returncode}):\n{completed.stdout}\n{completed.stderr}"
        )
    data = json.loads(line.removeprefix("BENCH_JSON "))
    latency = data["latency_us"]
    errors = data["errors"]
    seconds_run = data["duration_us"] / 1e6
    first_error = ""
    if data["non2xx"]:
        first_error = f"HTTP {data['first_bad_status']}: {data['first_bad_body']}"
    return LoadResult(
        label=label,
        concurrency=connections,
        requests=data["requests"],
        seconds=seconds_run,
        rate=data["requests"] / seconds_run if seconds_run else 0.0,
        p50_ms=latency["p50"] / 1000,
        p90_ms=latency["p90"] / 1000,
        p99_ms=latency["p99"] / 1000,
        p999_ms=latency["p999"] / 1000,
        max_ms=latency["max"] / 1000,
        non2xx=data["non2xx"],
        socket_errors=errors["connect"] + errors["read"] + errors["write"] + errors["timeout"],
        first_error=first_error,
    )


def run_direct(
    *,
    tenant_id: str,
    leads_path: Path,
    concurrency: int,
    seconds: float,
    warmup: float,
    label: str,
    postmaster_pid: int | None = None,
    floor: bool = False,
) -> LoadResult:
    """Run bench.assignment.direct in its own Python process and read its result (``floor``:
    the floor's work instead of the service's)."""
    command = [
        sys.executable,
        "-m",
        "bench.assignment.direct",
        "--tenant-id",
        tenant_id,
        "--leads",
        str(leads_path),
        "--concurrency",
        str(concurrency),
        "--seconds",
        str(seconds),
        "--warmup",
        str(warmup),
    ]
    if postmaster_pid is not None:
        command += ["--postmaster-pid", str(postmaster_pid)]
    if floor:
        command.append("--floor")
    completed = subprocess.run(
        command, capture_output=True, text=True, check=False, timeout=seconds + warmup + 120
    )
    line = next(
        (row for row in completed.stdout.splitlines() if row.startswith("BENCH_JSON ")), None
    )
    if completed.returncode != 0 or line is None:
        raise RuntimeError(
            f"the direct baseline failed (exit {completed.returncode}):\n{completed.stderr}"
        )
    data = json.loads(line.removeprefix("BENCH_JSON "))
    return LoadResult(
        label=label,
        concurrency=concurrency,
        requests=data["requests"],
        seconds=data["seconds"],
        rate=data["rate"],
        p50_ms=data["p50_ms"],
        p90_ms=data["p90_ms"],
        p99_ms=data["p99_ms"],
        p999_ms=data["p999_ms"],
        max_ms=data["max_ms"],
        non2xx=0,
        socket_errors=0,
        first_error="",
        cpu_seconds=data["cpu_seconds"],
    )
