"""Job queue depth, read from procrastinate's table at scrape time (by the gateway app)."""

from __future__ import annotations

import asyncio
import logging

from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from shared.observability import metrics

logger = logging.getLogger(__name__)
# A scrape must not hang on a slow database; Prometheus keeps the previous values meanwhile.
QUEUE_DEPTH_TIMEOUT_SECONDS = 2.0


async def refresh_queue_depth(engine: AsyncEngine) -> None:
    """Set ``jobs_queue_depth`` from ``procrastinate.procrastinate_jobs``; nothing while that
    table is absent."""
    async with engine.connect() as connection:
        exists = (await connection.execute(text(metrics.QUEUE_TABLE_SQL))).scalar_one()
        if not exists:
            return
        rows = (await connection.execute(text(metrics.QUEUE_DEPTH_SQL))).all()
    metrics.set_queue_depth((row.queue_name, row.status, row.jobs) for row in rows)


async def queue_depth_hook(app: FastAPI) -> None:
    """A scrape hook (``install_observability(scrape_hooks=...)``) on the app's engine."""
    try:
        await asyncio.wait_for(
            refresh_queue_depth(app.state.engine), timeout=QUEUE_DEPTH_TIMEOUT_SECONDS
        )
    except Exception as error:  # the rest of the scrape is still worth answering
        logger.warning("job queue depth unavailable", extra={"error": repr(error)})
