"""The proximity service killed (SIGKILL) under a lead load whose territory distributes by social
proximity: no caller sees an error, every lead gets a rep, the explanation records the round-robin
fallback, no answer waits longer than the ranking timeout allows, and rankings come back once the
service is started again."""

import asyncio
import logging
import os
import signal
import statistics
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from tests.assignment.test_lead_proximity import proximity_territory  # noqa: F401 (fixture)
from tests.factories import TenantWithKey
from tests.faults.load import LeadLoad, Outcome
from tests.harness import (
    LOCALHOST,
    SERVICE_NAMES,
    NginxProcess,
    ServiceProcess,
    free_port,
    start_services,
    stop_all,
    upstreams_of,
)

logger = logging.getLogger(__name__)

CLIENTS = 4
# The assignment service's budget for a ranking (TERRITORY_PROXIMITY_RANKING_TIMEOUT_SECONDS).
RANKING_TIMEOUT_SECONDS = 1.0
# A lead's answer may take the ranking budget plus this much for everything else, on a shared
# 2-core test machine (unloaded the rest takes milliseconds; loaded, a second or two at worst):
# still below the 5 s a lead would wait on the general HTTP timeout.
OTHER_WORK_SECONDS = 3.0
RANKED_BEFORE_KILL = 20
SECONDS_WITHOUT_PROXIMITY = 2.0
RECOVERY_BOUND_SECONDS = 15.0


@dataclass
class ProximityPlatform:
    url: str
    services: dict[str, ServiceProcess]
    log_dir: Any


@pytest.fixture(scope="module")
def proximity_platform(
    service_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ProximityPlatform]:
    """Assignment and proximity on the suite's database behind their own nginx: the suite's
    shared platform must keep its proximity service."""
    env = {
        **service_env,
        "TERRITORY_PROXIMITY_RANKING_TIMEOUT_SECONDS": str(RANKING_TIMEOUT_SECONDS),
    }
    log_dir = tmp_path_factory.mktemp("proximity-kill-logs")
    services = start_services(["assignment", "proximity"], env=env, log_dir=log_dir)
    nobody = f"{LOCALHOST}:{free_port()}"
    nginx = NginxProcess(
        runtime_dir=tmp_path_factory.mktemp("proximity-kill-nginx"),
        upstreams={**dict.fromkeys(SERVICE_NAMES, nobody), **upstreams_of(services)},
        rate_limit_rps=10_000,
        rate_limit_burst=10_000,
    )
    try:
        with nginx:
            yield ProximityPlatform(url=nginx.url, services=services, log_dir=log_dir)
    finally:
        stop_all(services.values())


def _proximity_step(outcome: Outcome) -> dict[str, Any]:
    assert outcome.body is not None
    step: dict[str, Any] = next(s for s in outcome.body["explanation"] if s["step"] == "proximity")
    return step


def _kill(process: ServiceProcess) -> None:
    os.killpg(process.pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while process.running:  # `running` polls, which reaps the killed child
        assert time.monotonic() < deadline, f"{process.label} survived SIGKILL"
        time.sleep(0.01)


async def test_proximity_killed_under_load_falls_back_without_errors(
    proximity_platform: ProximityPlatform,
    tenant: TenantWithKey,
    proximity_territory: dict[str, uuid.UUID],  # noqa: F811
) -> None:
    proximity = proximity_platform.services["proximity"]
    run = uuid.uuid4().hex[:6]
    async with LeadLoad(
        base_url=proximity_platform.url,
        headers=tenant.headers,
        clients=CLIENTS,
        # The account's domain: each lead is ranked against its contact's connections.
        lead_for=lambda index: {"email": f"buyer-{run}-{index}@social.example"},
        key_prefix=f"proximity-{run}",
    ) as load:

        def ranked_count(outcomes: list[Outcome]) -> int:
            return sum(
                o.status == 201 and _proximity_step(o)["outcome"] == "ranked" for o in outcomes
            )

        assert await load.wait_for(lambda o: ranked_count(o) >= RANKED_BEFORE_KILL, 30), (
            f"no rankings before the kill: {load.outcomes[:3]}"
        )
        # In threads: the load's clients (this event loop) keep going meanwhile.
        await asyncio.to_thread(_kill, proximity)
        killed_at = load.now()
        await asyncio.sleep(SECONDS_WITHOUT_PROXIMITY)
        restarting_at = load.now()
        restarted = ServiceProcess(
            "proximity",
            env=proximity.env,
            port=proximity.port,
            log_dir=proximity_platform.log_dir,
        )
        await asyncio.to_thread(restarted.start)
        proximity_platform.services["proximity"] = restarted
        ranked_before_restart = ranked_count(load.outcomes)
        recovered = await load.wait_for(
            lambda o: ranked_count(o) > ranked_before_restart, RECOVERY_BOUND_SECONDS
        )
    outcomes = load.outcomes

    errors = [o for o in outcomes if o.status != 201]
    without_proximity = [o for o in outcomes if killed_at <= o.started < restarting_at]
    fallbacks = [
        o for o in outcomes if o.status == 201 and _proximity_step(o)["outcome"] == "fallback"
    ]
    slowest = max(o.seconds for o in outcomes)
    median_down = statistics.median(o.seconds for o in without_proximity or outcomes)
    figures = (
        f"proximity SIGKILLed: {len(outcomes)} leads, {len(errors)} errors, "
        f"{len(without_proximity)} sent while it was down, {len(fallbacks)} fell back to round "
        f"robin, median answer while down {median_down * 1000:.0f} ms, slowest {slowest:.3f} s "
        f"(ranking timeout {RANKING_TIMEOUT_SECONDS} s), "
        f"rankings again {'yes' if recovered else 'no'} after the restart"
    )
    logger.warning(figures)

    assert errors == [], f"{figures}: {[(o.status, o.body, o.error) for o in errors[:3]]}"
    assert all(o.body is not None and o.body["rep"] is not None for o in outcomes), figures
    assert without_proximity, figures
    for outcome in without_proximity:
        step = _proximity_step(outcome)
        assert step["outcome"] == "fallback", (figures, step)
        assert "did not answer" in step["detail"], step
    assert slowest < RANKING_TIMEOUT_SECONDS + OTHER_WORK_SECONDS, figures
    # A dead service refuses connections: the typical lead falls back at once rather than
    # waiting out the ranking budget.
    assert median_down < RANKING_TIMEOUT_SECONDS, figures
    assert recovered, f"no ranking within {RECOVERY_BOUND_SECONDS} s of the restart: {figures}"
