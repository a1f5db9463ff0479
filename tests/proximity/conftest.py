"""Proximity fixtures: an in-process client, and rep/account rows the service references."""

import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.proximity.app import create_app
from shared.models import Account, Rep
from shared.settings import Settings
from tests.conftest import AppClientFactory


@pytest.fixture
async def client(
    app_client: AppClientFactory, settings: Settings
) -> AsyncIterator[httpx.AsyncClient]:
    async with app_client(create_app(settings)) as client:
        yield client


async def insert_rep(
    sessionmaker: async_sessionmaker[AsyncSession], *, tenant_id: uuid.UUID
) -> uuid.UUID:
    """A rep row, written directly: reps belong to the assignment service."""
    rep_id = uuid.uuid4()
    async with sessionmaker() as session, session.begin():
        session.add(Rep(id=rep_id, tenant_id=tenant_id, name="Rep"))
    return rep_id


async def insert_account(
    sessionmaker: async_sessionmaker[AsyncSession], *, tenant_id: uuid.UUID
) -> uuid.UUID:
    """An account row, written directly: accounts belong to the assignment service."""
    account_id = uuid.uuid4()
    async with sessionmaker() as session, session.begin():
        session.add(
            Account(
                id=account_id, tenant_id=tenant_id, external_id=f"acc-{account_id}", name="Acme"
            )
        )
    return account_id
