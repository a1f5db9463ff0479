"""The nginx gateway in front of the real services: routing, request ids, limits, error pages.

One nginx serves the happy paths; each failure case gets its own nginx (cheap to start) with tiny
limits, in front of its own assignment process that the test stops or freezes.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared import api_keys
from tests.factories import TenantWithKey
from tests.harness import (
    NginxProcess,
    ServiceProcess,
    start_services,
    stop_all,
    upstreams_of,
)

PROBLEM_JSON = "application/problem+json"
NGINX_REQUEST_ID = re.compile(r"^[0-9a-f]{32}$")
SERVICES = ("assignment", "planning", "proximity", "metrics")


@pytest.fixture(scope="module")
def services(
    service_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, ServiceProcess]]:
    processes = start_services(env=service_env, log_dir=tmp_path_factory.mktemp("service-logs"))
    yield processes
    stop_all(processes.values())


@pytest.fixture(scope="module")
def gateway(
    services: dict[str, ServiceProcess], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[httpx.Client]:
    """A client of the shared nginx, with the default limits (1m bodies, 100 r/s per key)."""
    nginx = NginxProcess(
        runtime_dir=tmp_path_factory.mktemp("nginx"), upstreams=upstreams_of(services)
    )
    with nginx, httpx.Client(base_url=nginx.url, timeout=10.0) as client:
        yield client


@pytest.fixture
def lone_assignment(
    services: dict[str, ServiceProcess], tmp_path: Path
) -> Iterator[ServiceProcess]:
    """An assignment process of this test's own, to stop or freeze without harming the others."""
    env = services["assignment"].env  # the test database and the other services' URLs
    with ServiceProcess("assignment", env=env, log_dir=tmp_path) as process:
        yield process


def start_nginx(
    tmp_path: Path,
    services: dict[str, ServiceProcess],
    assignment: ServiceProcess | None = None,
    **render_options: Any,
) -> NginxProcess:
    upstreams = upstreams_of(services)
    if assignment is not None:
        upstreams["assignment"] = assignment.address
    nginx = NginxProcess(runtime_dir=tmp_path / "nginx", upstreams=upstreams, **render_options)
    return nginx.start()


