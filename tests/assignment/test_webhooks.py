"""Webhooks end to end: subscriptions through the real gateway, deliveries by the real job
worker to a real HTTP receiver on loopback (tests/assignment/webhook_receiver.py). Signed,
ordered per key, retried then dead-lettered, replayed, re-sent after the worker is killed
mid-delivery, and a receiver that hangs holds up nobody else."""

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import httpx
import pytest

from tests.assignment.webhook_receiver import Received, Receiver, running_receiver
from tests.conftest import Platform
from tests.factories import TenantWithKey

SECRET = "whsec_test_0123456789abcdefghijkl"
WAIT_SECONDS = 90.0


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with running_receiver() as running:
        yield running


@pytest.fixture
async def client(gateway_client: httpx.AsyncClient) -> AsyncIterator[httpx.AsyncClient]:
    yield gateway_client


@pytest.fixture
async def unsubscribe(
    gateway_client: httpx.AsyncClient,
) -> AsyncIterator[list[TenantWithKey]]:
    """Tenants whose subscriptions are deleted after the test (the pump stops when nobody
    subscribes)."""
    tenants: list[TenantWithKey] = []
    yield tenants
    for tenant in tenants:
        listed = await gateway_client.get("/assignment/webhooks", headers=tenant.headers)
        for subscription in listed.json():
            await gateway_client.delete(
                f"/assignment/webhooks/{subscription['id']}", headers=tenant.headers
            )


async def subscribe(
    client: httpx.AsyncClient,
    tenant: TenantWithKey,
    url: str,
    unsubscribe: list[TenantWithKey],
    **body: Any,
) -> dict[str, Any]:
    response = await client.post(
        "/assignment/webhooks",
        json={"url": url, "secret": SECRET, **body},
        headers=tenant.headers,
    )
    assert response.status_code == 201, response.text
    unsubscribe.append(tenant)
    created: dict[str, Any] = response.json()
    return created


async def new_rep(client: httpx.AsyncClient, tenant: TenantWithKey, name: str) -> str:
    response = await client.post("/assignment/reps", json={"name": name}, headers=tenant.headers)
    assert response.status_code == 201, response.text
    rep_id: str = response.json()["id"]
    return rep_id


async def rename(client: httpx.AsyncClient, tenant: TenantWithKey, rep_id: str, name: str) -> None:
    response = await client.patch(
        f"/assignment/reps/{rep_id}", json={"name": name}, headers=tenant.headers
    )
    assert response.status_code == 200, response.text


async def until(condition: Callable[[], Any], what: str, timeout: float = WAIT_SECONDS) -> Any:
    deadline = asyncio.get_running_loop().time() + timeout
    while asyncio.get_running_loop().time() < deadline:
        result = condition()
        if result:
            return result
        await asyncio.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


async def deliveries(
    client: httpx.AsyncClient, tenant: TenantWithKey, subscription_id: str, **params: str
) -> list[dict[str, Any]]:
    response = await client.get(
        f"/assignment/webhooks/{subscription_id}/deliveries",
        params={"limit": "1000", **params},
        headers=tenant.headers,
    )
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def until_deliveries(
    client: httpx.AsyncClient,
    tenant: TenantWithKey,
    subscription_id: str,
    ready: Callable[[list[dict[str, Any]]], bool],
    what: str,
) -> list[dict[str, Any]]:
    deadline = asyncio.get_running_loop().time() + WAIT_SECONDS
    while True:
        items = await deliveries(client, tenant, subscription_id)
        if ready(items):
            return items
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out waiting for {what}: {items}")
        await asyncio.sleep(0.2)


def names_by_key(requests: list[Received]) -> dict[str, list[str]]:
    """The rep names each ordering key's deliveries carried, in the order they arrived."""
    sequences: dict[str, list[str]] = {}
    for request in requests:
        event = request.event
        sequences.setdefault(event["ordering_key"], []).append(event["data"]["name"])
    return sequences


