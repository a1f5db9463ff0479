"""Bulk uploads of opportunities, activities and quotas: the API stages the body and queues a
job; the job worker validates it set-based, records per-row errors and upserts by external id.

All or nothing by default: one bad row and nothing is written (the errors say what to fix);
``on_error=skip`` writes the good rows and reports the others. Writing is one transaction, so a
job that fails while writing leaves nothing behind either. Re-uploading a file is idempotent:
rows equal to what is stored are counted ``unchanged`` and not rewritten (no history version).
"""

import json
import logging
import time
import uuid
from collections.abc import AsyncIterator

import asyncpg
from procrastinate import App

from services.metrics.ingest import repository, staging
from services.metrics.ingest.errors import (
    ImportJobNotFound,
    ImportNotQueued,
    InvalidUpload,
    NotUploadMediaType,
)
from services.metrics.ingest.kinds import KINDS, Kind
from services.metrics.ingest.schemas import ImportErrorRead, ImportJobRead, OnError
from shared.jobs.connection import open_job_connection
from shared.settings import Settings

logger = logging.getLogger(__name__)
TASK_NAME = "metrics:import_upload"
MEDIA_TYPES: dict[str, staging.Format] = {
    "text/csv": "csv",
    "application/x-ndjson": "ndjson",
    "application/jsonl": "ndjson",
}
# The job's session: sorts and hashes of millions of rows in memory, no JIT (its compile time
# outweighs what it saves here), parallel plans for the CREATE TABLE AS steps.
JOB_SESSION_SETTINGS = {"work_mem": "256MB", "jit": "off", "parallel_tuple_cost": "0.001"}
MODES = {"abort": "all_or_nothing", "skip": "skip_bad_rows"}
# During the write, per-row foreign-key triggers off and each referenced row locked once instead
# (``repository.lock_references``), where the session may turn them off: measured at 200k
# opportunities, the four foreign keys' triggers cost 12 s and the history's two more, next to
# 21 s for the inserts themselves (load average 12). The history triggers stay on (ENABLE ALWAYS).
SKIP_ROW_TRIGGERS = True


def job_read(row: asyncpg.Record) -> ImportJobRead:
    self_link = f"/metrics/imports/{row['id']}"
    fields = dict(row)
    # jsonb arrives decoded on the job's connections, as text on the request session's.
    if isinstance(fields["summary"], str):
        fields["summary"] = json.loads(fields["summary"])
    return ImportJobRead(
        **fields,
        links={"self": self_link, "errors": f"{self_link}/errors"},
    )


def media_format(content_type: str | None) -> staging.Format:
    media_type = (content_type or "").split(";", 1)[0].strip().lower()
    fmt = MEDIA_TYPES.get(media_type)
    if fmt is None:
        raise NotUploadMediaType(media_type)
    return fmt


async def upload(
    *,
    settings: Settings,
    queue: App,
    tenant_id: uuid.UUID,
    kind: Kind,
    content_type: str | None,
    body: AsyncIterator[bytes],
    on_error: OnError,
) -> ImportJobRead:
    """Stage the whole body and queue its job (``pending``); the worker runs it."""
    fmt = media_format(content_type)
    spec = KINDS[kind]
    job_id = uuid.uuid4()
    workspace = staging.Workspace(job_id)
    started = time.perf_counter()
    connection = await open_job_connection(
        settings, tenant_id=tenant_id, application_name="metrics-import-staging"
    )
    queued = False
    try:
        received = staging.Body(body)
        if fmt == "csv":
            total = await staging.stage_csv(connection, received, workspace=workspace, spec=spec)
        else:
            total = await staging.stage_ndjson(connection, received, workspace=workspace, spec=spec)
        if total == 0:
            raise InvalidUpload(f"the upload holds no {kind}", field="body")
        row = await repository.create_job(
            connection,
            tenant_id=tenant_id,
            job_id=job_id,
            kind=kind,
            fmt=fmt,
            mode=MODES[on_error],
            total_rows=total,
            summary={
                "bytes": received.received,
                "seconds": {"receiving": round(time.perf_counter() - started, 3)},
            },
        )
        try:
            await queue.configure_task(TASK_NAME).defer_async(
                job_id=str(job_id),
                tenant_id=str(tenant_id),
                ids_epoch_ms=int(time.time() * 1000),
            )
        except Exception as error:
            logger.exception("could not queue the import job", extra={"job_id": str(job_id)})
            await repository.finish_job(
                connection,
                tenant_id=tenant_id,
                job_id=job_id,
                status="failed",
                error="the job queue did not take the upload",
                counts={},
                summary={},
            )
            raise ImportNotQueued() from error
        queued = True
        return job_read(row)
    finally:
        if not queued:
            await staging.drop_workspace(connection, workspace)
        await connection.close()


