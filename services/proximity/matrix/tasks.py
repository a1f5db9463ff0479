"""Proximity's tasks on the job worker (shared/jobs: the "proximity" namespace)."""

import uuid

from procrastinate import Blueprint, JobContext

from services.proximity.matrix import service
from services.proximity.social_territories.tasks import blueprint as social_territories_blueprint
from shared.observability.metrics import observe_job
from shared.settings import Settings

blueprint = Blueprint()


@blueprint.task(name="score_matrix", queue="proximity", pass_context=True)
async def score_matrix(context: JobContext, *, job_id: str, tenant_id: str) -> None:
    """Every account × every rep of the tenant, as a CSV kept on the job row."""
    settings: Settings = context.additional_context["settings"]
    with observe_job(service.TASK_NAME):
        await service.run_matrix(
            settings=settings, tenant_id=uuid.UUID(tenant_id), job_id=uuid.UUID(job_id)
        )


# Social territories run on the same Blueprint (task "proximity:social_territories:solve").
blueprint.add_tasks_from(social_territories_blueprint, namespace="social_territories")
