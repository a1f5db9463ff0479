"""Factories for assignment scenarios, written straight to the test database with asyncpg."""

import json
import uuid
from typing import Any

import asyncpg


async def make_rep(
    connection: asyncpg.Connection,
    *,
    tenant_id: uuid.UUID,
    name: str,
    capacity: int | None = None,
    skills: list[str] | None = None,
    active: bool = True,
) -> uuid.UUID:
    rep_id: uuid.UUID = await connection.fetchval(
        "INSERT INTO rep (tenant_id, name, capacity, skills, active) VALUES ($1, $2, $3, $4, $5)"
        " RETURNING id",
        tenant_id,
        name,
        capacity,
        skills or [],
        active,
    )
    return rep_id


async def make_alignment(
    connection: asyncpg.Connection, *, tenant_id: uuid.UUID, status: str = "active"
) -> uuid.UUID:
    alignment_id: uuid.UUID = await connection.fetchval(
        "INSERT INTO alignment (tenant_id, name, status) VALUES ($1, $2, $3) RETURNING id",
        tenant_id,
        f"alignment {uuid.uuid4().hex[:6]}",
        status,
    )
    return alignment_id


async def make_territory(
    connection: asyncpg.Connection,
    *,
    tenant_id: uuid.UUID,
    alignment_id: uuid.UUID,
    name: str,
    wkt: str | None = None,
    level: int = 0,
    parent_id: uuid.UUID | None = None,
    criteria: dict[str, Any] | None = None,
    priority: int = 100,
    rule: str = "round_robin",
    is_fallback: bool = False,
    required_skills: list[str] | None = None,
) -> uuid.UUID:
    territory_id: uuid.UUID = await connection.fetchval(
        """
        INSERT INTO territory (tenant_id, alignment_id, name, geom, level, parent_id, criteria,
                               priority, distribution_rule, is_fallback, required_skills)
        VALUES ($1, $2, $3, ST_Multi(ST_GeomFromText($4, 4326)), $5, $6, $7::jsonb, $8, $9,
                $10, $11)
        RETURNING id
        """,
        tenant_id,
        alignment_id,
        name,
        wkt,
        level,
        parent_id,
        json.dumps(criteria) if criteria is not None else None,
        priority,
        rule,
        is_fallback,
        required_skills or [],
    )
    if wkt is not None:
        await connection.execute(
            """
            INSERT INTO territory_part (tenant_id, alignment_id, territory_id, level,
                                        territory_area_m2, geom)
            SELECT t.tenant_id, t.alignment_id, t.id, t.level, ST_Area(t.geom::geography),
                   (ST_Dump(ST_Subdivide(t.geom, 128))).geom
              FROM territory t WHERE t.id = $1
            """,
            territory_id,
        )
    return territory_id


async def add_member(
    connection: asyncpg.Connection,
    *,
    tenant_id: uuid.UUID,
    territory_id: uuid.UUID,
    rep_id: uuid.UUID,
    role: str = "owner",
    weight: float = 1.0,
) -> None:
    await connection.execute(
        "INSERT INTO territory_member (tenant_id, territory_id, rep_id, role, weight)"
        " VALUES ($1, $2, $3, $4, $5)",
        tenant_id,
        territory_id,
        rep_id,
        role,
        weight,
    )


async def make_account(
    connection: asyncpg.Connection,
    *,
    tenant_id: uuid.UUID,
    external_id: str,
    name: str,
    domain: str | None = None,
    owner_rep_id: uuid.UUID | None = None,
    location: tuple[float, float] | None = None,
) -> uuid.UUID:
    """``location``: (longitude, latitude)."""
    account_id: uuid.UUID = await connection.fetchval(
        "INSERT INTO account (tenant_id, external_id, name, domain, owner_rep_id, location)"
        " VALUES ($1, $2, $3, $4, $5,"
        " ST_SetSRID(ST_MakePoint($6::float8, $7::float8), 4326)) RETURNING id",
        tenant_id,
        external_id,
        name,
        domain,
        owner_rep_id,
        location[0] if location else None,
        location[1] if location else None,
    )
    return account_id


def square(min_lon: float, min_lat: float, size: float) -> str:
    max_lon, max_lat = min_lon + size, min_lat + size
    return (
        f"POLYGON(({min_lon} {min_lat}, {max_lon} {min_lat}, {max_lon} {max_lat}, "
        f"{min_lon} {max_lat}, {min_lon} {min_lat}))"
    )
