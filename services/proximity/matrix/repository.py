"""SQL for proximity jobs: the request creates and reads them (ORM), the worker updates them
(asyncpg on the job's tenant-bound connection). Every statement is filtered by tenant."""

import uuid

import asyncpg
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.models import ProximityJob


async def add(
    session: AsyncSession, *, tenant_id: uuid.UUID, kind: str, max_hops: int
) -> ProximityJob:
    job = ProximityJob(id=uuid.uuid4(), tenant_id=tenant_id, kind=kind, max_hops=max_hops)
    session.add(job)
    await session.flush()
    await session.refresh(job)
    return job


async def get(
    session: AsyncSession, *, tenant_id: uuid.UUID, job_id: uuid.UUID
) -> ProximityJob | None:
    return await session.scalar(
        select(ProximityJob).where(ProximityJob.tenant_id == tenant_id, ProximityJob.id == job_id)
    )


async def start(
    connection: asyncpg.Connection, *, tenant_id: uuid.UUID, job_id: uuid.UUID
) -> int | None:
    """Mark the job running; its max_hops, or None when it is not (yet) visible."""
    max_hops: int | None = await connection.fetchval(
        "UPDATE proximity_job SET status = 'running' WHERE tenant_id = $1 AND id = $2"
        " RETURNING max_hops",
        tenant_id,
        job_id,
    )
    return max_hops


async def finish(
    connection: asyncpg.Connection,
    *,
    tenant_id: uuid.UUID,
    job_id: uuid.UUID,
    total_accounts: int,
    result_rows: int,
    result_csv_gzip: bytes,
) -> None:
    await connection.execute(
        "UPDATE proximity_job SET status = 'succeeded', total_accounts = $3, result_rows = $4,"
        " result_csv_gzip = $5, finished_at = now() WHERE tenant_id = $1 AND id = $2",
        tenant_id,
        job_id,
        total_accounts,
        result_rows,
        result_csv_gzip,
    )


async def fail(
    connection: asyncpg.Connection, *, tenant_id: uuid.UUID, job_id: uuid.UUID, error: str
) -> None:
    await connection.execute(
        "UPDATE proximity_job SET status = 'failed', error = $3, finished_at = now()"
        " WHERE tenant_id = $1 AND id = $2",
        tenant_id,
        job_id,
        error,
    )
