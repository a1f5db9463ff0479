"""Connection endpoints: undirected pairs stored once, and a person's neighbours."""

import uuid

import httpx

from tests.factories import TenantWithKey


async def _person(client: httpx.AsyncClient, tenant: TenantWithKey, name: str) -> str:
    response = await client.post(
        "/proximity/people", json={"kind": "contact", "name": name}, headers=tenant.headers
    )
    assert response.status_code == 201, response.text
    person_id: str = response.json()["id"]
    return person_id


async def _connect(
    client: httpx.AsyncClient,
    tenant: TenantWithKey,
    first: str,
    second: str,
    kind: str,
    strength: float,
) -> httpx.Response:
    return await client.post(
        "/proximity/connections",
        json={"person_a_id": first, "person_b_id": second, "kind": kind, "strength": strength},
        headers=tenant.headers,
    )


async def test_connection_is_stored_with_the_smaller_id_first(
    client: httpx.AsyncClient, tenant: TenantWithKey
) -> None:
    one = await _person(client, tenant, "One")
    two = await _person(client, tenant, "Two")
    smaller, larger = sorted([one, two], key=uuid.UUID)
    response = await client.post(
        "/proximity/connections",
        json={
            "person_a_id": larger,
            "person_b_id": smaller,
            "kind": "colleague",
            "strength": 0.8,
            "last_interaction_at": "2026-03-01T09:30:00Z",
        },
        headers=tenant.headers,
    )
    assert response.status_code == 201, response.text
    connection = response.json()
    assert (connection["person_a_id"], connection["person_b_id"]) == (smaller, larger)
    assert connection["kind"] == "colleague"
    assert connection["strength"] == 0.8
    assert connection["last_interaction_at"] == "2026-03-01T09:30:00Z"


async def test_same_pair_in_the_other_order_and_same_kind_is_409(
    client: httpx.AsyncClient, tenant: TenantWithKey
) -> None:
    a = await _person(client, tenant, "A")
    b = await _person(client, tenant, "B")
    assert (await _connect(client, tenant, b, a, "colleague", 0.5)).status_code == 201
    again = await _connect(client, tenant, a, b, "colleague", 0.9)
    assert again.status_code == 409
    assert again.headers["content-type"] == "application/problem+json"
    assert again.json()["field"] == "kind"
    # Another kind of tie between the same two people is a separate connection.
    assert (await _connect(client, tenant, a, b, "email", 0.3)).status_code == 201


async def test_self_connection_is_422_on_person_b_id(
    client: httpx.AsyncClient, tenant: TenantWithKey
) -> None:
    a = await _person(client, tenant, "A")
    response = await _connect(client, tenant, a, a, "colleague", 0.5)
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["field"] == "person_b_id"


async def test_strength_outside_zero_to_one_is_422_on_strength(
    client: httpx.AsyncClient, tenant: TenantWithKey
) -> None:
    a = await _person(client, tenant, "A")
    b = await _person(client, tenant, "B")
    for strength in (0, 1.5):
        response = await _connect(client, tenant, a, b, "colleague", strength)
        assert response.status_code == 422
        assert response.json()["field"] == "strength"
    assert (await _connect(client, tenant, a, b, "colleague", 1)).status_code == 201


async def test_unknown_or_other_tenant_person_is_404_on_that_field(
    client: httpx.AsyncClient, tenant: TenantWithKey, other_tenant: TenantWithKey
) -> None:
    mine = await _person(client, tenant, "Mine")
    theirs = await _person(client, other_tenant, "Theirs")
    unknown = await _connect(client, tenant, mine, str(uuid.uuid4()), "colleague", 0.5)
    assert unknown.status_code == 404
    assert unknown.json()["field"] == "person_b_id"
    cross = await _connect(client, tenant, theirs, mine, "colleague", 0.5)
    assert cross.status_code == 404
    assert cross.headers["content-type"] == "application/problem+json"
    assert cross.json()["field"] == "person_a_id"


async def test_neighbours_are_listed_from_both_ends_strongest_first(
    client: httpx.AsyncClient, tenant: TenantWithKey
) -> None:
    p = await _person(client, tenant, "P")
    q = await _person(client, tenant, "Q")
    r = await _person(client, tenant, "R")
    s = await _person(client, tenant, "S")
    for first, second, kind, strength in [
        (p, q, "colleague", 0.9),
        (r, p, "email", 0.4),  # given with P second: P must still see it
        (q, p, "meeting", 0.6),
        (q, r, "social", 0.7),  # does not touch P
    ]:
        assert (await _connect(client, tenant, first, second, kind, strength)).status_code == 201

    async def neighbours(person_id: str, query: str = "") -> list[tuple[str, str, float]]:
        response = await client.get(
            f"/proximity/people/{person_id}/connections{query}", headers=tenant.headers
        )
        assert response.status_code == 200, response.text
        return [(n["person_id"], n["kind"], n["strength"]) for n in response.json()["items"]]

    # P: colleague Q 0.9, meeting Q 0.6, email R 0.4 — by strength, descending.
    assert await neighbours(p) == [(q, "colleague", 0.9), (q, "meeting", 0.6), (r, "email", 0.4)]
    # R: social Q 0.7, email P 0.4.
    assert await neighbours(r) == [(q, "social", 0.7), (p, "email", 0.4)]
    # Q: colleague P 0.9, social R 0.7, meeting P 0.6.
    assert await neighbours(q) == [(p, "colleague", 0.9), (r, "social", 0.7), (p, "meeting", 0.6)]
    assert await neighbours(s) == []
    assert await neighbours(p, "?limit=2&offset=2") == [(r, "email", 0.4)]
    first_page = (
        await client.get(f"/proximity/people/{p}/connections?limit=2", headers=tenant.headers)
    ).json()
    assert first_page["next_offset"] == 2


async def test_neighbours_of_unknown_or_other_tenant_person_are_404(
    client: httpx.AsyncClient, tenant: TenantWithKey, other_tenant: TenantWithKey
) -> None:
    theirs = await _person(client, other_tenant, "Theirs")
    for person_id in (theirs, str(uuid.uuid4())):
        response = await client.get(
            f"/proximity/people/{person_id}/connections", headers=tenant.headers
        )
        assert response.status_code == 404
        assert response.json()["field"] == "person_id"
