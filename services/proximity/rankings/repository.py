"""SQL for rankings: one recursive query over the social graph; every step filtered by tenant."""

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, text
from sqlalchemy.dialects.postgresql import ARRAY, JSON, UUID
from sqlalchemy.ext.asyncio import AsyncSession

# A tie counts half after this many days without an interaction: about two quarters, one B2B
# sales cycle. A rep who last met the contact a year ago is a quarter as warm as one who met them
# this week. Ties with no known last interaction are not decayed (we cannot say they went cold).
RECENCY_HALF_LIFE_DAYS = 180
# The noisy-or takes only a rep's best paths, so a hub (a rep with hundreds of weak two-hop
# routes through one popular colleague) cannot beat a rep with one strong direct tie by count.
MAX_PATHS_PER_REP = 10
PATHS_SHOWN_PER_REP = 3
# Scores are rounded before ordering so that floating-point noise from exp/ln never decides a
# tie that the "more paths, then rep_id" rule should decide.
SCORE_DECIMALS = 6

# strength × 0.5^(age / half-life); age clamped at 0 so a future timestamp cannot boost a tie.
# float8 throughout: power() on numeric (what a bare 0.5 and extract() give) is ~10× slower.
_DECAYED_STRENGTH = """
    c.strength * CASE
        WHEN c.last_interaction_at IS NULL THEN 1.0::float8
        ELSE power(
            0.5::float8,
            greatest(0.0::float8, extract(epoch FROM now() - c.last_interaction_at)::float8)
                / (86400.0 * :half_life_days)::float8
        )
    END
"""


def _ties_of(person_column: str) -> str:
    """A LATERAL subquery: the people tied to ``person_column`` and the strongest decayed tie.

    Both directions of the undirected pair, each through its own index: connection(person_a_id,
    ...) for one, connection(person_b_id) for the other. Several kinds of tie between the same two
    people (colleague and email) are one route, not independent evidence: the strongest counts.
    """
    return f"""(
        SELECT tie.person_id, max(tie.strength) AS strength
        FROM (
            SELECT c.person_b_id AS person_id, {_DECAYED_STRENGTH} AS strength
            FROM connection c
            WHERE c.tenant_id = :tenant_id AND c.person_a_id = {person_column}
          UNION ALL
            SELECT c.person_a_id, {_DECAYED_STRENGTH}
            FROM connection c
            WHERE c.tenant_id = :tenant_id AND c.person_b_id = {person_column}
        ) tie
        GROUP BY tie.person_id
    )"""


