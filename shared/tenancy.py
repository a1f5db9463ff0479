"""Which tenant the database lets a connection see: the setting ``app.tenant_id``.

Row-level security (migrations/versions/20261129_2350_756e7c1b5f29_row_level_security.py)
compares every row's ``tenant_id`` with it; a connection without it sees no tenant rows and may
write none. ``authenticate`` binds the caller to the request's context; from there:

- SQLAlchemy sessions set it per transaction (``after_begin``, see shared/db.py);
- asyncpg pools built with ``TenantBoundConnection`` and ``bind_pool_connection`` set it per
  connection, only when the checkout is for another tenant than the connection's last one;
- a connection a job opens for itself calls ``set_connection_tenant`` once.
"""

import uuid
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

import asyncpg

from shared.settings import Settings

TENANT_SETTING = "app.tenant_id"
_SET_TENANT_SQL = f"SELECT set_config('{TENANT_SETTING}', $1, $2)"


@dataclass(frozen=True, slots=True)
class Caller:
    """Who the current request acts for: the tenant rows are scoped to and the key (audit)."""

    tenant_id: uuid.UUID
    api_key_id: uuid.UUID | None = None


caller_var: ContextVar[Caller | None] = ContextVar("territory_caller", default=None)


def bind_caller(tenant_id: uuid.UUID, api_key_id: uuid.UUID | None = None) -> None:
    """Scope the database work of the current context (a request, or a job) to this tenant."""
    caller_var.set(Caller(tenant_id=tenant_id, api_key_id=api_key_id))


def clear_caller() -> None:
    caller_var.set(None)


def current_caller() -> Caller | None:
    return caller_var.get()


def current_tenant_id() -> uuid.UUID | None:
    caller = caller_var.get()
    return caller.tenant_id if caller is not None else None


def _setting(tenant_id: uuid.UUID | None) -> str:
    # '' and an absent setting are the same to the policies: no tenant, no rows.
    return str(tenant_id) if tenant_id is not None else ""


async def set_connection_tenant(
    connection: asyncpg.Connection, tenant_id: uuid.UUID | None, *, local: bool = False
) -> None:
    """Bind a connection a job holds for itself to one tenant: for the rest of its session, or
    (``local``) of its current transaction. Call it outside a transaction for the session:
    a session-level setting made inside one is undone if it rolls back."""
    await connection.execute(_SET_TENANT_SQL, _setting(tenant_id), local)


class TenantBoundConnection(asyncpg.Connection):
    """A pooled connection that remembers the tenant its session is bound to."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # '' = bound to no tenant (a new session); None = unknown (a bind was interrupted).
        self.bound_tenant: str | None = ""

    async def bind_tenant(self, tenant_id: uuid.UUID | None) -> None:
        wanted = _setting(tenant_id)
        if self.bound_tenant == wanted:
            return
        self.bound_tenant = None
        await self.execute(_SET_TENANT_SQL, wanted, False)
        self.bound_tenant = wanted


async def bind_pool_connection(connection: Any) -> None:
    """``setup`` of an asyncpg pool of ``TenantBoundConnection``s: bind each checkout to the
    current context's tenant. A round trip only when the tenant changes, so a process serving
    one tenant at a time pays nothing per request."""
    await connection.bind_tenant(current_tenant_id())


async def connect_for_tenant(
    settings: Settings,
    tenant_id: uuid.UUID,
    *,
    application_name: str,
    server_settings: dict[str, str] | None = None,
) -> asyncpg.Connection:
    """A connection of its own for one tenant's job (bulk assignment, a worker's task): as the
    services' role, bound to the tenant for its whole session."""
    connection: asyncpg.Connection = await asyncpg.connect(
        settings.libpq_database_url,
        server_settings=settings.server_settings(application_name, **(server_settings or {})),
    )
    try:
        await set_connection_tenant(connection, tenant_id)
    except BaseException:
        await connection.close()
        raise
    return connection


async def reset_pool_connection(connection: Any) -> None:
    """``reset`` of a pool of ``TenantBoundConnection``s whose users may leave session state
    (advisory locks, settings): asyncpg's own reset, whose RESET ALL also unbinds the tenant."""
    connection.bound_tenant = None
    await connection.reset()
    connection.bound_tenant = ""
