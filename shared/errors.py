"""Domain errors and the handlers that render every error as RFC 9457 problem+json."""

import logging
from typing import Any

import asyncpg
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from starlette.exceptions import HTTPException as StarletteHTTPException

PROBLEM_CONTENT_TYPE = "application/problem+json"
PROBLEM_BASE = "/problems/"

logger = logging.getLogger(__name__)


class AppError(Exception):
    """Base of every domain error: carries the HTTP status and a problem type slug."""

    status: int = 500
    slug: str = "internal-error"
    title: str = "Internal server error"

    def __init__(self, detail: str, *, field: str | None = None, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.field = field
        self.extra = extra


class BadRequest(AppError):
    status, slug, title = 400, "bad-request", "Bad request"


class Unauthorized(AppError):
    status, slug, title = 401, "unauthorized", "Missing or invalid API key"


class Forbidden(AppError):
    status, slug, title = 403, "forbidden", "API key lacks the required scope"


class NotFound(AppError):
    status, slug, title = 404, "not-found", "Resource not found"


class Conflict(AppError):
    status, slug, title = 409, "conflict", "Conflict with the current state"


class InvalidInput(AppError):
    status, slug, title = 422, "invalid-input", "Invalid input"


class InvalidGeometry(AppError):
    status, slug, title = 422, "invalid-geometry", "Invalid geometry"


class RateLimited(AppError):
    status, slug, title = 429, "rate-limited", "Too many requests"

    def __init__(self, detail: str, *, retry_after_seconds: int) -> None:
        super().__init__(detail)
        self.retry_after_seconds = retry_after_seconds


class UpstreamUnavailable(AppError):
    status, slug, title = 503, "upstream-unavailable", "A downstream service is unavailable"


def problem_response(
    *,
    status: int,
    title: str,
    detail: str,
    slug: str,
    request: Request | None = None,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": PROBLEM_BASE + slug,
        "title": title,
        "status": status,
        "detail": detail,
    }
    if request is not None:
        body["instance"] = request.url.path
        request_id = getattr(request.state, "request_id", None)
        if request_id:
            body["request_id"] = request_id
    body.update({key: value for key, value in extra.items() if value is not None})
    return JSONResponse(body, status_code=status, media_type=PROBLEM_CONTENT_TYPE, headers=headers)


_HTTP_SLUGS = {
    400: ("bad-request", "Bad request"),
    401: ("unauthorized", "Missing or invalid API key"),
    403: ("forbidden", "Forbidden"),
    404: ("not-found", "Resource not found"),
    405: ("method-not-allowed", "Method not allowed"),
    409: ("conflict", "Conflict with the current state"),
    413: ("payload-too-large", "Request body too large"),
    415: ("unsupported-media-type", "Unsupported media type"),
    429: ("rate-limited", "Too many requests"),
}


def _field_path(location: tuple[Any, ...] | list[Any]) -> str:
    """``("body", "territory", 0, "name")`` → ``territory[0].name``; the request part is dropped."""
    parts = list(location)
    if parts and parts[0] in ("body", "query", "path", "header", "cookie"):
        parts = parts[1:]
    path = ""
    for part in parts:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path or "body"


def _error_headers(exc: AppError) -> dict[str, str] | None:
    if exc.status == 401:
        return {"WWW-Authenticate": "ApiKey"}
    if isinstance(exc, RateLimited):
        return {"Retry-After": str(exc.retry_after_seconds)}
    return None


async def _app_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, AppError)
    return problem_response(
        status=exc.status,
        title=exc.title,
        detail=exc.detail,
        slug=exc.slug,
        request=request,
        field=exc.field,
        headers=_error_headers(exc),
        **exc.extra,
    )


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [
        {"field": _field_path(error.get("loc", ())), "message": error.get("msg", "invalid")}
        for error in exc.errors()
    ]
    first = errors[0] if errors else {"field": "body", "message": "invalid"}
    detail = f"{first['field']}: {first['message']}"
    if len(errors) > 1:
        detail += f" (and {len(errors) - 1} more problem(s), see 'errors')"
    return problem_response(
        status=422,
        title="Invalid input",
        detail=detail,
        slug="invalid-input",
        request=request,
        field=first["field"],
        errors=errors,
    )


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    slug, title = _HTTP_SLUGS.get(exc.status_code, ("http-error", "HTTP error"))
    detail = exc.detail if isinstance(exc.detail, str) else title
    if exc.status_code == 404 and detail == "Not Found":
        detail = f"No endpoint at {request.method} {request.url.path}; see /openapi.json"
    return problem_response(
        status=exc.status_code,
        title=title,
        detail=detail,
        slug=slug,
        request=request,
        headers=dict(exc.headers) if exc.headers else None,
    )


