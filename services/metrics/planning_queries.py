"""Read-only queries on the planning service's basic units, which metrics reads to ask the
planning service for realignment moves in the units' own terms (codes).

What each unit holds today: the leaf territory of an alignment its interior point lies in, and
the alignment's accounts located in it (count and stated potential, per account territory).
Nothing here writes, and nothing else in the metrics service names ``basic_unit``.
"""

import uuid
from pathlib import Path

from sqlalchemy import RowMapping, text
from sqlalchemy.ext.asyncio import AsyncSession

_UNITS_SQL = text((Path(__file__).parent / "health" / "units_of_alignment.sql").read_text())


async def units_of_alignment(
    session: AsyncSession, *, tenant_id: uuid.UUID, alignment_id: uuid.UUID
) -> list[RowMapping]:
    """Per (unit, account territory): the unit's code, its territory (null: in none of the
    alignment's leaves), and the accounts located in it with their potential."""
    params = {"tenant_id": tenant_id, "alignment_id": alignment_id}
    return list((await session.execute(_UNITS_SQL, params)).mappings())


async def unit_measure_names(session: AsyncSession, *, tenant_id: uuid.UUID) -> set[str]:
    """The measure keys the tenant's units carry (what the planning engine can balance)."""
    rows = await session.scalars(
        text(
            "SELECT DISTINCT jsonb_object_keys(measures) FROM basic_unit"
            " WHERE tenant_id = :tenant_id"
        ),
        {"tenant_id": tenant_id},
    )
    return set(rows)
