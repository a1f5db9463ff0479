"""Request and response bodies for a tenant's metrics settings and exchange rates."""

from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field

from shared.validation import Text

CurrencyCode = Text


class SettingsBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    time_zone: Text = Field(
        default="UTC",
        max_length=64,
        description="IANA time zone (e.g. Europe/Berlin): periods start at local midnight",
    )
    fiscal_year_start_month: int = Field(
        default=1,
        ge=1,
        le=12,
        description="Month the fiscal year starts (1 = January); a fiscal year is named after "
        "the calendar year it ends in",
    )
    currency: CurrencyCode = Field(
        default="USD", pattern="^[A-Z]{3}$", description="Reporting currency (ISO 4217)"
    )


class SettingsRead(SettingsBody):
    pass


class ExchangeRateBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    rate: Decimal = Field(
        gt=0,
        max_digits=20,
        decimal_places=10,
        description="Units of the reporting currency one unit of this currency is worth",
    )


class ExchangeRateRead(ExchangeRateBody):
    currency: str
