"""A service app built by the shared factory with routes that fail on purpose, for the tests of
what one unhandled error does to the connection nginx keeps open to the service."""

import asyncio

from fastapi import APIRouter, FastAPI, Request
from sqlalchemy import text

from shared.app_factory import create_service_app

router = APIRouter(prefix="/assignment")


class Unexpected(RuntimeError):
    """Stands for any bug: nothing maps it to a status."""


@router.get("/_fail")
async def fail() -> dict[str, str]:
    """Fails with an error no handler knows."""
    raise Unexpected("a bug")


@router.get("/_out_of_range")
async def out_of_range(request: Request) -> dict[str, int]:
    """Input a schema let through and PostgreSQL refuses (SQLSTATE class 22)."""
    async with request.app.state.engine.connect() as connection:
        value = (await connection.execute(text("SELECT '99999999999'::int"))).scalar_one()
    return {"value": value}


@router.post("/_deadlock")
async def deadlock(request: Request) -> dict[str, str]:
    """Two transactions that wait for each other's lock: PostgreSQL aborts one (40P01)."""
    engine = request.app.state.engine

    async def take(first: int, second: int, ready: asyncio.Event, other: asyncio.Event) -> None:
        async with engine.begin() as connection:
            await connection.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": first})
            ready.set()
            await other.wait()
            await connection.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": second})

    a_ready, b_ready = asyncio.Event(), asyncio.Event()
    await asyncio.gather(
        take(_LOCK_KEY, _LOCK_KEY + 1, a_ready, b_ready),
        take(_LOCK_KEY + 1, _LOCK_KEY, b_ready, a_ready),
    )
    return {"deadlock": "none"}


_LOCK_KEY = 7_770_001


@router.post("/_echo", status_code=201)
async def echo(body: dict[str, str]) -> dict[str, str]:
    """A write that succeeds: what the next client of the connection sends."""
    return body


def create_app() -> FastAPI:
    return create_service_app(
        name="assignment", title="Faulty", description="Fails on purpose.", routers=[router]
    )


app = create_app()
