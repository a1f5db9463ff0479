"""A raw asyncpg pool for the lead hot path: no ORM, no pre-ping, one round trip per statement."""

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg
from fastapi import FastAPI

from services.assignment.leads.compiled_alignment import CompiledAlignmentCache
from shared.observability.metrics import track_asyncpg_pool, untrack_pool
from shared.settings import Settings
from shared.tenancy import TenantBoundConnection, bind_pool_connection

# The match query's custom plans cost ~0.6 ms of planning per lead and were never better than
# the generic plan (every lookup still uses its index); measured in bench/assignment.
# No JIT: a generic plan's cost estimate can pass jit_above_cost, and JIT compiles on every
# execution (~120 ms a lead measured, for statements that run in a millisecond).
SERVER_SETTINGS = {"plan_cache_mode": "force_generic_plan", "jit": "off"}


async def skip_reset(connection: asyncpg.Connection) -> None:
    """The hot path leaves no session state (no LISTEN, advisory locks or SET) but the tenant
    ``bind_pool_connection`` tracks, so the reset round trip asyncpg makes on every release is
    pure cost."""


async def init_connection(connection: asyncpg.Connection) -> None:
    await connection.set_type_codec(
        "jsonb", encoder=json.dumps, decoder=json.loads, schema="pg_catalog"
    )


@asynccontextmanager
async def lead_pool(app: FastAPI, settings: Settings) -> AsyncIterator[None]:
    # Each checkout is bound to the request's tenant (row-level security): a round trip only
    # when the connection last served another tenant.
    pool = await asyncpg.create_pool(
        settings.libpq_database_url,
        min_size=1,
        max_size=settings.db_pool_size,
        init=init_connection,
        setup=bind_pool_connection,
        reset=skip_reset,
        connection_class=TenantBoundConnection,
        server_settings=settings.server_settings("assignment-leads", **SERVER_SETTINGS),
        timeout=settings.db_connect_timeout_seconds,
    )
    app.state.lead_pool = pool
    app.state.compiled_alignments = CompiledAlignmentCache()
    track_asyncpg_pool(service="assignment", name="leads", pool=pool)
    try:
        yield
    finally:
        untrack_pool(service="assignment", name="leads")
        await pool.close()
