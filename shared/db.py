"""Async engine, session factory and the request-scoped session dependency."""

import uuid
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy import event, inspect, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import ORMExecuteState, QueryContext, Session, SessionTransaction

from shared import audit
from shared.models import Base
from shared.settings import Settings
from shared.tenancy import TENANT_SETTING, current_tenant_id


def create_engine(
    settings: Settings, *, application_name: str, as_owner: bool = False
) -> AsyncEngine:
    """The services' engine acts as ``settings.database_role`` (held to row-level security);
    ``as_owner`` is for the admin command line and tests arranging rows of many tenants."""
    if as_owner:
        url = settings.owner_database_url
        server_settings = {"application_name": application_name}
    else:
        url = settings.database_url
        server_settings = settings.server_settings(application_name)
    return create_async_engine(
        url,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
        pool_pre_ping=True,
        echo=settings.db_echo,
        connect_args={
            "server_settings": server_settings,
            "timeout": settings.db_connect_timeout_seconds,
        },
    )


class TenantSession(Session):
    """A session whose every transaction sees only the current context's tenant."""


@event.listens_for(TenantSession, "after_begin")
def _bind_tenant(session: Session, transaction: SessionTransaction, connection: Connection) -> None:
    # Transaction-local, so it never outlives the transaction on a pooled connection. Without a
    # tenant (the admin command line, a health check) nothing is set: tenant tables look empty
    # to the services' role.
    tenant_id = current_tenant_id()
    if tenant_id is not None:
        connection.execute(
            text(f"SELECT set_config('{TENANT_SETTING}', :tenant, true)"),
            {"tenant": str(tenant_id)},
        )


@event.listens_for(TenantSession, "after_flush")
def _note_writes(session: Session, context: Any) -> None:
    audit.note_flushed(session)


async def set_session_tenant(session: AsyncSession, tenant_id: uuid.UUID) -> None:
    """Scope the rest of the session's transaction to one tenant (the admin command line's
    writes into one tenant's tables, e.g. the demo data)."""
    await session.execute(
        text(f"SELECT set_config('{TENANT_SETTING}', :tenant, true)"), {"tenant": str(tenant_id)}
    )


@event.listens_for(TenantSession, "do_orm_execute")
def _mark_inserts(state: ORMExecuteState) -> None:
    # INSERT … RETURNING an entity (creates written as one statement, e.g. ON CONFLICT): the
    # rows it returns are what it wrote.
    if state.is_insert:
        state.update_execution_options(audit_inserted=True)


@event.listens_for(Base, "load", propagate=True)
def _note_returned(target: object, context: QueryContext | None) -> None:
    # An ORM bulk UPDATE refreshing objects already in the session has no query context.
    if context is None:
        return
    if context.execution_options.get("audit_inserted") and context.session is not None:
        audit.note_inserted(context.session, inspect(target).mapper, target)


@event.listens_for(Base, "refresh", propagate=True)
def _note_returned_again(target: object, context: QueryContext | None, attrs: Any) -> None:
    _note_returned(target, context)


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(
        engine, expire_on_commit=False, autoflush=False, sync_session_class=TenantSession
    )


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """The request owns the transaction: commit on success, roll back on any error. A
    successful write is recorded in the audit trail in the same transaction."""
    sessionmaker: async_sessionmaker[AsyncSession] = request.app.state.sessionmaker
    async with sessionmaker() as session:
        try:
            yield session
            await audit.record_request(session, request)
            await session.commit()
        except BaseException:
            await session.rollback()
            raise


# scope="function": the commit happens before the response is sent, so a client never sees a
# success whose write was lost, and a failed commit becomes an error response.
SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]
