"""The soak: mixed realistic traffic at a fixed concurrency through the gateway for a while, every
answer checked, and the memory (RSS) of each service process sampled throughout.

Driven by tests/faults/test_soak.py: 30 seconds in the suite, minutes under ``make soak``
(``SOAK_SECONDS``), which also prints the table of ``format_report``. Traffic goes only to the
gateway on 127.0.0.1, and is bounded in time (``seconds`` plus one request timeout) and in count
(``max_requests``).
"""

from __future__ import annotations

import asyncio
import random
import statistics
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import httpx
import psutil

REQUEST_TIMEOUT_SECONDS = 15.0
SAMPLE_EVERY_SECONDS = 0.5
MB = 1024 * 1024

# A request of the mix: (method, path, JSON body or None, the status that means success).
Request = tuple[str, str, Any, int]


@dataclass(frozen=True)
class Kind:
    """One kind of request and its share of the traffic."""

    name: str
    weight: int
    make: Callable[[random.Random, int], Request]


@dataclass(frozen=True)
class MemoryBound:
    """Allowed RSS growth of a service after warm-up: ``share`` of its warm RSS plus ``slack``.

    Warm-up fills what is meant to stay: the pools opened to their size at this concurrency,
    asyncpg's and SQLAlchemy's statement caches, the key and alignment caches, the allocator's
    arenas; after it RSS should be flat (measured: under 1 MB of growth over 20 s to minutes on
    ~80-115 MB processes). The slack absorbs the allocator's step-wise growth that is not a leak
    (pymalloc arenas of 1 MB, a new glibc heap of a few MB); the share scales with the process.
    A leak of a few kB per request, at the ~30-100 requests/s each service gets here, exceeds
    both within the suite's 30 s, and a smaller one within ``make soak``'s minutes.
    """

    share: float = 0.10
    slack_mb: float = 6.0

    def allowed_mb(self, warm_mb: float) -> float:
        return warm_mb * self.share + self.slack_mb


@dataclass
class KindStats:
    count: int = 0
    errors: int = 0
    latencies: list[float] = field(default_factory=list)


@dataclass
class MemoryTrack:
    service: str
    pid: int
    samples: list[tuple[float, int]] = field(default_factory=list)  # (seconds, RSS bytes)

    def median_mb(self, start: float, end: float) -> float:
        window = [rss for at, rss in self.samples if start <= at <= end]
        if not window:
            raise ValueError(f"no RSS sample of {self.service} between {start} and {end} s")
        return statistics.median(window) / MB


@dataclass
class SoakReport:
    concurrency: int
    seconds: float
    warmup_seconds: float
    bound: MemoryBound
    kinds: dict[str, KindStats]
    statuses: Counter[int]
    socket_errors: int
    first_errors: list[str]
    memory: list[MemoryTrack]

    @property
    def requests(self) -> int:
        return sum(stats.count for stats in self.kinds.values())

    @property
    def errors(self) -> int:
        return sum(stats.errors for stats in self.kinds.values())

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def memory_rows(self) -> list[dict[str, Any]]:
        """Per service: RSS at the end of warm-up and at the end (medians of 2 s), growth, bound."""
        rows = []
        for track in self.memory:
            warm = track.median_mb(self.warmup_seconds - 2, self.warmup_seconds)
            final = track.median_mb(self.seconds - 2, self.seconds + 1)
            peak = max(rss for _, rss in track.samples) / MB
            rows.append(
                {
                    "service": track.service,
                    "warm_mb": warm,
                    "final_mb": final,
                    "peak_mb": peak,
                    "growth_mb": final - warm,
                    "allowed_mb": self.bound.allowed_mb(warm),
                }
            )
        return rows


