"""Bodies of bulk uploads (import jobs) and of the stage catalogue."""

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from shared.models import OpportunityStatus
from shared.validation import Text


class ImportJobRead(BaseModel):
    id: uuid.UUID
    kind: str = Field(description="opportunities, activities or quotas")
    format: str = Field(description="csv or ndjson")
    mode: str = Field(description="all_or_nothing (one bad row: nothing written) or skip_bad_rows")
    status: str = Field(description="pending, running, succeeded or failed")
    stage: str | None = Field(description="While running: validating, writing")
    total_rows: int
    processed_rows: int
    inserted_rows: int
    updated_rows: int
    unchanged_rows: int = Field(description="Rows identical to what was stored: not rewritten")
    failed_rows: int = Field(description="Rows with at least one problem (see errors)")
    error: str | None = Field(description="Why the job failed")
    summary: dict[str, Any] = Field(description="Seconds per stage, bytes received")
    created_at: datetime
    updated_at: datetime
    finished_at: datetime | None
    links: dict[str, str]


class ImportErrorRead(BaseModel):
    row: int = Field(description="1 = the first row after a CSV header, or the first line")
    field: str
    reason: str


class StageIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Text = Field(min_length=1, max_length=100)
    status: OpportunityStatus = Field(
        default=OpportunityStatus.open, description="What an opportunity in this stage is"
    )


class StagesPut(BaseModel):
    model_config = ConfigDict(extra="forbid")

    stages: list[StageIn] = Field(
        max_length=200, description="In pipeline order; an empty list accepts any stage name"
    )


class StagesRead(BaseModel):
    stages: list[StageIn]


OnError = Literal["abort", "skip"]
