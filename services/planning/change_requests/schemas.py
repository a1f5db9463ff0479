"""Request and response bodies for change requests."""

import uuid
from datetime import datetime

from pydantic import BaseModel, Field

from shared.validation import Text


class ChangeRequestCreate(BaseModel):
    scenario_id: uuid.UUID = Field(description="The scenario (realignment) proposed for publishing")
    title: Text = Field(min_length=1, max_length=200)
    description: Text | None = Field(default=None, max_length=20_000)


class Decision(BaseModel):
    comment: Text | None = Field(
        default=None, max_length=20_000, description="Why: kept in the request's history"
    )


class Rejection(BaseModel):
    comment: Text = Field(
        min_length=1, max_length=20_000, description="Why it was rejected (required)"
    )


class ChangeRequestEventRead(BaseModel):
    action: str = Field(description="proposed, approved, rejected, withdrawn or published")
    actor_key_id: uuid.UUID | None
    comment: str | None
    created_at: datetime


class ChangeRequestRead(BaseModel):
    id: uuid.UUID
    scenario_id: uuid.UUID
    title: str
    description: str | None
    status: str = Field(description="proposed, approved, rejected, withdrawn or published")
    proposed_by: uuid.UUID | None = Field(description="The API key that proposed it")
    decided_by: uuid.UUID | None = Field(description="The API key that approved or rejected it")
    decided_at: datetime | None
    created_at: datetime
    updated_at: datetime
    history: list[ChangeRequestEventRead] = Field(description="Every step, oldest first")


class ChangeRequestPage(BaseModel):
    items: list[ChangeRequestRead]
    limit: int
    next_cursor: str | None = Field(description="Pass as ``cursor`` for the next (older) page")


class PlanningSettingsRead(BaseModel):
    require_approval: bool = Field(
        description="Every scenario publish needs an approved change request (otherwise only"
        " scenarios that were proposed do)"
    )


class PlanningSettingsUpdate(BaseModel):
    require_approval: bool
