"""Response bodies for the audit trail."""

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field


class AuditEventRead(BaseModel):
    id: int = Field(description="Increases with every event: the order they were recorded in")
    api_key_id: uuid.UUID | None = Field(description="The key that made the write")
    action: str = Field(description="What was done: the operation, e.g. create_rep")
    entity: str = Field(description="The kind of object written, e.g. reps, leads, jobs")
    entity_id: str | None = Field(description="The object written, when the write names one")
    request_id: str | None = Field(description="The X-Request-Id of the write's request")
    detail: dict[str, Any]
    created_at: datetime


class AuditEventPage(BaseModel):
    items: list[AuditEventRead]
    limit: int
    # Pass it as ``cursor`` for the next (older) page; null on the last page.
    next_cursor: str | None
