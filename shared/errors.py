"""Domain errors and the handlers that render every error as RFC 9457 problem+json."""

import logging
import re
from typing import Any

import asyncpg
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware import Middleware
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

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


# Parts of a pydantic error location that name its schema, not the input: a validator
# ("function-after[_operands_fit_op(), Condition]"), a union ("tagged-union[...]"), a dict key.
_SCHEMA_LABEL = re.compile(r"[\[\]()]")
_ABSENT = object()


def _field_path(
    location: tuple[Any, ...] | list[Any], body: Any = _ABSENT, *, missing: bool = False
) -> str:
    """``("body", "territory", 0, "name")`` → ``territory[0].name``; the request part is dropped.

    With the request ``body``, the path follows the input: a part that is not in the input (a
    union member's tag or type name, such as ``condition`` or ``int``) is left out, except the
    last one of a ``missing`` error: the field to add.
    """
    parts = list(location)
    source = parts[0] if parts else None
    if source in ("body", "query", "path", "header", "cookie"):
        parts = parts[1:]
    node = body if source == "body" else _ABSENT
    kept: list[Any] = []
    for index, part in enumerate(parts):
        if isinstance(part, str) and _SCHEMA_LABEL.search(part):
            continue
        if node is not _ABSENT:
            if isinstance(node, dict) and part in node:
                node = node[part]
            elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
                node = node[part]
            elif not (missing and index == len(parts) - 1 and isinstance(node, dict)):
                continue
        kept.append(part)
    path = ""
    for part in kept:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path or "body"


def _error_headers(exc: AppError) -> dict[str, str] | None:
    if exc.status == 401:
        return {"WWW-Authenticate": "ApiKey"}
    if isinstance(exc, RateLimited):
        return {"Retry-After": str(exc.retry_after_seconds)}
    return None


def _is_type_mismatch(error_type: str) -> bool:
    """Errors that only say "not this union member's type"."""
    return error_type.endswith(("_type", "_parsing")) or error_type in (
        "missing",
        "extra_forbidden",
        "literal_error",
        "union_tag_invalid",
    )


def _readable_errors(errors: list[dict[str, Any]], body: Any) -> list[dict[str, str]]:
    """One entry per field and message, without pydantic's internals: for a value that
    matched no member of a union, the members' specific complaints (e.g. a NUL character)
    rather than "not an int", "not a float"."""
    entries = [
        (
            _field_path(error.get("loc", ()), body, missing=error.get("type") == "missing"),
            str(error.get("msg", "invalid")).removeprefix("Value error, "),
            str(error.get("type", "")),
        )
        for error in errors
    ]
    specific = {path for path, _, error_type in entries if not _is_type_mismatch(error_type)}
    readable: list[dict[str, str]] = []
    seen: set[tuple[str, str]] = set()
    for path, message, error_type in entries:
        if path in specific and _is_type_mismatch(error_type):
            continue
        if (path, message) not in seen:
            seen.add((path, message))
            readable.append({"field": path, "message": message})
    return readable


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
    errors = _readable_errors(list(exc.errors()), exc.body)
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
    if exc.status_code == 400 and isinstance(exc.__cause__, RecursionError):
        # FastAPI reports any failure of json.loads but a syntax error as "There was an error
        # parsing the body"; a body nested past Python's recursion limit is the one we meet.
        return problem_response(
            status=422,
            title="Invalid input",
            detail="The JSON body nests too deeply to be read (arrays or objects inside each "
            "other hundreds of levels deep); no operation takes more than a few levels.",
            slug="invalid-input",
            request=request,
            field="body",
        )
    slug, title = _HTTP_SLUGS.get(exc.status_code, ("http-error", "HTTP error"))
    detail = exc.detail if isinstance(exc.detail, str) else title
    headers = dict(exc.headers) if exc.headers else {}
    if exc.status_code == 405:
        # Starlette's Allow names the methods of the first route on the path only.
        allowed = ", ".join(_allowed_methods(request))
        headers["Allow"] = allowed
        detail = f"{request.url.path} does not take {request.method}; it takes {allowed}."
    if exc.status_code == 404 and detail == "Not Found":
        detail = f"No endpoint at {request.method} {request.url.path}; see /openapi.json"
        without_slash = request.url.path.rstrip("/")
        if without_slash != request.url.path and _has_route(request, without_slash):
            detail = (
                f"No endpoint at {request.url.path}: paths take no trailing slash; "
                f"use {without_slash}"
            )
    return problem_response(
        status=exc.status_code,
        title=title,
        detail=detail,
        slug=slug,
        request=request,
        headers=headers or None,
    )


_METHODS = ("DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT")


def _allowed_methods(request: Request) -> list[str]:
    """The methods some route takes on this path (asked of the routes, which may be nested
    routers, rather than read from their internals)."""
    return [
        method
        for method in _METHODS
        if any(
            route.matches({**request.scope, "method": method})[0] == Match.FULL
            for route in request.app.router.routes
        )
    ]


