"""The unit import's task on the job worker (``import_job.run``)."""

import uuid

from procrastinate import Blueprint, JobContext

from services.planning.units import import_job
from shared.observability.metrics import observe_job
from shared.settings import Settings

blueprint = Blueprint()
TASK_NAME = "planning_units:import"


@blueprint.task(name="import", queue="planning", pass_context=True)
async def import_units(context: JobContext, *, import_id: str, tenant_id: str) -> None:
    """Check and write one queued import of units, then the set's adjacency and islands.

    Not retried: it runs in one transaction, so a failed attempt wrote nothing, and the same
    upload would fail the same way."""
    settings: Settings = context.additional_context["settings"]
    with observe_job(TASK_NAME):
        await import_job.run(
            settings, tenant_id=uuid.UUID(tenant_id), import_id=uuid.UUID(import_id)
        )
