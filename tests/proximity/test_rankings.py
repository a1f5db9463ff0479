"""Rankings: reps by warm paths to an account's contacts, on small graphs scored by hand.

The model of services/proximity/scoring/model.py with its defaults: a tie weighs
min(1, strength × kind weight) (colleague 1.0, meeting 0.9, email 0.7, social 0.5, referral 1.0),
halved per 180 days since the last interaction; a path scores 0.5 per introduction × its ties'
weights (hub damping is 1 on these small graphs); a rep's score = noisy-or over the account's
contacts of the best path to each, 1 - Π(1 - best), 6 decimals; order: score, then more contacts
reached (`path_count`), then rep_id ascending. Scoring maths on larger random graphs:
test_scoring_model.py; the recursive SQL reference: test_scoring_reference.py.
"""

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.models import Connection, Person, PersonKind, Rep
from tests.factories import TenantWithKey, add_key
from tests.proximity.conftest import insert_account, insert_rep


@dataclass
class Graph:
    """Writes people and ties directly: reps and accounts belong to the assignment service, and
    a few tests need rows the API refuses (ties across tenants)."""

    sessionmaker: async_sessionmaker[AsyncSession]
    tenant_id: uuid.UUID

    async def rep(
        self,
        name: str,
        *,
        rep_id: uuid.UUID | None = None,
        person_id: uuid.UUID | None = None,
        account_id: uuid.UUID | None = None,
    ) -> tuple[uuid.UUID, uuid.UUID]:
        """A rep and their person: (rep_id, person_id)."""
        rep_id = rep_id or uuid.uuid4()
        async with self.sessionmaker() as session, session.begin():
            session.add(Rep(id=rep_id, tenant_id=self.tenant_id, name=name))
        person_id = await self._person(
            name, kind=PersonKind.rep, rep_id=rep_id, account_id=account_id, person_id=person_id
        )
        return rep_id, person_id

    async def contact(
        self,
        name: str,
        *,
        account_id: uuid.UUID | None = None,
        person_id: uuid.UUID | None = None,
    ) -> uuid.UUID:
        return await self._person(
            name, kind=PersonKind.contact, account_id=account_id, person_id=person_id
        )

    async def tie(
        self,
        first: uuid.UUID,
        second: uuid.UUID,
        strength: float,
        *,
        kind: str = "colleague",
        last_interaction_at: datetime | None = None,
        tenant_id: uuid.UUID | None = None,
    ) -> None:
        person_a_id, person_b_id = sorted((first, second))
        async with self.sessionmaker() as session, session.begin():
            session.add(
                Connection(
                    tenant_id=tenant_id or self.tenant_id,
                    person_a_id=person_a_id,
                    person_b_id=person_b_id,
                    kind=kind,
                    strength=strength,
                    last_interaction_at=last_interaction_at,
                )
            )

    async def _person(
        self, name: str, *, person_id: uuid.UUID | None = None, **values: Any
    ) -> uuid.UUID:
        person_id = person_id or uuid.uuid4()
        async with self.sessionmaker() as session, session.begin():
            session.add(Person(id=person_id, tenant_id=self.tenant_id, name=name, **values))
        return person_id


@pytest.fixture
def graph(sessionmaker: async_sessionmaker[AsyncSession], tenant: TenantWithKey) -> Graph:
    return Graph(sessionmaker, tenant.tenant_id)


async def _rank(
    client: httpx.AsyncClient, tenant: TenantWithKey, account_id: uuid.UUID, **body: Any
) -> dict[str, Any]:
    payload: dict[str, Any] = {"account_id": str(account_id), **body}
    if "rep_ids" in payload:
        payload["rep_ids"] = [str(rep_id) for rep_id in payload["rep_ids"]]
    response = await client.post("/proximity/rankings", json=payload, headers=tenant.headers)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def _scores(result: dict[str, Any]) -> list[tuple[str, float, int]]:
    return [(rep["rep_id"], rep["score"], rep["path_count"]) for rep in result["ranked"]]


def _path_ids(rep: dict[str, Any]) -> list[list[str]]:
    return [[person["id"] for person in path["people"]] for path in rep["paths"]]