def _percentile(values: list[float], share: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


async def _sample_memory(tracks: list[MemoryTrack], began: float, stop: asyncio.Event) -> None:
    processes = {track.pid: psutil.Process(track.pid) for track in tracks}
    while True:
        at = time.monotonic() - began
        for track in tracks:
            track.samples.append((at, processes[track.pid].memory_info().rss))
        try:
            await asyncio.wait_for(stop.wait(), SAMPLE_EVERY_SECONDS)
            return
        except TimeoutError:
            continue


async def run_soak(
    *,
    base_url: str,
    headers: Mapping[str, str],
    kinds: list[Kind],
    service_pids: Mapping[str, int],
    concurrency: int = 16,
    seconds: float = 30.0,
    warmup_seconds: float = 10.0,
    max_requests: int = 1_000_000,
    bound: MemoryBound | None = None,
    seed: int = 20261129,
) -> SoakReport:
    """Keep ``concurrency`` requests in flight for ``seconds``; memory is judged after warm-up."""
    host = urlsplit(base_url).hostname
    if host != "127.0.0.1":
        raise ValueError(f"the soak only drives a local gateway (127.0.0.1), not {host}")
    if not 2 < warmup_seconds < seconds - 2:
        raise ValueError("warm-up must leave at least 2 s on each side")
    stats = {kind.name: KindStats() for kind in kinds}
    statuses: Counter[int] = Counter()
    first_errors: list[str] = []
    socket_errors = 0
    issued = 0
    tracks = [MemoryTrack(service, pid) for service, pid in service_pids.items()]
    weights = [kind.weight for kind in kinds]
    began = time.monotonic()
    deadline = began + seconds
    stop_sampling = asyncio.Event()

    def note_error(message: str) -> None:
        if len(first_errors) < 5:
            first_errors.append(message)

    async def worker(client: httpx.AsyncClient, rng: random.Random) -> None:
        nonlocal issued, socket_errors
        while time.monotonic() < deadline and issued < max_requests:
            index = issued
            issued += 1
            kind = rng.choices(kinds, weights)[0]
            method, path, body, expected = kind.make(rng, index)
            started = time.perf_counter()
            try:
                response = await client.request(method, path, json=body, headers=dict(headers))
            except httpx.HTTPError as error:
                socket_errors += 1
                stats[kind.name].count += 1
                stats[kind.name].errors += 1
                note_error(f"{kind.name} {method} {path}: {error!r}")
                continue
            stats[kind.name].count += 1
            stats[kind.name].latencies.append(time.perf_counter() - started)
            statuses[response.status_code] += 1
            if response.status_code != expected:
                stats[kind.name].errors += 1
                note_error(f"{kind.name} {method} {path}: {response.status_code} {response.text}")

    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    sampler = asyncio.create_task(_sample_memory(tracks, began, stop_sampling))
    try:
        async with httpx.AsyncClient(
            base_url=base_url, timeout=REQUEST_TIMEOUT_SECONDS, limits=limits
        ) as client:
            await asyncio.gather(
                *(worker(client, random.Random(seed + number)) for number in range(concurrency))
            )
    finally:
        await asyncio.sleep(SAMPLE_EVERY_SECONDS)  # one more sample after the last request
        stop_sampling.set()
        await sampler
    return SoakReport(
        concurrency=concurrency,
        seconds=time.monotonic() - began,
        warmup_seconds=warmup_seconds,
        bound=bound or MemoryBound(),
        kinds=stats,
        statuses=statuses,
        socket_errors=socket_errors,
        first_errors=first_errors,
        memory=tracks,
    )


def format_report(report: SoakReport) -> str:
    lines = [
        f"soak: {report.requests} requests in {report.seconds:.1f} s at concurrency "
        f"{report.concurrency} = {report.rate:.0f} req/s; errors {report.errors} "
        f"(socket {report.socket_errors}); statuses {dict(sorted(report.statuses.items()))}",
        "",
        f"{'request':<28}{'count':>8}{'errors':>8}{'p50 ms':>9}{'p99 ms':>9}{'max ms':>9}",
    ]
    for name, stats in report.kinds.items():
        ms = [latency * 1000 for latency in stats.latencies]
        lines.append(
            f"{name:<28}{stats.count:>8}{stats.errors:>8}{_percentile(ms, 0.5):>9.1f}"
            f"{_percentile(ms, 0.99):>9.1f}{max(ms, default=0):>9.1f}"
        )
    lines += [
        "",
        f"memory (RSS, MB): warm = median of the 2 s before {report.warmup_seconds:.0f} s, "
        f"final = median of the last 2 s; allowed growth = {report.bound.share:.0%} of warm + "
        f"{report.bound.slack_mb:.0f} MB",
        f"{'service':<14}{'warm':>8}{'final':>8}{'peak':>8}{'growth':>8}{'allowed':>9}",
    ]
    for row in report.memory_rows():
        lines.append(
            f"{row['service']:<14}{row['warm_mb']:>8.1f}{row['final_mb']:>8.1f}"
            f"{row['peak_mb']:>8.1f}{row['growth_mb']:>+8.1f}{row['allowed_mb']:>9.1f}"
        )
    if report.first_errors:
        lines += ["", "first errors:", *report.first_errors]
    return "\n".join(lines)


def print_report(report: SoakReport) -> None:
    print("\n" + format_report(report), flush=True)
