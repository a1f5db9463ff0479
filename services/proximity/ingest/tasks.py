"""The proximity uploads' task on the job worker (shared/jobs: the "proximity_ingest"
namespace)."""

import uuid

from procrastinate import Blueprint, JobContext

from services.proximity.ingest import service
from shared.observability.metrics import observe_job
from shared.settings import Settings

blueprint = Blueprint()


@blueprint.task(name="run_import", queue="proximity", pass_context=True)
async def run_import(
    context: JobContext, *, import_id: str, tenant_id: str, columns: list[str]
) -> None:
    """Check a staged upload of people or connections and write it (or say why not)."""
    settings: Settings = context.additional_context["settings"]
    with observe_job(service.TASK_NAME):
        await service.run_import(
            settings=settings,
            tenant_id=uuid.UUID(tenant_id),
            import_id=uuid.UUID(import_id),
            columns=columns,
        )