# How it runs (checked with EXPLAIN ANALYZE on 5,000 people and 55,000 ties: every connection
# lookup is an index scan on person_a_id or person_b_id, driven by a LATERAL, never a scan):
# - ``walk`` starts at the account's contacts and goes outward max_hops - 1 steps through
#   ``_ties_of``; ``path`` (rep side first) keeps paths simple. Intermediate people are anyone of
#   the tenant except the account's own contacts: a path that reached contact C1 has arrived, and
#   going on to C1's colleague C2 is not another route into the account.
# - ``last_hop`` is the tie between a candidate rep and a person on the walk, looked up from the
#   smaller side: the candidates' ties (a territory's few members: the hot path) or the ties of
#   the people on the walk (every rep of a large tenant, few hops). A one-time filter skips the
#   other branch entirely.
# - Tenant: seed contacts, every connection, every person stepped onto and every candidate rep
#   are filtered by tenant_id, so another tenant's people or ties never appear on a path, even if
#   a connection row pointed across tenants.
_RANKING_SQL = f"""
WITH RECURSIVE
candidate_rep AS MATERIALIZED (
    SELECT p.id AS person_id, p.rep_id
    FROM person p
    WHERE p.tenant_id = :tenant_id AND p.kind = 'rep' AND p.rep_id IS NOT NULL
      AND (NOT :restrict OR p.rep_id = ANY (CAST(:rep_ids AS uuid[])))
),
walk (person_id, hops, path, strengths, score) AS (
    SELECT p.id, 0, ARRAY[p.id], ARRAY[]::float8[], 1.0::float8
    FROM person p
    WHERE p.tenant_id = :tenant_id AND p.account_id = :account_id AND p.kind = 'contact'
  UNION ALL
    SELECT step.person_id, w.hops + 1, step.person_id || w.path, step.strength || w.strengths,
           w.score * step.strength
    FROM walk w
    CROSS JOIN LATERAL {_ties_of("w.person_id")} step
    JOIN person np ON np.id = step.person_id AND np.tenant_id = :tenant_id
    WHERE w.hops < :max_hops - 1
      AND step.person_id <> ALL (w.path)
      AND np.account_id IS DISTINCT FROM :account_id
),
walk_person AS MATERIALIZED (
    SELECT DISTINCT w.person_id FROM walk w
),
side AS MATERIALIZED (
    SELECT (SELECT count(*) FROM candidate_rep) <= (SELECT count(*) FROM walk_person) AS from_reps
),
-- Ties of the people on the walk, for when that side is the smaller; joined to the candidates
-- afterwards, with one hash on candidate_rep rather than one per person.
walk_tie AS MATERIALIZED (
    SELECT wp.person_id AS walk_person_id, tie.person_id, tie.strength
    FROM walk_person wp
    CROSS JOIN LATERAL {_ties_of("wp.person_id")} tie
    WHERE NOT (SELECT from_reps FROM side)
),
last_hop AS MATERIALIZED (
    SELECT cr.person_id AS rep_person_id, cr.rep_id, tie.person_id AS walk_person_id, tie.strength
    FROM candidate_rep cr
    CROSS JOIN LATERAL {_ties_of("cr.person_id")} tie
    WHERE (SELECT from_reps FROM side)
  UNION ALL
    SELECT cr.person_id, cr.rep_id, wt.walk_person_id, wt.strength
    FROM walk_tie wt JOIN candidate_rep cr ON cr.person_id = wt.person_id
),
found AS (
    SELECT lh.rep_id, lh.rep_person_id || w.path AS path, lh.strength || w.strengths AS strengths,
           w.score * lh.strength AS score
    FROM walk w JOIN last_hop lh ON lh.walk_person_id = w.person_id
    WHERE lh.rep_person_id <> ALL (w.path)
),
ranked_path AS (
    SELECT f.rep_id, f.path, f.strengths, f.score,
           row_number() OVER (PARTITION BY f.rep_id ORDER BY f.score DESC, f.path) AS position
    FROM found f
),
scored AS (
    SELECT rp.rep_id, count(*) AS path_count,
           round(CASE
               -- A path of strength-1 ties is a certain introduction. ln(0) is an error and the
               -- aggregate is computed before the CASE, so such paths stay out of the sum.
               WHEN bool_or(rp.score >= 1) THEN 1
               ELSE 1 - exp(
                   sum(ln(1 - rp.score)) FILTER (WHERE rp.position <= :max_paths AND rp.score < 1)
               )
           END::numeric, :score_decimals) AS score
    FROM ranked_path rp
    GROUP BY rp.rep_id
),
ranked AS (
    SELECT s.rep_id, s.score, s.path_count,
           row_number() OVER (ORDER BY s.score DESC, s.path_count DESC, s.rep_id) AS position
    FROM scored s
    ORDER BY position
    LIMIT :limit
),
shown_path AS (
    SELECT rp.rep_id, rp.position, rp.strengths, rp.score,
           (SELECT json_agg(
                       json_build_object('id', p.id, 'name', p.name, 'kind', p.kind)
                       ORDER BY member.position)
            FROM unnest(rp.path) WITH ORDINALITY AS member (person_id, position)
            JOIN person p ON p.id = member.person_id AND p.tenant_id = :tenant_id) AS people
    FROM ranked_path rp JOIN ranked r ON r.rep_id = rp.rep_id
    WHERE rp.position <= :paths_shown
),
candidate AS (
    SELECT requested.rep_id, requested.position
    FROM unnest(CAST(:rep_ids AS uuid[])) WITH ORDINALITY AS requested (rep_id, position)
    WHERE :restrict
  UNION ALL
    SELECT cr.rep_id, NULL FROM candidate_rep cr WHERE NOT :restrict
)
SELECT
    (SELECT coalesce(json_agg(json_build_object(
                'rep_id', r.rep_id,
                'score', r.score,
                'path_count', r.path_count,
                'paths', (SELECT json_agg(json_build_object(
                                     'people', sp.people, 'strengths', sp.strengths,
                                     'score', sp.score) ORDER BY sp.position)
                          FROM shown_path sp WHERE sp.rep_id = r.rep_id)
            ) ORDER BY r.position), '[]'::json)
     FROM ranked r) AS ranked,
    (SELECT coalesce(array_agg(c.rep_id ORDER BY c.position, c.rep_id), '{{}}')
     FROM candidate c
     WHERE NOT EXISTS (SELECT FROM scored s WHERE s.rep_id = c.rep_id)) AS candidates_without_path
"""

_RANKING_STATEMENT = (
    text(_RANKING_SQL)
    .bindparams(bindparam("rep_ids", type_=ARRAY(UUID(as_uuid=True))))
    .columns(ranked=JSON, candidates_without_path=ARRAY(UUID(as_uuid=True)))
)


STATEMENT_TIMEOUT_MS = 2000


@dataclass(frozen=True, slots=True)
class RankingRows:
    ranked: list[dict[str, Any]]
    candidates_without_path: list[uuid.UUID]


async def rank_reps(
    session: AsyncSession,
    *,
    tenant_id: uuid.UUID,
    account_id: uuid.UUID,
    rep_ids: list[uuid.UUID] | None,
    max_hops: int,
    limit: int,
) -> RankingRows:
    """Reps by social proximity to the account's contacts; ``rep_ids=None`` ranks every rep."""
    # Callers on the lead hot path give up after ~150 ms; don't let the query run on after that.
    await session.execute(text(f"SET LOCAL statement_timeout = {STATEMENT_TIMEOUT_MS}"))
    row = (
        await session.execute(
            _RANKING_STATEMENT,
            {
                "tenant_id": tenant_id,
                "account_id": account_id,
                "restrict": rep_ids is not None,
                "rep_ids": rep_ids or [],
                "max_hops": max_hops,
                "limit": limit,
                "half_life_days": RECENCY_HALF_LIFE_DAYS,
                "max_paths": MAX_PATHS_PER_REP,
                "paths_shown": PATHS_SHOWN_PER_REP,
                "score_decimals": SCORE_DECIMALS,
            },
        )
    ).one()
    return RankingRows(ranked=row.ranked, candidates_without_path=list(row.candidates_without_path))
