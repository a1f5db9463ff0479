"""Request and response bodies for the accounts × reps matrix job."""

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from services.proximity.rankings.schemas import (
    LONGEST_MAX_HOPS,
    MAX_HOPS_DESCRIPTION,
)


class MatrixCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    max_hops: int = Field(
        default=LONGEST_MAX_HOPS, ge=1, le=LONGEST_MAX_HOPS, description=MAX_HOPS_DESCRIPTION
    )


class ProximityJobRead(BaseModel):
    id: uuid.UUID
    kind: str
    status: str = Field(description="pending, running, succeeded or failed")
    max_hops: int
    total_accounts: int = Field(description="Accounts with contacts, once running")
    result_rows: int = Field(description="Rows of the CSV result (account, rep pairs with a path)")
    error: str | None
    created_at: datetime
    finished_at: datetime | None
