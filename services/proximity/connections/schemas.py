"""Request and response bodies for connections."""

import uuid
from datetime import datetime

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

_KIND = Field(
    min_length=1,
    max_length=50,
    pattern=r"^[a-z][a-z0-9_]*$",
    description="snake_case, e.g. colleague, former_colleague, email, meeting, social, referral",
    examples=["colleague"],
)
_STRENGTH = Field(gt=0, le=1, description="How strong the tie is, in (0, 1]")


class ConnectionCreate(BaseModel):
    """Undirected: the two people may be given in either order."""

    model_config = ConfigDict(extra="forbid")

    person_a_id: uuid.UUID
    person_b_id: uuid.UUID
    kind: str = _KIND
    strength: float = _STRENGTH
    last_interaction_at: AwareDatetime | None = Field(
        default=None, description="When they last interacted, with a UTC offset"
    )


class ConnectionRead(BaseModel):
    """Stored once per pair and kind, with ``person_a_id < person_b_id``."""

    id: uuid.UUID
    person_a_id: uuid.UUID
    person_b_id: uuid.UUID
    kind: str
    strength: float
    last_interaction_at: datetime | None
    created_at: datetime


class NeighbourRead(BaseModel):
    """One connection seen from one person: who is at the other end, and how."""

    connection_id: uuid.UUID
    person_id: uuid.UUID = Field(description="The other person")
    kind: str
    strength: float
    last_interaction_at: datetime | None
