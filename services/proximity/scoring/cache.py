"""The tenant's graph, built once per graph version and kept in this process (service or worker).

A request reads the tenant's version (one indexed row) and uses the cached graph when it is the
same. When writes moved it on, the first request rebuilds (off the event loop) while concurrent
requests keep answering from the previous graph: a write is visible within one rebuild (~seconds
at a million ties), and the ranking the assignment rule calls never waits behind it once a graph
exists. Entries also expire after an hour so recency decay (computed at build time) stays fresh.
"""

import asyncio
import uuid
from collections import defaultdict

import asyncpg
from cachetools import LRUCache, TTLCache

from services.proximity.scoring import repository
from services.proximity.scoring.graph import TenantGraph
from services.proximity.scoring.model import DEFAULT_MODEL, ScoringModel

GRAPH_TTL_SECONDS = 3600
TENANTS_CACHED = 8

_graphs: TTLCache[uuid.UUID, TenantGraph] = TTLCache(maxsize=TENANTS_CACHED, ttl=GRAPH_TTL_SECONDS)
# The last graph of each tenant, even expired: what concurrent requests answer from meanwhile.
_previous: LRUCache[uuid.UUID, TenantGraph] = LRUCache(maxsize=TENANTS_CACHED)
_locks: defaultdict[uuid.UUID, asyncio.Lock] = defaultdict(asyncio.Lock)


async def tenant_graph(
    connection: asyncpg.Connection, *, tenant_id: uuid.UUID, model: ScoringModel = DEFAULT_MODEL
) -> TenantGraph:
    """The tenant's graph at its current version (or the previous one while it is rebuilt);
    ``connection`` is bound to the tenant (a request's, ``repository.driver_of``, or a job's)."""
    version = await repository.graph_version(connection, tenant_id=tenant_id)
    cached = _graphs.get(tenant_id)
    if cached is not None and cached.version == version:
        return cached
    lock = _locks[tenant_id]
    previous = _previous.get(tenant_id)
    if lock.locked() and previous is not None:
        return previous
    async with lock:
        cached = _graphs.get(tenant_id)
        if cached is not None and cached.version >= version:
            return cached
        rows = await repository.load_graph(connection, tenant_id=tenant_id)
        graph = await asyncio.to_thread(TenantGraph, rows, model, version=version)
        _graphs[tenant_id] = graph
        _previous[tenant_id] = graph
        return graph


def clear() -> None:
    """Forget every cached graph (tests and benchmarks measuring a cold start)."""
    _graphs.clear()
    _previous.clear()