# SQLSTATE → (status, slug, title, detail) for constraint violations that slipped past the
# service's own checks, e.g. two concurrent requests inserting the same unique key.
_INTEGRITY_PROBLEMS = {
    "23505": (409, "conflict", "Conflict with the current state", "already exists"),
    "23503": (409, "conflict", "Conflict with the current state", "references a missing row"),
    "23514": (422, "invalid-input", "Invalid input", "violates a rule"),
    "23502": (422, "invalid-input", "Invalid input", "misses a required value"),
}


async def _integrity_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, IntegrityError)
    sqlstate = getattr(exc.orig, "sqlstate", None) or getattr(exc.orig, "pgcode", None)
    status, slug, title, what = _INTEGRITY_PROBLEMS.get(
        str(sqlstate), (409, "conflict", "Conflict with the current state", "conflicts")
    )
    constraint = getattr(getattr(exc.orig, "__cause__", None), "constraint_name", None)
    detail = f"The request {what}" + (f" (constraint {constraint})" if constraint else "")
    return problem_response(
        status=status, title=title, detail=detail + ".", slug=slug, request=request
    )


async def _unhandled_error(request: Request, exc: Exception) -> JSONResponse:
    logger.exception("unhandled error", extra={"path": request.url.path})
    return problem_response(
        status=500,
        title="Internal server error",
        detail="The server failed to handle this request; quote the request_id when reporting it.",
        slug="internal-error",
        request=request,
    )


# --- The database is unreachable (restart, failover, crash): 503 + Retry-After, not 500 ---
# A client that retries after this many seconds (with its Idempotency-Key) usually finds the
# database back: a restart takes about a second, and the pools reconnect on the next request.
DATABASE_RETRY_AFTER_SECONDS = 2

# What asyncpg raises when the server refuses, drops or is shutting down a connection (class 08,
# and 57P01-57P03 of class 57, whose other codes are query cancellations, not outages), and what
# the socket layer raises when the server is not listening. SQLAlchemy wraps the first kind in a
# DBAPIError (``.orig.__cause__``) or lets them through unwrapped when they happen at connect.
_UNAVAILABLE_ERRORS: tuple[type[BaseException], ...] = (
    asyncpg.PostgresConnectionError,
    asyncpg.CannotConnectNowError,
    asyncpg.AdminShutdownError,
    asyncpg.CrashShutdownError,
    asyncpg.TooManyConnectionsError,
    ConnectionError,
    PoolTimeoutError,
)

# The lead pool hands a connection out without a ping: one whose server has just sent its
# shutdown notice (FATAL 57P01) is still handed out until its socket closes, and asyncpg then
# refuses the statement while it consumes that error (protocol state 2, ERROR_CONSUME) or once
# it failed. Our code never shares a connection between tasks, so only a dying one gets there.
_DYING_CONNECTION_STATES = (
    "another operation (2) is in progress",
    'protocol is in the "failed" state',
)


