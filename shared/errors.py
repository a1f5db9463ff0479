"""Domain errors and the handlers that render every error as RFC 9457 problem+json."""

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy.exc import IntegrityError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware import Middleware
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


async def _app_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, AppError)
    return problem_response(
        status=exc.status,
        title=exc.title,
        detail=exc.detail,
        slug=exc.slug,
        request=request,
        field=exc.field,
        headers={"WWW-Authenticate": "ApiKey"} if exc.status == 401 else None,
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


def _internal_error(request: Request) -> JSONResponse:
    return problem_response(
        status=500,
        title="Internal server error",
        detail="The server failed to handle this request; quote the request_id when reporting it.",
        slug="internal-error",
        request=request,
    )


async def _unhandled_error(request: Request, exc: Exception) -> JSONResponse:
    """Last resort, for errors raised outside ``UnhandledErrorMiddleware`` (in an outer
    middleware): Starlette re-raises after this answer, so uvicorn closes the connection."""
    logger.exception("unhandled error", extra={"path": request.url.path})
    return _internal_error(request)


class UnhandledErrorMiddleware:
    """Turns an error no handler maps into a problem+json 500 and does not re-raise it.

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
        except Exception:
            if response_started:
                raise
            request = Request(scope)
            logger.exception("unhandled error", extra={"path": request.url.path})
            await _internal_error(request)(scope, receive, send)


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


def _problem(description: str) -> dict[str, Any]:
    return {"description": description, "model": Problem, "content": {PROBLEM_CONTENT_TYPE: {}}}


# Declared on every service so generated clients know the error shape.
PROBLEM_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: _problem("Missing, unknown, revoked or expired API key"),
    403: _problem("The API key lacks the required scope"),
    422: _problem("Invalid input; `field` names the offending field"),
}
