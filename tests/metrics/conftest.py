"""Fixtures for the metrics service tests."""

from collections.abc import AsyncIterator

import httpx
import pytest

from services.metrics.app import create_app
from shared.settings import Settings
from tests.conftest import AppClientFactory


@pytest.fixture
async def client(
    app_client: AppClientFactory, settings: Settings
) -> AsyncIterator[httpx.AsyncClient]:
    async with app_client(create_app(settings)) as client:
        yield client