async def test_deliveries_are_signed_and_in_order_per_key(
    client: httpx.AsyncClient,
    platform: Platform,
    tenant: TenantWithKey,
    receiver: Receiver,
    unsubscribe: list[TenantWithKey],
) -> None:
    created = await subscribe(
        client, tenant, receiver.url("/hook"), unsubscribe, event_types=["rep.changed"]
    )
    assert created["secret"] == SECRET
    first, second = await new_rep(client, tenant, "a0"), await new_rep(client, tenant, "b0")
    for version in range(1, 8):
        await rename(client, tenant, first, f"a{version}")
        if version <= 4:
            await rename(client, tenant, second, f"b{version}")

    requests = await until(lambda: len(receiver.on("/hook")) >= 13 and receiver.on("/hook"),
                           "13 deliveries")  # fmt: skip
    # Signed over timestamp and body with the subscription's secret; a changed byte fails.
    for request in requests:
        assert request.verifies(SECRET)
        assert request.headers["webhook-event-type"] == "rep.changed"
        assert request.headers["webhook-attempt"] == "1"
    tampered = Received(
        path="/hook",
        headers=requests[0].headers,
        body=requests[0].body.replace(b"a0", b"a9"),
        at=0,
    )
    assert not tampered.verifies(SECRET)
    assert not requests[0].verifies(SECRET + "x")
    # Each key's events arrived one at a time, in the order they were committed.
    assert names_by_key(requests) == {
        first: [f"a{n}" for n in range(8)],
        second: [f"b{n}" for n in range(5)],
    }
    assert len({request.event["id"] for request in requests}) == 13  # once each

    items = await until_deliveries(
        client, tenant, created["id"], lambda items: all(i["status"] == "delivered" for i in items),
        "delivered",
    )  # fmt: skip
    assert len(items) == 13 and {i["attempts"] for i in items} == {1}
    read = await client.get(f"/assignment/webhooks/{created['id']}", headers=tenant.headers)
    assert read.status_code == 200
    assert "secret" not in read.json()
    assert (read.json()["pending_deliveries"], read.json()["dead_deliveries"]) == (0, 0)


async def test_a_failing_receiver_gets_retries_then_dead_letters_that_can_be_replayed(
    client: httpx.AsyncClient,
    platform: Platform,
    tenant: TenantWithKey,
    receiver: Receiver,
    unsubscribe: list[TenantWithKey],
) -> None:
    receiver.statuses["/down"] = 503
    created = await subscribe(client, tenant, receiver.url("/down"), unsubscribe)
    rep_id = await new_rep(client, tenant, "first")

    dead = await until_deliveries(
        client, tenant, created["id"], lambda items: bool(items) and items[0]["status"] == "dead",
        "a dead letter",
    )  # fmt: skip
    assert dead[0]["attempts"] == 3  # TERRITORY_WEBHOOK_MAX_ATTEMPTS in tests/conftest.py
    assert dead[0]["last_status_code"] == 503
    assert "503" in dead[0]["last_error"]
    tries = receiver.on("/down")
    assert [r.headers["webhook-attempt"] for r in tries] == ["1", "2", "3"]
    assert len({r.headers["webhook-id"] for r in tries}) == 1  # the same delivery each time
    dead_letters = await deliveries(client, tenant, created["id"], status="dead")
    assert [d["id"] for d in dead_letters] == [dead[0]["id"]]

    # Pending cannot be replayed; dead can, once the receiver is back.
    receiver.statuses["/down"] = 200
    replayed = await client.post(
        f"/assignment/webhooks/{created['id']}/deliveries/{dead[0]['id']}:replay",
        headers=tenant.headers,
    )
    assert replayed.status_code == 200, replayed.text
    assert replayed.json()["status"] == "pending" and replayed.json()["attempts"] == 0
    await until_deliveries(
        client, tenant, created["id"], lambda items: items[0]["status"] == "delivered",
        "the replayed delivery",
    )  # fmt: skip
    assert receiver.on("/down")[-1].event["subject_id"] == rep_id

    # The whole dead-letter list at once.
    receiver.statuses["/down"] = 500
    await rename(client, tenant, rep_id, "second")
    await until_deliveries(
        client, tenant, created["id"],
        lambda items: len(items) == 2 and items[1]["status"] == "dead", "a second dead letter",
    )  # fmt: skip
    receiver.statuses["/down"] = 200
    bulk = await client.post(
        f"/assignment/webhooks/{created['id']}/deliveries:replay", headers=tenant.headers
    )
    assert bulk.status_code == 200 and bulk.json() == {"replayed": 1}
    await until_deliveries(
        client, tenant, created["id"], lambda items: all(i["status"] == "delivered" for i in items),
        "every delivery",
    )  # fmt: skip
    missing = await client.post(
        f"/assignment/webhooks/{created['id']}/deliveries/{uuid.uuid4()}:replay",
        headers=tenant.headers,
    )
    assert missing.status_code == 404