async def test_direct_two_hop_and_via_a_rep_paths_score_as_worked_out(
    client: httpx.AsyncClient, tenant: TenantWithKey, graph: Graph
) -> None:
    account_id = await insert_account(graph.sessionmaker, tenant_id=tenant.tenant_id)
    contact = await graph.contact("Cora Contact", account_id=account_id)
    r1, r1_person = await graph.rep("Rita One")
    r2, r2_person = await graph.rep("Rafa Two")
    r3, r3_person = await graph.rep("Remy Three")
    r4, r4_person = await graph.rep("Rosa Four")
    colleague = await graph.contact("Xavier Colleague")
    stranger = await graph.contact("Yann Elsewhere")
    await graph.tie(r1_person, contact, 0.9)
    await graph.tie(r2_person, colleague, 0.8)
    await graph.tie(colleague, contact, 0.5)
    await graph.tie(r2_person, contact, 0.5, kind="email")
    await graph.tie(r3_person, stranger, 1.0)  # Yann knows nobody at the account: no path
    await graph.tie(r4_person, r1_person, 0.5)  # another rep may be the middle of a path
    unknown = uuid.uuid4()

    result = await _rank(client, tenant, account_id, rep_ids=[r1, r2, r3, r4, unknown], max_hops=2)

    # R1: 0.9. R2: email 0.5 × 0.7 = 0.35 beats 0.5 × 0.8 × 0.5 = 0.2 via X: two routes to
    # one person are one piece of evidence, the best counts. R4: 0.5 × 0.5 × 0.9 = 0.225 via R1.
    assert result["account_id"] == str(account_id)
    assert result["max_hops"] == 2
    assert _scores(result) == [(str(r1), 0.9, 1), (str(r2), 0.35, 1), (str(r4), 0.225, 1)]
    assert result["candidates_without_path"] == [str(r3), str(unknown)]
    rita, rafa, rosa = result["ranked"]
    assert rita["paths"] == [
        {
            "people": [
                {"id": str(r1_person), "name": "Rita One", "kind": "rep"},
                {"id": str(contact), "name": "Cora Contact", "kind": "contact"},
            ],
            "strengths": [0.9],
            "ties": [
                {
                    "kind": "colleague",
                    "strength": 0.9,
                    "kind_weight": 1.0,
                    "recency": 1.0,
                    "weight": 0.9,
                }
            ],
            "damping": [],
            "hop_decay": 1.0,
            "score": 0.9,
            "contribution": 0.9,
        }
    ]
    # One best path per contact, from the rep to the account's contact.
    assert _path_ids(rafa) == [[str(r2_person), str(contact)]]
    assert rafa["paths"][0]["ties"][0]["kind"] == "email"
    assert rafa["paths"][0]["strengths"] == pytest.approx([0.35])
    assert _path_ids(rosa) == [[str(r4_person), str(r1_person), str(contact)]]
    assert rosa["paths"][0]["strengths"] == pytest.approx([0.5, 0.9])
    assert rosa["paths"][0]["hop_decay"] == 0.5
    assert rosa["paths"][0]["score"] == pytest.approx(0.225)


async def test_max_hops_one_counts_only_direct_ties(
    client: httpx.AsyncClient, tenant: TenantWithKey, graph: Graph
) -> None:
    account_id = await insert_account(graph.sessionmaker, tenant_id=tenant.tenant_id)
    contact = await graph.contact("C", account_id=account_id)
    r1, r1_person = await graph.rep("R1")
    r2, r2_person = await graph.rep("R2")
    r4, r4_person = await graph.rep("R4")
    colleague = await graph.contact("X")
    await graph.tie(r1_person, contact, 0.9)
    await graph.tie(r2_person, colleague, 0.8)
    await graph.tie(colleague, contact, 0.5)
    await graph.tie(r2_person, contact, 0.5)
    await graph.tie(r4_person, r1_person, 0.5)

    result = await _rank(client, tenant, account_id, rep_ids=[r1, r2, r4], max_hops=1)

    # R2 keeps only its direct 0.5; R4's only path had two hops.
    assert _scores(result) == [(str(r1), 0.9, 1), (str(r2), 0.5, 1)]
    assert result["candidates_without_path"] == [str(r4)]
    default = await _rank(client, tenant, account_id, rep_ids=[r1, r2, r4])
    assert default["max_hops"] == 2
    assert _scores(default) == [(str(r1), 0.9, 1), (str(r2), 0.5, 1), (str(r4), 0.225, 1)]


