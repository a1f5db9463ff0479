"""Bulk lead uploads: stage the body, open a job, process it inline or in the background."""

import asyncio
import json
import logging
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

import asyncpg

from services.assignment.bulk import jobs, repository, staging, work
from services.assignment.bulk.errors import (
    InvalidUpload,
    JobNotFound,
    NotBulkMediaType,
    TooManyRows,
)
from services.assignment.bulk.schemas import JobErrorRead, JobRead
from services.assignment.leads.compiled_alignment import compile_active_alignment
from services.assignment.leads.errors import NoActiveAlignment
from shared.settings import Settings
from shared.tenancy import connect_for_tenant

logger = logging.getLogger(__name__)
MAX_ROWS = 1_000_000
MAX_BYTES = 512 * 1024 * 1024
# Up to this many rows the upload is processed before answering (200); above it, 202.
INLINE_ROWS = 10_000
MEDIA_TYPES: dict[str, staging.Format] = {
    "text/csv": "csv",
    "application/x-ndjson": "ndjson",
    "application/jsonl": "ndjson",
}
# The job's own session: hash joins and sorts of a million rows in memory; no JIT (its compile
# time outweighs what it saves on these statements); parallel plans for the CREATE TABLE AS
# stages even though each hands every row back to the leader (the planner's default price of a
# row through a worker queue assumes cheap rows; these are computed at tens of µs each).
JOB_SESSION_SETTINGS = {
    "work_mem": "256MB",
    "jit": "off",
    "parallel_tuple_cost": "0.001",
}
ABANDONED_ERROR = (
    "the service stopped before the job finished; it wrote nothing and gave its reserved "
    "turns back. Upload the file again."
)


@dataclass(frozen=True)
class UploadResult:
    job: JobRead
    finished: bool


def media_format(content_type: str | None) -> staging.Format:
    media_type = (content_type or "").split(";", 1)[0].strip().lower()
    fmt = MEDIA_TYPES.get(media_type)
    if fmt is None:
        raise NotBulkMediaType(media_type)
    return fmt


def job_read(row: asyncpg.Record) -> JobRead:
    base = f"/assignment/jobs/{row['id']}"
    summary = row["summary"]
    return JobRead(
        id=row["id"],
        kind=row["kind"],
        status=row["status"],
        stage=row["stage"],
        alignment_id=row["alignment_id"],
        total_rows=row["total_rows"],
        processed_rows=row["processed_rows"],
        assigned_rows=row["assigned_rows"],
        failed_rows=row["failed_rows"],
        summary=json.loads(summary) if isinstance(summary, str) else summary,
        error=row["error"],
        created_at=row["created_at"],
        started_at=row["started_at"],
        finished_at=row["finished_at"],
        links={
            "self": base,
            "errors": f"{base}/errors",
            "assignments": f"{base}/assignments.csv",
        },
    )


async def _open_job_connection(settings: Settings, tenant_id: uuid.UUID) -> asyncpg.Connection:
    connection = await connect_for_tenant(
        settings,
        tenant_id,
        application_name="assignment-bulk",
        server_settings=JOB_SESSION_SETTINGS,
    )
    await connection.set_type_codec(
        "jsonb", encoder=json.dumps, decoder=json.loads, schema="pg_catalog"
    )
    return connection


async def sweep(connection: asyncpg.Connection) -> None:
    """Clean up after jobs whose process died: drop their working tables (of any tenant), give
    their reservations back and mark them failed (the connection's tenant's: row security
    hides the others'). Cheap; run before every upload."""
    dropped = await work.drop_abandoned(connection)
    given = 0
    for job in await repository.unfinished_jobs(connection):
        if not await work.try_lock_job(connection, job["id"]):
            continue  # its job is alive, in this or another process
        try:
            await repository.give_back(
                connection, tenant_id=job["tenant_id"], job_id=job["id"], error=ABANDONED_ERROR
            )
            given += 1
        finally:
            await work.unlock_job(connection, job["id"])
    if dropped or given:
        logger.warning(
            "bulk sweep: dropped the working tables of %d and failed %d abandoned jobs "
            "(giving their reservations back)",
            dropped,
            given,
        )


