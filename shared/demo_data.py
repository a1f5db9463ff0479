"""Demo data for the embedded default: a small US sales org that `make run` loads once.

Reps, and an active alignment with three regions, two city districts, an enterprise rule
territory and a fallback, so that `POST /assignment/leads` answers out of the box.
"""

import uuid
from typing import Any

import shapely
from geoalchemy2.shape import from_shape
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from shared.models import Alignment, AlignmentStatus, Rep, Territory, TerritoryMember

# (external id, name, email, capacity, home [lon, lat], segments)
DEMO_REPS = [
    ("demo-rep-1", "Ada Park", "ada@example.com", 40, (-73.99, 40.73), ["enterprise"]),
    ("demo-rep-2", "Ben Ortiz", "ben@example.com", 60, (-87.63, 41.88), ["mid-market"]),
    ("demo-rep-3", "Chloe Nguyen", "chloe@example.com", 60, (-122.42, 37.77), ["mid-market"]),
    ("demo-rep-4", "Dev Shah", "dev@example.com", 80, (-97.74, 30.27), ["smb"]),
    ("demo-rep-5", "Erin Walsh", "erin@example.com", 25, (-71.06, 42.36), ["enterprise"]),
]

# name, parent, bounding box (min lon, min lat, max lon, max lat) or None, criteria, rule, owners
DEMO_TERRITORIES: list[tuple[str, str | None, tuple[float, ...] | None, Any, str, list[str]]] = [
    ("West", None, (-125.0, 31.0, -104.0, 49.0), None, "round_robin", ["demo-rep-3"]),
    (
        "Central",
        None,
        (-104.0, 25.0, -87.0, 49.0),
        None,
        "round_robin",
        ["demo-rep-2", "demo-rep-4"],
    ),  # noqa: E501
    ("East", None, (-87.0, 24.0, -66.0, 48.0), None, "round_robin", ["demo-rep-1", "demo-rep-4"]),
    ("New York City", "East", (-74.3, 40.5, -73.7, 40.95), None, "weighted", ["demo-rep-1"]),
    ("Bay Area", "West", (-122.6, 37.2, -121.7, 38.0), None, "round_robin", ["demo-rep-3"]),
    (
        "Enterprise",
        None,
        None,
        {"field": "employee_count", "op": "gte", "value": 1000},
        "capacity",
        ["demo-rep-1", "demo-rep-5"],
    ),
    ("Everywhere else", None, None, None, "round_robin", ["demo-rep-4"]),
]


async def _load_reps(session: AsyncSession, *, tenant_id: uuid.UUID) -> dict[str, uuid.UUID]:
    existing = {
        external_id: rep_id
        for external_id, rep_id in await session.execute(
            select(Rep.external_id, Rep.id).where(Rep.tenant_id == tenant_id)
        )
    }
    for external_id, name, email, capacity, home, segments in DEMO_REPS:
        if external_id in existing:
            continue
        rep = Rep(
            id=uuid.uuid4(),
            tenant_id=tenant_id,
            external_id=external_id,
            name=name,
            email=email,
            capacity=capacity,
            home=from_shape(shapely.Point(home), srid=4326),
            segments=segments,
        )
        session.add(rep)
        existing[external_id] = rep.id
    await session.flush()
    return {key: value for key, value in existing.items() if key is not None}


async def _load_alignment(
    session: AsyncSession, *, tenant_id: uuid.UUID, reps: dict[str, uuid.UUID]
) -> None:
    if await session.scalar(select(Alignment.id).where(Alignment.tenant_id == tenant_id)):
        return  # the demo alignment (or the user's own) is there already
    alignment = Alignment(
        id=uuid.uuid4(), tenant_id=tenant_id, name="Demo FY27", status=AlignmentStatus.active
    )
    session.add(alignment)
    await session.flush()
    by_name: dict[str, Territory] = {}
    for priority, (name, parent, box, criteria, rule, owners) in enumerate(DEMO_TERRITORIES):
        parent_territory = by_name.get(parent) if parent else None
        territory = Territory(
            id=uuid.uuid4(),
            tenant_id=tenant_id,
            alignment_id=alignment.id,
            parent_id=parent_territory.id if parent_territory else None,
            name=name,
            level=parent_territory.level + 1 if parent_territory else 0,
            geom=from_shape(shapely.MultiPolygon([shapely.box(*box)]), srid=4326) if box else None,
            criteria=criteria,
            priority=10 + priority,
            distribution_rule=rule,
            is_fallback=name == "Everywhere else",
        )
        session.add(territory)
        by_name[name] = territory
        await session.flush()
        for external_id in owners:
            session.add(
                TerritoryMember(
                    id=uuid.uuid4(),
                    tenant_id=tenant_id,
                    territory_id=territory.id,
                    rep_id=reps[external_id],
                )
            )
    await session.flush()
    await session.execute(
        text(
            """
            INSERT INTO territory_part (tenant_id, alignment_id, territory_id, level,
                                        territory_area_m2, geom)
            SELECT t.tenant_id, t.alignment_id, t.id, t.level, ST_Area(t.geom::geography),
                   (ST_Dump(ST_Subdivide(t.geom, 128))).geom
              FROM territory t
             WHERE t.alignment_id = :alignment_id AND t.geom IS NOT NULL
            """
        ),
        {"alignment_id": alignment.id},
    )


async def load(session: AsyncSession, *, tenant_id: uuid.UUID) -> None:
    """Insert what is missing, so loading twice changes nothing."""
    reps = await _load_reps(session, tenant_id=tenant_id)
    await _load_alignment(session, tenant_id=tenant_id, reps=reps)
