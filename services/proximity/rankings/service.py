"""Rankings: which reps are socially closest to an account, by warm paths through the graph.

Answered from the tenant's cached sparse graph (services/proximity/scoring); the recursive SQL
of ``repository.rank_reps`` is kept as the reference the tests and the benchmark compare with.
"""

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from services.proximity.people import reference_queries as people_reference_queries
from services.proximity.people.errors import RepNotFound
from services.proximity.rankings import reference_queries
from services.proximity.rankings.errors import AccountNotFound
from services.proximity.rankings.schemas import PATHS_SHOWN, CloseAccountsRead, RankingRead
from services.proximity.scoring import cache, repository
from services.proximity.scoring.graph import PathTerm, RepScore, TenantGraph


def _path_read(graph: TenantGraph, path: PathTerm) -> dict[str, object]:
    return {
        "people": [
            {
                "id": graph.person_ids[person],
                "name": graph.person_names[person],
                "kind": graph.person_kinds[person],
            }
            for person in path.people
        ],
        "strengths": [round(tie.weight, 6) for tie in path.edges],
        "ties": [
            {
                "kind": tie.kind,
                "strength": tie.strength,
                "kind_weight": tie.kind_weight,
                "recency": round(tie.recency, 6),
                "weight": round(tie.weight, 6),
            }
            for tie in path.edges
        ],
        "damping": [round(value, 6) for value in path.damping],
        "hop_decay": path.hop_decay,
        "score": round(path.score, 6),
        "contribution": round(path.contribution, 6),
    }


def _scored(graph: TenantGraph, score: RepScore) -> dict[str, object]:
    return {
        "score": score.score,
        "path_count": score.contacts_reached,
        "paths": [_path_read(graph, path) for path in score.paths],
    }


async def closest_accounts(
    session: AsyncSession, *, tenant_id: uuid.UUID, rep_id: uuid.UUID, max_hops: int, limit: int
) -> CloseAccountsRead:
    """The accounts ``rep_id`` is socially closest to (none when the rep has no person)."""
    if not await people_reference_queries.rep_exists(session, tenant_id=tenant_id, rep_id=rep_id):
        raise RepNotFound(rep_id)
    graph = await cache.tenant_graph(await repository.driver_of(session), tenant_id=tenant_id)
    found = graph.closest_accounts(rep_id, max_hops=max_hops, limit=limit, paths_shown=PATHS_SHOWN)
    return CloseAccountsRead.model_validate(
        {
            "rep_id": rep_id,
            "max_hops": max_hops,
            "accounts": [
                {"account_id": account_id, **_scored(graph, score)} for account_id, score in found
            ],
        }
    )


async def rank_reps(
    session: AsyncSession,
    *,
    tenant_id: uuid.UUID,
    account_id: uuid.UUID,
    rep_ids: list[uuid.UUID] | None,
    max_hops: int,
    limit: int,
) -> RankingRead:
    """Rank ``rep_ids`` (or every rep of the tenant when None) for ``account_id``."""
    if not await reference_queries.account_exists(
        session, tenant_id=tenant_id, account_id=account_id
    ):
        raise AccountNotFound(account_id)
    # A repeated id is one candidate; the first mention keeps its place in the answer.
    candidates = list(dict.fromkeys(rep_ids)) if rep_ids is not None else None
    graph = await cache.tenant_graph(await repository.driver_of(session), tenant_id=tenant_id)
    ranked, without_path = graph.rank(
        account_id, rep_ids=candidates, max_hops=max_hops, limit=limit, paths_shown=PATHS_SHOWN
    )
    return RankingRead.model_validate(
        {
            "account_id": account_id,
            "max_hops": max_hops,
            "ranked": [{"rep_id": rep.rep_id, **_scored(graph, rep)} for rep in ranked],
            "candidates_without_path": without_path,
        }
    )
