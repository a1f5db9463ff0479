"""The job worker process: ``python -m shared.jobs.worker`` runs every service's tasks.

Jobs get an asyncpg pool of the worker (``context.additional_context["pool"]``) for short
statements (progress); their heavy work opens its own sessions (``connection.py``).
"""

import asyncio
import logging
import os
import socket

import asyncpg

from shared.jobs.app import open_jobs
from shared.jobs.connection import init_job_connection
from shared.logging import configure_logging
from shared.observability.metrics import serve_metrics
from shared.settings import Settings, get_settings
from shared.tenancy import TenantBoundConnection, bind_pool_connection, reset_pool_connection

logger = logging.getLogger(__name__)


def worker_name() -> str:
    return f"{socket.gethostname()}-{os.getpid()}"


async def run_worker(settings: Settings) -> None:
    # Bound, per checkout, to the tenant of the job that takes the connection (each task
    # calls ``bind_caller``), like the services' pools: row security applies to jobs too.
    pool = await asyncpg.create_pool(
        settings.libpq_database_url,
        min_size=1,
        max_size=max(2, settings.worker_concurrency + 1),
        init=init_job_connection,
        setup=bind_pool_connection,
        reset=reset_pool_connection,
        connection_class=TenantBoundConnection,
        server_settings=settings.server_settings("worker"),
    )
    try:
        async with open_jobs(settings, application_name="worker-queue") as app:
            await app.run_worker_async(
                name=worker_name(),
                concurrency=settings.worker_concurrency,
                update_heartbeat_interval=settings.worker_heartbeat_seconds,
                stalled_worker_timeout=settings.worker_stalled_seconds,
                shutdown_graceful_timeout=settings.worker_shutdown_seconds,
                # A job's outcome is kept in its service's job row; the queue forgets it.
                delete_jobs="successful",
                additional_context={"pool": pool, "settings": settings},
            )
    finally:
        await pool.close()


def main() -> None:
    settings = get_settings()
    configure_logging(service="worker", level=settings.log_level, json_lines=settings.log_json)
    if settings.worker_metrics_port:
        serve_metrics(port=settings.worker_metrics_port)
    asyncio.run(run_worker(settings))


if __name__ == "__main__":
    main()
