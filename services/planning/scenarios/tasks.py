"""The design scenario's task on the job worker (``design_job.run``)."""

import uuid

from procrastinate import Blueprint, JobContext

from services.planning.scenarios import design_job
from shared.observability.metrics import observe_job
from shared.settings import Settings

blueprint = Blueprint()
TASK_NAME = "planning:design"


@blueprint.task(name="design", queue="planning", pass_context=True)
async def design(context: JobContext, *, scenario_id: str, tenant_id: str) -> None:
    """Design (or realign) one scenario's territories and record the plan and its statistics.

    Not retried: the engine is deterministic for a seed, a failed run would fail again."""
    settings: Settings = context.additional_context["settings"]
    with observe_job(TASK_NAME):
        await design_job.run(
            settings, tenant_id=uuid.UUID(tenant_id), scenario_id=uuid.UUID(scenario_id)
        )