def _has_route(request: Request, path: str) -> bool:
    scope = {**request.scope, "path": path}
    return any(route.matches(scope)[0] != Match.NONE for route in request.app.router.routes)


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


def _internal_error(request: Request) -> JSONResponse:
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


def _database_unavailable_response(request: Request, error: BaseException) -> JSONResponse:
    logger.warning("database unavailable", extra={"path": request.url.path, "error": repr(error)})
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


def _unmapped_error_response(request: Request, error: Exception) -> JSONResponse:
    """What an error no handler maps is answered with: the database's outages (503), its
    refusal of a value (422) or of a transaction racing another (503); anything else 500."""
    if is_database_unavailable(error):
        return _database_unavailable_response(request, error)
    if _is_data_exception(error):
        return _data_exception_response(request)
    if _is_transient_conflict(error):
        return _transient_conflict_response(request)
    logger.exception("unhandled error", extra={"path": request.url.path})
    return _internal_error(request)


async def _unhandled_error(request: Request, exc: Exception) -> JSONResponse:
    """Last resort, for errors raised outside ``UnhandledErrorMiddleware`` (in an outer
    middleware): Starlette re-raises after this answer, so uvicorn closes the connection."""
    logger.exception("unhandled error", extra={"path": request.url.path})
    return _internal_error(request)


class UnhandledErrorMiddleware:
    """Answers an error no handler maps as problem+json (``_unmapped_error_response``: the
    database's outages and refusals by their kind, anything else a 500) and does not re-raise it.

    Starlette answers an ``Exception`` handler's response from its outermost middleware and then
    re-raises the error for the server to log; uvicorn, seeing an error from the app, closes the
    connection. nginx keeps that connection for its next request and the next write routed to
    this service got a 502 (issue 6, defect 1). Pure ASGI, innermost of the user middleware, so
    the request id and access logging around it see an ordinary 500 response. Once the response
    has started nothing else can be sent: the error goes on to the server, which must close.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        response_started = False

        async def tracking_send(message: Message) -> None:
            nonlocal response_started
            if message["type"] == "http.response.start":
                response_started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception as error:
            if response_started:
                raise
            response = _unmapped_error_response(Request(scope), error)
            await response(scope, receive, send)


def _data_exception_response(request: Request) -> JSONResponse:
    """Input the schemas let through and PostgreSQL refused: the request's fault, so a 422,
    logged for the schema to be tightened."""
    logger.warning("data exception", exc_info=True, extra={"path": request.url.path})
    return problem_response(
        status=422,
        title="Invalid input",
        detail="A value is out of range or holds characters the database cannot "
        "store (e.g. a NUL character); check the request's numbers and text.",
        slug="invalid-input",
        request=request,
    )


# A transaction PostgreSQL aborted because of another one at the same moment: a deadlock victim
# (40P01) or a serialization failure (40001). It was rolled back whole, so retrying is safe.
_TRANSIENT_CONFLICT_STATES = ("40P01", "40001")


def _is_transient_conflict(error: BaseException) -> bool:
    for candidate in (error, getattr(error, "orig", None), error.__cause__):
        if getattr(candidate, "sqlstate", None) in _TRANSIENT_CONFLICT_STATES:
            return True
    return False


def _transient_conflict_response(request: Request) -> JSONResponse:
    logger.warning("transient conflict", exc_info=True, extra={"path": request.url.path})
    return problem_response(
        status=503,
        title="Concurrent update",
        detail="Another request changed the same rows at the same moment and the database "
        "rolled this one back whole; nothing was done. Retry after 1 s with the same "
        "Idempotency-Key.",
        slug="concurrent-update",
        request=request,
        headers={"Retry-After": "1"},
    )


def _is_data_exception(error: BaseException) -> bool:
    """PostgreSQL's class 22 (data exception: out of range, untranslatable character...), raised
    by asyncpg directly or wrapped by SQLAlchemy."""
    for candidate in (error, getattr(error, "orig", None), error.__cause__):
        sqlstate = getattr(candidate, "sqlstate", None)
        if isinstance(sqlstate, str) and sqlstate.startswith("22"):
            return True
    return False


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(AppError, _app_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(IntegrityError, _integrity_error)
    app.add_exception_handler(Exception, _unhandled_error)
    # Appended, not add_middleware (which puts it outermost): innermost whatever the order in
    # which the app's other middleware is added.
    app.user_middleware.append(Middleware(UnhandledErrorMiddleware))


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


def problem_doc(description: str) -> dict[str, Any]:
    """An error response to declare on a route (``responses={409: problem_doc("...")}``)."""
    return {"description": description, "model": Problem, "content": {PROBLEM_CONTENT_TYPE: {}}}


# Declared on every service so generated clients know the error shape.
PROBLEM_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: problem_doc("Missing, unknown, revoked or expired API key"),
    403: problem_doc("The API key lacks the required scope"),
    422: problem_doc("Invalid input; `field` names the offending field"),
}
