"""CPU time per component (service, nginx, Postgres, load generator) from /proc, around a run."""

import os
import resource
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

_TICKS = os.sysconf("SC_CLK_TCK")


def _stat(pid: int) -> tuple[int, float] | None:
    """(parent pid, user + system CPU seconds) of a live process, None when it is gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name may hold spaces and parentheses: the fields follow its last ")".
    fields = text[text.rindex(")") + 2 :].split()
    return int(fields[1]), (int(fields[11]) + int(fields[12])) / _TICKS


def _all_pids() -> list[int]:
    return [int(name) for name in os.listdir("/proc") if name.isdigit()]


def process_tree(root: int) -> list[int]:
    """``root`` and its children (uvicorn workers, nginx workers, Postgres backends)."""
    parents = {pid: stat[0] for pid in _all_pids() if (stat := _stat(pid)) is not None}
    return [root] + [pid for pid, parent in parents.items() if parent == root]


def parent_of(pid: int) -> int | None:
    stat = _stat(pid)
    return stat[0] if stat else None


def read_pid(path: Path) -> int | None:
    try:
        return int(path.read_text().strip())
    except (OSError, ValueError):
        return None


@dataclass
class CpuSample:
    seconds: dict[str, float] = field(default_factory=dict)


def cpu_seconds(pid: int) -> float | None:
    stat = _stat(pid)
    return stat[1] if stat else None


def _cpu_by_pid(roots: dict[str, int | None]) -> dict[str, dict[int, float]]:
    found: dict[str, dict[int, float]] = {}
    for name, root in roots.items():
        if root is None:
            continue
        found[name] = {}
        for pid in process_tree(root):
            seconds = cpu_seconds(pid)
            if seconds is not None:
                found[name][pid] = seconds
    return found


def _machine_busy() -> float:
    """CPU seconds every process on the machine used since boot (all cores, idle excluded)."""
    fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    values = [int(value) for value in fields]
    # user nice system idle iowait irq softirq steal (guest time is already inside user)
    idle = values[3] + values[4]
    return (sum(values[:8]) - idle) / _TICKS


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


@contextmanager
def cpu_meter(
    roots: dict[str, int | None], *, children_label: str | None = "load generator"
) -> Iterator[CpuSample]:
    """CPU seconds each process tree used inside the block, this process's children that
    finished inside it (wrk) as ``children_label``, and ``everything else`` the machine ran."""
    before = _cpu_by_pid(roots)
    children_before = _children_cpu()
    machine_before = _machine_busy()
    sample = CpuSample()
    yield sample
    after = _cpu_by_pid(roots)
    # Per process: one that started inside the block counts whole; one that ended inside it
    # is lost (short-lived backends: direct.py measures its own).
    sample.seconds = {
        name: sum(seconds - before.get(name, {}).get(pid, 0.0) for pid, seconds in pids.items())
        for name, pids in after.items()
    }
    if children_label:
        sample.seconds[children_label] = _children_cpu() - children_before
    ours = sum(sample.seconds.values())
    # Whatever else ran meanwhile (other services, other people's jobs on a shared box).
    sample.seconds["everything else"] = max(0.0, _machine_busy() - machine_before - ours)
