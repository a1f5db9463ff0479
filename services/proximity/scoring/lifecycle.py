"""The graph cache's life in the proximity service: built before the service reports ready (so
the first rankings after a restart do not wait for it), then kept current by a poller that
starts a rebuild as soon as a tenant's graph version moves on (a write anywhere: the API, an
upload on the worker, new kind weights), rather than waiting for a ranking to notice."""

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress

import asyncpg

from services.proximity.scoring import cache, repository
from shared.settings import Settings
from shared.tenancy import connect_for_tenant, set_connection_tenant

logger = logging.getLogger(__name__)

POLL_SECONDS = 1.0
# NOTIFY'd by an upload's write transaction (services/proximity/ingest) with the tenant's id.
IMPORTED_CHANNEL = "proximity_graph_imported"


async def _plain_connection(settings: Settings, name: str) -> asyncpg.Connection:
    connection: asyncpg.Connection = await asyncpg.connect(
        settings.libpq_database_url, server_settings=settings.server_settings(name)
    )
    return connection


async def warm(settings: Settings) -> None:
    """Build the graphs of the tenants with the most ties, up to the cache's size."""
    connection = await _plain_connection(settings, "proximity-warm")
    try:
        tenants = await repository.largest_graphs(connection, limit=cache.TENANTS_CACHED)
    finally:
        await connection.close()
    for tenant_id in tenants:
        connection = await connect_for_tenant(
            settings, tenant_id, application_name="proximity-warm"
        )
        try:
            await cache.tenant_graph(connection, tenant_id=tenant_id)
        except Exception:
            logger.exception("warming the proximity graph of tenant %s failed", tenant_id)
        finally:
            await connection.close()


async def _poll(settings: Settings) -> None:
    connection: asyncpg.Connection | None = None
    while True:
        await asyncio.sleep(POLL_SECONDS)
        try:
            if connection is None or connection.is_closed():
                connection = await _plain_connection(settings, "proximity-graph-poll")
            for tenant_id in cache.cached_tenants():
                await set_connection_tenant(connection, tenant_id)
                await cache.refresh_if_stale(connection, tenant_id=tenant_id)
        except (asyncpg.PostgresError, OSError):
            logger.warning("polling proximity graph versions failed; retrying", exc_info=True)
            if connection is not None:
                connection.terminate()
            connection = None


@asynccontextmanager
async def graph_cache(settings: Settings) -> AsyncIterator[None]:
    """Warm the cache, keep it current while the service runs."""

    async def connect(tenant_id: uuid.UUID) -> asyncpg.Connection:
        return await connect_for_tenant(settings, tenant_id, application_name="proximity-graph")

    def imported(_connection: object, _pid: int, _channel: str, payload: str) -> None:
        # A bulk upload committed: build that tenant's graph now, cached or not, so its first
        # rankings do not wait for it.
        with suppress(ValueError):
            cache.start_rebuild(uuid.UUID(payload))

    cache.configure(connect)
    await warm(settings)
    listener = await _plain_connection(settings, "proximity-graph-listen")
    await listener.add_listener(IMPORTED_CHANNEL, imported)
    poller = asyncio.create_task(_poll(settings))
    try:
        yield
    finally:
        poller.cancel()
        with suppress(asyncio.CancelledError):
            await poller
        await listener.close()
        await cache.wait_rebuilt()
        cache.configure(None)
