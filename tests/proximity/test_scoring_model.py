"""The scoring maths (services/proximity/scoring): hand-computed values, orderings a person can
check, monotonicity, and the sparse engine against a brute-force enumeration of simple paths."""

import itertools
import math
import random
import uuid

import numpy as np
import pytest

from services.proximity.scoring.graph import GraphRows, TenantGraph
from services.proximity.scoring.model import ScoringModel

FLAT = ScoringModel(hop_decay=1.0, hub_degree=1e9, kind_weights={}, unknown_kind_weight=1.0)
ACCOUNT = uuid.UUID(int=1)


def _rows(
    people: list[tuple[str, str]], ties: list[tuple[int, int, float, str, float]]
) -> GraphRows:
    """people: (kind, role) with role 'rep', 'contact' (at ACCOUNT) or 'other'; ties:
    (a, b, strength, kind, age_days or NaN)."""
    return GraphRows(
        person_ids=[uuid.UUID(int=1000 + i) for i in range(len(people))],
        person_names=[f"P{i}" for i in range(len(people))],
        person_kinds=[kind for kind, _ in people],
        rep_ids=[
            uuid.UUID(int=2000 + i) if role == "rep" else None for i, (_, role) in enumerate(people)
        ],
        account_ids=[ACCOUNT if role == "contact" else None for _, role in people],
        edge_a=np.array([t[0] for t in ties], dtype=np.int64),
        edge_b=np.array([t[1] for t in ties], dtype=np.int64),
        edge_kind=[t[3] for t in ties],
        edge_strength=np.array([t[2] for t in ties], dtype=np.float64),
        edge_age_days=np.array([t[4] for t in ties], dtype=np.float64),
    )


REP, CONTACT, OTHER = ("rep", "rep"), ("contact", "contact"), ("contact", "other")
NAN = math.nan


def _scores(graph: TenantGraph, max_hops: int = 3) -> dict[int, float]:
    ranked, _ = graph.rank(ACCOUNT, rep_ids=None, max_hops=max_hops, limit=100, paths_shown=3)
    return {rep.rep_id.int - 2000: rep.score for rep in ranked}


def test_hand_computed_scores_with_every_factor() -> None:
    # 0 rep, 1 contact, 2 contact, 3 middle, 4 rep, 5 middle, 6 middle.
    people = [REP, CONTACT, CONTACT, OTHER, REP, OTHER, OTHER]
    ties = [
        (0, 1, 0.9, "colleague", NAN),  # direct, fresh: 0.9
        (0, 3, 0.8, "email", 180.0),  # email 0.7, one half-life: 0.8·0.7·0.5 = 0.28
        (3, 2, 1.0, "colleague", NAN),
        (4, 5, 1.0, "meeting", NAN),  # 0.9
        (5, 6, 0.5, "colleague", 360.0),  # 0.5 · 0.25 = 0.125
        (6, 2, 0.8, "referral", NAN),  # 0.8
    ]
    graph = TenantGraph(_rows(people, ties), ScoringModel(), version=1)
    scores = _scores(graph)
    # Rep 0: contact 1 direct 0.9; contact 2 via 3: decay 0.5 · 0.28 · 1.0 = 0.14.
    assert scores[0] == pytest.approx(1 - (1 - 0.9) * (1 - 0.14), abs=1e-6)
    # Rep 4: 0.5² · 0.9 · 0.125 · 0.8 = 0.0225.
    assert scores[4] == pytest.approx(0.0225, abs=1e-6)
    ranked, _ = graph.rank(ACCOUNT, rep_ids=None, max_hops=3, limit=10, paths_shown=3)
    path = ranked[1].paths[0]
    assert path.people == [4, 5, 6, 2]
    assert [edge.weight for edge in path.edges] == pytest.approx([0.9, 0.125, 0.8])
    assert [edge.recency for edge in path.edges] == pytest.approx([1.0, 0.25, 1.0])
    assert path.hop_decay == pytest.approx(0.25)
    assert path.score == pytest.approx(0.0225)
    # With only 2 hops, rep 4 has no path.
    assert 4 not in _scores(graph, max_hops=2)


