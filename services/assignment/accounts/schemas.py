"""Request and response bodies for accounts, single and bulk."""

import math
import uuid
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic.json_schema import WithJsonSchema
from pydantic_core import PydanticCustomError

from services.assignment.accounts.domains import normalise_domain
from services.assignment.postal_codes.normalise import normalise_country, normalise_postal_code
from shared.geo import GeoJSONPoint
from shared.validation import Text, reject_nul

MAX_BULK_ROWS = 50_000
MAX_IMPORT_ROWS = 1_000_000
# nginx's limit on the bulk locations (deploy/nginx: MAX_BULK_BODY_SIZE, 512m): the service
# answers the same 413 when it is called directly.
MAX_BULK_BODY_BYTES = 512 * 1024 * 1024
MAX_ATTRIBUTES = 100

# The keys territory criteria can address as attributes.<key> (services/assignment/rules).
AttributeKey = Annotated[str, StringConstraints(pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")]
MAX_ATTRIBUTE_TEXT = 1000


def _scalar(value: Any) -> Any:
    if value is None or isinstance(value, bool | int):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError("numbers must be finite")
        return value
    if isinstance(value, str):
        if len(value) > MAX_ATTRIBUTE_TEXT:
            raise ValueError(f"text longer than {MAX_ATTRIBUTE_TEXT} characters")
        return reject_nul(value)
    raise ValueError("attribute values are scalars: text, number, true/false or null")


AttributeValue = Annotated[
    Any,
    AfterValidator(_scalar),
    WithJsonSchema({"type": ["string", "number", "boolean", "null"]}),
]
Money = Annotated[Decimal, Field(ge=0, max_digits=18, decimal_places=2)]


class AccountFields(BaseModel):
    """What every way of writing an account shares; ``country`` is declared before
    ``postal_code`` because the code is normalised for its country."""

    model_config = ConfigDict(str_strip_whitespace=True, allow_inf_nan=False)

    name: Text = Field(min_length=1, max_length=300)
    domain: Text | None = Field(
        default=None,
        max_length=255,
        description="Stored lower case without www.; a URL or e-mail address is reduced to it",
        examples=["acme.com"],
    )
    website: Text | None = Field(
        default=None,
        max_length=2048,
        description="Used for the domain when no domain is sent; not stored",
        examples=["https://www.acme.com/"],
    )
    country: Text | None = Field(
        default=None, description="ISO 3166-1 alpha-2, upper-cased", examples=["US"]
    )
    postal_code: Text | None = Field(
        default=None,
        max_length=20,
        description="Needs country; without a location, its centroid becomes the location",
        examples=["10001"],
    )
    industry: Text | None = Field(default=None, max_length=100)
    employee_count: int | None = Field(default=None, ge=0, le=2_147_483_647)
    annual_revenue: Money | None = None
    potential: Money | None = None
    attributes: dict[AttributeKey, AttributeValue] = Field(
        default_factory=dict,
        max_length=MAX_ATTRIBUTES,
        description="Custom scalar attributes, matched by territory criteria as attributes.<key>",
    )
    owner_rep_id: uuid.UUID | None = Field(default=None, description="A rep of your tenant")
    owner_external_id: Text | None = Field(
        default=None, max_length=255, description="Or the owner rep's external_id"
    )

    @field_validator("domain", "website")
    @classmethod
    def _domain(cls, value: str | None) -> str | None:
        return None if not value else normalise_domain(value)

    @field_validator("country")
    @classmethod
    def _country(cls, value: str | None) -> str | None:
        return None if not value else normalise_country(value)

    @field_validator("postal_code")
    @classmethod
    def _postal_code(cls, value: str | None, info: ValidationInfo) -> str | None:
        if not value:
            return None
        if "country" not in info.data:  # the country itself was invalid: reported there
            return value
        country = info.data["country"]
        if country is None:
            raise ValueError("a postal code needs its country (ISO 3166-1 alpha-2, e.g. US)")
        return normalise_postal_code(country, value)

    @field_validator("owner_external_id")
    @classmethod
    def _one_owner(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value and info.data.get("owner_rep_id") is not None:
            raise ValueError("send owner_rep_id or owner_external_id, not both")
        return value or None

    @model_validator(mode="after")
    def _domain_from_website(self) -> "AccountFields":
        if self.domain is None and self.website is not None:
            self.domain = self.website
        return self


class AccountUpsert(AccountFields):
    """The whole account: an update replaces every field, omitted ones become empty."""

    model_config = ConfigDict(extra="forbid")

    location: GeoJSONPoint | None = Field(
        default=None, description="Where the account is; else its postal code's centroid"
    )


class AccountBulkItem(AccountUpsert):
    external_id: Text = Field(min_length=1, max_length=255, description="Your CRM's account id")


class AccountCsvRow(AccountFields):
    """One CSV row, its cells by column name (empty cells left out)."""

    model_config = ConfigDict(extra="forbid")

    external_id: Text = Field(min_length=1, max_length=255)
    latitude: float | None = Field(default=None, ge=-90, le=90)
    longitude: float | None = Field(default=None, ge=-180, le=180)

    @model_validator(mode="after")
    def _both_coordinates(self) -> "AccountCsvRow":
        if (self.latitude is None) != (self.longitude is None):
            missing = "latitude" if self.latitude is None else "longitude"
            raise PydanticCustomError(
                "coordinate_pair",
                "give latitude and longitude together, or neither",
                {"field": missing},
            )
        return self


class AccountBulkRequest(BaseModel):
    """The body of POST /assignment/accounts:bulk (documentation: rows are validated one by
    one so that a bad row is reported, not the whole request rejected)."""

    accounts: list[AccountBulkItem] = Field(max_length=MAX_BULK_ROWS)
    atomic: bool = Field(
        default=False,
        description="true: any bad row rejects the upload (422) and nothing is written",
    )


class AccountRead(BaseModel):
    id: uuid.UUID
    external_id: str
    name: str
    domain: str | None
    location: GeoJSONPoint | None
    postal_code: str | None
    country: str | None
    industry: str | None
    employee_count: int | None
    annual_revenue: Decimal | None
    potential: Decimal | None
    attributes: dict[str, Any]
    owner_rep_id: uuid.UUID | None
    territory_id: uuid.UUID | None = Field(
        description="The territory of the active alignment the account falls in by the "
        "territories' rules and geography (its location: point or postal code centroid), "
        "whoever owns it; kept current on every write and publish"
    )
    owner_territory_id: uuid.UUID | None = Field(
        description="Its owner's territory in the active alignment: where the account's leads "
        "go (named account). The owner's territory containing the account, else the owner's "
        "first; null without an active owner who owns a territory"
    )
    created_at: datetime
    updated_at: datetime


class RowError(BaseModel):
    row: int = Field(
        description="1-based: the index in `accounts`, or the CSV row after the header"
    )
    external_id: str | None
    field: str = Field(description="The offending field or CSV column")
    message: str


class BulkResult(BaseModel):
    received: int = Field(description="Rows in the upload")
    created: int
    updated: int
    failed: int = Field(description="Rows not written; each has at least one entry in errors")
    errors: list[RowError]


class AccountLocations(BaseModel):
    """A page of account locations, in columns (compact for tens of thousands of rows)."""

    fields: list[str] = Field(description="The numeric fields asked for, the columns of values")
    ids: list[uuid.UUID]
    longitudes: list[float]
    latitudes: list[float]
    values: list[list[float | None]] = Field(
        description="Per account, its value of each field (null where it has none)"
    )
    next_after: uuid.UUID | None = Field(
        description="Pass as `after` for the next page; null on the last page"
    )
