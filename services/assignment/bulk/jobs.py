"""Running a staged upload as one job: validate, match, reserve, write.

The job's turns and capacity are reserved in a short transaction of their own (territory and
rep rows are locked for that long only, so single-lead assignments into the same territories
wait milliseconds, not the length of the job). Everything the job writes (its leads, their
assignments, the rejected rows) goes in ONE other transaction, on a second connection (the
writer), which also deletes the reservation. If that write fails, the reservation is given
back (``repository.give_back``) and the job is marked failed: nothing of it is written and no
counter drifts.

Inserting a million rows runs on one core, so the writer works while the job's own connection
(with parallel workers) computes: it inserts the leads while the rows are matched, then the
assignments in chunks of rows as each chunk's are built.

Small uploads run here inside the request; large ones on the job worker (``tasks.py``), from
the upload the API staged in the job's UNLOGGED working tables. A job stopped in the middle
(cancelled, its worker stopping or killed) has written nothing: its reservation is given back
(at once, or by its next attempt) and it ends as ``Stop`` says. Progress goes through short
statements on a pool, outside the job's transactions, so ``GET /assignment/jobs/{id}`` sees the
stage while the job's own writes stay invisible until they commit together.
"""

import asyncio
import logging
import time
import uuid
import weakref
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import asyncpg

from services.assignment.bulk import distribution, matching, repository, staging
from services.assignment.bulk.work import Workspace, drop_stages, drop_workspace
from services.assignment.events import repository as events_repository
from services.assignment.leads.compiled_alignment import CompiledAlignment

logger = logging.getLogger(__name__)

# Jobs processed at once per process; more wait as 'pending' (the database has 2 cores here).
MAX_CONCURRENT_JOBS = 2
# During the write, per-row foreign key triggers off and each parent row locked and checked
# once instead (``repository.lock_job_parents``, ``lock_referenced``), where the session may
# turn them off: at a million rows the triggers cost about as much as the inserts themselves.
SKIP_ROW_TRIGGERS = True
# Each chunk's ``lead.assigned`` events in the write transaction (one INSERT … SELECT). Off only
# for the benchmark's baseline (bench/integration: the outbox's cost in the same run).
PUBLISH_EVENTS = True
# Assignments are built and inserted this many rows at a time (by row number).
CHUNK_ROWS = 250_000
_slots: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore]" = (
    weakref.WeakKeyDictionary()
)


def _job_slots() -> asyncio.Semaphore:
    loop = asyncio.get_running_loop()
    if loop not in _slots:
        _slots[loop] = asyncio.Semaphore(MAX_CONCURRENT_JOBS)
    return _slots[loop]


Connect = Callable[[], Awaitable[asyncpg.Connection]]


@dataclass(frozen=True)
class Stop:
    """How a job cancelled in the middle ends: ``failed``, ``cancelled`` or ``pending`` (back
    in the queue), and why (None: no error to show, the job goes on)."""

    status: str
    reason: str | None


# The job runs inside the API's request: if it is cancelled, its process is stopping.
SERVICE_STOPPED = Stop("failed", "the service stopped before the job finished")


@dataclass
class StagedUpload:
    """An upload COPYed into the working table ``raw`` on ``connection``, which the job owns
    and closes (dropping its working tables first); ``connect`` opens the writer's."""

    connection: asyncpg.Connection
    connect: Connect
    workspace: Workspace
    tenant_id: uuid.UUID
    job_id: uuid.UUID
    fmt: staging.Format
    header: staging.CsvHeader | None
    total_rows: int
    compiled: CompiledAlignment
    ids_epoch_ms: int
    timings: dict[str, float] = field(default_factory=dict)
    progress: asyncpg.Pool | None = None  # for progress and giving back
    # What a cancellation of the job's task means (asked by the worker when it happens).
    stopped: Callable[[], Stop] = lambda: SERVICE_STOPPED


class _Stage(Protocol):
    def __call__(self, name: str, processed_rows: int | None = None) -> Awaitable[None]: ...


class _Clock:
    def __init__(self, timings: dict[str, float]) -> None:
        self.timings = timings
        self.started = time.perf_counter()

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        self.timings[name] = round(now - self.started, 3)
        self.started = now


