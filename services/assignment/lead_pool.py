"""A raw asyncpg pool for the lead hot path: no ORM, no pre-ping, one round trip per statement."""

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg
from fastapi import FastAPI

from services.assignment.leads.compiled_alignment import CompiledAlignmentCache
from shared.settings import Settings


async def _init_connection(connection: asyncpg.Connection) -> None:
    await connection.set_type_codec(
        "jsonb", encoder=json.dumps, decoder=json.loads, schema="pg_catalog"
    )


@asynccontextmanager
async def lead_pool(app: FastAPI, settings: Settings) -> AsyncIterator[None]:
    pool = await asyncpg.create_pool(
        settings.libpq_database_url,
        min_size=1,
        max_size=settings.db_pool_size,
        init=_init_connection,
        server_settings={"application_name": "assignment-leads"},
    )
    app.state.lead_pool = pool
    app.state.compiled_alignments = CompiledAlignmentCache()
    try:
        yield
    finally:
        await pool.close()
