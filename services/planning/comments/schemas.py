"""Request and response bodies for comments."""

import uuid
from datetime import datetime

from pydantic import BaseModel, Field

from shared.models.collaboration import CommentSubject
from shared.validation import Text


class CommentCreate(BaseModel):
    subject_type: CommentSubject
    subject_id: uuid.UUID = Field(description="The territory, scenario or change request")
    body: Text = Field(min_length=1, max_length=20_000)
    reply_to: uuid.UUID | None = Field(
        default=None, description="A comment on the same subject this one answers"
    )


class CommentUpdate(BaseModel):
    body: Text = Field(min_length=1, max_length=20_000)


class CommentRead(BaseModel):
    id: uuid.UUID
    subject_type: CommentSubject
    subject_id: uuid.UUID
    reply_to: uuid.UUID | None
    body: str
    author_key_id: uuid.UUID | None = Field(description="The API key that wrote it")
    created_at: datetime
    updated_at: datetime


class CommentPage(BaseModel):
    items: list[CommentRead] = Field(description="Oldest first: the discussion in order")
    limit: int
    next_cursor: str | None = Field(description="Pass as ``cursor`` for the next page")