class _Writer:
    """The job's write transaction on its own connection: ``leads`` first, then ``chunks`` of
    assignments as they come (None: no more), then the commit. Its ``task`` ends committed,
    or raises with everything rolled back."""

    def __init__(self, upload: StagedUpload, connection: asyncpg.Connection) -> None:
        self.upload = upload
        self.connection = connection
        self.chunks: asyncio.Queue[str | None] = asyncio.Queue(maxsize=2)
        self.summary: dict[str, Any] = {}
        self.failed_rows = 0
        self.busy: dict[str, float] = {"leads": 0.0, "assignments": 0.0, "events": 0.0}
        self.writing_started: float | None = None  # when the first chunk began to be built
        self.task: asyncio.Task[int] | None = None

    def start(self) -> None:
        self.task = asyncio.create_task(self._run(), name=f"bulk-writer-{self.upload.job_id}")

    async def send(self, result: str | None) -> None:
        """Hand the writer a chunk (None: the last was sent); raises if the writer fails first,
        rather than waiting forever on a full queue."""
        assert self.task is not None
        put = asyncio.ensure_future(self.chunks.put(result))
        await asyncio.wait({put, self.task}, return_when=asyncio.FIRST_COMPLETED)
        if not put.done():
            put.cancel()
            self.check()
            raise RuntimeError("the bulk writer stopped before taking all its chunks")

    def check(self) -> None:
        """Raise now if the writer already failed (the job stops rather than reserving or
        building what nobody will write)."""
        assert self.task is not None
        if self.task.done() and self.task.exception() is not None:
            raise self.task.exception()  # type: ignore[misc]

    async def _run(self) -> int:
        upload, connection = self.upload, self.connection
        workspace, compiled = upload.workspace, upload.compiled
        skip_triggers = SKIP_ROW_TRIGGERS and await repository.can_skip_row_triggers(connection)
        assigned_rows = 0
        async with connection.transaction():
            started = time.perf_counter()
            if skip_triggers:
                await connection.execute("SET LOCAL session_replication_role = replica")
                await repository.lock_job_parents(
                    connection,
                    tenant_id=upload.tenant_id,
                    job_id=upload.job_id,
                    alignment_id=compiled.alignment_id,
                )
            lead = workspace.table("lead")
            self.failed_rows = await repository.copy_errors(
                connection, job_id=upload.job_id, lead=lead
            )
            await repository.write_leads(
                connection, tenant_id=upload.tenant_id, job_id=upload.job_id, lead=lead
            )
            self.busy["leads"] = round(time.perf_counter() - started, 3)
            while (result := await self.chunks.get()) is not None:
                started = time.perf_counter()
                if skip_triggers:
                    parents = f"{result}_parents"
                    await repository.referenced_rows(connection, result=result, parents=parents)
                    await repository.lock_referenced(connection, parents=parents)
                assigned_rows += await repository.write_assignments(
                    connection,
                    tenant_id=upload.tenant_id,
                    alignment_id=compiled.alignment_id,
                    result=result,
                )
                self.busy["assignments"] += time.perf_counter() - started
                if PUBLISH_EVENTS:
                    started = time.perf_counter()
                    await events_repository.write_bulk_lead_events(
                        connection,
                        tenant_id=upload.tenant_id,
                        alignment_id=compiled.alignment_id,
                        result=result,
                        lead=lead,
                    )
                    self.busy["events"] += time.perf_counter() - started
            self.busy["assignments"] = round(self.busy["assignments"], 3)
            self.busy["events"] = round(self.busy["events"], 3)
            writing = time.perf_counter() - (self.writing_started or time.perf_counter())
            self.summary["seconds"] = upload.timings | {
                "writing": round(writing, 3),
                **{f"inserting_{name}": seconds for name, seconds in self.busy.items()},
            }
            self.summary["row_triggers"] = "per parent" if skip_triggers else "per row"
            await repository.drop_reservation(connection, job_id=upload.job_id)
            await repository.finish_job(
                connection,
                tenant_id=upload.tenant_id,
                job_id=upload.job_id,
                assigned_rows=assigned_rows,
                failed_rows=self.failed_rows,
                summary=self.summary,
            )
        return assigned_rows


async def _process(upload: StagedUpload, progress: asyncpg.Pool) -> None:
    connection, workspace = upload.connection, upload.workspace
    tenant_id, job_id = upload.tenant_id, upload.job_id
    clock = _Clock(upload.timings)

    async def stage(name: str, processed_rows: int | None = None) -> None:
        await repository.set_progress(
            progress,
            tenant_id=tenant_id,
            job_id=job_id,
            stage=name,
            processed_rows=processed_rows,
            status="running",
        )

    await stage("validating")
    validated = await staging.validate(
        connection,
        fmt=upload.fmt,
        header=upload.header,
        workspace=workspace,
        ids_epoch_ms=upload.ids_epoch_ms,
    )
    clock.lap("validating")

    writer = _Writer(upload, await upload.connect())
    try:
        writer.start()
        await _match_and_assign(upload, writer, stage=stage, clock=clock, validated=validated)
    except BaseException:
        if writer.task is not None and not writer.task.done():
            writer.task.cancel()
        if writer.task is not None:
            await asyncio.gather(writer.task, return_exceptions=True)
        raise
    finally:
        await writer.connection.close()


