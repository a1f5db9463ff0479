"""The sparse engine against the recursive SQL reference (rankings/repository.py) on the same rows.

The models agree where every rep has at most one simple path to each contact (a tree) and the
new factors are neutral (no per-hop decay, kind weight 1, no hub damping): both are then the
noisy-or over the account's contacts of the product of the recency-decayed tie strengths. Where
they differ (several routes to one contact: SQL noisy-ors them, the engine takes the best) is the
model change documented in services/proximity/scoring/model.py.
"""

import random
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.proximity.rankings import repository as reference
from services.proximity.scoring import repository
from services.proximity.scoring.graph import TenantGraph
from services.proximity.scoring.model import ScoringModel
from shared.models import Account, Connection, Person, PersonKind, Rep
from tests.factories import TenantWithKey

NEUTRAL = ScoringModel(hop_decay=1.0, hub_degree=1e9, kind_weights={}, unknown_kind_weight=1.0)


@pytest.mark.parametrize("seed", range(4))
async def test_engine_matches_the_sql_reference_on_trees(
    sessionmaker: async_sessionmaker[AsyncSession], tenant: TenantWithKey, seed: int
) -> None:
    rng = random.Random(seed)
    tenant_id = tenant.tenant_id
    now = datetime.now(UTC)
    accounts = [uuid.uuid4() for _ in range(3)]
    people: list[Person] = []
    reps: list[Rep] = []
    for n in range(40):
        role = rng.choice(["rep", "contact", "contact", "other"])
        person = Person(id=uuid.uuid4(), tenant_id=tenant_id, name=f"P{n}", kind=PersonKind.contact)
        if role == "rep":
            rep = Rep(id=uuid.uuid4(), tenant_id=tenant_id, name=f"R{n}")
            reps.append(rep)
            person.kind, person.rep_id = PersonKind.rep, rep.id
        elif role == "contact":
            person.account_id = rng.choice(accounts)
        people.append(person)
    ties = []
    for n in range(1, len(people)):  # a random tree: one simple path between any two people
        a, b = sorted((people[n].id, people[rng.randrange(n)].id))
        age = rng.choice([None, 10, 200, 500])
        for kind in rng.sample(["colleague", "email"], rng.choice([1, 2])):
            ties.append(
                Connection(
                    tenant_id=tenant_id,
                    person_a_id=a,
                    person_b_id=b,
                    kind=kind,
                    strength=rng.choice([0.3, 0.6, 0.9, 1.0]),
                    last_interaction_at=None if age is None else now - timedelta(days=age),
                )
            )
    async with sessionmaker() as session, session.begin():
        session.add_all(
            [Account(id=a, tenant_id=tenant_id, external_id=str(a), name="A") for a in accounts]
        )
        session.add_all(reps)
        await session.flush()
        session.add_all(people)
        await session.flush()
        session.add_all(ties)

    async with sessionmaker() as session, session.begin():
        graph = TenantGraph(
            await repository.load_graph(await repository.driver_of(session), tenant_id=tenant_id),
            NEUTRAL,
            version=1,
        )
        compared = 0
        for account_id in accounts:
            for max_hops in (1, 2, 3):
                rows = await reference.rank_reps(
                    session,
                    tenant_id=tenant_id,
                    account_id=account_id,
                    rep_ids=None,
                    max_hops=max_hops,
                    limit=100,
                )
                expected = {rep["rep_id"]: rep["score"] for rep in rows.ranked}
                ranked, _ = graph.rank(
                    account_id, rep_ids=None, max_hops=max_hops, limit=100, paths_shown=3
                )
                assert {str(rep.rep_id): rep.score for rep in ranked} == pytest.approx(
                    expected, abs=1e-4
                )
                compared += len(expected)
        assert compared > 0
