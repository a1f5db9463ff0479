"""Assignment fixtures: the shipped US postal codes, loaded once per test session."""

import asyncpg
import pytest

from services.assignment.postal_codes.loader import load_us


@pytest.fixture(scope="session")
async def postal_codes_loaded(database_url: str) -> int:
    """Every US ZIP code with coordinates, in the session's database; returns how many."""
    connection = await asyncpg.connect(database_url)
    try:
        return await load_us(connection)
    finally:
        await connection.close()
