"""The delivery pump: one long-lived job on the worker that fans events out to subscriptions
and sends them.

- One pump at a time (a session advisory lock); it visits the tenants with active
  subscriptions every ``webhook_poll_seconds`` (and at once after any delivery ends): fan out
  the new events (``repository.fan_out``), claim what may be sent now (``repository.claim``:
  the head of each ordering key, at most ``webhook_subscription_concurrency`` in flight per
  subscription), and start each send as its own task. The loop never waits for a send, so
  a slow receiver only ever holds its own subscription's slots (each send also ends after
  ``webhook_timeout_seconds``): other subscriptions and tenants go on.
- At least once: a delivery is marked delivered only after a 2xx, in its own transaction
  after the response. A claimed delivery is leased to the pump's session; a pump that dies
  (worker killed) leaves leases whose session is gone, which the next pump voids at start
  (and any lease ends after the attempt's timeout + 30 s anyway): those are sent again.
- Retries: exponential backoff with full jitter, dead after ``webhook_max_attempts``.
- A pump runs ``webhook_pump_seconds``, then defers its successor, lets go of the lock (the
  successor starts claiming at once) and waits for its sends in flight.
"""

import asyncio
import logging
import random
import time
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx

from services.assignment.events.schemas import EventRead
from services.assignment.events.service import encode_cursor
from services.assignment.webhooks import repository, signing
from shared.jobs.connection import init_job_connection
from shared.settings import Settings

logger = logging.getLogger(__name__)

# pg_advisory_lock key of the pump ("webhook" in ASCII): one pump per database.
PUMP_LOCK_KEY = 0x776562686F6F6B
FAN_OUT_BATCH = 5000
# Pending deliveries per subscription looked at for ordering-key heads each round.
CLAIM_WINDOW = 500
LEASE_MARGIN_SECONDS = 30.0
USER_AGENT = "territory-webhooks/1"
_SET_TENANT = "SELECT set_config('app.tenant_id', $1, true)"


def retry_delay(settings: Settings, attempts: int) -> float:
    """Exponential backoff with full jitter (AWS architecture blog): spreads the retries of
    many deliveries that failed together over the whole interval."""
    ceiling = min(
        settings.webhook_backoff_max_seconds,
        settings.webhook_backoff_seconds * 2 ** max(attempts - 1, 0),
    )
    return random.uniform(ceiling / 2, ceiling)


def body_of(row: asyncpg.Record) -> bytes:
    """The delivery's body: the event envelope of the feed, byte for byte what is signed."""
    event = EventRead(
        id=row["event_id"],
        type=row["type"],
        version=row["version"],
        subject_id=row["subject_id"],
        ordering_key=row["ordering_key"],
        occurred_at=row["occurred_at"],
        data=row["payload"],
        cursor=encode_cursor((row["txid"], row["event_id"])),
    )
    return event.model_dump_json().encode()


async def _connect(settings: Settings, application_name: str) -> asyncpg.Connection:
    connection: asyncpg.Connection = await asyncpg.connect(
        settings.libpq_database_url,
        server_settings=settings.server_settings(application_name),
        timeout=settings.db_connect_timeout_seconds,
    )
    await init_job_connection(connection)
    return connection


