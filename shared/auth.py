"""Request authentication: API key → tenant and scopes, with a short-lived per-process cache."""

import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import APIKeyHeader, APIKeyQuery, HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from shared import audit
from shared.api_keys import hash_token, scope_allows
from shared.auth_limit import FailedAuthLimiter, client_address
from shared.errors import Forbidden, Unauthorized
from shared.tenancy import bind_caller

# Declared as security schemes so the OpenAPI document shows how to authenticate.
_api_key_header = APIKeyHeader(name="X-API-Key", auto_error=False)
_bearer = HTTPBearer(auto_error=False, description="The same API key as a bearer token.")
_api_key_query = APIKeyQuery(
    name="api_key",
    auto_error=False,
    description="The API key in the URL, for CRM senders that cannot set headers only.",
)

_MAX_CACHED_KEYS = 10_000

# One round trip: look the key up and, at most once a minute, stamp last_used_at. The services'
# role may not read api_key (the tenant is not known yet, so row security would hide every key):
# the SECURITY DEFINER function does it as the owner (migration 756e7c1b5f29).
_LOOKUP_SQL = text("SELECT id, tenant_id, scopes FROM authenticate_api_key(:key_hash)")


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: the tenant every query must be filtered by, and what the key may do."""

    tenant_id: uuid.UUID
    api_key_id: uuid.UUID
    scopes: frozenset[str]
    token: str

    def allows(self, scope: str) -> bool:
        return scope_allows(self.scopes, scope)


class KeyCache:
    """Entries, valid and invalid, live ``ttl`` seconds: how long a revoked key may still work."""

    def __init__(self, ttl_seconds: float) -> None:
        self.ttl = ttl_seconds
        self._entries: dict[str, tuple[float, Principal | None]] = {}

    def get(self, key_hash: str) -> tuple[bool, Principal | None]:
        entry = self._entries.get(key_hash)
        if entry is None or entry[0] < time.monotonic():
            return False, None
        return True, entry[1]

    def put(self, key_hash: str, principal: Principal | None) -> None:
        if len(self._entries) >= _MAX_CACHED_KEYS:
            self._entries.clear()
        self._entries[key_hash] = (time.monotonic() + self.ttl, principal)


async def lookup_principal(
    engine: AsyncEngine,
    token: str,
    cache: KeyCache,
    *,
    before_lookup: Callable[[str], None] | None = None,
) -> Principal | None:
    """``before_lookup(key_hash)`` runs only when the database must be asked (it may refuse)."""
    key_hash = hash_token(token)
    hit, principal = cache.get(key_hash)
    if hit:
        return principal
    if before_lookup is not None:
        before_lookup(key_hash)
    async with engine.begin() as connection:
        row = (await connection.execute(_LOOKUP_SQL, {"key_hash": key_hash})).first()
    principal = (
        Principal(
            tenant_id=row.tenant_id, api_key_id=row.id, scopes=frozenset(row.scopes), token=token
        )
        if row is not None
        else None
    )
    cache.put(key_hash, principal)
    return principal


async def _principal_for(request: Request, token: str | None) -> Principal:
    if not token:
        raise Unauthorized("Send your API key in the X-API-Key header (or as a Bearer token).")
    limiter: FailedAuthLimiter = request.app.state.auth_limiter
    address = client_address(request)
    principal = await lookup_principal(
        request.app.state.engine,
        token,
        request.app.state.key_cache,
        before_lookup=lambda key_hash: limiter.check(address, key_hash),
    )
    if principal is None:
        limiter.record_failure(address)
        raise Unauthorized("The API key is unknown, revoked or expired; create a new one.")
    limiter.record_success(hash_token(token))
    request.state.principal = principal
    # Every query of this request sees this tenant only (row-level security).
    bind_caller(principal.tenant_id, principal.api_key_id)
    return principal


async def authenticate(
    request: Request,
    api_key: Annotated[str | None, Depends(_api_key_header)],
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    return await _principal_for(request, api_key or (bearer.credentials if bearer else None))


async def authenticate_allowing_query(
    request: Request,
    api_key: Annotated[str | None, Depends(_api_key_header)],
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    query_key: Annotated[str | None, Depends(_api_key_query)],
) -> Principal:
    """For senders that cannot set a header (a Salesforce Outbound Message has only its URL):
    the key may also come as ``?api_key=``. Only the routes that need it use this."""
    token = api_key or (bearer.credentials if bearer else None) or query_key
    return await _principal_for(request, token)


def require_scope(
    scope: str, *, authenticator: Callable[..., Awaitable[Principal]] = authenticate
) -> Callable[[Request, Principal], Awaitable[Principal]]:
    async def check(
        request: Request, principal: Annotated[Principal, Depends(authenticator)]
    ) -> Principal:
        if not principal.allows(scope):
            raise Forbidden(
                f"This endpoint needs the {scope!r} scope; the key has "
                f"{', '.join(sorted(principal.scopes))}."
            )
        audit.mark_if_write(request, scope)
        return principal

    return check


ReadPrincipal = Annotated[Principal, Depends(require_scope("read"))]
WritePrincipal = Annotated[Principal, Depends(require_scope("write"))]
AdminPrincipal = Annotated[Principal, Depends(require_scope("admin"))]
# Write scope, key also accepted from the query string (see authenticate_allowing_query).
QueryKeyWritePrincipal = Annotated[
    Principal, Depends(require_scope("write", authenticator=authenticate_allowing_query))
]
