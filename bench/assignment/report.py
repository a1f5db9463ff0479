"""The machine the numbers came from, the summary table, and the JSON results file."""

import json
import os
import platform
import statistics
import subprocess
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg

REPO_ROOT = Path(__file__).resolve().parents[2]


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _memory_gib() -> float:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    return 0.0


def _git_revision() -> str:
    try:
        revision = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain"], cwd=REPO_ROOT, capture_output=True, text=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return revision + ("+uncommitted changes" if dirty else "")


def started_at(pid: int) -> float | None:
    """When process ``pid`` started, as a Unix time."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        boot = next(
            int(line.split()[1])
            for line in Path("/proc/stat").read_text().splitlines()
            if line.startswith("btime ")
        )
    except (OSError, StopIteration):
        return None
    ticks = int(stat[stat.rindex(")") + 2 :].split()[19])
    return boot + ticks / os.sysconf("SC_CLK_TCK")


def stale_code(pid: int | None) -> list[str]:
    """Python files of the platform changed after the service ``pid`` started (it runs older
    code than the checkout: `make run` leaves running services alone)."""
    started = started_at(pid) if pid is not None else None
    if started is None:
        return []
    return sorted(
        str(path.relative_to(REPO_ROOT))
        for folder in ("services", "shared")
        for path in (REPO_ROOT / folder).rglob("*.py")
        if path.stat().st_mtime > started
    )


def command_line(pid: int | None) -> str | None:
    if pid is None:
        return None
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return None
    return " ".join(part.decode() for part in raw.split(b"\0") if part)


async def database_info(connection: asyncpg.Connection) -> dict[str, Any]:
    row = await connection.fetchrow(
        """
        SELECT version() AS version, postgis_lib_version() AS postgis,
               current_setting('synchronous_commit') AS synchronous_commit,
               current_setting('shared_buffers') AS shared_buffers,
               current_setting('jit') AS jit,
               current_setting('max_connections') AS max_connections
        """
    )
    assert row is not None
    return dict(row)


async def commit_probe(
    connection: asyncpg.Connection, tenant_id: uuid.UUID, *, count: int = 200
) -> dict[str, float]:
    """Round trip of the smallest durable commit (a one-row UPDATE, so a WAL flush): the floor
    under every single-lead assignment, which commits before it answers."""
    timings = []
    for _ in range(count):
        started = time.perf_counter()
        await connection.execute("UPDATE tenant SET name = name WHERE id = $1", tenant_id)
        timings.append((time.perf_counter() - started) * 1000)
    timings.sort()
    return {
        "p50_ms": statistics.median(timings),
        "p90_ms": timings[int(0.9 * (count - 1))],
        "p99_ms": timings[int(0.99 * (count - 1))],
    }


def machine_info() -> dict[str, Any]:
    return {
        "nproc": os.cpu_count(),
        "cpu_model": _cpu_model(),
        "memory_gib": _memory_gib(),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "git_revision": _git_revision(),
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "load_average_at_start": list(os.getloadavg()),
    }


@dataclass(frozen=True)
class Row:
    metric: str
    value: str
    target: str = ""
    ratio: str = ""
    verdict: str = ""

    def as_dict(self) -> dict[str, str]:
        return dict(self.__dict__)


def verdict(ok: bool | None) -> str:
    if ok is None:
        return ""
    return "PASS" if ok else "FAIL"


def spread(values: Sequence[float], unit: str, digits: int = 1) -> str:
    """Median, and the range when there is more than one run: ``2.8 ms (2.6-3.1)``."""
    median = statistics.median(values)
    text = f"{median:.{digits}f} {unit}"
    if len(values) > 1:
        text += f" ({min(values):.{digits}f}-{max(values):.{digits}f})"
    return text


def render_table(rows: Sequence[Row]) -> str:
    headers = ("metric", "value", "target", "ratio", "verdict")
    cells = [headers] + [(r.metric, r.value, r.target, r.ratio, r.verdict) for r in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = []
    for index, row in enumerate(cells):
        lines.append("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)))
        if index == 0:
            lines.append("  ".join("-" * width for width in widths))
    return "\n".join(line.rstrip() for line in lines)


def write_results(path: Path, results: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(results, indent=2, default=str) + "\n")
