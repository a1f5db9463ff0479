"""Errors specific to proximity jobs."""

import uuid

from shared.errors import Conflict, NotFound


class JobNotFound(NotFound):
    def __init__(self, job_id: uuid.UUID) -> None:
        super().__init__(f"no proximity job with id {job_id} in this tenant", field="job_id")


class ResultNotReady(Conflict):
    def __init__(self, job_id: uuid.UUID, status: str) -> None:
        super().__init__(
            f"job {job_id} is {status}: its result exists once it has succeeded "
            "(GET /proximity/jobs/{job_id} shows its status)",
            field="job_id",
        )
