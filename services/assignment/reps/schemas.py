"""Request and response bodies for reps."""

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, EmailStr, Field

from shared.geo import GeoJSONPoint
from shared.patch import NotNull
from shared.validation import Int32, Text


class RepBase(BaseModel):
    external_id: Text | None = Field(default=None, max_length=255, description="Your CRM's user id")
    name: Text = Field(min_length=1, max_length=200)
    email: EmailStr | None = None
    capacity: Int32 | None = Field(
        default=None, ge=0, description="Most open assignments at once; null = unlimited"
    )
    home: GeoJSONPoint | None = Field(default=None, description="Home or office location")
    skills: list[Text] = Field(default_factory=list, max_length=100)
    segments: list[Text] = Field(default_factory=list, max_length=100)
    manager_id: uuid.UUID | None = None


class RepCreate(RepBase):
    model_config = ConfigDict(extra="forbid")


class RepUpdate(BaseModel):
    """Only the fields sent are changed."""

    model_config = ConfigDict(extra="forbid")

    external_id: Text | None = Field(default=None, max_length=255)
    name: NotNull[Annotated[Text, Field(min_length=1, max_length=200)]] = None
    email: EmailStr | None = None
    capacity: Int32 | None = Field(default=None, ge=0)
    home: GeoJSONPoint | None = None
    skills: NotNull[Annotated[list[Text], Field(max_length=100)]] = None
    segments: NotNull[Annotated[list[Text], Field(max_length=100)]] = None
    manager_id: uuid.UUID | None = None
    active: NotNull[bool] = None


class RepRead(RepBase):
    id: uuid.UUID
    active: bool
    created_at: datetime
    updated_at: datetime
