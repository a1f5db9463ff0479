"""Made-up API keys through the real gateway: a flood of fresh keys from one address is refused
429 after a few failed lookups, while the keys that work keep working (issue 6, defect 5)."""

from __future__ import annotations

import inspect
import secrets
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from deploy.nginx.render import render_local_config
from services.gateway.catalog import API_DESCRIPTION
from shared.settings import Settings
from tests.factories import TenantWithKey
from tests.harness import REPO_ROOT, SERVICE_NAMES, NginxProcess, ServiceProcess

FAILURE_LIMIT = 20
PROBLEM_JSON = "application/problem+json"


@pytest.fixture
def gateway(service_env: dict[str, str], tmp_path: Path) -> Iterator[str]:
    """An assignment process of its own (its limiter state is this test's alone) behind nginx,
    with the per-key limit out of the way: only the per-address failure limit is under test."""
    env = {
        **service_env,
        "TERRITORY_AUTH_FAILURE_LIMIT": str(FAILURE_LIMIT),
        "TERRITORY_AUTH_FAILURE_WINDOW_SECONDS": "60",
        # No key cache: every request asks the database, unless the limiter refuses first.
        "TERRITORY_AUTH_CACHE_SECONDS": "0",
    }
    with ServiceProcess("assignment", env=env, log_dir=tmp_path) as assignment:
        nginx = NginxProcess(
            runtime_dir=tmp_path / "nginx",
            upstreams={name: assignment.address for name in SERVICE_NAMES},
            rate_limit_rps=10_000,
            rate_limit_burst=10_000,
            anon_rate_limit_rps=2,
            anon_rate_limit_burst=5,
        )
        with nginx:
            yield nginx.url


def made_up_key() -> str:
    """Shaped like a real token, so nginx gives it a bucket of its own."""
    return "tk_" + secrets.token_urlsafe(32)


async def test_fresh_junk_keys_are_refused_per_address_but_known_keys_work(
    gateway: str, tenant: TenantWithKey, other_tenant: TenantWithKey
) -> None:
    async with httpx.AsyncClient(base_url=gateway, timeout=10.0) as client:
        assert (await client.get("/assignment/reps", headers=tenant.headers)).status_code == 200

        responses = [
            await client.get("/assignment/reps", headers={"X-API-Key": made_up_key()})
            for _ in range(300)
        ]
        statuses = [response.status_code for response in responses]
        # Exactly the first FAILURE_LIMIT cost a lookup (401); every later one is refused unseen.
        assert statuses[:FAILURE_LIMIT] == [401] * FAILURE_LIMIT, Counter(statuses)
        assert statuses[FAILURE_LIMIT:] == [429] * (300 - FAILURE_LIMIT), Counter(statuses)
        limited = responses[-1]
        assert limited.headers["content-type"] == PROBLEM_JSON
        body = limited.json()
        assert body["type"] == "/problems/rate-limited" and body["status"] == 429
        assert "unknown API keys from your address" in body["detail"]
        assert 1 <= int(limited.headers["retry-after"]) <= 60

        # The key that worked before the flood still works from the same address (looked up
        # again: there is no key cache here), as a header or as a bearer token.
        assert (await client.get("/assignment/reps", headers=tenant.headers)).status_code == 200
        bearer = {"Authorization": f"Bearer {tenant.token}"}
        assert (await client.get("/assignment/reps", headers=bearer)).status_code == 200
        # A valid key this process has never seen cannot be told from junk without a lookup:
        # while the address is blocked it is refused too, and says when to retry.
        unseen = await client.get("/assignment/reps", headers=other_tenant.headers)
        assert unseen.status_code == 429 and unseen.headers["retry-after"]


async def test_keyless_requests_are_limited_by_nginx_per_address(gateway: str) -> None:
    async with httpx.AsyncClient(base_url=gateway, timeout=10.0) as client:
        statuses = [(await client.get("/assignment/reps")).status_code for _ in range(30)]
    # One request plus a burst of five reach the service (401); nginx refuses the rest.
    assert statuses[:6] == [401] * 6, statuses
    assert statuses.count(429) >= 20, statuses


def test_the_documented_limits_are_the_defaults() -> None:
    """The API description and the README quote the gateway's and the services' defaults."""
    render = inspect.signature(render_local_config).parameters
    rps, burst = render["rate_limit_rps"].default, render["rate_limit_burst"].default
    settings = Settings.model_fields
    failures = settings["auth_failure_limit"].default
    window = int(settings["auth_failure_window_seconds"].default)
    readme = (REPO_ROOT / "README.md").read_text()
    for text in (API_DESCRIPTION, readme):
        assert (
            f"{rps} requests/s, burst {burst}" in text or f"{rps} per second, burst {burst}" in text
        )
        assert f"{10 * rps}" in text and f"burst {10 * burst}" in text
        assert f"{2 * rps}" in text and f"burst {2 * burst}" in text
        assert f"{failures}" in text and f"{window} s" in text
        assert "Retry-After" in text
