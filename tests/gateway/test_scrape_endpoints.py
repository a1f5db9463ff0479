"""What Prometheus scrapes, on the real platform: every service's /-/metrics on its own port,
nginx's stub_status on loopback only, and neither published through the gateway."""

from __future__ import annotations

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from shared.observability.metrics import METRICS_PATH
from tests.conftest import Platform

PROBLEM_JSON = "application/problem+json"


@pytest.mark.parametrize("service", ["gateway", "assignment", "planning", "proximity", "metrics"])
def test_every_service_serves_its_metrics_on_its_own_port(platform: Platform, service: str) -> None:
    url = platform.services[service].url
    httpx.get(f"{url}/healthz", timeout=10.0).raise_for_status()  # at least one request counted
    response = httpx.get(f"{url}{METRICS_PATH}", timeout=10.0)
    assert response.status_code == 200
    families = {family.name: family for family in text_string_to_metric_families(response.text)}
    routes = {sample.labels.get("route") for sample in families["http_requests"].samples}
    assert "/healthz" in routes
    assert "http_request_duration_seconds" in families
    pools = {
        (sample.labels["service"], sample.labels["pool"])
        for sample in families["db_pool_connections"].samples
    }
    assert (service, "sqlalchemy") in pools
    if service == "assignment":
        assert ("assignment", "leads") in pools


@pytest.mark.parametrize("path", [METRICS_PATH, "/-/", "/metrics/-/metrics"])
def test_the_gateway_publishes_no_metrics(platform: Platform, path: str) -> None:
    response = httpx.get(f"{platform.url}{path}", timeout=10.0)
    assert response.status_code == 404
    assert response.headers["content-type"] == PROBLEM_JSON
    assert "http_request_duration_seconds" not in response.text


def test_nginx_status_answers_loopback_only(platform: Platform) -> None:
    response = httpx.get(f"{platform.url}/-/nginx-status", timeout=10.0)
    assert response.status_code == 200
    assert response.text.startswith("Active connections:")
    assert "server accepts handled requests" in response.text

    # Another source address (as a client through a load balancer would have) is told nothing
    # is there; 127.0.0.2 is a loopback address too, but not the one nginx allows.
    transport = httpx.HTTPTransport(local_address="127.0.0.2")
    with httpx.Client(transport=transport, timeout=10.0) as client:
        refused = client.get(f"{platform.url}/-/nginx-status")
    assert refused.status_code == 404
    assert refused.headers["content-type"] == PROBLEM_JSON
    assert "Active connections" not in refused.text