def test_strong_recent_direct_tie_beats_a_stale_three_hop_one() -> None:
    people = [REP, REP, CONTACT, OTHER, OTHER]
    ties = [
        (0, 2, 0.6, "colleague", 10.0),
        (1, 3, 1.0, "colleague", 700.0),
        (3, 4, 1.0, "colleague", 700.0),
        (4, 2, 1.0, "colleague", 700.0),
    ]
    scores = _scores(TenantGraph(_rows(people, ties), ScoringModel(), version=1))
    assert scores[0] > scores[1] > 0


def test_a_hub_does_not_win_by_count() -> None:
    # Rep 0 knows one contact well; rep 1 reaches the same contact through 300 people, each of
    # them tied to the contact: many routes to one person are one piece of evidence (max).
    people = [REP, REP, CONTACT] + [OTHER] * 300
    ties = [(0, 2, 0.7, "colleague", NAN)]
    ties += [(1, 3 + i, 0.9, "colleague", NAN) for i in range(300)]
    ties += [(3 + i, 2, 0.9, "colleague", NAN) for i in range(300)]
    scores = _scores(TenantGraph(_rows(people, ties), ScoringModel(), version=1))
    assert scores[1] == pytest.approx(0.5 * 0.81)
    assert scores[0] > scores[1]
    # A middle person with 400 ties (hub_degree 100) introduces at half strength.
    people = [REP, CONTACT, OTHER] + [OTHER] * 398
    ties = [(0, 2, 1.0, "colleague", NAN), (2, 1, 1.0, "colleague", NAN)]
    ties += [(2, 3 + i, 0.1, "colleague", NAN) for i in range(398)]
    scores = _scores(TenantGraph(_rows(people, ties), ScoringModel(), version=1))
    assert scores[0] == pytest.approx(0.5 * math.sqrt(100 / 400))


def _brute_force(rows: GraphRows, model: ScoringModel, max_hops: int) -> dict[int, float]:
    """Every simple path enumerated, by the formula of model.py."""
    n = len(rows.person_ids)
    weight: dict[tuple[int, int], float] = {}
    for a, b, kind, strength, age in zip(
        rows.edge_a,
        rows.edge_b,
        rows.edge_kind,
        rows.edge_strength,
        rows.edge_age_days,
        strict=True,
    ):
        recency = 1.0 if math.isnan(age) else 0.5 ** (max(age, 0) / model.half_life_days)
        w = min(1.0, strength * model.kind_weight(kind)) * recency
        for key in ((int(a), int(b)), (int(b), int(a))):
            weight[key] = max(weight.get(key, 0.0), w)
    degree = [sum(1 for (a, _) in weight if a == i) for i in range(n)]
    damping = [min(1.0, math.sqrt(model.hub_degree / max(d, 1))) for d in degree]
    contacts = [i for i in range(n) if rows.account_ids[i] == ACCOUNT]
    middles = [i for i in range(n) if i not in contacts]
    scores = {}
    for r in (i for i in range(n) if rows.rep_ids[i] is not None):
        best = []
        for c in contacts:
            p = 0.0
            for hops in range(1, max_hops + 1):
                for middle in itertools.permutations([m for m in middles if m != r], hops - 1):
                    path = [r, *middle, c]
                    value = model.hop_decay ** (hops - 1)
                    for a, b in zip(path[:-1], path[1:], strict=True):
                        value *= weight.get((a, b), 0.0)
                    for m in middle:
                        value *= damping[m]
                    p = max(p, value)
            best.append(p)
        score = 1 - math.prod(1 - p for p in best)
        if score > 0:
            scores[r] = round(score, 6)
    return scores


@pytest.mark.parametrize("seed", range(12))
def test_engine_matches_brute_force_on_random_graphs(seed: int) -> None:
    rng = random.Random(seed)
    n = 11
    roles = [REP] * 3 + [CONTACT] * 3 + [OTHER] * (n - 6)
    pairs = [(a, b) for a in range(n) for b in range(a + 1, n)]
    ties = [
        (
            a,
            b,
            rng.choice([0.2, 0.5, 0.9, 1.0]),
            rng.choice(["colleague", "email", "x"]),
            rng.choice([NAN, 30.0, 400.0]),
        )
        for a, b in rng.sample(pairs, 22)
    ]
    ties += [(a, b, 0.3, "social", NAN) for a, b, *_ in ties[:4]]  # second kinds of a pair
    rows = _rows(roles, ties)
    model = ScoringModel(hub_degree=3.0)
    graph = TenantGraph(rows, model, version=1)
    for hops in (1, 2, 3):
        assert _scores(graph, hops) == pytest.approx(_brute_force(rows, model, hops), abs=1e-6)