def assert_problem(response: httpx.Response, status: int) -> dict[str, Any]:
    """An RFC 9457 body made by nginx: the fields, and the request id of the response header."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM_JSON)
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    assert body["type"].startswith("/problems/")
    assert body["title"]
    assert body["detail"]
    assert body["request_id"] == response.headers["x-request-id"]
    return body


def test_each_prefix_reaches_its_service(gateway: httpx.Client) -> None:
    for name in SERVICES:
        response = gateway.get(f"/{name}/openapi.json")
        assert response.status_code == 200, (name, response.text)
        paths = response.json()["paths"]
        assert paths and all(path.startswith(f"/{name}/") for path in paths), (name, paths)
        assert gateway.get(f"/{name}/healthz").json() == {"status": "ok"}


def test_gateway_app_paths_reach_the_gateway_app(gateway: httpx.Client) -> None:
    assert gateway.get("/healthz").json() == {"status": "ok"}
    document = gateway.get("/openapi.json")
    assert document.status_code == 200
    assert any(path.startswith("/assignment/") for path in document.json()["paths"])
    assert gateway.get("/docs").status_code == 200


def test_api_key_reaches_the_service(gateway: httpx.Client, api_key: str) -> None:
    assert gateway.get("/assignment/reps", headers={"X-API-Key": api_key}).status_code == 200
    bearer = {"Authorization": f"Bearer {api_key}"}
    assert gateway.get("/assignment/reps", headers=bearer).status_code == 200


def test_service_problems_pass_through_untouched(gateway: httpx.Client) -> None:
    response = gateway.get("/assignment/reps")
    body = assert_problem(response, 401)
    assert body["type"] == "/problems/unauthorized"
    assert body["instance"] == "/assignment/reps"
    assert response.headers["www-authenticate"] == "ApiKey"


def test_request_id_is_made_when_absent_and_reaches_the_service(gateway: httpx.Client) -> None:
    response = gateway.get("/assignment/reps")
    assert NGINX_REQUEST_ID.match(response.headers["x-request-id"])
    assert response.headers.get_list("x-request-id") == [response.json()["request_id"]]


def test_request_id_is_kept_when_sane(gateway: httpx.Client) -> None:
    response = gateway.get("/assignment/reps", headers={"X-Request-ID": "crm-42.retry_1"})
    assert response.headers.get_list("x-request-id") == ["crm-42.retry_1"]
    assert response.json()["request_id"] == "crm-42.retry_1"
    for unsafe in ("has space", 'quote"d', "x" * 65):
        replaced = gateway.get("/healthz", headers={"X-Request-ID": unsafe})
        assert NGINX_REQUEST_ID.match(replaced.headers["x-request-id"]), unsafe


@pytest.mark.parametrize("path", ["/nowhere", "/nowhere.html", "/assignmentx/reps", "/docs/x"])
def test_unknown_path_is_a_404_problem(gateway: httpx.Client, path: str) -> None:
    body = assert_problem(gateway.get(path, headers={"X-Request-ID": "lost-1"}), 404)
    assert body["instance"] == path
    assert body["request_id"] == "lost-1"
    assert "/openapi.json" in body["detail"]


def test_oversized_body_is_a_413_problem(gateway: httpx.Client) -> None:
    two_megabytes = b"[" + b" " * (2 * 1024 * 1024) + b"]"
    headers = {"Content-Type": "application/json"}
    body = assert_problem(
        gateway.post("/assignment/reps", content=two_megabytes, headers=headers), 413
    )
    assert body["type"] == "/problems/payload-too-large"
    assert "1m" in body["detail"] and "/assignment/leads:bulk" in body["detail"]
    # The bulk endpoints take it: whatever the service answers, nginx let the body through.
    bulk = gateway.post("/assignment/leads:bulk", content=two_megabytes, headers=headers)
    assert bulk.status_code != 413


def test_rate_limit_per_key_is_a_429_problem(
    services: dict[str, ServiceProcess], api_key: str, tmp_path: Path
) -> None:
    with start_nginx(tmp_path, services, rate_limit_rps=2, rate_limit_burst=2) as nginx:
        with httpx.Client(base_url=nginx.url, timeout=10.0) as client:
            hammered = {"X-API-Key": api_key}
            statuses = [client.get("/healthz", headers=hammered).status_code for _ in range(30)]
            # One request plus a burst of two pass; a token or so more may refill meanwhile.
            assert statuses[:3] == [200, 200, 200]
            assert statuses.count(429) >= 25, statuses
            limited = client.get("/healthz", headers=hammered)
            body = assert_problem(limited, 429)
            assert body["type"] == "/problems/rate-limited"
            assert "2 requests per second" in body["detail"]
            assert limited.headers["retry-after"] == "1"
            # The same key as a bearer token shares the bucket; other keys and no key do not.
            bearer = {"Authorization": f"Bearer {api_key}"}
            assert client.get("/healthz", headers=bearer).status_code == 429
            assert client.get("/healthz", headers={"X-API-Key": "tk_other"}).status_code == 200
            assert client.get("/healthz").status_code == 200


async def test_high_tier_keys_have_their_own_limit(
    services: dict[str, ServiceProcess],
    sessionmaker: async_sessionmaker[AsyncSession],
    tenant: TenantWithKey,
    tmp_path: Path,
) -> None:
    async with sessionmaker() as session, session.begin():
        issued = await api_keys.issue_key(
            session, tenant_id=tenant.tenant_id, name="crm", scopes=["read"], rate_tier="high"
        )
    high = issued.token
    assert high.startswith("tkh_") and tenant.token.startswith("tk_")
    with start_nginx(
        tmp_path,
        services,
        rate_limit_rps=2,
        rate_limit_burst=2,
        high_rate_limit_rps=2,
        high_rate_limit_burst=20,
    ) as nginx:
        async with httpx.AsyncClient(base_url=nginx.url, timeout=10.0) as client:

            async def statuses(token: str, count: int) -> list[int]:
                headers = {"X-API-Key": token}
                return [
                    (await client.get("/assignment/reps", headers=headers)).status_code
                    for _ in range(count)
                ]

            standard = await statuses(tenant.token, 25)
            assert standard[:3] == [200] * 3 and standard.count(429) >= 20, standard
            # The high tier's burst of 20 lets 21 through where the standard key got 3.
            high_statuses = await statuses(high, 25)
            assert high_statuses[:21] == [200] * 21 and 429 in high_statuses, high_statuses
            limited = await client.get("/assignment/reps", headers={"X-API-Key": high})
            body = assert_problem(limited, 429)
            assert "high tier" in body["detail"] and "burst 20" in body["detail"]
            # Renaming a standard key into the high tier makes a token that does not exist.
            upgraded = "tkh_" + tenant.token.removeprefix("tk_")
            forged = await client.get("/assignment/reps", headers={"X-API-Key": upgraded})
            assert forged.status_code == 401


def test_stopped_upstream_is_a_502_problem(
    services: dict[str, ServiceProcess], lone_assignment: ServiceProcess, tmp_path: Path
) -> None:
    with start_nginx(tmp_path, services, lone_assignment) as nginx:
        with httpx.Client(base_url=nginx.url, timeout=10.0) as client:
            assert client.get("/assignment/healthz").status_code == 200
            lone_assignment.stop()
            response = client.get("/assignment/healthz")
            body = assert_problem(response, 502)
            assert body["type"] == "/problems/upstream-unavailable"
            assert "assignment service" in body["detail"]
            assert response.headers["retry-after"] == "1"
            assert client.get("/planning/healthz").status_code == 200


def test_stalled_upstream_is_a_504_problem(
    services: dict[str, ServiceProcess], lone_assignment: ServiceProcess, tmp_path: Path
) -> None:
    with start_nginx(tmp_path, services, lone_assignment, proxy_read_timeout="1s") as nginx:
        with httpx.Client(base_url=nginx.url, timeout=10.0) as client:
            lone_assignment.pause()
            try:
                started = time.monotonic()
                response = client.get("/assignment/healthz")
                waited = time.monotonic() - started
            finally:
                lone_assignment.resume()
            body = assert_problem(response, 504)
            assert body["type"] == "/problems/upstream-timeout"
            assert "assignment service did not answer within 1s" in body["detail"]
            assert "Idempotency-Key" in body["detail"]
            assert 0.9 < waited < 5
            assert client.get("/assignment/healthz").status_code == 200


def test_service_at_its_connection_limit_is_a_503_problem(
    services: dict[str, ServiceProcess], lone_assignment: ServiceProcess, tmp_path: Path
) -> None:
    with (
        start_nginx(tmp_path, services, lone_assignment, max_conns_per_service=1) as nginx,
        httpx.Client(base_url=nginx.url, timeout=10.0) as client,
        ThreadPoolExecutor(max_workers=2) as pool,
    ):
        lone_assignment.pause()
        try:
            # Two requests race for the one slot: the loser is refused at once, the winner waits.
            first, second = (pool.submit(client.get, "/assignment/healthz") for _ in range(2))
            done, _ = wait([first, second], timeout=5, return_when=FIRST_COMPLETED)
            assert len(done) == 1, "neither request was refused"
            refused = done.pop()
            waiting = second if refused is first else first
            # The limit is per service: the others still answer.
            assert client.get("/planning/healthz").status_code == 200
        finally:
            lone_assignment.resume()
        response = refused.result()
        body = assert_problem(response, 503)
        assert body["type"] == "/problems/overloaded"
        assert "limit of 1 concurrent requests" in body["detail"]
        assert response.headers["retry-after"] == "1"
        assert waiting.result(timeout=10).status_code == 200
