"""The generated social graph of issue 9, vectorised: heavy-tailed degrees, communities, 200
reps, accounts with 1-50 contacts; loaded with COPY into its own tenant."""

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import asyncpg
import numpy as np

KINDS = ["colleague", "former_colleague", "email", "meeting", "call", "social", "shared_school"]
COMMUNITY_SIZE = 200
IN_COMMUNITY = 0.8


@dataclass(frozen=True)
class Dataset:
    tenant_id: uuid.UUID
    person_ids: list[uuid.UUID]
    rep_ids: list[uuid.UUID]
    account_ids: list[uuid.UUID]
    tie_count: int


def _ties(rng: np.random.Generator, people: int, ties: int, reps: int) -> np.ndarray:
    """``ties`` distinct unordered pairs (a < b): endpoints by a Pareto propensity (a few hubs
    with thousands of ties), 80% inside the first endpoint's community."""
    propensity = rng.pareto(1.6, people) + 1.0
    propensity[:reps] *= 8.0  # reps are well-connected sellers
    probability = propensity / propensity.sum()
    community = np.arange(people) // COMMUNITY_SIZE
    found = np.zeros((0, 2), dtype=np.int64)
    while len(found) < ties:
        batch = int((ties - len(found)) * 1.3) + 1000
        a = rng.choice(people, size=batch, p=probability)
        b = rng.choice(people, size=batch, p=probability)
        local = rng.random(batch) < IN_COMMUNITY
        # Inside a's community: the same offset within the block, kept heavy-tailed by b's draw.
        b = np.where(local, community[a] * COMMUNITY_SIZE + b % COMMUNITY_SIZE, b) % people
        pairs = np.sort(np.stack([a, b], axis=1), axis=1)
        pairs = pairs[pairs[:, 0] != pairs[:, 1]]
        found = np.unique(np.concatenate([found, pairs]), axis=0)
    return found[rng.permutation(len(found))[:ties]]


async def load(
    connection: asyncpg.Connection,
    *,
    people: int,
    ties: int,
    reps: int,
    accounts: int,
    seed: int = 9,
) -> tuple[Dataset, float]:
    """A new tenant with the graph; returns it and the seconds the COPY of people and ties took."""
    rng = np.random.default_rng(seed)
    tenant_id = uuid.uuid4()
    await connection.execute(
        "INSERT INTO tenant (id, slug, name) VALUES ($1, $2, $2)",
        tenant_id,
        f"bench-proximity-{tenant_id.hex[:12]}",
    )
    rep_ids = [uuid.uuid4() for _ in range(reps)]
    account_ids = [uuid.uuid4() for _ in range(accounts)]
    await connection.copy_records_to_table(
        "rep",
        records=[(r, tenant_id, f"Rep {n}") for n, r in enumerate(rep_ids)],
        columns=["id", "tenant_id", "name"],
    )
    await connection.copy_records_to_table(
        "account",
        records=[(a, tenant_id, f"acct-{n}", f"Account {n}") for n, a in enumerate(account_ids)],
        columns=["id", "tenant_id", "external_id", "name"],
    )
    # Contacts: accounts with 1-50 (Zipf), drawn from the non-reps; the rest belong nowhere.
    sizes = np.clip(rng.zipf(1.8, accounts), 1, 50)
    non_reps = rng.permutation(np.arange(reps, people))
    sizes = sizes[: np.searchsorted(np.cumsum(sizes), len(non_reps) * 0.8)]
    account_of = np.full(people, -1)
    account_of[non_reps[: sizes.sum()]] = np.repeat(np.arange(len(sizes)), sizes)
    person_ids = [uuid.uuid4() for _ in range(people)]
    person_rows = [
        (
            person_ids[n],
            tenant_id,
            "rep" if n < reps else "contact",
            rep_ids[n] if n < reps else None,
            account_ids[account_of[n]] if account_of[n] >= 0 else None,
            f"Person {n}",
        )
        for n in range(people)
    ]
    pairs = _ties(rng, people, ties, reps)
    now = datetime.now(UTC)
    ages = rng.exponential(200.0, len(pairs))
    dated = rng.random(len(pairs)) < 0.7
    strengths = np.round(rng.uniform(0.1, 1.0, len(pairs)), 3)
    kinds = rng.integers(0, len(KINDS), len(pairs))
    tie_rows = []
    for (a, b), strength, kind, age, has_date in zip(
        pairs.tolist(),
        strengths.tolist(),
        kinds.tolist(),
        ages.tolist(),
        dated.tolist(),
        strict=True,
    ):
        low, high = sorted((person_ids[a], person_ids[b]))
        last = now - timedelta(days=age) if has_date else None
        tie_rows.append((uuid.uuid4(), tenant_id, low, high, KINDS[kind], strength, last))
    started = datetime.now(UTC)
    await connection.copy_records_to_table(
        "person",
        records=person_rows,
        columns=["id", "tenant_id", "kind", "rep_id", "account_id", "name"],
    )
    await connection.copy_records_to_table(
        "connection",
        records=tie_rows,
        columns=[
            "id",
            "tenant_id",
            "person_a_id",
            "person_b_id",
            "kind",
            "strength",
            "last_interaction_at",
        ],
    )
    await connection.execute("ANALYZE person; ANALYZE connection")
    seconds = (datetime.now(UTC) - started).total_seconds()
    used_accounts = [account_ids[n] for n in range(len(sizes))]
    return Dataset(tenant_id, person_ids, rep_ids, used_accounts, len(tie_rows)), seconds
