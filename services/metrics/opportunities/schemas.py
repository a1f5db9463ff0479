"""Request and response bodies for opportunities."""

import uuid
from datetime import datetime
from decimal import Decimal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from shared.models import OpportunityStatus
from shared.validation import Text


class OpportunityBase(BaseModel):
    external_id: Text = Field(
        min_length=1, max_length=255, description="Your CRM's opportunity id: the upsert key"
    )
    account_id: uuid.UUID | None = None
    rep_id: uuid.UUID | None = Field(default=None, description="The rep who owns the opportunity")
    territory_id: uuid.UUID | None = None
    name: Text = Field(min_length=1, max_length=300)
    stage: Text | None = Field(default=None, max_length=100, description="Your CRM's stage name")
    status: OpportunityStatus = OpportunityStatus.open
    amount: Decimal = Field(default=Decimal("0"), ge=0, max_digits=18, decimal_places=2)
    currency: Text | None = Field(
        default=None,
        pattern="^[A-Z]{3}$",
        description="ISO 4217 code of amount; omitted: the tenant's reporting currency",
    )
    opened_at: AwareDatetime | None = None
    closed_at: AwareDatetime | None = Field(
        default=None, description="Required once the opportunity is won or lost"
    )


class OpportunityUpsert(OpportunityBase):
    """The whole opportunity: an update replaces every field, omitted ones take their defaults."""

    model_config = ConfigDict(extra="forbid")


class OpportunityRead(OpportunityBase):
    id: uuid.UUID
    currency: str
    amount_reporting: Decimal = Field(
        description="amount in the reporting currency at the rate known when it was written"
    )
    created_at: datetime
    updated_at: datetime
