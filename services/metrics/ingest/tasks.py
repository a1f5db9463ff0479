"""The bulk upload's task on the job worker (``metrics:import_upload``)."""

import uuid

from procrastinate import Blueprint, JobContext

from services.metrics.ingest import service
from shared.observability.metrics import observe_job
from shared.settings import Settings
from shared.tenancy import bind_caller

blueprint = Blueprint()


@blueprint.task(name="import_upload", queue="bulk", pass_context=True)
async def import_upload(
    context: JobContext, *, job_id: str, tenant_id: str, ids_epoch_ms: int
) -> None:
    """Validate and write a staged upload (``service.run``)."""
    settings: Settings = context.additional_context["settings"]
    bind_caller(uuid.UUID(tenant_id))
    with observe_job("metrics:import_upload"):
        await service.run(
            settings=settings,
            tenant_id=uuid.UUID(tenant_id),
            job_id=uuid.UUID(job_id),
            ids_epoch_ms=ids_epoch_ms,
        )