async def test_recency_decay_halves_a_tie_every_180_days(
    client: httpx.AsyncClient, tenant: TenantWithKey, graph: Graph
) -> None:
    account_id = await insert_account(graph.sessionmaker, tenant_id=tenant.tenant_id)
    contact = await graph.contact("C", account_id=account_id)
    now = datetime.now(UTC)
    half, quarter, undated, future, two_hop = [await graph.rep(f"R{n}") for n in range(5)]
    colleague = await graph.contact("X")
    await graph.tie(half[1], contact, 0.8, last_interaction_at=now - timedelta(days=180))
    await graph.tie(quarter[1], contact, 0.8, last_interaction_at=now - timedelta(days=360))
    await graph.tie(undated[1], contact, 0.3)  # never decayed: we cannot say it went cold
    await graph.tie(future[1], contact, 0.1, last_interaction_at=now + timedelta(days=90))
    await graph.tie(two_hop[1], colleague, 0.5, last_interaction_at=now)
    await graph.tie(colleague, contact, 0.6, last_interaction_at=now - timedelta(days=180))

    result = await _rank(
        client,
        tenant,
        account_id,
        rep_ids=[rep_id for rep_id, _ in (half, quarter, undated, future, two_hop)],
    )

    # 0.8 × 0.5 = 0.4; 0.8 × 0.25 = 0.2; 0.3 as is; a future date is no boost: 0.1;
    # one introduction 0.5 × 0.5 (today) × 0.6 × 0.5 = 0.075.
    assert _scores(result) == [
        (str(half[0]), 0.4, 1),
        (str(undated[0]), 0.3, 1),
        (str(quarter[0]), 0.2, 1),
        (str(future[0]), 0.1, 1),
        (str(two_hop[0]), 0.075, 1),
    ]
    two_hop_path = result["ranked"][4]["paths"][0]
    assert two_hop_path["strengths"] == pytest.approx([0.5, 0.3])
    assert [tie["recency"] for tie in two_hop_path["ties"]] == pytest.approx([1.0, 0.5], abs=1e-4)


async def test_cycles_and_detours_through_the_account_are_not_paths(
    client: httpx.AsyncClient, tenant: TenantWithKey, graph: Graph
) -> None:
    account_id = await insert_account(graph.sessionmaker, tenant_id=tenant.tenant_id)
    other_account_id = await insert_account(graph.sessionmaker, tenant_id=tenant.tenant_id)
    contact = await graph.contact("C1", account_id=account_id)
    contacts_colleague = await graph.contact("C2", account_id=account_id)
    partner = await graph.contact("P", account_id=other_account_id)
    rep_id, rep_person = await graph.rep("R")
    await graph.tie(rep_person, contact, 0.5)
    await graph.tie(rep_person, partner, 0.5)
    await graph.tie(partner, contact, 0.5)
    await graph.tie(contact, contacts_colleague, 0.9)
    # A rep whose person record sits at the account is a rep, not one of its contacts.
    _, rep_at_account = await graph.rep("Former employee", account_id=account_id)
    await graph.tie(rep_person, rep_at_account, 0.9)

    result = await _rank(client, tenant, account_id, rep_ids=[rep_id], max_hops=3)

    # C1: R-C1 (0.5) beats R-P-C1 (0.5 × 0.25), P being at another account. C2 is not reached:
    # R-C1-C2 reached the account at C1 already (a contact is never the middle of a path, or
    # one tie to C1 would count again for each of C1's colleagues); R's colleague whose person
    # has the account's id is a rep, not a contact.
    assert _scores(result) == [(str(rep_id), 0.5, 1)]
    assert _path_ids(result["ranked"][0]) == [[str(rep_person), str(contact)]]


