"""Request and response bodies for alignments."""

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from shared.models import AlignmentStatus
from shared.patch import NotNull
from shared.validation import Text


class AlignmentCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Text = Field(min_length=1, max_length=200, examples=["FY27 territories"])


class AlignmentUpdate(BaseModel):
    """Only the fields sent are changed; only drafts can be changed."""

    model_config = ConfigDict(extra="forbid")

    name: NotNull[Annotated[Text, Field(min_length=1, max_length=200)]] = None


class AlignmentClone(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Text | None = Field(
        default=None,
        min_length=1,
        max_length=200,
        description="Name of the new draft; default: the source's name + ' (copy)'",
    )


class AlignmentPublish(BaseModel):
    model_config = ConfigDict(extra="forbid")

    effective_from: AwareDatetime | None = Field(
        default=None,
        description=(
            "From when the alignment counts (with a time zone); default now. The alignment "
            "becomes active at once, so this may be now or in the past, not in the future."
        ),
    )


class AlignmentRead(BaseModel):
    id: uuid.UUID
    name: str
    status: AlignmentStatus
    effective_from: datetime | None
    cloned_from_id: uuid.UUID | None
    published_at: datetime | None
    archived_at: datetime | None
    review_hold: str | None = Field(
        description="Why this draft can be neither edited nor published (a review); null if free"
    )
    territory_count: int
    created_at: datetime
    updated_at: datetime


class AccountPlacement(BaseModel):
    territory_id: uuid.UUID | None = Field(
        description="The territory the account falls in by the rules and geography"
    )
    territory: str | None
    owner_territory_id: uuid.UUID | None = Field(
        description="Its owner's territory (where its leads go); null without an active owner"
    )
    owner_territory: str | None


class AccountChange(BaseModel):
    account_id: uuid.UUID
    external_id: str
    name: str
    owner_rep_id: uuid.UUID | None = Field(
        description="The account's owner: a publish never changes it"
    )
    owner: str | None
    before: AccountPlacement
    after: AccountPlacement
    territory_changed: bool
    owner_territory_changed: bool


class AlignmentDiff(BaseModel):
    """The accounts whose territory or owner's territory (compared by name) differs between two
    alignments. When ``from`` is the active alignment, "before" is what the accounts hold now
    and the rows are exactly what publishing ``to`` changes."""

    from_alignment_id: uuid.UUID
    to_alignment_id: uuid.UUID
    accounts: int = Field(description="Accounts of the tenant compared")
    changed: int
    territory_changes: int
    owner_territory_changes: int
    items: list[AccountChange]
    limit: int
    offset: int
    next_offset: int | None


class AlignmentHold(BaseModel):
    reason: Text = Field(
        min_length=1,
        max_length=500,
        description="Shown to whoever tries to edit or publish the draft, e.g. the change request",
    )
