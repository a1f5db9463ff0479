"""Rankings: which reps are socially closest to an account, by warm paths through the graph."""

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from services.proximity.rankings import reference_queries, repository
from services.proximity.rankings.errors import AccountNotFound
from services.proximity.rankings.schemas import RankingRead


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
    rows = await repository.rank_reps(
        session,
        tenant_id=tenant_id,
        account_id=account_id,
        rep_ids=candidates,
        max_hops=max_hops,
        limit=limit,
    )
    return RankingRead.model_validate(
        {
            "account_id": account_id,
            "max_hops": max_hops,
            "ranked": rows.ranked,
            "candidates_without_path": rows.candidates_without_path,
        }
    )
