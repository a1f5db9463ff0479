"""Response bodies of bulk lead uploads and assignment jobs."""

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

JobStatus = Literal["pending", "running", "succeeded", "failed", "cancelled"]


class JobRead(BaseModel):
    """A bulk assignment job: where it is, and what it did."""

    id: uuid.UUID
    kind: str
    status: JobStatus = Field(
        description="pending (queued for the job worker), running, then succeeded, failed "
        "(see error) or cancelled"
    )
    stage: str | None = Field(
        description="queued, validating, matching (the leads are written meanwhile), "
        "distributing (the job's turns are reserved: the territories' counters move now), "
        "writing_assignments, done; nothing of the job is visible before done"
    )
    alignment_id: uuid.UUID | None
    total_rows: int = Field(description="Rows received (the header of a CSV is not a row)")
    processed_rows: int = Field(description="Rows validated (rejected ones) or matched so far")
    assigned_rows: int = Field(description="Valid rows written with an assignment")
    failed_rows: int = Field(description="Rows rejected; see the job's errors")
    summary: dict[str, Any] = Field(
        description="Counts by matched rule and outcome, and seconds spent in each stage "
        "(locks_held: how long the job held the territory and rep rows)"
    )
    error: str | None = Field(description="Why the job failed, when it did")
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    links: dict[str, str]


class JobErrorRead(BaseModel):
    """One rejected row: its number in the upload (1-based, header excluded), field and why."""

    row_number: int
    field: str | None
    message: str
