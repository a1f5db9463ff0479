"""Response bodies for the postal-code reference table."""

from pydantic import BaseModel, Field

from shared.geo import GeoJSONPoint


class PostalCodeRead(BaseModel):
    country: str = Field(description="ISO 3166-1 alpha-2", examples=["US"])
    code: str = Field(description="The normalised code (US: the 5-digit ZIP)", examples=["10001"])
    place_name: str | None = Field(default=None, examples=["New York"])
    admin_area: str | None = Field(
        default=None, description="State, province or region", examples=["NY"]
    )
    centroid: GeoJSONPoint
