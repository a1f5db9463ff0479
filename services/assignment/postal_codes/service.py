"""Postal-code lookups: inputs are normalised the one way the table is keyed."""

from sqlalchemy.ext.asyncio import AsyncSession

from services.assignment.postal_codes import repository
from services.assignment.postal_codes.errors import PostalCodeNotFound
from services.assignment.postal_codes.normalise import (
    InvalidCountry,
    InvalidPostalCode,
    normalise_country,
    normalise_postal_code,
)
from services.assignment.postal_codes.schemas import PostalCodeRead
from shared.errors import InvalidInput
from shared.geo import point_from_db


async def get_postal_code(session: AsyncSession, *, country: str, code: str) -> PostalCodeRead:
    try:
        country = normalise_country(country)
    except InvalidCountry as error:
        raise InvalidInput(str(error), field="country") from error
    try:
        code = normalise_postal_code(country, code)
    except InvalidPostalCode as error:
        raise InvalidInput(str(error), field="code") from error
    row = await repository.get(session, country=country, code=code)
    if row is None:
        raise PostalCodeNotFound(country, code)
    centroid = point_from_db(row.centroid)
    assert centroid is not None  # the column is NOT NULL
    return PostalCodeRead(
        country=row.country,
        code=row.code,
        place_name=row.place_name,
        admin_area=row.admin_area,
        centroid=centroid,
    )
