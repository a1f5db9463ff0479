"""A per-address limit on failed API-key lookups, so a flood of made-up keys stops costing the
database a lookup each (nginx limits per key, and every made-up key is a new key to it).

Counted per process in bounded TTL caches: with N processes behind the gateway an address gets at
most N × ``limit`` lookups of unknown keys per window, which bounds the database work; it is not
meant to be an exact global count.
"""

import math
import time
from dataclasses import dataclass, field

from cachetools import TTLCache
from fastapi import Request

from shared.errors import RateLimited

# Addresses tracked at once; beyond it the oldest windows are dropped (they only count failures).
_MAX_ADDRESSES = 100_000
# Keys that authenticated in this process stay known this long, so that their owner keeps
# working while the address they share (a NAT, an office) is blocked for unknown keys.
_KNOWN_KEY_SECONDS = 3600.0
_MAX_KNOWN_KEYS = 100_000


@dataclass(slots=True)
class _Window:
    started: float = field(default_factory=time.monotonic)
    failures: int = 0


class FailedAuthLimiter:
    """Fixed windows per client address: ``limit`` failed lookups, then 429 until it ends."""

    def __init__(self, *, limit: int, window_seconds: float) -> None:
        self.limit = limit
        self.window_seconds = window_seconds
        # An entry lives ``window_seconds`` from its first failure: mutating the window object
        # (rather than re-assigning the key) keeps the TTL from being renewed by every failure.
        self._windows: TTLCache[str, _Window] = TTLCache(
            maxsize=_MAX_ADDRESSES, ttl=window_seconds, timer=time.monotonic
        )
        self._known_keys: TTLCache[str, bool] = TTLCache(
            maxsize=_MAX_KNOWN_KEYS, ttl=_KNOWN_KEY_SECONDS, timer=time.monotonic
        )

    def check(self, address: str, key_hash: str) -> None:
        """Raise RateLimited if ``address`` is over its limit and the key is not a known one."""
        window = self._windows.get(address)
        if window is None or window.failures < self.limit or key_hash in self._known_keys:
            return
        retry_after = max(1, math.ceil(window.started + self.window_seconds - time.monotonic()))
        raise RateLimited(
            f"Too many requests with unknown API keys from your address ({window.failures} in "
            f"{self.window_seconds:g} s); unknown keys are refused for {retry_after} s more. "
            "Check the key your client sends; known keys keep working.",
            retry_after_seconds=retry_after,
        )

    def record_failure(self, address: str) -> None:
        window = self._windows.get(address)
        if window is None:
            window = self._windows[address] = _Window()
        window.failures += 1

    def record_success(self, key_hash: str) -> None:
        self._known_keys[key_hash] = True


def client_address(request: Request) -> str:
    """The caller's address. Behind the gateway it is the address nginx saw: nginx overwrites
    X-Forwarded-For with it, and uvicorn takes it from that header only when the connection
    comes from an address in ``FORWARDED_ALLOW_IPS`` (the gateway; 127.0.0.1 by default)."""
    return request.client.host if request.client is not None else "unknown"