def test_a_new_tie_never_lowers_a_score() -> None:
    rng = random.Random(7)
    roles = [REP] * 3 + [CONTACT] * 3 + [OTHER] * 6
    pairs = [(a, b) for a in range(12) for b in range(a + 1, 12)]
    rng.shuffle(pairs)
    ties: list[tuple[int, int, float, str, float]] = []
    before = _scores(TenantGraph(_rows(roles, ties), FLAT, version=1))
    for a, b in pairs[:40]:
        ties.append((a, b, rng.choice([0.3, 0.8]), "colleague", NAN))
        after = _scores(TenantGraph(_rows(roles, ties), FLAT, version=1))
        for rep, score in before.items():
            assert after[rep] >= score - 1e-12
        before = after


def test_a_reps_closest_accounts_are_the_accounts_ranked_exactly() -> None:
    rng = random.Random(3)
    n = 30
    accounts = [uuid.UUID(int=10 + i) for i in range(6)]
    roles = [REP] * 3 + [OTHER] * (n - 3)
    pairs = [(a, b) for a in range(n) for b in range(a + 1, n)]
    ties = [(a, b, rng.choice([0.3, 0.6, 1.0]), "colleague", NAN) for a, b in rng.sample(pairs, 70)]
    rows = _rows(roles, ties)
    account_ids = [None] * 3 + [rng.choice(accounts) for _ in range(n - 3)]
    rows = GraphRows(
        **{**{f: getattr(rows, f) for f in rows.__dataclass_fields__}, "account_ids": account_ids}
    )
    graph = TenantGraph(rows, ScoringModel(hub_degree=4.0), version=1)
    for rep_id in graph.rep_ids:
        for hops in (1, 2, 3):
            expected = []
            for account_id in accounts:
                ranked, _ = graph.rank(
                    account_id, rep_ids=[rep_id], max_hops=hops, limit=1, paths_shown=0
                )
                expected += [(account_id, ranked[0].score) for _ in ranked]
            expected.sort(key=lambda item: -item[1])
            found = graph.closest_accounts(rep_id, max_hops=hops, limit=3, paths_shown=0)
            assert [score.score for _, score in found] == pytest.approx(
                [score for _, score in expected[:3]]
            )


def test_the_matrix_is_every_ranking_at_once() -> None:
    rng = random.Random(5)
    n = 40
    accounts = [uuid.UUID(int=10 + i) for i in range(7)]
    roles = [REP] * 4 + [OTHER] * (n - 4)
    pairs = [(a, b) for a in range(n) for b in range(a + 1, n)]
    ties = [
        (a, b, rng.choice([0.3, 0.6, 1.0]), "colleague", NAN) for a, b in rng.sample(pairs, 110)
    ]
    rows = _rows(roles, ties)
    account_ids = [None] * 4 + [rng.choice(accounts) for _ in range(n - 4)]
    rows = GraphRows(
        **{**{f: getattr(rows, f) for f in rows.__dataclass_fields__}, "account_ids": account_ids}
    )
    graph = TenantGraph(rows, ScoringModel(hub_degree=5.0), version=1)
    for hops in (1, 2, 3):
        for block in (1, 3, 1000):
            matrix = graph.matrix(max_hops=hops, block_contacts=block)
            for row, account_id in enumerate(graph.account_ids):
                ranked, _ = graph.rank(
                    account_id, rep_ids=None, max_hops=hops, limit=100, paths_shown=0
                )
                expected = np.zeros(len(graph.rep_ids))
                for rep in ranked:
                    expected[graph.rep_position[rep.rep_id]] = rep.score
                assert np.round(matrix[row], 6) == pytest.approx(expected, abs=1e-6)
