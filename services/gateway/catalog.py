"""Fetches the services' OpenAPI documents and health, for the merged document and readiness."""

import asyncio
import time
from typing import Any

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from services.gateway.openapi_merge import merge_documents
from shared.settings import SERVICE_NAMES, Settings

DOCUMENT_TTL_SECONDS = 10.0
CHECK_TIMEOUT_SECONDS = 2.0
# A document is not a health check: a service builds it at startup, but on a loaded 2-core box
# sending it took 1.5-3.3 s, past the 2 s a readiness check gets, and the merged document lacked it.
DOCUMENT_TIMEOUT_SECONDS = 10.0
# The limits are the gateway's (nginx) and the services' defaults; README "Limits" has the rest.
API_DESCRIPTION = """\
Sales-territory platform: lead assignment, territory planning, social proximity and performance
metrics. Authenticate every call with `X-API-Key` (or `Authorization: Bearer`). Errors are
RFC 9457 `application/problem+json`.

## Rate limits

Over a limit, any operation answers **429** (`/problems/rate-limited`) with a `Retry-After`
header in seconds; wait that long, then retry (with the same `Idempotency-Key` for writes).

| limited | default limit |
|---|---|
| each API key of the standard tier (tokens `tk_…`) | 100 requests/s, burst 200 |
| each API key of the high tier (tokens `tkh_…`) | 1000 requests/s, burst 2000 |
| requests without an API key, per client address | 200 requests/s, burst 400 |
| unknown, revoked or expired keys, per client address | 20 per 60 s, then refused until the \
60 s window ends |

A key's tier is chosen when the key is issued (ask your administrator for a high-tier key for
bulk backfills); the limits are per gateway instance and may be configured by the operator.
"""


class ServiceCatalog:
    """Keeps each service's last good OpenAPI document so one service restarting never blanks
    the merged document."""

    def __init__(self, *, settings: Settings, client: httpx.AsyncClient) -> None:
        self.settings = settings
        self.client = client
        self._documents: dict[str, dict[str, Any]] = {}
        self._fetched_at = 0.0

    async def _fetch_document(self, service: str) -> None:
        url = f"{self.settings.service_url(service)}/{service}/openapi.json"
        try:
            response = await self.client.get(url, timeout=DOCUMENT_TIMEOUT_SECONDS)
            response.raise_for_status()
            self._documents[service] = response.json()
        except (httpx.HTTPError, ValueError):
            pass  # keep the last good copy; readiness reports the outage

    async def merged_document(self) -> dict[str, Any]:
        if time.monotonic() - self._fetched_at > DOCUMENT_TTL_SECONDS:
            await asyncio.gather(*(self._fetch_document(name) for name in SERVICE_NAMES))
            self._fetched_at = time.monotonic()
        document = merge_documents(
            self._documents,
            title="Territory Platform API",
            version="0.1.0",
            description=API_DESCRIPTION,
        )
        missing = sorted(set(SERVICE_NAMES) - set(self._documents))
        if missing:
            document["info"]["x-unavailable-services"] = missing
        return document

    async def _check_service(self, service: str) -> str:
        url = f"{self.settings.service_url(service)}/readyz"
        try:
            response = await self.client.get(url, timeout=CHECK_TIMEOUT_SECONDS)
        except httpx.HTTPError as error:
            return f"unreachable: {type(error).__name__}"
        return "ok" if response.status_code == 200 else f"not ready: HTTP {response.status_code}"

    async def readiness(self, engine: AsyncEngine) -> dict[str, str]:
        async def database() -> str:
            try:
                async with asyncio.timeout(CHECK_TIMEOUT_SECONDS), engine.connect() as connection:
                    await connection.execute(text("SELECT 1"))
            except Exception as error:  # any failure means "not ready": reported, not raised
                return f"unreachable: {type(error).__name__}"
            return "ok"

        names = ["database", *SERVICE_NAMES]
        results = await asyncio.gather(database(), *(self._check_service(n) for n in SERVICE_NAMES))
        return dict(zip(names, results, strict=True))
