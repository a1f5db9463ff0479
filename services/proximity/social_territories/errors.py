"""Errors specific to social territories."""

import uuid

from shared.errors import Conflict, InvalidInput, NotFound


class SocialJobNotFound(NotFound):
    def __init__(self, job_id: uuid.UUID) -> None:
        super().__init__(
            f"no social territories job with id {job_id} in this tenant", field="job_id"
        )


class ResultNotReady(Conflict):
    def __init__(self, job_id: uuid.UUID, status: str) -> None:
        super().__init__(
            f"job {job_id} is {status}: its result exists once it has succeeded "
            f"(GET /proximity/social-territories/{job_id} shows its status)",
            field="job_id",
        )


class JobAlreadyEnded(Conflict):
    def __init__(self, job_id: uuid.UUID, status: str) -> None:
        super().__init__(f"job {job_id} has already ended ({status})", field="job_id")


class Infeasible(InvalidInput):
    """The request cannot have a solution; said before anything is queued."""

    slug, title = "infeasible-social-territories", "No assignment can meet these constraints"