async def run(
    *, settings: Settings, tenant_id: uuid.UUID, job_id: uuid.UUID, ids_epoch_ms: int
) -> None:
    """The job on the worker: validate ``raw``, save the errors, write (or not), finish."""
    workspace = staging.Workspace(job_id)
    connection = await open_job_connection(
        settings,
        tenant_id=tenant_id,
        application_name="metrics-import",
        server_settings=JOB_SESSION_SETTINGS,
    )
    try:
        job = await repository.get_job(connection, tenant_id=tenant_id, job_id=job_id)
        if job is None or job["status"] not in ("pending", "running"):
            return  # gone, or already ended (a retried task finds it finished)
        try:
            await _run(
                connection, job, workspace=workspace, tenant_id=tenant_id, ids_epoch_ms=ids_epoch_ms
            )
        except Exception as error:
            logger.exception("import job failed", extra={"job_id": str(job_id)})
            await repository.finish_job(
                connection,
                tenant_id=tenant_id,
                job_id=job_id,
                status="failed",
                error=f"the import stopped on a database error and wrote nothing: {error}"[:2000],
                counts={},
                summary={},
            )
    finally:
        try:
            await staging.drop_workspace(connection, workspace)
        finally:
            await connection.close()


async def _run(
    connection: asyncpg.Connection,
    job: asyncpg.Record,
    *,
    workspace: staging.Workspace,
    tenant_id: uuid.UUID,
    ids_epoch_ms: int,
) -> None:
    job_id, spec = job["id"], KINDS[job["kind"]]
    seconds: dict[str, float] = {}
    clock = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        seconds[name] = round(now - clock, 3)
        clock = now

    await repository.set_stage(connection, tenant_id=tenant_id, job_id=job_id, stage="validating")
    time_zone, currency = await repository.tenant_calendar(connection, tenant_id=tenant_id)
    # Dates without an offset are the tenant's local time, like the KPI periods.
    await connection.execute("SELECT set_config('TimeZone', $1, false)", time_zone)
    await repository.validate(
        connection,
        spec=spec,
        workspace=workspace,
        tenant_id=tenant_id,
        currency=currency,
        stages=await repository.has_stages(connection, tenant_id=tenant_id),
    )
    lap("validating")
    await repository.mark_duplicates(connection, workspace=workspace)
    failed = await repository.count_failed(connection, workspace=workspace)
    lap("duplicates")
    total = int(job["total_rows"])
    if failed:
        await repository.save_errors(
            connection, workspace=workspace, tenant_id=tenant_id, job_id=job_id
        )
    if failed and job["mode"] == "all_or_nothing":
        await repository.finish_job(
            connection,
            tenant_id=tenant_id,
            job_id=job_id,
            status="failed",
            error=f"{failed:,} of {total:,} rows have problems, so nothing was written (all or "
            "nothing): fix the rows listed under errors, or upload again with on_error=skip to "
            "write the good rows",
            counts={"failed": failed},
            summary={"seconds": seconds},
        )
        return
    await repository.set_stage(
        connection, tenant_id=tenant_id, job_id=job_id, stage="writing", processed_rows=total
    )
    skip_row_triggers = SKIP_ROW_TRIGGERS and await repository.can_skip_row_triggers(connection)
    async with connection.transaction():
        if skip_row_triggers:
            await connection.execute("SET LOCAL session_replication_role = replica")
            await repository.lock_references(
                connection, spec=spec, workspace=workspace, tenant_id=tenant_id
            )
        updated, inserted = await repository.write(
            connection,
            spec=spec,
            workspace=workspace,
            tenant_id=tenant_id,
            ids_epoch_ms=ids_epoch_ms,
        )
        lap("writing")
        await repository.finish_job(
            connection,
            tenant_id=tenant_id,
            job_id=job_id,
            status="succeeded",
            error=None,
            counts={
                "inserted": inserted,
                "updated": updated,
                "unchanged": total - failed - inserted - updated,
                "failed": failed,
            },
            summary={
                "seconds": seconds,
                "row_triggers": "per referenced row" if skip_row_triggers else "per row",
            },
        )


async def get_job(
    connection: asyncpg.Connection, *, tenant_id: uuid.UUID, job_id: uuid.UUID
) -> ImportJobRead:
    row = await repository.get_job(connection, tenant_id=tenant_id, job_id=job_id)
    if row is None:
        raise ImportJobNotFound(job_id)
    return job_read(row)


async def list_errors(
    connection: asyncpg.Connection,
    *,
    tenant_id: uuid.UUID,
    job_id: uuid.UUID,
    limit: int,
    offset: int,
) -> list[ImportErrorRead]:
    if await repository.get_job(connection, tenant_id=tenant_id, job_id=job_id) is None:
        raise ImportJobNotFound(job_id)
    rows = await repository.list_errors(
        connection, tenant_id=tenant_id, job_id=job_id, limit=limit, offset=offset
    )
    return [
        ImportErrorRead(row=row["row"], field=row["field"], reason=row["reason"]) for row in rows
    ]
