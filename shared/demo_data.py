"""Demo data for the embedded default: a small sales org that `make run` loads once."""

import uuid

import shapely
from geoalchemy2.shape import from_shape
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.models import Rep

# (external id, name, email, capacity, home [lon, lat], segments)
DEMO_REPS = [
    ("demo-rep-1", "Ada Park", "ada@example.com", 40, (-73.99, 40.73), ["enterprise"]),
    ("demo-rep-2", "Ben Ortiz", "ben@example.com", 60, (-87.63, 41.88), ["mid-market"]),
    ("demo-rep-3", "Chloe Nguyen", "chloe@example.com", 60, (-122.42, 37.77), ["mid-market"]),
    ("demo-rep-4", "Dev Shah", "dev@example.com", 80, (-97.74, 30.27), ["smb"]),
]


async def load(session: AsyncSession, *, tenant_id: uuid.UUID) -> None:
    """Insert what is missing, keyed by external id, so loading twice changes nothing."""
    existing = set(await session.scalars(select(Rep.external_id).where(Rep.tenant_id == tenant_id)))
    for external_id, name, email, capacity, home, segments in DEMO_REPS:
        if external_id in existing:
            continue
        session.add(
            Rep(
                tenant_id=tenant_id,
                external_id=external_id,
                name=name,
                email=email,
                capacity=capacity,
                home=from_shape(shapely.Point(home), srid=4326),
                segments=segments,
            )
        )
    await session.flush()
