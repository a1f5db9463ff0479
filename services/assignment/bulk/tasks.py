"""The bulk upload's task on the job worker: a queued upload, run from its staged tables.

Retried only where that is safe: after its worker stopped (SIGTERM: ``WorkerStopping``; killed:
by ``shared/jobs/recovery.py``), since a stopped attempt wrote nothing and its next attempt
gives back what it reserved first. A failure of the job itself (a bad alignment, a row deleted
under it) is not retried: it would fail the same way.
"""

import asyncio
import uuid

from procrastinate import Blueprint, JobContext, RetryStrategy
from procrastinate.job_context import AbortReason

from services.assignment.bulk import service, staging
from services.assignment.bulk.jobs import Stop
from shared.observability.metrics import observe_job
from shared.settings import Settings
from shared.tenancy import bind_caller

blueprint = Blueprint()


class WorkerStopping(Exception):
    """The worker stopped (SIGTERM) before the job finished: the job goes back to the queue."""


def _stop_of(context: JobContext) -> Stop:
    if context.abort_reason() == AbortReason.USER_REQUEST:
        return Stop("cancelled", service.CANCELLED_ERROR)
    return Stop("pending", None)


@blueprint.task(
    name="lead_upload",
    queue="bulk",
    pass_context=True,
    retry=RetryStrategy(retry_exceptions=[WorkerStopping]),
)
async def lead_upload(
    context: JobContext,
    *,
    job_id: str,
    tenant_id: str,
    fmt: staging.Format,
    header_fields: list[str] | None,
    header_attribute_keys: list[str | None] | None,
    total_rows: int,
    ids_epoch_ms: int,
    receiving: float,
) -> None:
    """Validate, match, reserve and write a staged upload (``service.run_queued``)."""
    settings: Settings = context.additional_context["settings"]
    # The job's statements on the worker's pool are the tenant's (row-level security).
    bind_caller(uuid.UUID(tenant_id))
    header = (
        staging.CsvHeader(tuple(header_fields), tuple(header_attribute_keys or ()))
        if header_fields is not None
        else None
    )
    try:
        with observe_job("assignment:lead_upload"):
            await service.run_queued(
                settings=settings,
                pool=context.additional_context["pool"],
                tenant_id=uuid.UUID(tenant_id),
                job_id=uuid.UUID(job_id),
                fmt=fmt,
                header=header,
                total_rows=total_rows,
                ids_epoch_ms=ids_epoch_ms,
                receiving=receiving,
                attempt=context.job.attempts,
                max_attempts=settings.job_max_attempts,
                stopped=lambda: _stop_of(context),
            )
    except asyncio.CancelledError:
        if context.abort_reason() == AbortReason.SHUTDOWN:
            raise WorkerStopping("the worker stopped before the job finished") from None
        raise