class Pump:
    def __init__(self, settings: Settings, *, client: httpx.AsyncClient) -> None:
        self.settings = settings
        self.client = client
        self.wake = asyncio.Event()
        self.sends: set[asyncio.Task[None]] = set()
        self.results: asyncpg.Pool | None = None

    @asynccontextmanager
    async def _in_tenant(
        self, connection: asyncpg.Connection, tenant_id: uuid.UUID
    ) -> AsyncIterator[asyncpg.Connection]:
        """A transaction of the connection bound to one tenant (row-level security)."""
        async with connection.transaction():
            await connection.execute(_SET_TENANT, str(tenant_id))
            yield connection

    async def round(self, connection: asyncpg.Connection) -> int:
        """Fan out and claim for every tenant with subscriptions; returns sends started."""
        started = 0
        lease = self.settings.webhook_timeout_seconds + LEASE_MARGIN_SECONDS
        for tenant_id in await repository.pump_tenants(connection):
            async with self._in_tenant(connection, tenant_id):
                await repository.fan_out(connection, tenant_id=tenant_id, batch=FAN_OUT_BATCH)
                claimed = await repository.claim(
                    connection,
                    tenant_id=tenant_id,
                    window=CLAIM_WINDOW,
                    concurrency=self.settings.webhook_subscription_concurrency,
                    lease_seconds=lease,
                )
            for row in claimed:
                task = asyncio.create_task(self.send(tenant_id, row))
                self.sends.add(task)
                task.add_done_callback(self.sends.discard)
                started += 1
        return started

    async def send(self, tenant_id: uuid.UUID, row: asyncpg.Record) -> None:
        body = body_of(row)
        headers = signing.headers(secret=row["secret"], delivery_id=str(row["id"]), body=body)
        headers |= {
            "User-Agent": USER_AGENT,
            "Webhook-Attempt": str(row["attempts"]),
            "Webhook-Event-Type": row["type"],
        }
        status_code: int | None = None
        error: str | None = None
        try:
            response = await self.client.post(row["url"], content=body, headers=headers)
            status_code = response.status_code
            if not 200 <= status_code < 300:
                error = f"the receiver answered {status_code}"
        except httpx.TimeoutException:
            error = f"no answer within {self.settings.webhook_timeout_seconds:g} s"
        except httpx.HTTPError as failure:
            error = f"{type(failure).__name__}: {failure}"
        try:
            await self.record(tenant_id, row, status_code=status_code, error=error)
        except (asyncpg.PostgresError, OSError):
            # Left leased: tried again when the lease ends or the next pump starts.
            logger.exception("could not record the outcome of webhook delivery %s", row["id"])
        self.wake.set()

    async def record(
        self,
        tenant_id: uuid.UUID,
        row: asyncpg.Record,
        *,
        status_code: int | None,
        error: str | None,
    ) -> None:
        assert self.results is not None
        async with self.results.acquire() as connection:
            if error is None:
                assert status_code is not None
                async with self._in_tenant(connection, tenant_id):
                    await repository.delivered(
                        connection,
                        tenant_id=tenant_id,
                        delivery_id=row["id"],
                        status_code=status_code,
                    )
                return
            retry_at = (
                datetime.now(UTC) + timedelta(seconds=retry_delay(self.settings, row["attempts"]))
                if row["attempts"] < self.settings.webhook_max_attempts
                else None
            )
            logger.info(
                "webhook delivery %s attempt %s failed: %s%s",
                row["id"],
                row["attempts"],
                error,
                "" if retry_at else " (dead-lettered)",
            )
            async with self._in_tenant(connection, tenant_id):
                await repository.failed(
                    connection,
                    tenant_id=tenant_id,
                    delivery_id=row["id"],
                    status_code=status_code,
                    error=error,
                    retry_at=retry_at,
                )

    async def run(
        self, *, should_stop: Callable[[], bool], successor: bool, hand_over: Callable[[], Any]
    ) -> str:
        """Pump until ``webhook_pump_seconds`` have passed, nobody subscribes any more, or the
        worker stops; returns why it ended."""
        settings = self.settings
        connection = await _connect(settings, "webhook-pump")
        self.results = await asyncpg.create_pool(
            settings.libpq_database_url,
            min_size=1,
            max_size=2,
            init=init_job_connection,
            server_settings=settings.server_settings("webhook-pump-results"),
        )
        try:
            # A successor waits for its predecessor's last sends to be claimed; a periodic
            # start gives up at once when a pump runs.
            waited_until = time.monotonic() + (
                settings.webhook_timeout_seconds + 5 if successor else 0
            )
            while not await connection.fetchval("SELECT pg_try_advisory_lock($1)", PUMP_LOCK_KEY):
                if time.monotonic() >= waited_until or should_stop():
                    return "another pump runs"
                await asyncio.sleep(0.05)
            for tenant_id in await repository.pump_tenants(connection):
                async with self._in_tenant(connection, tenant_id):
                    released = await repository.release_leases(connection, tenant_id=tenant_id)
                if released:
                    logger.warning("re-sending %s deliveries of a pump that died", released)
            deadline = time.monotonic() + settings.webhook_pump_seconds
            reason = "handed over"
            while time.monotonic() < deadline:
                if should_stop():
                    reason = "worker stopping"
                    break
                self.wake.clear()
                await self.round(connection)
                if not self.sends and not await repository.pump_tenants(connection):
                    reason = "no subscriptions"
                    break
                try:
                    await asyncio.wait_for(self.wake.wait(), timeout=settings.webhook_poll_seconds)
                except TimeoutError:
                    pass
            if reason == "handed over":
                await hand_over()
            await connection.execute("SELECT pg_advisory_unlock($1)", PUMP_LOCK_KEY)
            # Still leased to this session (alive) until they are recorded.
            if self.sends:
                await asyncio.wait(set(self.sends))
            return reason
        finally:
            for task in self.sends:
                task.cancel()
            await self.results.close()
            await connection.close()


def http_client(settings: Settings) -> httpx.AsyncClient:
    """One client for every receiver: no redirects followed (a 3xx is a failure the owner
    should fix), the attempt's whole time bounded."""
    return httpx.AsyncClient(
        timeout=httpx.Timeout(settings.webhook_timeout_seconds),
        follow_redirects=False,
        limits=httpx.Limits(max_connections=256, max_keepalive_connections=64),
    )
