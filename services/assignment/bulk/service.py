"""Bulk lead uploads: stage the body, open a job, process it inline or queue it for the worker;
the queued job's run on the worker; cancelling a job.

The rule: an upload of at most ``INLINE_ROWS`` rows (or any upload with ``?wait=true``) is
processed inside the request, which answers 200 with the finished job; a larger one is staged,
queued (202 with the job, ``pending``) and run by the job worker (``python -m
shared.jobs.worker``), whose progress ``GET /assignment/jobs/{id}`` shows."""

import asyncio
import json
import logging
import time
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

import asyncpg
from procrastinate import App

from services.assignment.bulk import jobs, repository, staging, work
from services.assignment.bulk.errors import (
    InvalidUpload,
    JobAlreadyEnded,
    JobNotFound,
    JobRunsInline,
    NotBulkMediaType,
    TooManyRows,
)
from services.assignment.bulk.schemas import JobErrorRead, JobRead
from services.assignment.leads.compiled_alignment import (
    compile_active_alignment,
    compile_alignment,
)
from services.assignment.leads.errors import NoActiveAlignment
from shared.jobs.connection import open_job_connection
from shared.settings import Settings

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
CANCELLED_ERROR = "cancelled on request"
# The procrastinate task that runs a queued upload (tasks.py, in the "assignment" namespace).
TASK_NAME = "assignment:lead_upload"


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
            "cancel": f"{base}:cancel",
        },
    )


async def _open_job_connection(settings: Settings, tenant_id: uuid.UUID) -> asyncpg.Connection:
    return await open_job_connection(
        settings,
        tenant_id=tenant_id,
        application_name="assignment-bulk",
        server_settings=JOB_SESSION_SETTINGS,
    )


async def sweep(connection: asyncpg.Connection) -> None:
    """Clean up after uploads and inline jobs whose API process died: drop working tables no
    job needs (of any tenant), give their reservations back and mark them failed (the
    connection's tenant's: row security hides the others', which their own next upload
    sweeps). Queued jobs are the queue's (a dead worker's are retried by
    ``shared/jobs/recovery.py``). Cheap; run before every upload."""
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
    queue: App,
    tenant_id: uuid.UUID,
    content_type: str | None,
    body: AsyncIterator[bytes],
    wait: bool,
) -> UploadResult:
    """Stage the whole body (so nothing is lost if the client goes away), then run the job
    inline for small uploads or ``wait`` (the answer is the finished job, failed ones
    included), else queue it for the worker."""
    fmt = media_format(content_type)
    job_id = uuid.uuid4()
    connection = await _open_job_connection(settings, tenant_id)
    workspace: work.Workspace | None = None
    handed_over = False
    try:
        started = asyncio.get_running_loop().time()
        ids_epoch_ms = int(time.time() * 1000)
        await sweep(connection)
        workspace = await work.open_workspace(connection, job_id)
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
        if not inline:
            # The staged tables stay for the worker: a pending job's are never swept.
            await _queue(
                connection,
                queue,
                tenant_id=tenant_id,
                job_id=job_id,
                fmt=fmt,
                header=header,
                total_rows=total_rows,
                ids_epoch_ms=ids_epoch_ms,
                receiving=receiving,
            )
            handed_over = True
            await connection.close()
            return UploadResult(job_read(row), finished=False)
        upload = jobs.StagedUpload(
            connection=connection,
            connect=lambda: _open_job_connection(settings, tenant_id),
            workspace=workspace,
            tenant_id=tenant_id,
            job_id=job_id,
            fmt=fmt,
            header=header,
            total_rows=total_rows,
            compiled=compiled,
            ids_epoch_ms=ids_epoch_ms,
            timings={"receiving": receiving},
        )
        handed_over = True
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
        finished = await repository.get_job(reader, tenant_id=tenant_id, job_id=job_id)
    assert finished is not None
    return UploadResult(job_read(finished), finished=True)


async def _queue(
    connection: asyncpg.Connection,
    queue: App,
    *,
    tenant_id: uuid.UUID,
    job_id: uuid.UUID,
    fmt: staging.Format,
    header: staging.CsvHeader | None,
    total_rows: int,
    ids_epoch_ms: int,
    receiving: float,
) -> None:
    """Hand the staged job to the worker; if the queue cannot take it, the job fails (and its
    tables go) rather than wait forever."""
    try:
        queue_job_id = await queue.configure_task(TASK_NAME).defer_async(
            job_id=str(job_id),
            tenant_id=str(tenant_id),
            fmt=fmt,
            header_fields=list(header.fields) if header else None,
            header_attribute_keys=list(header.attribute_keys) if header else None,
            total_rows=total_rows,
            ids_epoch_ms=ids_epoch_ms,
            receiving=receiving,
        )
        await repository.attach_queue_job(
            connection, tenant_id=tenant_id, job_id=job_id, queue_job_id=queue_job_id
        )
    except BaseException:
        logger.exception("could not queue the bulk job", extra={"job_id": str(job_id)})
        await repository.fail_job_if_running(
            connection,
            tenant_id=tenant_id,
            job_id=job_id,
            error="the job could not be queued; upload the file again",
        )
        await work.drop_workspace(connection, work.job_workspace(job_id))
        raise


