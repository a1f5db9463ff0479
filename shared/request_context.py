"""Request-id middleware: one id per request, echoed on the response, logged, and propagated."""

import logging
import re
import time
import uuid
from contextvars import ContextVar

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.tenancy import caller_var

REQUEST_ID_HEADER = "x-request-id"
_SANE_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
SLOW_REQUEST_MS = 1000.0

request_id_var: ContextVar[str | None] = ContextVar("request_id", default=None)
logger = logging.getLogger("territory.access")


def current_request_id() -> str | None:
    return request_id_var.get()


class RequestContextMiddleware:
    """Pure ASGI (not BaseHTTPMiddleware) so it adds no task switch on the hot path."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = ""
        for name, value in scope["headers"]:
            if name == b"x-request-id":
                incoming = value.decode("latin-1")
                break
        request_id = incoming if _SANE_ID.match(incoming) else uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        token = request_id_var.set(request_id)
        # The tenant ``authenticate`` binds lives as long as the request, not a moment longer.
        caller_token = caller_var.set(None)
        started = time.perf_counter()
        status_code = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status_code
            if message["type"] == "http.response.start":
                status_code = message["status"]
                headers = [(k, v) for k, v in message.get("headers", []) if k != b"x-request-id"]
                headers.append((b"x-request-id", request_id.encode("latin-1")))
                message["headers"] = headers
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            duration_ms = (time.perf_counter() - started) * 1000
            # nginx already writes every request to its JSON access log with the same request
            # id, so a service logs only what needs attention (formatting a JSON line per
            # request cost ~10% of the lead hot path's CPU).
            level = (
                logging.WARNING
                if status_code >= 500 or duration_ms >= SLOW_REQUEST_MS
                else logging.DEBUG
            )
            if logger.isEnabledFor(level):
                logger.log(
                    level,
                    "request",
                    extra={
                        "method": scope["method"],
                        "path": scope["path"],
                        "status": status_code,
                        "duration_ms": round(duration_ms, 3),
                    },
                )
            request_id_var.reset(token)
            caller_var.reset(caller_token)
