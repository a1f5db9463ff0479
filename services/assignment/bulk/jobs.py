"""Running a staged upload as one job: validate, match, write, distribute, in ONE transaction.

Large uploads run as background asyncio tasks in the service process that received them (a
separate worker is future work): the staged rows live in that process's database session, so
a job whose process stops is not resumed: on a graceful stop it is marked failed (upload the
file again); after a crash it stays 'running' until a sweeper (future work) fails it. Progress
goes through short statements on the lead pool, outside the job's transaction, so
``GET /assignment/jobs/{id}`` sees the stage while the job's own writes stay invisible until
they commit together.
"""

import asyncio
import logging
import time
import uuid
import weakref
from dataclasses import dataclass, field

import asyncpg

from services.assignment.bulk import distribution, matching, repository, staging
from services.assignment.leads.compiled_alignment import CompiledAlignment

logger = logging.getLogger(__name__)

MATCH_BATCH_ROWS = 100_000
# Jobs processed at once per process; more wait as 'pending' (the database has 2 cores here).
MAX_CONCURRENT_JOBS = 2
_slots: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore]" = (
    weakref.WeakKeyDictionary()
)
_running: set[asyncio.Task[None]] = set()


def _job_slots() -> asyncio.Semaphore:
    loop = asyncio.get_running_loop()
    if loop not in _slots:
        _slots[loop] = asyncio.Semaphore(MAX_CONCURRENT_JOBS)
    return _slots[loop]


LEAD_RELATION = """
SELECT row_number, account_external_id, domain, location, postal_code, country, industry,
       employee_count, annual_revenue, email, attributes
  FROM bulk_lead WHERE error_field IS NULL
"""


@dataclass
class StagedUpload:
    """An upload COPYed into ``bulk_raw`` on ``connection``, which the job owns and closes."""

    connection: asyncpg.Connection
    tenant_id: uuid.UUID
    job_id: uuid.UUID
    fmt: staging.Format
    header: staging.CsvHeader | None
    total_rows: int
    compiled: CompiledAlignment
    timings: dict[str, float] = field(default_factory=dict)


async def _process(upload: StagedUpload, progress: asyncpg.Pool) -> None:
    connection = upload.connection
    tenant_id, job_id = upload.tenant_id, upload.job_id
    timings = upload.timings

    async def stage(name: str, processed_rows: int | None = None) -> None:
        await repository.set_progress(
            progress,
            tenant_id=tenant_id,
            job_id=job_id,
            stage=name,
            processed_rows=processed_rows,
            status="running",
        )

    started = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal started
        now = time.perf_counter()
        timings[name] = round(now - started, 3)
        started = now

    async with connection.transaction():
        await stage("validating")
        await staging.validate(connection, fmt=upload.fmt, header=upload.header)
        failed_rows = await staging.copy_errors(connection, job_id=job_id)
        lap("validating")

        await stage("matching", failed_rows)

        async def matched(rows: int) -> None:
            await stage("matching", failed_rows + rows)

        match_table = await matching.match_relation(
            connection,
            compiled=upload.compiled,
            tenant_id=tenant_id,
            relation_sql=LEAD_RELATION,
            batch_rows=MATCH_BATCH_ROWS,
            on_progress=matched,
        )
        lap("matching")
        await stage("writing_leads")
        await repository.write_leads(connection, tenant_id=tenant_id, job_id=job_id)
        lap("writing_leads")
        # Territory and rep rows are locked from here to the commit: keep this part short.
        await stage("distributing")
        pick_table = await distribution.distribute(
            connection, compiled=upload.compiled, tenant_id=tenant_id, match_table=match_table
        )
        lap("distributing")
        await stage("writing_assignments")
        assigned_rows = await repository.write_assignments(
            connection,
            compiled=upload.compiled,
            tenant_id=tenant_id,
            match_table=match_table,
            pick_table=pick_table,
        )
        lap("writing_assignments")
        summary = await repository.summarise(
            connection, match_table=match_table, pick_table=pick_table
        )
        summary["seconds"] = timings
        await repository.finish_job(
            connection,
            tenant_id=tenant_id,
            job_id=job_id,
            assigned_rows=assigned_rows,
            failed_rows=failed_rows,
            summary=summary,
        )


async def run(upload: StagedUpload, *, progress: asyncpg.Pool) -> None:
    """Process the upload; on any failure nothing of it is written and the job says failed."""
    try:
        async with _job_slots():
            await _process(upload, progress)
    except BaseException as error:
        reason = (
            "the service stopped before the job finished; upload the file again"
            if isinstance(error, asyncio.CancelledError)
            else f"the job failed and wrote nothing: {error}"
        )
        logger.exception("bulk job failed", extra={"job_id": str(upload.job_id)})
        try:
            await asyncio.shield(
                repository.fail_job(
                    progress, tenant_id=upload.tenant_id, job_id=upload.job_id, error=reason
                )
            )
        except Exception:
            logger.exception("could not mark the bulk job failed")
        raise
    finally:
        await upload.connection.close()


def start_in_background(upload: StagedUpload, *, progress: asyncpg.Pool) -> None:
    task = asyncio.create_task(_run_quietly(upload, progress), name=f"bulk-job-{upload.job_id}")
    _running.add(task)
    task.add_done_callback(_running.discard)


async def _run_quietly(upload: StagedUpload, progress: asyncpg.Pool) -> None:
    try:
        await run(upload, progress=progress)
    except Exception:
        pass  # recorded on the job row and logged by ``run``
