"""Request and response bodies for activities (calls, meetings, emails)."""

import uuid
from datetime import datetime

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from shared.validation import Int32, Text


class ActivityBase(BaseModel):
    external_id: Text = Field(
        min_length=1, max_length=255, description="Your CRM's activity id: the upsert key"
    )
    kind: Text = Field(min_length=1, max_length=50, description="call, meeting, email, demo…")
    rep_id: uuid.UUID | None = Field(default=None, description="The rep who did it")
    account_id: uuid.UUID | None = None
    territory_id: uuid.UUID | None = Field(
        default=None, description="The account's territory when it happened"
    )
    occurred_at: AwareDatetime
    duration_minutes: Int32 | None = Field(default=None, ge=0)


class ActivityUpsert(ActivityBase):
    """The whole activity: an update replaces every field."""

    model_config = ConfigDict(extra="forbid")


class ActivityRead(ActivityBase):
    id: uuid.UUID
    created_at: datetime
