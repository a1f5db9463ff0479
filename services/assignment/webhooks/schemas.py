"""Request and response bodies of webhook subscriptions and deliveries."""

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import AnyHttpUrl, BaseModel, ConfigDict, Field

from services.assignment.events.schemas import EventType
from shared.patch import NotNull
from shared.validation import Text

Secret = Annotated[
    Text,
    Field(
        min_length=24,
        max_length=200,
        description="Write-only: signs the deliveries; never shown again",
    ),
]
Url = Annotated[AnyHttpUrl, Field(max_length=2000, description="Where events are POSTed")]
DeliveryStatus = Literal["pending", "delivered", "dead"]


class WebhookCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: Url
    event_types: list[EventType] = Field(
        default_factory=list, max_length=20, description="Empty: every type"
    )
    description: Text | None = Field(default=None, max_length=500)
    secret: Secret | None = Field(
        default=None, description="Leave out to have one generated (returned once)"
    )
    active: bool = True


class WebhookUpdate(BaseModel):
    """Only the fields sent are changed; ``active: false`` pauses deliveries (the events of
    the pause are delivered once it is active again)."""

    model_config = ConfigDict(extra="forbid")

    url: NotNull[Url] = None
    event_types: NotNull[Annotated[list[EventType], Field(max_length=20)]] = None
    description: Text | None = Field(default=None, max_length=500)
    secret: NotNull[Secret] = None
    active: NotNull[bool] = None


class WebhookRead(BaseModel):
    id: uuid.UUID
    url: str
    event_types: list[EventType]
    description: str | None
    active: bool
    pending_deliveries: int
    dead_deliveries: int
    created_at: datetime
    updated_at: datetime


class WebhookCreated(WebhookRead):
    secret: str = Field(description="Shown this once: store it to verify the signatures")


class DeliveryRead(BaseModel):
    id: uuid.UUID
    subscription_id: uuid.UUID
    event_id: int
    event_type: EventType
    ordering_key: uuid.UUID
    status: DeliveryStatus
    attempts: int
    next_attempt_at: datetime | None = Field(description="Pending: when it is tried next")
    last_status_code: int | None
    last_error: str | None
    created_at: datetime
    delivered_at: datetime | None
    dead_at: datetime | None


class DeliveryPage(BaseModel):
    items: list[DeliveryRead]
    limit: int
    offset: int
    next_offset: int | None


class ReplayResult(BaseModel):
    replayed: int = Field(description="Deliveries put back in the queue")