async def test_several_kinds_of_tie_between_two_people_count_once_at_the_strongest(
    client: httpx.AsyncClient, tenant: TenantWithKey, graph: Graph
) -> None:
    account_id = await insert_account(graph.sessionmaker, tenant_id=tenant.tenant_id)
    contact = await graph.contact("C", account_id=account_id)
    colleague = await graph.contact("X")
    rep_id, rep_person = await graph.rep("R")
    await graph.tie(rep_person, contact, 0.3, kind="email")
    await graph.tie(rep_person, contact, 0.6, kind="meeting")
    await graph.tie(rep_person, colleague, 0.5, kind="colleague")
    await graph.tie(rep_person, colleague, 0.2, kind="social")
    await graph.tie(colleague, contact, 0.8)

    result = await _rank(client, tenant, account_id, rep_ids=[rep_id])

    # R-C: meeting 0.6 × 0.9 = 0.54 beats email 0.3 × 0.7; R-X-C 0.5 × 0.5 × 0.8 = 0.2.
    assert _scores(result) == [(str(rep_id), 0.54, 1)]
    assert result["ranked"][0]["paths"][0]["ties"][0]["kind"] == "meeting"


async def test_many_routes_to_one_contact_count_once_and_three_paths_are_shown(
    client: httpx.AsyncClient, tenant: TenantWithKey, graph: Graph
) -> None:
    account_id = await insert_account(graph.sessionmaker, tenant_id=tenant.tenant_id)
    contact = await graph.contact("C", account_id=account_id)
    hub_id, hub_person = await graph.rep("Hub")
    strong_id, strong_person = await graph.rep("Strong")
    for n in range(12):
        friend = await graph.contact(f"Friend {n}")
        await graph.tie(hub_person, friend, 0.5)
        await graph.tie(friend, contact, 0.2 if n < 10 else 0.1)
    await graph.tie(strong_person, contact, 0.7)

    result = await _rank(client, tenant, account_id, rep_ids=[hub_id, strong_id])

    # Hub: twelve routes to one contact, the best 0.5 × 0.5 × 0.2 = 0.05: it does not win by
    # count. Strong's single 0.7 wins.
    assert _scores(result) == [(str(strong_id), 0.7, 1), (str(hub_id), 0.05, 1)]
    hub = result["ranked"][1]
    assert [path["score"] for path in hub["paths"]] == pytest.approx([0.05])
    # Four contacts reached: the best three paths are shown, strongest first.
    for n, strength in enumerate((0.3, 0.6, 0.4)):
        await graph.tie(
            strong_person, await graph.contact(f"C{n}", account_id=account_id), strength
        )
    result = await _rank(client, tenant, account_id, rep_ids=[strong_id])
    strong = result["ranked"][0]
    assert strong["path_count"] == 4
    assert [path["score"] for path in strong["paths"]] == pytest.approx([0.7, 0.6, 0.4])
    assert strong["score"] == pytest.approx(1 - 0.3 * 0.7 * 0.4 * 0.6)


async def test_order_is_score_then_more_paths_then_rep_id(
    client: httpx.AsyncClient, tenant: TenantWithKey, graph: Graph
) -> None:
    account_id = await insert_account(graph.sessionmaker, tenant_id=tenant.tenant_id)
    first_contact = await graph.contact("C1", account_id=account_id)
    second_contact = await graph.contact("C2", account_id=account_id)
    # The rep reaching two contacts gets the larger rep_id: only the count rule puts it first.
    smaller_id, larger_id = sorted([uuid.uuid4(), uuid.uuid4()])
    one_path = await graph.rep("One path", rep_id=smaller_id)
    two_paths = await graph.rep("Two paths", rep_id=larger_id)
    best, tied_a, tied_b = [await graph.rep(f"R{n}") for n in range(3)]
    await graph.tie(best[1], first_contact, 1.0)  # a certain introduction: ln(1 - 1) is no error
    await graph.tie(one_path[1], first_contact, 0.75)
    await graph.tie(two_paths[1], first_contact, 0.5)
    await graph.tie(two_paths[1], second_contact, 0.5)  # 1 - 0.5 × 0.5 = 0.75 too, two paths
    await graph.tie(tied_a[1], first_contact, 0.6)
    await graph.tie(tied_b[1], second_contact, 0.6)
    smaller, larger = sorted([tied_a[0], tied_b[0]])
    everyone = [best[0], one_path[0], two_paths[0], tied_a[0], tied_b[0]]

    result = await _rank(client, tenant, account_id, rep_ids=everyone)

    assert _scores(result) == [
        (str(best[0]), 1.0, 1),
        (str(two_paths[0]), 0.75, 2),
        (str(one_path[0]), 0.75, 1),
        (str(smaller), 0.6, 1),
        (str(larger), 0.6, 1),
    ]
    top_two = await _rank(client, tenant, account_id, rep_ids=everyone, limit=2)
    assert _scores(top_two) == _scores(result)[:2]
    assert top_two["candidates_without_path"] == []  # ranked beyond the limit is not "no path"


