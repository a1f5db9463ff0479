"""An unhandled error is a problem+json 500 that leaves the keep-alive connection nginx reuses
intact: the next request through the gateway, a write included, is carried out (issue 6, defect 1).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import uvicorn

from deploy.nginx.render import TEMPLATE_PATH
from tests.conftest import Platform
from tests.harness import REPO_ROOT, NginxProcess, ServiceProcess, upstreams_of

ROUNDS = 10


@pytest.fixture(scope="module")
def faulty_gateway(
    platform: Platform, service_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[httpx.Client]:
    """nginx whose assignment upstream is an app with a route that raises on purpose."""
    logs = tmp_path_factory.mktemp("faulty")
    with ServiceProcess(
        "assignment", env=service_env, app="tests.gateway.faulty_app:app", log_dir=logs
    ) as faulty:
        upstreams = {**upstreams_of(platform.services), "assignment": faulty.address}
        with NginxProcess(runtime_dir=Path(logs) / "nginx", upstreams=upstreams) as nginx:
            with httpx.Client(base_url=nginx.url, timeout=10.0) as client:
                yield client


def test_a_500_does_not_break_the_next_write(faulty_gateway: httpx.Client) -> None:
    for round_number in range(ROUNDS):
        failed = faulty_gateway.get("/assignment/_fail")
        assert failed.status_code == 500, failed.text
        assert failed.headers["content-type"] == "application/problem+json"
        problem = failed.json()
        assert problem["type"] == "/problems/internal-error"
        assert problem["request_id"] == failed.headers["x-request-id"]
        written = faulty_gateway.post("/assignment/_echo", json={"round": str(round_number)})
        assert written.status_code == 201, f"round {round_number}: {written.text}"
        assert written.json() == {"round": str(round_number)}


def test_a_data_exception_from_postgres_is_a_422(faulty_gateway: httpx.Client) -> None:
    """The safety net behind the schemas: a value PostgreSQL refuses is the request's fault."""
    for round_number in range(3):
        refused = faulty_gateway.get("/assignment/_out_of_range")
        assert refused.status_code == 422, refused.text
        assert refused.headers["content-type"] == "application/problem+json"
        assert "out of range" in refused.json()["detail"]
        written = faulty_gateway.post("/assignment/_echo", json={"round": str(round_number)})
        assert written.status_code == 201, written.text


def test_a_deadlock_victim_is_a_503_to_retry(faulty_gateway: httpx.Client) -> None:
    """A transaction PostgreSQL aborted for another (a deadlock) was rolled back whole: the
    caller is told to retry, not that the server broke."""
    aborted = faulty_gateway.post("/assignment/_deadlock")
    assert aborted.status_code == 503, aborted.text
    assert aborted.headers["content-type"] == "application/problem+json"
    assert aborted.headers["retry-after"] == "1"
    assert aborted.json()["type"] == "/problems/concurrent-update"
    written = faulty_gateway.post("/assignment/_echo", json={"round": "after"})
    assert written.status_code == 201, written.text


def test_an_out_of_range_offset_then_a_write(platform: Platform, api_key: str) -> None:
    """The issue's repro: the oversized offset is refused as input, and the write goes through."""
    headers = {"X-API-Key": api_key}
    with httpx.Client(base_url=platform.url, headers=headers, timeout=10.0) as client:
        for round_number in range(ROUNDS):
            listed = client.get("/assignment/reps", params={"offset": "1" + "0" * 20})
            assert listed.status_code == 422, listed.text
            assert listed.json()["field"] == "offset"
            created = client.post("/assignment/reps", json={"name": f"Rep {round_number}"})
            assert created.status_code == 201, created.text


def test_nginx_closes_idle_upstream_connections_before_uvicorn_does() -> None:
    """If uvicorn closed an idle connection first, nginx could send a write on it as it closes;
    and nginx must never pass a write on again once sent."""
    template = TEMPLATE_PATH.read_text()
    timeouts = [
        float(value) for value in re.findall(r"^\s*keepalive_timeout (\d+)s;", template, re.M)
    ]
    upstreams = re.findall(r"^upstream \w+ \{", template, re.M)
    assert upstreams and len(timeouts) == len(upstreams)
    uvicorn_keep_alive = uvicorn.Config(app="x").timeout_keep_alive
    assert max(timeouts) < uvicorn_keep_alive
    launchers = [
        "deploy/local/run.sh",
        "Dockerfile",
        "docker-compose.yml",
        *map(str, sorted((REPO_ROOT / "deploy" / "k8s").rglob("*.yaml"))),
    ]
    for launcher in launchers:
        assert "timeout-keep-alive" not in (REPO_ROOT / launcher).read_text(), launcher
    retry_policies = re.findall(r"^\s*proxy_next_upstream ([^;]*);", template, re.M)
    assert retry_policies == ["error timeout"]
