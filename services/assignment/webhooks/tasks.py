"""The webhook delivery pump as a job: started every few seconds by the worker's periodic
deferrer (a no-op while a pump runs or nobody subscribes), handed over job to job."""

from procrastinate import Blueprint, JobContext
from procrastinate.exceptions import AlreadyEnqueued

from services.assignment.webhooks import repository
from services.assignment.webhooks.pump import Pump, http_client
from shared.observability.metrics import observe_job
from shared.settings import Settings

blueprint = Blueprint()
# Every 5 seconds (the sixth cron column is seconds): how soon a pump runs again after its
# worker died, or after the first subscription of a quiet platform.
PUMP_CRON = "* * * * * */5"
TASK_NAME = "webhooks:pump"


@blueprint.task(name="pump", queue="webhooks", queueing_lock="webhooks-pump", pass_context=True)
async def pump(context: JobContext, successor: bool = False) -> str:
    """Fan out and send webhook deliveries (``pump.Pump``); returns why it ended."""
    settings: Settings = context.additional_context["settings"]

    async def hand_over() -> None:
        try:
            await context.app.configure_task(TASK_NAME).defer_async(successor=True)
        except AlreadyEnqueued:  # a periodic start is already waiting
            pass

    with observe_job(TASK_NAME):
        async with http_client(settings) as client:
            return await Pump(settings, client=client).run(
                should_stop=context.should_abort, successor=successor, hand_over=hand_over
            )


@blueprint.periodic(cron=PUMP_CRON)
@blueprint.task(name="start_pump", queueing_lock="webhooks-start-pump", pass_context=True)
async def start_pump(context: JobContext, timestamp: int) -> None:
    """Start a pump when a tenant subscribes, unless one is queued (it exits at once if one
    runs)."""
    async with context.additional_context["pool"].acquire() as connection:
        if not await repository.pump_tenants(connection):
            return
    try:
        await context.app.configure_task(TASK_NAME).defer_async()
    except AlreadyEnqueued:
        pass