async def test_a_worker_killed_mid_delivery_loses_nothing(
    client: httpx.AsyncClient,
    platform: Platform,
    tenant: TenantWithKey,
    receiver: Receiver,
    unsubscribe: list[TenantWithKey],
) -> None:
    release = receiver.hold("/held")
    created = await subscribe(client, tenant, receiver.url("/held"), unsubscribe)
    rep_id = await new_rep(client, tenant, "v0")
    await rename(client, tenant, rep_id, "v1")
    # The first delivery is in the receiver's hands, unanswered: kill -9 the worker now.
    await until(lambda: receiver.on("/held"), "the first delivery to arrive")
    platform.worker.kill()
    try:
        release.set()
        assert (await deliveries(client, tenant, created["id"]))[0]["status"] == "pending"
    finally:
        platform.worker.start()

    items = await until_deliveries(
        client, tenant, created["id"],
        lambda items: len(items) == 2 and all(i["status"] == "delivered" for i in items),
        "both delivered after the restart",
    )  # fmt: skip
    names = [request.event["data"]["name"] for request in receiver.on("/held")]
    # v0 again (its outcome was never recorded), and only then v1: at least once, in order.
    assert names[:1] == ["v0"] and names[-2:] == ["v0", "v1"], names
    assert items[0]["attempts"] >= 1


async def test_a_hanging_receiver_holds_up_no_other_subscription_or_tenant(
    client: httpx.AsyncClient,
    platform: Platform,
    tenant: TenantWithKey,
    other_tenant: TenantWithKey,
    receiver: Receiver,
    unsubscribe: list[TenantWithKey],
) -> None:
    release = receiver.hold("/slow")
    await subscribe(client, tenant, receiver.url("/slow"), unsubscribe)
    await subscribe(client, tenant, receiver.url("/fast-a"), unsubscribe)
    await subscribe(client, other_tenant, receiver.url("/fast-b"), unsubscribe)
    try:
        await new_rep(client, tenant, "slow one")
        await until(lambda: receiver.on("/slow"), "the slow receiver to be called")
        for n in range(3):
            await new_rep(client, tenant, f"a{n}")
            await new_rep(client, other_tenant, f"b{n}")
        # Every other delivery arrives while the slow receiver still holds its requests, before
        # any of them could time out and be tried again: the pump never waited for them.
        await until(lambda: len(receiver.on("/fast-a")) == 4, "tenant A's other subscription")
        await until(lambda: len(receiver.on("/fast-b")) == 3, "tenant B")
        last_fast = max(r.at for r in receiver.on("/fast-a") + receiver.on("/fast-b"))
        slow = [r for r in receiver.on("/slow") if r.at <= last_fast]
        assert not release.is_set()
        assert all(r.headers["webhook-attempt"] == "1" for r in slow)
        # At most the subscription's concurrency (4) in its hands at once, one per rep.
        assert len(slow) <= 4 and len({r.event["ordering_key"] for r in slow}) == len(slow)
    finally:
        release.set()
    # Tenant isolation: each tenant's receiver got its own events only.
    b_names = {r.event["data"]["name"] for r in receiver.on("/fast-b")}
    assert b_names == {"b0", "b1", "b2"}


async def test_subscriptions_are_the_tenants_own(
    client: httpx.AsyncClient,
    platform: Platform,
    tenant: TenantWithKey,
    other_tenant: TenantWithKey,
    unsubscribe: list[TenantWithKey],
) -> None:
    created = await client.post(
        "/assignment/webhooks",
        json={"url": "https://crm.example.com/hooks", "event_types": ["lead.assigned"]},
        headers=tenant.headers,
    )
    assert created.status_code == 201, created.text
    unsubscribe.append(tenant)
    subscription = created.json()
    assert subscription["secret"].startswith("whsec_")  # generated, shown once
    path = f"/assignment/webhooks/{subscription['id']}"
    assert (await client.get(path, headers=other_tenant.headers)).status_code == 404
    assert (await client.get("/assignment/webhooks", headers=other_tenant.headers)).json() == []
    foreign = await client.patch(path, json={"active": False}, headers=other_tenant.headers)
    assert foreign.status_code == 404
    assert foreign.headers["content-type"].startswith("application/problem+json")

    paused = await client.patch(
        path, json={"active": False, "secret": SECRET}, headers=tenant.headers
    )
    assert paused.status_code == 200 and paused.json()["active"] is False
    assert "secret" not in paused.json()
    bad = await client.post(
        "/assignment/webhooks", json={"url": "ftp://crm.example.com"}, headers=tenant.headers
    )
    assert bad.status_code == 422
    assert (await client.delete(path, headers=tenant.headers)).status_code == 204
    assert (await client.get(path, headers=tenant.headers)).status_code == 404
