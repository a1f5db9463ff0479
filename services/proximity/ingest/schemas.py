"""Response bodies of bulk uploads."""

import uuid
from datetime import datetime

from pydantic import BaseModel, Field


class ImportErrorRead(BaseModel):
    """One refused row: its number (1 = the first row after a CSV header; the line of a JSON
    lines file), the field at fault (``row`` for the row as a whole) and why."""

    row_number: int
    field: str
    reason: str


class ImportRead(BaseModel):
    """An upload of people or connections and where its job is."""

    id: uuid.UUID
    target: str = Field(description="people or connections")
    format: str = Field(description="csv or ndjson")
    mode: str = Field(description="upsert (a row may still say op=delete) or delete")
    skip_bad_rows: bool
    status: str = Field(description="pending, running, succeeded or failed")
    stage: str | None = Field(description="queued, checking, checked, writing, done, refused")
    total_rows: int
    valid_rows: int
    error_count: int
    inserted: int
    updated: int
    deleted: int
    error: str | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    errors: list[ImportErrorRead] = Field(
        default_factory=list,
        description="The first 20 refused rows (all of them: GET /proximity/imports/{id}/errors)",
    )
