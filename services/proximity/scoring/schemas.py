"""Request and response bodies of the tenant's scoring settings."""

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

KindName = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,49}$")]
KindWeight = Annotated[float, Field(ge=0, le=1)]
MAX_KINDS = 100


class ScoringSettingsUpdate(BaseModel):
    """The tenant's own kind weights; a kind left out counts its default."""

    model_config = ConfigDict(extra="forbid")

    kind_weights: dict[KindName, KindWeight] = Field(
        max_length=MAX_KINDS,
        description=(
            "Weight per connection kind in [0, 1]: how much a tie of this kind says about a "
            "warm introduction (a tie's weight is min(1, strength × kind weight) × recency). "
            "Replaces the tenant's previous weights; {} restores every default."
        ),
        examples=[{"colleague": 1.0, "shared_school": 0.2}],
    )


class ScoringSettingsRead(BaseModel):
    kind_weights: dict[str, float] = Field(
        description="The weights in force: the defaults with the tenant's own on top"
    )
    tenant_kind_weights: dict[str, float] = Field(description="What the tenant set")
    default_kind_weights: dict[str, float]
    unknown_kind_weight: float = Field(description="The weight of a kind named nowhere")
    hop_decay: float
    half_life_days: float
    hub_degree: float
    updated_at: datetime | None