@pytest.mark.parametrize("max_hops", [1, 2, 3])
async def test_other_tenants_people_and_ties_never_make_a_path(
    client: httpx.AsyncClient,
    tenant: TenantWithKey,
    other_tenant: TenantWithKey,
    graph: Graph,
    max_hops: int,
) -> None:
    account_id = await insert_account(graph.sessionmaker, tenant_id=tenant.tenant_id)
    # Ids ordered low < contact < high, so the ties below are stored with our rep in
    # person_a_id once and in person_b_id once: both index directions are exercised.
    low, middle, high = sorted(uuid.uuid4() for _ in range(3))
    contact = await graph.contact("C", account_id=account_id, person_id=middle)
    low_rep_id, low_rep_person = await graph.rep("R low", person_id=low)
    high_rep_id, high_rep_person = await graph.rep("R high", person_id=high)
    # Two of our people who know the contact but lead to no rep: with max_hops >= 2 the walk
    # holds more people than there are candidates, so the last hop is looked up from the reps'
    # side; with max_hops = 1 from the contact's side.
    for name in ("Bystander 1", "Bystander 2"):
        await graph.tie(await graph.contact(name), contact, 0.9)
    theirs = Graph(graph.sessionmaker, other_tenant.tenant_id)
    outsider = await theirs.contact("Outsider")
    their_rep_id, their_rep_person = await theirs.rep("Their rep")
    their_contact = await theirs.contact("Their contact at our account", account_id=account_id)
    # Rows the API refuses, written directly: ties of theirs between our people, ties of ours
    # through their person and to their person placed at our account, their rep tied to our
    # contact and to their person at our account.
    for rep_person in (low_rep_person, high_rep_person):
        await graph.tie(rep_person, contact, 1.0, tenant_id=other_tenant.tenant_id)
        await graph.tie(rep_person, outsider, 1.0)
    await graph.tie(outsider, contact, 1.0)
    await theirs.tie(their_rep_person, their_contact, 1.0)
    await theirs.tie(their_rep_person, contact, 1.0, tenant_id=tenant.tenant_id)
    await graph.tie(low_rep_person, their_contact, 1.0)
    candidates = [low_rep_id, high_rep_id, their_rep_id]

    result = await _rank(client, tenant, account_id, rep_ids=candidates, max_hops=max_hops)

    assert result["ranked"] == []
    assert result["candidates_without_path"] == [str(rep_id) for rep_id in candidates]

    # Real ties of ours count at exactly their strength: nothing of theirs adds to them.
    await graph.tie(low_rep_person, contact, 0.3, kind="referral")
    await graph.tie(high_rep_person, contact, 0.2, kind="referral")
    result = await _rank(client, tenant, account_id, rep_ids=candidates, max_hops=max_hops)
    assert _scores(result) == [(str(low_rep_id), 0.3, 1), (str(high_rep_id), 0.2, 1)]
    assert result["candidates_without_path"] == [str(their_rep_id)]
    everyone = await client.get(
        f"/proximity/accounts/{account_id}/reps?max_hops={max_hops}", headers=tenant.headers
    )
    assert _scores(everyone.json()) == _scores(result)
    assert everyone.json()["candidates_without_path"] == []


