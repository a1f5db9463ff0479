"""API keys: generation, hashing and the tenant/key records behind them."""

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from shared.errors import Conflict, InvalidInput, NotFound
from shared.models import ApiKey, Tenant

TOKEN_PREFIX = "tk_"
# The gateway's request-rate tiers (deploy/nginx/gateway.conf.template): the token's prefix names
# its key's tier, because nginx must pick the limit before anything is authenticated. A client
# cannot move a key to another tier: changing the prefix makes a token that does not exist.
RATE_TIER_PREFIXES = {"standard": TOKEN_PREFIX, "high": "tkh_"}
SCOPES = ("read", "write", "admin")
# Each scope includes the ones before it: admin can write, write can read.
_SCOPE_RANK = {scope: rank for rank, scope in enumerate(SCOPES)}


def hash_token(token: str) -> str:
    """SHA-256 suffices: tokens carry 256 random bits, so there is nothing to brute-force."""
    return hashlib.sha256(token.encode()).hexdigest()


def new_token(rate_tier: str = "standard") -> str:
    return RATE_TIER_PREFIXES[rate_tier] + secrets.token_urlsafe(32)


def scope_allows(granted: frozenset[str], required: str) -> bool:
    needed = _SCOPE_RANK[required]
    return any(_SCOPE_RANK.get(scope, -1) >= needed for scope in granted)


def normalise_scopes(scopes: list[str]) -> list[str]:
    unknown = sorted(set(scopes) - set(SCOPES))
    if unknown or not scopes:
        raise InvalidInput(
            f"scopes must be a non-empty subset of {', '.join(SCOPES)}; got {scopes!r}",
            field="scopes",
        )
    return sorted(set(scopes), key=_SCOPE_RANK.__getitem__)


@dataclass(frozen=True)
class IssuedKey:
    key: ApiKey
    token: str


async def create_tenant(session: AsyncSession, *, slug: str, name: str) -> Tenant:
    existing = await session.scalar(select(Tenant).where(Tenant.slug == slug))
    if existing is not None:
        raise Conflict(f"a tenant with slug {slug!r} already exists", field="slug")
    tenant = Tenant(id=uuid.uuid4(), slug=slug, name=name)
    session.add(tenant)
    await session.flush()
    return tenant


async def get_tenant_by_slug(session: AsyncSession, slug: str) -> Tenant:
    tenant = await session.scalar(select(Tenant).where(Tenant.slug == slug))
    if tenant is None:
        raise NotFound(f"no tenant with slug {slug!r}", field="tenant")
    return tenant


async def issue_key(
    session: AsyncSession,
    *,
    tenant_id: uuid.UUID,
    name: str,
    scopes: list[str],
    expires_at: datetime | None = None,
    rate_tier: str = "standard",
) -> IssuedKey:
    if rate_tier not in RATE_TIER_PREFIXES:
        raise InvalidInput(
            f"rate_tier must be one of {', '.join(RATE_TIER_PREFIXES)}; got {rate_tier!r}",
            field="rate_tier",
        )
    token = new_token(rate_tier)
    key = ApiKey(
        id=uuid.uuid4(),
        tenant_id=tenant_id,
        name=name,
        prefix=token[:12],
        key_hash=hash_token(token),
        scopes=normalise_scopes(scopes),
        expires_at=expires_at,
        rate_tier=rate_tier,
    )
    session.add(key)
    await session.flush()
    return IssuedKey(key=key, token=token)


async def revoke_key(
    session: AsyncSession, *, key_id: uuid.UUID, tenant_id: uuid.UUID | None
) -> None:
    """Revoke a key; with ``tenant_id`` only that tenant's key (callers acting for a tenant)."""
    statement = (
        update(ApiKey)
        .where(ApiKey.id == key_id, ApiKey.revoked_at.is_(None))
        .values(revoked_at=datetime.now(UTC))
        .returning(ApiKey.id)
    )
    if tenant_id is not None:
        statement = statement.where(ApiKey.tenant_id == tenant_id)
    if await session.scalar(statement) is None:
        raise NotFound(f"no active API key with id {key_id}", field="key_id")


async def find_valid_key(session: AsyncSession, token: str) -> ApiKey | None:
    now = datetime.now(UTC)
    return await session.scalar(
        select(ApiKey).where(
            ApiKey.key_hash == hash_token(token),
            ApiKey.revoked_at.is_(None),
            (ApiKey.expires_at.is_(None)) | (ApiKey.expires_at > now),
        )
    )
