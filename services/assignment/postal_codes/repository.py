"""SQL for the postal-code reference table (global, not tenant-owned)."""

from typing import Any

from sqlalchemy import ColumnElement, ScalarSelect, select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.models import PostalCode


async def get(session: AsyncSession, *, country: str, code: str) -> PostalCode | None:
    """``country`` and ``code`` must already be normalised (normalise.normalise_postal_code)."""
    return await session.scalar(
        select(PostalCode).where(PostalCode.country == country, PostalCode.code == code)
    )


def centroid_of(
    country: ColumnElement[str] | str, code: ColumnElement[str] | str
) -> ScalarSelect[Any]:
    """A scalar subquery: the centroid of the postal code given as SQL expressions (or values),
    NULL when the table does not know it."""
    return (
        select(PostalCode.centroid)
        .where(PostalCode.country == country, PostalCode.code == code)
        .scalar_subquery()
    )