async def test_get_ranks_every_rep_of_the_tenant(
    client: httpx.AsyncClient,
    tenant: TenantWithKey,
    graph: Graph,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    account_id = await insert_account(graph.sessionmaker, tenant_id=tenant.tenant_id)
    contact = await graph.contact("C", account_id=account_id)
    close, far, lonely_a, lonely_b = [await graph.rep(f"R{n}") for n in range(4)]
    colleague = await graph.contact("X")
    await graph.tie(close[1], contact, 0.8)
    await graph.tie(far[1], colleague, 0.5)
    await graph.tie(colleague, contact, 0.5)
    await insert_rep(sessionmaker, tenant_id=tenant.tenant_id)  # no person: not in the graph
    read_token = await add_key(sessionmaker, tenant_id=tenant.tenant_id, scopes=["read"])
    read_only = {"X-API-Key": read_token}

    response = await client.get(f"/proximity/accounts/{account_id}/reps", headers=read_only)

    assert response.status_code == 200, response.text
    result = response.json()
    assert _scores(result) == [(str(close[0]), 0.8, 1), (str(far[0]), 0.125, 1)]
    # Every rep with a person is a candidate; those without a path come by rep_id.
    assert result["candidates_without_path"] == sorted([str(lonely_a[0]), str(lonely_b[0])])
    one_hop = await client.get(
        f"/proximity/accounts/{account_id}/reps?limit=1&max_hops=1", headers=read_only
    )
    assert _scores(one_hop.json()) == [(str(close[0]), 0.8, 1)]
    assert one_hop.json()["candidates_without_path"] == sorted(
        [str(far[0]), str(lonely_a[0]), str(lonely_b[0])]
    )
    posted = await _rank(client, tenant, account_id)
    assert posted["ranked"] == result["ranked"]


async def test_repeated_candidates_count_once_and_an_account_without_contacts_ranks_no_one(
    client: httpx.AsyncClient, tenant: TenantWithKey, graph: Graph
) -> None:
    account_id = await insert_account(graph.sessionmaker, tenant_id=tenant.tenant_id)
    empty_account_id = await insert_account(graph.sessionmaker, tenant_id=tenant.tenant_id)
    contact = await graph.contact("C", account_id=account_id)
    rep_id, rep_person = await graph.rep("R")
    lonely_id, _ = await graph.rep("L")
    await graph.tie(rep_person, contact, 0.4)

    result = await _rank(client, tenant, account_id, rep_ids=[lonely_id, rep_id, lonely_id])
    assert _scores(result) == [(str(rep_id), 0.4, 1)]
    assert result["candidates_without_path"] == [str(lonely_id)]

    empty = await _rank(client, tenant, empty_account_id, rep_ids=[rep_id])
    assert empty["ranked"] == []
    assert empty["candidates_without_path"] == [str(rep_id)]
    nobody = await _rank(client, tenant, account_id, rep_ids=[])
    assert nobody == {
        "account_id": str(account_id),
        "max_hops": 2,
        "ranked": [],
        "candidates_without_path": [],
    }


async def test_unknown_or_other_tenant_account_is_404_on_account_id(
    client: httpx.AsyncClient,
    tenant: TenantWithKey,
    other_tenant: TenantWithKey,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    theirs = await insert_account(sessionmaker, tenant_id=other_tenant.tenant_id)
    for account_id in (theirs, uuid.uuid4()):
        posted = await client.post(
            "/proximity/rankings", json={"account_id": str(account_id)}, headers=tenant.headers
        )
        got = await client.get(f"/proximity/accounts/{account_id}/reps", headers=tenant.headers)
        for response in (posted, got):
            assert response.status_code == 404
            assert response.headers["content-type"] == "application/problem+json"
            assert response.json()["field"] == "account_id"
            assert str(account_id) in response.json()["detail"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"max_hops": 0}, "max_hops"),
        ({"max_hops": 4}, "max_hops"),
        ({"limit": 0}, "limit"),
        ({"limit": 101}, "limit"),
        ({"rep_ids": [str(uuid.uuid4()) for _ in range(1001)]}, "rep_ids"),
        ({"rep_ids": ["not-a-uuid"]}, "rep_ids[0]"),
        ({"territory_id": str(uuid.uuid4())}, "territory_id"),
    ],
)
async def test_invalid_body_is_422_naming_the_field(
    client: httpx.AsyncClient, tenant: TenantWithKey, body: dict[str, Any], field: str
) -> None:
    response = await client.post(
        "/proximity/rankings",
        json={"account_id": str(uuid.uuid4()), **body},
        headers=tenant.headers,
    )
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["field"] == field


async def test_get_query_limits_are_422_naming_the_parameter(
    client: httpx.AsyncClient, tenant: TenantWithKey
) -> None:
    for query, field in (("max_hops=4", "max_hops"), ("limit=0", "limit")):
        response = await client.get(
            f"/proximity/accounts/{uuid.uuid4()}/reps?{query}", headers=tenant.headers
        )
        assert response.status_code == 422
        assert response.json()["field"] == field
