"""The one way a job (or the API staging one) opens its own database session."""

import json
import uuid
from collections.abc import Mapping

import asyncpg

from shared.settings import Settings
from shared.tenancy import connect_for_tenant

# A job's session notices within a second that its client is gone (a killed worker) and ends
# its statement, rolling back and releasing the job's locks, instead of finishing a statement
# of minutes for nobody: the job can then be retried at once.
JOB_SESSION_DEFAULTS = {"client_connection_check_interval": "1s"}


async def init_job_connection(connection: asyncpg.Connection) -> None:
    await connection.set_type_codec(
        "jsonb", encoder=json.dumps, decoder=json.loads, schema="pg_catalog"
    )


async def open_job_connection(
    settings: Settings,
    *,
    tenant_id: uuid.UUID,
    application_name: str,
    server_settings: Mapping[str, str] | None = None,
) -> asyncpg.Connection:
    """A connection for the work of one tenant's job: as the services' role, bound to
    ``tenant_id`` for its whole session (row-level security)."""
    connection = await connect_for_tenant(
        settings,
        tenant_id,
        application_name=application_name,
        server_settings={**JOB_SESSION_DEFAULTS, **(server_settings or {})},
    )
    await init_job_connection(connection)
    return connection
