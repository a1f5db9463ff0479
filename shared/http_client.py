"""One typed httpx client for service-to-service calls: timeouts, bounded retries, request ids
and W3C trace context."""

import asyncio
import logging
from typing import Any, TypeVar

import httpx
from opentelemetry import propagate
from opentelemetry.trace import SpanKind, StatusCode
from pydantic import TypeAdapter

from shared.errors import Conflict, InvalidInput, NotFound, UpstreamUnavailable
from shared.observability.tracing import get_tracer
from shared.request_context import current_request_id

ResultT = TypeVar("ResultT")
logger = logging.getLogger(__name__)

# Statuses worth one more try: the peer was restarting or overloaded.
_RETRYABLE_STATUSES = frozenset({502, 503, 504})
_IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})


class ServiceClient:
    """Calls one downstream service on behalf of the caller, forwarding the caller's API key.

    Forwarding the key (instead of trusting a service identity header) means the downstream
    service authenticates and scopes the call to the same tenant itself.
    """

    def __init__(
        self,
        *,
        service: str,
        base_url: str,
        timeout_seconds: float,
        retries: int,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.service = service
        self.retries = retries
        self._client = httpx.AsyncClient(
            base_url=base_url,
            timeout=httpx.Timeout(timeout_seconds, connect=min(timeout_seconds, 2.0)),
            limits=httpx.Limits(max_connections=100, max_keepalive_connections=20),
            transport=transport,
        )

    async def aclose(self) -> None:
        await self._client.aclose()

    async def request(
        self,
        method: str,
        path: str,
        *,
        api_key: str,
        json: Any = None,
        params: dict[str, Any] | None = None,
        timeout_seconds: float | None = None,
        idempotency_key: str | None = None,
        retries: int | None = None,
    ) -> httpx.Response:
        """``retries`` overrides the client's default, e.g. 0 on a latency budget."""
        # One client span for the call, retries included; its context goes out as traceparent.
        with get_tracer().start_as_current_span(
            f"{method.upper()} {self.service}",
            kind=SpanKind.CLIENT,
            attributes={"peer.service": self.service, "http.request.method": method.upper()},
        ) as span:
            response = await self._request(
                method,
                path,
                api_key=api_key,
                json=json,
                params=params,
                timeout_seconds=timeout_seconds,
                idempotency_key=idempotency_key,
                retries=retries,
            )
            span.set_attribute("http.response.status_code", response.status_code)
            if response.status_code >= 500:
                span.set_status(StatusCode.ERROR)
            return response

    async def _request(
        self,
        method: str,
        path: str,
        *,
        api_key: str,
        json: Any,
        params: dict[str, Any] | None,
        timeout_seconds: float | None,
        idempotency_key: str | None,
        retries: int | None,
    ) -> httpx.Response:
        headers = {"X-API-Key": api_key}
        propagate.inject(headers)  # traceparent (and tracestate, baggage) of the current span
        request_id = current_request_id()
        if request_id:
            headers["X-Request-ID"] = request_id
        if idempotency_key:
            headers["Idempotency-Key"] = idempotency_key
        # A non-idempotent call is only retried when it provably never reached the peer
        # (connection refused), or when it carries an idempotency key.
        may_retry_after_send = method.upper() in _IDEMPOTENT_METHODS or bool(idempotency_key)
        timeout = httpx.USE_CLIENT_DEFAULT if timeout_seconds is None else timeout_seconds
        last_error: Exception | None = None
        for attempt in range((self.retries if retries is None else retries) + 1):
            if attempt:
                await asyncio.sleep(0.05 * 2 ** (attempt - 1))
            try:
                response = await self._client.request(
                    method, path, headers=headers, json=json, params=params, timeout=timeout
                )
            except httpx.ConnectError as error:
                last_error = error
                continue
            except httpx.TransportError as error:
                last_error = error
                if may_retry_after_send:
                    continue
                break
            if response.status_code in _RETRYABLE_STATUSES and may_retry_after_send:
                last_error = httpx.HTTPStatusError(
                    f"{response.status_code}", request=response.request, response=response
                )
                continue
            return response
        logger.warning(
            "downstream call failed",
            extra={"service": self.service, "path": path, "error": repr(last_error)},
        )
        raise UpstreamUnavailable(
            f"The {self.service} service did not answer {method} {path}: {last_error!r}",
            service=self.service,
        )

    async def get_json(
        self,
        path: str,
        *,
        api_key: str,
        result_type: type[ResultT],
        params: dict[str, Any] | None = None,
        timeout_seconds: float | None = None,
    ) -> ResultT:
        response = await self.request(
            "GET", path, api_key=api_key, params=params, timeout_seconds=timeout_seconds
        )
        if response.status_code >= 400:
            raise UpstreamUnavailable(
                f"The {self.service} service answered {response.status_code} to GET {path}",
                service=self.service,
                upstream_status=response.status_code,
            )
        return TypeAdapter(result_type).validate_json(response.content)


def raise_for_refusal(response: httpx.Response, *, service: str, action: str) -> None:
    """Another service's refusal passed on in its own words, with the same status class: its
    404/409/422 are the caller's too; anything else is that service being unavailable."""
    if response.status_code < 400:
        return
    try:
        detail = response.json().get("detail", response.text)
    except ValueError:
        detail = response.text
    message = f"the {service} service refused to {action}: {detail}"
    if response.status_code == 404:
        raise NotFound(message)
    if response.status_code == 409:
        raise Conflict(message)
    if response.status_code == 422:
        raise InvalidInput(message)
    raise UpstreamUnavailable(message, service=service)
