"""The tenant's graph, built once per graph version and kept in this process (service or worker).

A request reads the tenant's version (one indexed row) and uses the cached graph when it is the
same. When writes (or new kind weights) moved it on, a small graph is rebuilt inside the request
(a write is read back at once); a large one keeps answering from the cached graph while a
rebuild runs off the event loop on a connection of its own: a write is visible within one
rebuild (seconds at a million ties), and no request waits behind it. Only a process
that has never built the tenant's graph makes its first request wait; the service avoids that by
building every tenant's graph at startup (``warm``) before it reports ready. Entries are also
rebuilt after an hour so recency decay (computed at build time) stays fresh.

The rebuild runs in this process because the cache is this process's memory: it is a few
seconds of numpy work in a thread, not a job (the worker builds its own copy for its jobs).
"""

import asyncio
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import asyncpg

from services.proximity.scoring import repository
from services.proximity.scoring.graph import GraphArrays, TenantGraph
from services.proximity.scoring.model import tenant_model

logger = logging.getLogger(__name__)

GRAPH_TTL_SECONDS = 3600.0
TENANTS_CACHED = 8
# Up to this many ties a stale graph is rebuilt inside the request (tens of milliseconds).
INLINE_REBUILD_TIES = 10_000

# A connection bound to one tenant (row-level security) for a background rebuild.
Connect = Callable[[uuid.UUID], Awaitable[asyncpg.Connection]]


@dataclass
class _Entry:
    graph: TenantGraph
    built_at: float


_graphs: dict[uuid.UUID, _Entry] = {}
_rebuilding: dict[uuid.UUID, asyncio.Task[None]] = {}
_locks: dict[uuid.UUID, asyncio.Lock] = {}
_connect: Connect | None = None
# Last build, for the benchmark and the logs: tenant → (version, seconds).
last_build: dict[uuid.UUID, tuple[int, float]] = {}


def configure(connect: Connect | None) -> None:
    """How this process opens a tenant's connection for background rebuilds (the service's
    lifespan); without it a stale graph is rebuilt on the caller's connection."""
    global _connect
    _connect = connect


async def _read(
    connection: asyncpg.Connection, tenant_id: uuid.UUID
) -> tuple[int, dict[str, float], GraphArrays]:
    # The version first: a write landing meanwhile makes the graph newer than its version
    # says, which only costs one more rebuild.
    version = await repository.graph_version(connection, tenant_id=tenant_id)
    weights = await repository.kind_weights(connection, tenant_id=tenant_id)
    rows = await repository.load_graph(connection, tenant_id=tenant_id)
    return version, weights, rows


async def build(connection: asyncpg.Connection, *, tenant_id: uuid.UUID) -> TenantGraph:
    """Read the tenant's graph and kind weights in one snapshot and build its matrices."""
    started = time.perf_counter()
    if connection.is_in_transaction():  # a request's or a job's: its snapshot(s)
        version, weights, rows = await _read(connection, tenant_id)
    else:
        async with connection.transaction(isolation="repeatable_read", readonly=True):
            version, weights, rows = await _read(connection, tenant_id)
    graph = await asyncio.to_thread(TenantGraph, rows, tenant_model(weights), version=version)
    last_build[tenant_id] = (version, time.perf_counter() - started)
    logger.info(
        "proximity graph of tenant %s (version %s, %s ties) built in %.2f s",
        tenant_id,
        version,
        graph.tie_count,
        time.perf_counter() - started,
    )
    return graph


async def _build_and_keep(connection: asyncpg.Connection, tenant_id: uuid.UUID) -> TenantGraph:
    lock = _locks.setdefault(tenant_id, asyncio.Lock())
    async with lock:
        graph = await build(connection, tenant_id=tenant_id)
        current = _graphs.get(tenant_id)
        if current is None or current.graph.version <= graph.version:
            _graphs[tenant_id] = _Entry(graph, time.monotonic())
            while len(_graphs) > TENANTS_CACHED:
                _graphs.pop(min(_graphs, key=lambda key: _graphs[key].built_at))
        return _graphs[tenant_id].graph


async def _build_on_own_connection(tenant_id: uuid.UUID) -> TenantGraph:
    """Build on a connection of its own: one REPEATABLE READ snapshot for the whole read."""
    assert _connect is not None
    connection = await _connect(tenant_id)
    try:
        return await _build_and_keep(connection, tenant_id)
    finally:
        await connection.close()


async def _rebuild(tenant_id: uuid.UUID) -> None:
    try:
        await _build_on_own_connection(tenant_id)
    except Exception:
        # The stale graph keeps answering; the next request or poll tries again.
        logger.exception("rebuilding the proximity graph of tenant %s failed", tenant_id)
    finally:
        _rebuilding.pop(tenant_id, None)


def start_rebuild(tenant_id: uuid.UUID) -> None:
    """Rebuild the tenant's graph in the background (cached or not); no-op when under way."""
    if _connect is None:
        return
    if tenant_id not in _rebuilding:
        _rebuilding[tenant_id] = asyncio.create_task(_rebuild(tenant_id))


async def tenant_graph(connection: asyncpg.Connection, *, tenant_id: uuid.UUID) -> TenantGraph:
    """The tenant's graph: the current version, or the cached one while it is rebuilt;
    ``connection`` is bound to the tenant (a request's, ``repository.driver_of``, or a job's)."""
    version = await repository.graph_version(connection, tenant_id=tenant_id)
    entry = _graphs.get(tenant_id)
    if entry is not None:
        fresh = time.monotonic() - entry.built_at < GRAPH_TTL_SECONDS
        if entry.graph.version >= version and fresh:
            return entry.graph
        # A small graph rebuilds within a request's budget: its writes are read back at once.
        if _connect is not None and entry.graph.tie_count > INLINE_REBUILD_TIES:
            start_rebuild(tenant_id)
            return entry.graph
    # Nothing to answer from yet, or a small graph: build it now.
    if _connect is not None:
        return await _build_on_own_connection(tenant_id)
    return await _build_and_keep(connection, tenant_id)


async def refresh_if_stale(connection: asyncpg.Connection, *, tenant_id: uuid.UUID) -> None:
    """Start the rebuild of a cached graph whose version moved on (the service's poller), so
    a write is picked up without waiting for a request to notice it."""
    entry = _graphs.get(tenant_id)
    if entry is None or _connect is None or tenant_id in _rebuilding:
        return
    if entry.graph.version < await repository.graph_version(connection, tenant_id=tenant_id):
        start_rebuild(tenant_id)


def cached_tenants() -> list[uuid.UUID]:
    return list(_graphs)


async def wait_rebuilt() -> None:
    """Until the rebuilds under way have ended (tests and the benchmark)."""
    while _rebuilding:
        await asyncio.gather(*list(_rebuilding.values()), return_exceptions=True)


def clear() -> None:
    """Forget every cached graph (tests and benchmarks measuring a cold start)."""
    _graphs.clear()