async def upload_leads(
    *,
    settings: Settings,
    pool: asyncpg.Pool,
    tenant_id: uuid.UUID,
    content_type: str | None,
    body: AsyncIterator[bytes],
    wait: bool,
) -> UploadResult:
    """Stage the whole body (so nothing is lost if the client goes away), then run the job:
    inline for small uploads or ``wait`` (the answer is the finished job, failed ones
    included), else in the background."""
    fmt = media_format(content_type)
    connection = await _open_job_connection(settings, tenant_id)
    workspace: work.Workspace | None = None
    handed_over = False
    try:
        started = asyncio.get_running_loop().time()
        ids_epoch_ms = int(time.time() * 1000)
        await sweep(connection)
        workspace = await work.open_workspace(connection)
        limited = staging.LimitedBody(body, limit_bytes=MAX_BYTES)
        header = None
        if fmt == "csv":
            header = await staging.stage_csv(connection, limited, workspace=workspace)
        else:
            await staging.stage_ndjson(connection, limited, workspace=workspace)
        total_rows = await staging.count_rows(connection, fmt=fmt, workspace=workspace)
        if total_rows > MAX_ROWS:
            raise TooManyRows(limit=MAX_ROWS)
        if total_rows == 0:
            raise InvalidUpload("the upload holds no leads", field="body")
        compiled = await compile_active_alignment(connection, tenant_id=tenant_id)
        if compiled is None:
            raise NoActiveAlignment()
        inline = wait or total_rows <= INLINE_ROWS
        receiving = round(asyncio.get_running_loop().time() - started, 3)
        # Locked before it exists: a sweep never takes a job being created for abandoned.
        job_id = uuid.uuid4()
        await work.lock_job(connection, job_id)
        row = await repository.create_job(
            connection,
            job_id=job_id,
            tenant_id=tenant_id,
            alignment_id=compiled.alignment_id,
            total_rows=total_rows,
            status="running" if inline else "pending",
            summary={"format": fmt, "bytes": limited.received},
        )
        upload = jobs.StagedUpload(
            connection=connection,
            connect=lambda: _open_job_connection(settings, tenant_id),
            workspace=workspace,
            tenant_id=tenant_id,
            job_id=row["id"],
            fmt=fmt,
            header=header,
            total_rows=total_rows,
            compiled=compiled,
            ids_epoch_ms=ids_epoch_ms,
            timings={"receiving": receiving},
        )
        handed_over = True
        if not inline:
            jobs.start_in_background(upload, progress=pool)
            return UploadResult(job_read(row), finished=False)
        try:
            await jobs.run(upload, progress=pool)
        except Exception:
            pass  # the job says failed and why (logged by ``run``): answer with it
    finally:
        if not handed_over:
            try:
                if workspace is not None:
                    await work.drop_workspace(connection, workspace)
            finally:
                await connection.close()
    async with pool.acquire() as reader:
        finished = await repository.get_job(reader, tenant_id=tenant_id, job_id=upload.job_id)
    assert finished is not None
    return UploadResult(job_read(finished), finished=True)


async def get_job(
    connection: asyncpg.Connection, *, tenant_id: uuid.UUID, job_id: uuid.UUID
) -> JobRead:
    row = await repository.get_job(connection, tenant_id=tenant_id, job_id=job_id)
    if row is None:
        raise JobNotFound(job_id)
    return job_read(row)


async def list_errors(
    connection: asyncpg.Connection,
    *,
    tenant_id: uuid.UUID,
    job_id: uuid.UUID,
    limit: int,
    offset: int,
) -> list[JobErrorRead]:
    await get_job(connection, tenant_id=tenant_id, job_id=job_id)
    rows = await repository.list_errors(
        connection, tenant_id=tenant_id, job_id=job_id, limit=limit, offset=offset
    )
    return [
        JobErrorRead(row_number=row["row_number"], field=row["field"], message=row["message"])
        for row in rows
    ]


async def stream_assignments(
    pool: asyncpg.Pool, *, tenant_id: uuid.UUID, job_id: uuid.UUID
) -> AsyncIterator[bytes]:
    """The job's result as CSV chunks, straight from COPY TO; 404 before the first byte."""
    async with pool.acquire() as connection:
        await get_job(connection, tenant_id=tenant_id, job_id=job_id)
    chunks: asyncio.Queue[bytes | None] = asyncio.Queue(maxsize=16)

    async def put(chunk: bytes) -> None:
        await chunks.put(bytes(chunk))  # asyncpg hands out views of its buffer

    async def produce() -> None:
        try:
            async with pool.acquire() as connection:
                await repository.export_assignments(
                    connection, tenant_id=tenant_id, job_id=job_id, output=put
                )
        finally:
            await chunks.put(None)

    async def consume() -> AsyncIterator[bytes]:
        producer = asyncio.create_task(produce())
        try:
            while (chunk := await chunks.get()) is not None:
                yield chunk
            await producer  # re-raises a failed COPY
        finally:
            if not producer.done():
                producer.cancel()

    return consume()
