"""SQL for social territory jobs: the request creates, reads and cancels them (ORM), the worker
advances them (asyncpg on the job's tenant-bound connection). Every statement filters by tenant.
Also the two counts the request checks feasibility with, from proximity's own ``person``."""

import json
import uuid
from typing import Any

import asyncpg
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from shared.models import Person, PersonKind, SocialTerritoryJob


async def add(
    session: AsyncSession, *, tenant_id: uuid.UUID, parameters: dict[str, Any]
) -> SocialTerritoryJob:
    job = SocialTerritoryJob(id=uuid.uuid4(), tenant_id=tenant_id, parameters=parameters)
    session.add(job)
    await session.flush()
    await session.refresh(job)
    return job


async def get(
    session: AsyncSession, *, tenant_id: uuid.UUID, job_id: uuid.UUID
) -> SocialTerritoryJob | None:
    return await session.scalar(
        select(SocialTerritoryJob).where(
            SocialTerritoryJob.tenant_id == tenant_id, SocialTerritoryJob.id == job_id
        )
    )


async def request_cancel(
    session: AsyncSession, *, tenant_id: uuid.UUID, job_id: uuid.UUID
) -> SocialTerritoryJob | None:
    """A pending job ends cancelled at once; a running one is asked to stop (between stages)."""
    scope = (SocialTerritoryJob.tenant_id == tenant_id, SocialTerritoryJob.id == job_id)
    await session.execute(
        update(SocialTerritoryJob)
        .where(*scope, SocialTerritoryJob.status == "pending")
        .values(status="cancelled", cancel_requested=True, finished_at=func.now())
        .execution_options(synchronize_session=False)
    )
    await session.execute(
        update(SocialTerritoryJob)
        .where(*scope, SocialTerritoryJob.status == "running")
        .values(cancel_requested=True)
        .execution_options(synchronize_session=False)
    )
    job = await get(session, tenant_id=tenant_id, job_id=job_id)
    if job is not None:
        await session.refresh(job)
    return job


async def graph_accounts(session: AsyncSession, *, tenant_id: uuid.UUID) -> int:
    """Accounts with at least one contact in the graph (the default set to assign)."""
    count = await session.scalar(
        select(func.count(func.distinct(Person.account_id))).where(
            Person.tenant_id == tenant_id,
            Person.kind == PersonKind.contact,
            Person.account_id.is_not(None),
        )
    )
    return int(count or 0)


async def graph_reps(session: AsyncSession, *, tenant_id: uuid.UUID) -> int:
    """Reps with a person in the graph (the default reps, before dropping inactive ones)."""
    count = await session.scalar(
        select(func.count(Person.rep_id)).where(
            Person.tenant_id == tenant_id, Person.rep_id.is_not(None)
        )
    )
    return int(count or 0)


async def start(
    connection: asyncpg.Connection, *, tenant_id: uuid.UUID, job_id: uuid.UUID
) -> tuple[str, dict[str, Any]] | None:
    """Mark a pending job running (or a running one again: a retry after its worker died);
    (status before, parameters), None while it is not visible. A job that ended stays so."""
    row = await connection.fetchrow(
        """
        WITH before AS (
            SELECT status FROM social_territory_job WHERE tenant_id = $1 AND id = $2
        )
        UPDATE social_territory_job j
           SET status = CASE WHEN j.status IN ('pending', 'running') THEN 'running'
                        ELSE j.status END,
               stage = CASE WHEN j.status IN ('pending', 'running') THEN 'loading'
                       ELSE j.stage END,
               started_at = coalesce(j.started_at, now())
          FROM before
         WHERE j.tenant_id = $1 AND j.id = $2
        RETURNING before.status, j.parameters
        """,
        tenant_id,
        job_id,
    )
    if row is None:
        return None
    parameters = row["parameters"]
    return row["status"], json.loads(parameters) if isinstance(parameters, str) else parameters


async def advance(
    connection: asyncpg.Connection,
    *,
    tenant_id: uuid.UUID,
    job_id: uuid.UUID,
    stage: str,
    progress: float,
    accounts: int | None = None,
) -> bool:
    """Record the stage; False when a cancel was asked (the job then stops here)."""
    cancel: bool | None = await connection.fetchval(
        "UPDATE social_territory_job SET stage = $3, progress = $4,"
        " accounts = coalesce($5, accounts) WHERE tenant_id = $1 AND id = $2"
        " RETURNING cancel_requested",
        tenant_id,
        job_id,
        stage,
        progress,
        accounts,
    )
    return not cancel


async def finish(
    connection: asyncpg.Connection,
    *,
    tenant_id: uuid.UUID,
    job_id: uuid.UUID,
    summary: dict[str, Any],
    result_json_gzip: bytes,
) -> None:
    await connection.execute(
        "UPDATE social_territory_job SET status = 'succeeded', stage = 'done', progress = 1,"
        " summary = $3, result_json_gzip = $4, finished_at = now()"
        " WHERE tenant_id = $1 AND id = $2",
        tenant_id,
        job_id,
        summary,  # the job connection encodes jsonb (shared/jobs/connection.py)
        result_json_gzip,
    )


async def end(
    connection: asyncpg.Connection,
    *,
    tenant_id: uuid.UUID,
    job_id: uuid.UUID,
    status: str,
    error: str | None,
) -> None:
    """Failed (with the reason) or cancelled."""
    await connection.execute(
        "UPDATE social_territory_job SET status = $3, error = $4, finished_at = now()"
        " WHERE tenant_id = $1 AND id = $2",
        tenant_id,
        job_id,
        status,
        error,
    )
