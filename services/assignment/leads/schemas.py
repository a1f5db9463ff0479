"""Request and response bodies for lead assignment."""

import uuid
from datetime import datetime
from typing import Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    EmailStr,
    Field,
    FiniteFloat,
    field_validator,
    model_validator,
)

from services.assignment.accounts.domains import normalise_domain
from services.assignment.leads.explanation import ExplanationStep
from services.assignment.postal_codes.normalise import normalise_country
from shared.geo import GeoJSONPoint
from shared.validation import Text

MatchedRule = Literal["named_account", "attribute_rule", "geography", "fallback"]
AttributeValue = Text | int | FiniteFloat | bool | None


class LeadIn(BaseModel):
    """A new lead: any subset of these fields; more of them means a more specific match."""

    model_config = ConfigDict(extra="forbid")

    external_id: Text | None = Field(default=None, max_length=255, description="Your CRM's lead id")
    email: EmailStr | None = None
    domain: Text | None = Field(
        default=None, max_length=255, description="Company domain; derived from email if absent"
    )
    account_external_id: Text | None = Field(
        default=None, max_length=255, description="The account this lead belongs to, if known"
    )
    location: GeoJSONPoint | None = None
    latitude: float | None = Field(default=None, ge=-90, le=90)
    longitude: float | None = Field(default=None, ge=-180, le=180)
    postal_code: Text | None = Field(default=None, max_length=20)
    country: Text | None = Field(
        default=None, min_length=2, max_length=2, description="ISO 3166-1 alpha-2"
    )
    industry: Text | None = Field(default=None, max_length=100)
    employee_count: int | None = Field(default=None, ge=0, le=10_000_000)
    annual_revenue: float | None = Field(default=None, ge=0, le=1e15)
    attributes: dict[Text, AttributeValue] = Field(
        default_factory=dict,
        max_length=100,
        description="Any custom lead attribute (segment, lead_source, product_line, ...)",
    )

    @field_validator("domain")
    @classmethod
    def _normalise_domain(cls, value: str | None) -> str | None:
        """The accounts' normal form, so that named-account matching compares like with like."""
        return normalise_domain(value) if value else None

    @field_validator("country")
    @classmethod
    def _upper_country(cls, value: str | None) -> str | None:
        # As the bulk path and accounts do: two letters, else a 422 naming the field.
        return normalise_country(value) if value else None

    @model_validator(mode="after")
    def _coherent(self) -> "LeadIn":
        if (self.latitude is None) != (self.longitude is None):
            raise ValueError("send both latitude and longitude, or neither")
        if self.location is not None and self.latitude is not None:
            raise ValueError("send either location or latitude/longitude, not both")
        if self.postal_code and not self.country:
            raise ValueError("a postal_code needs its country (ISO 3166-1 alpha-2, e.g. US)")
        return self

    def point(self) -> tuple[float, float] | None:
        """(longitude, latitude) when the lead has coordinates."""
        if self.location is not None:
            return self.location.coordinates
        if self.longitude is not None and self.latitude is not None:
            return (self.longitude, self.latitude)
        return None


class NamedRef(BaseModel):
    id: uuid.UUID
    name: str | None


class AssignmentRead(BaseModel):
    assignment_id: uuid.UUID
    lead_id: uuid.UUID
    alignment_id: uuid.UUID | None
    territory: NamedRef | None
    rep: NamedRef | None = Field(description="null when every eligible rep is at capacity")
    matched_rule: MatchedRule
    distribution_rule: str | None
    explanation: list[ExplanationStep] = Field(
        description="Every step, in order: warnings, the precedence, distribution; the same "
        "typed steps for single and bulk assignments"
    )
    created_at: datetime
    replayed: bool = Field(
        default=False, description="true when this answers a repeated Idempotency-Key"
    )
