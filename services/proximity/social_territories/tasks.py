"""The social territories task, added to proximity's Blueprint (matrix/tasks.py)."""

import uuid

from procrastinate import Blueprint, JobContext

from services.proximity.social_territories import service
from shared.observability.metrics import observe_job
from shared.settings import Settings

blueprint = Blueprint()


@blueprint.task(name="solve", queue="proximity", pass_context=True)
async def solve(context: JobContext, *, job_id: str, tenant_id: str, api_key: str) -> None:
    """Accounts to reps by proximity under capacity and balance; the result on the job row."""
    settings: Settings = context.additional_context["settings"]
    with observe_job(service.TASK_NAME):
        await service.run(
            settings=settings,
            tenant_id=uuid.UUID(tenant_id),
            job_id=uuid.UUID(job_id),
            api_key=api_key,
        )