async def _match_and_assign(
    upload: StagedUpload,
    writer: _Writer,
    *,
    stage: _Stage,
    clock: _Clock,
    validated: staging.Validated,
) -> None:
    connection, workspace = upload.connection, upload.workspace
    tenant_id, job_id, compiled = upload.tenant_id, upload.job_id, upload.compiled
    await stage("matching", validated.failed_rows)
    lead, match = workspace.table("lead"), workspace.table("match")
    await matching.match_into(
        connection,
        compiled=compiled,
        tenant_id=tenant_id,
        relation_sql=f"""
            SELECT row_number, lead_id, account_external_id, domain, location, postal_code,
                   country, industry, employee_count, annual_revenue, email, attributes
              FROM {lead} WHERE problem IS NULL
        """,
        table=match,
        carry=("lead_id",),
    )
    clock.lap("matching")

    await stage("distributing", upload.total_rows)
    await distribution.prepare(connection, workspace=workspace, match=match)
    writer.check()
    reservation = await distribution.reserve(
        connection, workspace=workspace, compiled=compiled, tenant_id=tenant_id, job_id=job_id
    )
    upload.timings["locks_held"] = reservation.locked_seconds
    try:
        await distribution.resolve(connection, workspace=workspace, compiled=compiled)
        clock.lap("distributing")
        await stage("writing_assignments")
        writer.writing_started = time.perf_counter()
        for low in range(1, validated.last_row + 1, CHUNK_ROWS):
            writer.check()
            high = min(low + CHUNK_ROWS - 1, validated.last_row)
            result = workspace.table(f"result_{low}")
            counts = await repository.build_result(
                connection,
                compiled=compiled,
                result=result,
                match=match,
                pick_sql=distribution.pick_sql(workspace, low=low, high=high),
                ids_epoch_ms=upload.ids_epoch_ms,
                low=low,
                high=high,
            )
            _add_counts(writer.summary, counts)
            await writer.send(result)
        await writer.send(None)
        assert writer.task is not None
        await writer.task
    except BaseException as error:
        stop = (
            upload.stopped()
            if isinstance(error, asyncio.CancelledError)
            else Stop("failed", f"the job failed: {error}")
        )
        if writer.task is not None and not writer.task.done():
            writer.task.cancel()
            await asyncio.gather(writer.task, return_exceptions=True)
        # Shielded: a cancelled job still gives its turns back (on the pool, as the job's own
        # connection may be what failed).
        await asyncio.shield(_give_back(upload, stop))
        raise


def _add_counts(summary: dict[str, Any], counts: dict[str, Any]) -> None:
    rules = summary.setdefault("matched_rule", {})
    for rule, rows in counts["matched_rule"].items():
        rules[rule] = rules.get(rule, 0) + rows
    summary["matched_rule"] = dict(sorted(rules.items()))
    summary["queued_rows"] = summary.get("queued_rows", 0) + counts["queued_rows"]


def _explained(stop: Stop) -> str | None:
    if stop.reason is None:
        return None
    again = " Upload the file again." if stop.status == "failed" else ""
    return f"{stop.reason}; it wrote nothing and gave its reserved turns back.{again}"


async def _give_back(upload: StagedUpload, stop: Stop) -> None:
    assert upload.progress is not None
    async with upload.progress.acquire() as connection:
        await repository.give_back(
            connection,
            tenant_id=upload.tenant_id,
            job_id=upload.job_id,
            error=_explained(stop),
            status=stop.status,
        )


async def run(upload: StagedUpload, *, progress: asyncpg.Pool) -> None:
    """Process the upload; on any failure nothing of it is written, a reservation is given
    back, and the job says why it ended (``upload.stopped`` when it was cancelled)."""
    upload.progress = progress
    requeued = False  # back in the queue: its next attempt needs the staged upload
    try:
        async with _job_slots():
            await _process(upload, progress)
    except BaseException as error:
        if isinstance(error, asyncio.CancelledError):
            stop = upload.stopped()
            if stop.reason is not None and stop.status == "failed":
                stop = Stop(stop.status, f"{stop.reason}; upload the file again")
        else:
            stop = Stop("failed", f"the job failed and wrote nothing: {error}")
            logger.exception("bulk job failed", extra={"job_id": str(upload.job_id)})
        requeued = stop.status == "pending"
        try:
            await asyncio.shield(
                repository.end_unfinished(
                    progress,
                    tenant_id=upload.tenant_id,
                    job_id=upload.job_id,
                    status=stop.status,
                    error=stop.reason,
                )
            )
        except Exception:
            logger.exception("could not mark the bulk job ended")
        raise
    finally:
        try:
            if not upload.connection.is_closed():
                drop = drop_stages if requeued else drop_workspace
                await drop(upload.connection, upload.workspace)
        except Exception:
            logger.exception("could not drop the bulk job's working tables")
        await upload.connection.close()
