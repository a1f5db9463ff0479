"""A small closed-loop load of single-lead requests through the gateway, every answer recorded.

Each of ``clients`` connections posts one lead after another (each with its own
Idempotency-Key) until told to stop, so a fault injected meanwhile meets requests in flight.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

# A request that takes longer than this is a hang, not a slow answer: the load records it as a
# socket error rather than waiting forever.
REQUEST_TIMEOUT_SECONDS = 15.0


@dataclass(frozen=True)
class Outcome:
    """One request: when it started (seconds since the load began), how long it took, what came
    back (``status`` None when no HTTP answer came at all)."""

    index: int
    idempotency_key: str
    lead: dict[str, Any]
    started: float
    seconds: float
    status: int | None
    body: dict[str, Any] | None
    headers: dict[str, str]
    error: str = ""

    @property
    def assignment_id(self) -> str | None:
        if self.status != 201 or self.body is None:
            return None
        assignment_id: str | None = self.body.get("assignment_id")
        return assignment_id


@dataclass
class LeadLoad:
    """Run with ``async with LeadLoad(...) as load``; ``load.outcomes`` fills as answers come."""

    base_url: str
    headers: dict[str, str]
    clients: int
    lead_for: Callable[[int], dict[str, Any]]
    key_prefix: str
    # An eager client still pauses a little after a failure (rather than honouring a 2 s
    # Retry-After), so that a restarting server is not flooded with connection attempts.
    pause_after_failure: float = 0.05
    outcomes: list[Outcome] = field(default_factory=list)
    _stop: asyncio.Event = field(default_factory=asyncio.Event)
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)
    _next_index: int = 0
    _began: float = 0.0

    def now(self) -> float:
        """Seconds since the load began, on the clock ``Outcome.started`` uses."""
        return time.monotonic() - self._began

    async def __aenter__(self) -> LeadLoad:
        self._began = time.monotonic()
        self._tasks = [asyncio.create_task(self._client()) for _ in range(self.clients)]
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        self._stop.set()
        await asyncio.gather(*self._tasks)

    async def wait_for(self, condition: Callable[[list[Outcome]], bool], timeout: float) -> bool:
        """Wait until ``condition(outcomes)`` holds; False if it did not within ``timeout``."""
        deadline = time.monotonic() + timeout
        while not condition(self.outcomes):
            if time.monotonic() > deadline:
                return False
            await asyncio.sleep(0.02)
        return True

    def _take_index(self) -> int:
        index = self._next_index
        self._next_index += 1
        return index

    async def _client(self) -> None:
        limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
        async with httpx.AsyncClient(
            base_url=self.base_url, timeout=REQUEST_TIMEOUT_SECONDS, limits=limits
        ) as client:
            while not self._stop.is_set():
                outcome = await self._post(client, self._take_index())
                self.outcomes.append(outcome)
                if outcome.status != 201:
                    await asyncio.sleep(self.pause_after_failure)

    async def _post(self, client: httpx.AsyncClient, index: int) -> Outcome:
        key = f"{self.key_prefix}-{index}"
        lead = self.lead_for(index)
        started = self.now()
        try:
            response = await client.post(
                "/assignment/leads",
                json=lead,
                headers={**self.headers, "Idempotency-Key": key},
            )
        except httpx.HTTPError as error:
            return Outcome(
                index, key, lead, started, self.now() - started, None, None, {}, repr(error)
            )
        try:
            body = response.json()
        except ValueError:
            body = {"unparsed": response.text[:500]}
        return Outcome(
            index,
            key,
            lead,
            started,
            self.now() - started,
            response.status_code,
            body,
            dict(response.headers),
        )