def _raised_in_database_driver(error: BaseException) -> bool:
    """Whether asyncpg or SQLAlchemy raised ``error``: a TimeoutError of our own code is not an
    outage of the database."""
    traceback = error.__traceback__
    while traceback is not None:
        module = traceback.tb_frame.f_globals.get("__name__", "")
        if module.startswith(("asyncpg.", "sqlalchemy.")):
            return True
        traceback = traceback.tb_next
    return False


def is_database_unavailable(error: BaseException) -> bool:
    """Whether ``error`` (or what it wraps) says the database could not be reached or went away."""
    seen: set[int] = set()
    pending: list[BaseException | None] = [error]
    while pending:
        current = pending.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, _UNAVAILABLE_ERRORS):
            return True
        if isinstance(current, TimeoutError) and _raised_in_database_driver(current):
            return True  # the connect timeout (TERRITORY_DB_CONNECT_TIMEOUT_SECONDS)
        if isinstance(current, DBAPIError) and current.connection_invalidated:
            return True
        # asyncpg's client-side error for a statement on a connection the server closed.
        if isinstance(current, asyncpg.InterfaceError) and "connection is closed" in str(current):
            return True
        if isinstance(current, asyncpg.InternalClientError) and any(
            state in str(current) for state in _DYING_CONNECTION_STATES
        ):
            return True
        orig = getattr(current, "orig", None)
        pending += [orig if isinstance(orig, BaseException) else None]
        pending += [current.__cause__, current.__context__]
    return False


async def _database_error(request: Request, exc: Exception) -> JSONResponse:
    if not is_database_unavailable(exc):
        return await _unhandled_error(request, exc)
    logger.warning("database unavailable", extra={"path": request.url.path, "error": repr(exc)})
    return problem_response(
        status=503,
        title="Database unavailable",
        detail="The database is restarting or unreachable, so nothing was done or the outcome "
        f"is unknown. Retry after {DATABASE_RETRY_AFTER_SECONDS} s with the same "
        "Idempotency-Key: a write that did commit is then answered, not applied twice.",
        slug="database-unavailable",
        request=request,
        headers={"Retry-After": str(DATABASE_RETRY_AFTER_SECONDS)},
    )


# Registered per class so that these are answered by Starlette's ExceptionMiddleware (keeping the
# connection) rather than the catch-all; a DBAPIError that is not an outage still becomes a 500.
_DATABASE_ERROR_CLASSES: tuple[type[Exception], ...] = (
    DBAPIError,
    PoolTimeoutError,
    asyncpg.PostgresConnectionError,
    asyncpg.CannotConnectNowError,
    asyncpg.AdminShutdownError,
    asyncpg.CrashShutdownError,
    asyncpg.TooManyConnectionsError,
    asyncpg.InterfaceError,
    asyncpg.InternalClientError,
    ConnectionError,
    TimeoutError,
)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(AppError, _app_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(IntegrityError, _integrity_error)
    for error_class in _DATABASE_ERROR_CLASSES:
        app.add_exception_handler(error_class, _database_error)
    app.add_exception_handler(Exception, _unhandled_error)


class Problem(BaseModel):
    """RFC 9457 problem details, the body of every error response."""

    type: str = Field(examples=["/problems/not-found"])
    title: str
    status: int
    detail: str = Field(description="What went wrong and what to do about it")
    instance: str | None = None
    request_id: str | None = None
    field: str | None = Field(default=None, description="The offending input field, if any")
    errors: list[dict[str, Any]] | None = Field(
        default=None, description="Every validation problem, when there are several"
    )


def _problem(description: str) -> dict[str, Any]:
    return {"description": description, "model": Problem, "content": {PROBLEM_CONTENT_TYPE: {}}}


# Declared on every service so generated clients know the error shape.
PROBLEM_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: _problem("Missing, unknown, revoked or expired API key"),
    403: _problem("The API key lacks the required scope"),
    422: _problem("Invalid input; `field` names the offending field"),
}
