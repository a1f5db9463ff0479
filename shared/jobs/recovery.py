"""Jobs whose worker died: found by procrastinate's worker heartbeats, put back in the queue.

A worker writes a heartbeat every ``worker_heartbeat_seconds``; a job still ``doing`` on a
worker silent for ``worker_stalled_seconds`` is retried, every few seconds, by whichever worker
runs this periodic task (one run per tick across all workers). Each task decides on its next
attempt whether it can go on (``job_max_attempts``): the bulk task gives its reservation back
first, then runs again from its staged upload, or fails with the reason.
"""

import logging

from procrastinate import Blueprint, JobContext

from shared.settings import get_settings

logger = logging.getLogger(__name__)
blueprint = Blueprint()
# Every 5 seconds (the sixth cron column is seconds).
RECOVERY_CRON = "* * * * * */5"


@blueprint.periodic(cron=RECOVERY_CRON)
@blueprint.task(name="retry_stalled_jobs", queueing_lock="retry_stalled_jobs", pass_context=True)
async def retry_stalled_jobs(context: JobContext, timestamp: int) -> int:
    """Retry every job whose worker stopped sending heartbeats; returns how many."""
    manager = context.app.job_manager
    stalled = await manager.get_stalled_jobs(
        seconds_since_heartbeat=get_settings().worker_stalled_seconds
    )
    retried = 0
    for job in stalled:
        try:
            await manager.retry_job(job)
        except Exception:  # another worker's recovery got to it first
            logger.warning("could not retry stalled job %s", job.id, exc_info=True)
            continue
        retried += 1
        logger.warning(
            "job %s (%s) was running on a worker that stopped; retried",
            job.id,
            job.task_name,
            extra={"queue_job_id": job.id, "task": job.task_name, "attempts": job.attempts},
        )
    return retried
