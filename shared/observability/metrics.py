"""Prometheus metrics of every process: HTTP requests, database pools, jobs.

The one place metric names are defined, so that services, the gateway app and the job worker
export the same families. Everything goes to prometheus_client's default registry: one uvicorn
worker per process, hence no multiprocess mode. Services serve the registry at ``METRICS_PATH``
on their own port (see shared/observability/install.py); a process without an HTTP server (the
worker) calls ``serve_metrics``.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from prometheus_client import (
    REGISTRY,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    start_http_server,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

logger = logging.getLogger(__name__)
# The *_created series double the output and no dashboard of ours reads them.
disable_created_metrics()

# Outside every service's /<service>/ prefix, so it cannot clash with the metrics service's
# /metrics/ routes; nginx serves nothing under /-/ (Prometheus scrapes each pod directly).
METRICS_PATH = "/-/metrics"

# The lead hot path answers in milliseconds; bulk uploads and design jobs take minutes.
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)
JOB_BUCKETS = (0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600)

# Requests that matched no route are counted under one label, never under their raw path.
UNMATCHED_ROUTE = "unmatched"

HTTP_REQUESTS = Counter(
    "http_requests",
    "HTTP requests answered, by route template, method and status code.",
    ["route", "method", "status"],
)
HTTP_DURATION = Histogram(
    "http_request_duration_seconds",
    "Time from the request reaching the app to the last byte of its response.",
    ["route", "method"],
    buckets=LATENCY_BUCKETS,
)
HTTP_IN_PROGRESS = Gauge("http_requests_in_progress", "HTTP requests being handled right now.")

JOB_DURATION = Histogram(
    "job_duration_seconds",
    "Run time of a job, by task and outcome (succeeded, failed).",
    ["task", "outcome"],
    buckets=JOB_BUCKETS,
)
JOBS_RUNNING = Gauge("jobs_running", "Jobs this process is running right now.", ["task"])
QUEUE_DEPTH = Gauge(
    "jobs_queue_depth",
    "Jobs in the Postgres-backed queue (procrastinate.procrastinate_jobs), by queue and status"
    " (todo, doing).",
    ["queue", "status"],
)


@contextmanager
def observe_job(task: str) -> Iterator[None]:
    """Count one job run of ``task``: running gauge, then its duration by outcome.

    For the worker: ``with observe_job(task_name): await run(...)``; an exception is recorded as
    ``failed`` and propagates.
    """
    running = JOBS_RUNNING.labels(task=task)
    running.inc()
    started = time.perf_counter()
    outcome = "failed"
    try:
        yield
        outcome = "succeeded"
    finally:
        running.dec()
        JOB_DURATION.labels(task=task, outcome=outcome).observe(time.perf_counter() - started)


# The table exists only once the worker's queue is migrated; until then there is no depth.
QUEUE_DEPTH_SQL = """
SELECT queue_name, status::text AS status, count(*) AS jobs
FROM procrastinate.procrastinate_jobs
WHERE status IN ('todo', 'doing')
GROUP BY queue_name, status
"""
QUEUE_TABLE_SQL = "SELECT to_regclass('procrastinate.procrastinate_jobs') IS NOT NULL"
_queue_labels_reported: set[tuple[str, str]] = set()


def set_queue_depth(rows: Iterable[tuple[str, str, int]]) -> None:
    """Replace the queue depth gauge with ``(queue, status, jobs)`` rows.

    Queues that emptied since the last scrape read 0 rather than disappearing."""
    seen: set[tuple[str, str]] = set()
    for queue, status, jobs in rows:
        QUEUE_DEPTH.labels(queue=queue, status=status).set(jobs)
        seen.add((queue, status))
    for queue, status in _queue_labels_reported - seen:
        QUEUE_DEPTH.labels(queue=queue, status=status).set(0)
    _queue_labels_reported.update(seen)


@dataclass(frozen=True)
class PoolStats:
    """One connection pool's state: connections lent out, idle, and the most it may open."""

    in_use: int
    idle: int
    max_size: int


class PoolCollector(Collector):
    """Reads every tracked pool at scrape time (nothing to update on the hot path)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._sources: dict[tuple[str, str], Callable[[], PoolStats | None]] = {}

    def track(self, *, service: str, pool: str, stats: Callable[[], PoolStats | None]) -> None:
        with self._lock:
            self._sources[(service, pool)] = stats

    def untrack(self, *, service: str, pool: str) -> None:
        with self._lock:
            self._sources.pop((service, pool), None)

    def collect(self) -> Iterator[GaugeMetricFamily]:
        connections = GaugeMetricFamily(
            "db_pool_connections",
            "Database connections of a pool, by state (in_use, idle).",
            labels=["service", "pool", "state"],
        )
        limits = GaugeMetricFamily(
            "db_pool_max_connections",
            "The most connections a pool may open (size plus overflow).",
            labels=["service", "pool"],
        )
        with self._lock:
            sources = list(self._sources.items())
        for (service, pool), read in sources:
            try:
                stats = read()
            except Exception:  # a pool being closed must not fail the whole scrape
                logger.debug("pool stats unavailable", exc_info=True)
                continue
            if stats is None:
                continue
            connections.add_metric([service, pool, "in_use"], stats.in_use)
            connections.add_metric([service, pool, "idle"], stats.idle)
            limits.add_metric([service, pool], stats.max_size)
        yield connections
        yield limits

    def describe(self) -> Iterator[GaugeMetricFamily]:
        return self.collect()


POOLS = PoolCollector()
REGISTRY.register(POOLS)


def sqlalchemy_pool_stats(pool: Any) -> PoolStats:
    """A SQLAlchemy QueuePool (an AsyncEngine's ``engine.pool``)."""
    return PoolStats(
        in_use=pool.checkedout(),
        idle=pool.checkedin(),
        max_size=pool.size() + max(pool._max_overflow, 0),  # no public accessor
    )


def track_asyncpg_pool(*, service: str, name: str, pool: Any) -> None:
    """Export an asyncpg pool's use until ``untrack_pool`` (call it where the pool is closed:
    asyncpg pools take no weak references, so the collector holds this one)."""

    def stats() -> PoolStats | None:
        if pool._closed:
            return None
        idle = pool.get_idle_size()
        return PoolStats(in_use=pool.get_size() - idle, idle=idle, max_size=pool.get_max_size())

    POOLS.track(service=service, pool=name, stats=stats)


def untrack_pool(*, service: str, name: str) -> None:
    POOLS.untrack(service=service, pool=name)


def serve_metrics(*, port: int, address: str = "0.0.0.0") -> None:
    """Serve the registry on its own port from a thread: for processes without an HTTP app
    (the job worker). Prometheus scrapes ``http://<pod>:<port>/`` (any path)."""
    start_http_server(port, addr=address)
