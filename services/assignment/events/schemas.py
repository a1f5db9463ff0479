"""The event envelope, the same in the pull feed and in every webhook delivery's body."""

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

# Versioned by name: a change that breaks a payload's shape gets a new ``version``.
EventType = Literal[
    "lead.assigned",
    "lead.reassigned",
    "account.owner_changed",
    "alignment.published",
    "territory.changed",
    "rep.changed",
]
EVENT_TYPES: tuple[str, ...] = EventType.__args__  # type: ignore[attr-defined]


class EventRead(BaseModel):
    id: int = Field(description="Unique per event: a receiver's deduplication key")
    type: EventType
    version: int = Field(description="Version of this type's data shape")
    subject_id: uuid.UUID = Field(description="The lead, account, alignment, territory or rep")
    ordering_key: uuid.UUID = Field(
        description="Events with the same key (the account, else the subject) are delivered "
        "to a webhook one at a time, in feed order"
    )
    occurred_at: datetime
    data: dict[str, Any]
    cursor: str = Field(description="This event's position: pass as after= to read past it")


class EventPage(BaseModel):
    items: list[EventRead]
    next_cursor: str = Field(
        description="Pass as after= for the next page; it never skips an event, also one whose "
        "transaction commits after this read"
    )
    has_more: bool = Field(description="More events are readable now")