async def run_queued(
    *,
    settings: Settings,
    pool: asyncpg.Pool,
    tenant_id: uuid.UUID,
    job_id: uuid.UUID,
    fmt: staging.Format,
    header: staging.CsvHeader | None,
    total_rows: int,
    ids_epoch_ms: int,
    receiving: float,
    attempt: int,
    max_attempts: int,
    stopped: Callable[[], jobs.Stop],
) -> None:
    """Run a queued upload on the worker (attempt 0, or a later one after its worker died):
    whatever an earlier attempt reserved is given back and what it built is dropped first,
    then the job runs from its staged upload, or fails if it may not try again."""
    connection = await _open_job_connection(settings, tenant_id)
    handed_over = False
    try:
        # Waits, if an earlier attempt's session is still ending (its worker was killed).
        await work.lock_job(connection, job_id)
        workspace = await work.open_workspace(connection, job_id)
        await repository.give_back(
            connection, tenant_id=tenant_id, job_id=job_id, error=None, status=None
        )
        await work.drop_stages(connection, workspace)
        if attempt >= max_attempts:
            await repository.fail_job_if_running(
                connection,
                tenant_id=tenant_id,
                job_id=job_id,
                error=f"its worker stopped before it finished ({attempt} "
                f"time{'s' if attempt > 1 else ''}); it wrote nothing and gave its reserved "
                "turns back. Upload the file again, perhaps in smaller parts.",
            )
            return
        row = await repository.start_job(connection, tenant_id=tenant_id, job_id=job_id)
        if row is None:
            logger.info("bulk job %s ended before it started (cancelled)", job_id)
            return
        if not await work.has_staged_rows(connection, workspace):
            await repository.fail_job_if_running(
                connection,
                tenant_id=tenant_id,
                job_id=job_id,
                error="the staged upload is gone (the database restarted before the job ran); "
                "upload the file again",
            )
            return
        compiled = await compile_alignment(
            connection, tenant_id=tenant_id, alignment_id=row["alignment_id"]
        )
        upload = jobs.StagedUpload(
            connection=connection,
            connect=lambda: _open_job_connection(settings, tenant_id),
            workspace=workspace,
            tenant_id=tenant_id,
            job_id=job_id,
            fmt=fmt,
            header=header,
            total_rows=total_rows,
            compiled=compiled,
            ids_epoch_ms=ids_epoch_ms,
            timings={"receiving": receiving},
            stopped=stopped,
        )
        handed_over = True
        await jobs.run(upload, progress=pool)
    except asyncio.CancelledError:
        if not handed_over:  # cancelled before it began: ``jobs.run`` said nothing yet
            stop = stopped()
            await asyncio.shield(
                repository.end_unfinished(
                    pool, tenant_id=tenant_id, job_id=job_id, status=stop.status, error=stop.reason
                )
            )
        raise
    finally:
        if not handed_over:
            try:
                if not connection.is_closed():
                    job = await repository.queue_job_of(
                        connection, tenant_id=tenant_id, job_id=job_id
                    )
                    if job is None or job["status"] not in ("pending", "running"):
                        await work.drop_workspace(connection, work.job_workspace(job_id))
            finally:
                await connection.close()


async def cancel_job(
    connection: asyncpg.Connection, queue: App, *, tenant_id: uuid.UUID, job_id: uuid.UUID
) -> JobRead:
    """Cancel a queued job: one no worker has started ends at once; a running one is asked to
    stop (it gives its reservation back, writes nothing, and says ``cancelled`` within
    seconds). Raises ``JobAlreadyEnded`` for a finished job, ``JobRunsInline`` for one run
    inside its upload's request."""
    job = await repository.queue_job_of(connection, tenant_id=tenant_id, job_id=job_id)
    if job is None:
        raise JobNotFound(job_id)
    if job["status"] not in ("pending", "running"):
        raise JobAlreadyEnded(job_id, job["status"])
    if job["queue_job_id"] is None:
        raise JobRunsInline(job_id)
    await queue.job_manager.cancel_job_by_id_async(job["queue_job_id"], abort=True)
    await repository.cancel_waiting(
        connection, tenant_id=tenant_id, job_id=job_id, error=CANCELLED_ERROR
    )
    return await get_job(connection, tenant_id=tenant_id, job_id=job_id)


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
