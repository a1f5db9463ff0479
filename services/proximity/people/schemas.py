"""Request and response bodies for people."""

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, EmailStr, Field

from shared.models import PersonKind
from shared.validation import Text


class PersonBase(BaseModel):
    external_id: Text | None = Field(
        default=None, max_length=255, description="Your CRM's id for this person"
    )
    kind: PersonKind = Field(description="`rep` (one of your reps) or `contact` (anyone else)")
    rep_id: uuid.UUID | None = Field(
        default=None, description="Required when kind is `rep`, absent for contacts"
    )
    account_id: uuid.UUID | None = Field(default=None, description="The account they work at")
    name: Text = Field(min_length=1, max_length=200)
    email: EmailStr | None = None
    title: Text | None = Field(default=None, max_length=200, description="Job title")


class PersonCreate(PersonBase):
    model_config = ConfigDict(extra="forbid")


class PersonRead(PersonBase):
    id: uuid.UUID
    created_at: datetime
    updated_at: datetime
