"""HTTP endpoints for social-proximity rankings of reps for an account."""

import uuid
from typing import Annotated

from fastapi import APIRouter, Query

from services.proximity.rankings import service
from services.proximity.rankings.schemas import (
    DEFAULT_LIMIT,
    DEFAULT_MAX_HOPS,
    LIMIT_DESCRIPTION,
    LONGEST_MAX_HOPS,
    MAX_HOPS_DESCRIPTION,
    MAX_LIMIT,
    CloseAccountsRead,
    RankingRead,
    RankingRequest,
)
from shared.auth import ReadPrincipal
from shared.db import SessionDep
from shared.errors import problem_doc

router = APIRouter(prefix="/proximity", tags=["rankings"])


@router.post(
    "/rankings",
    operation_id="rankings.rank",
    responses={404: problem_doc("The account is not in this tenant")},
)
async def rank_reps(
    body: RankingRequest, session: SessionDep, principal: ReadPrincipal
) -> RankingRead:
    """Rank reps by social proximity to an account: best warm path per contact, noisy-or.

    A path runs from the rep's person through up to `max_hops` ties to a contact at the account;
    its score is 0.5 per introduction × each tie's min(1, strength × kind weight), halved for
    every 180 days since the last interaction × hub damping of the people in the middle. A rep's
    score is 1 - Π(1 - best path score) over the account's contacts. Ties in score go to the rep
    reaching more contacts, then to the smaller rep_id. README "Proximity scores" has the why.
    """
    return await service.rank_reps(
        session,
        tenant_id=principal.tenant_id,
        account_id=body.account_id,
        rep_ids=body.rep_ids,
        max_hops=body.max_hops,
        limit=body.limit,
    )


@router.get("/accounts/{account_id}/reps", operation_id="rankings.for_account")
async def rank_all_reps(
    account_id: uuid.UUID,
    session: SessionDep,
    principal: ReadPrincipal,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description=LIMIT_DESCRIPTION)] = DEFAULT_LIMIT,
    max_hops: Annotated[
        int, Query(ge=1, le=LONGEST_MAX_HOPS, description=MAX_HOPS_DESCRIPTION)
    ] = DEFAULT_MAX_HOPS,
) -> RankingRead:
    """Rank every rep of the tenant by social proximity to an account (as POST /rankings)."""
    return await service.rank_reps(
        session,
        tenant_id=principal.tenant_id,
        account_id=account_id,
        rep_ids=None,
        max_hops=max_hops,
        limit=limit,
    )


@router.get(
    "/reps/{rep_id}/accounts",
    operation_id="rankings.for_rep",
    responses={404: problem_doc("The rep is not in this tenant")},
)
async def closest_accounts(
    rep_id: uuid.UUID,
    session: SessionDep,
    principal: ReadPrincipal,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description=LIMIT_DESCRIPTION)] = DEFAULT_LIMIT,
    max_hops: Annotated[
        int, Query(ge=1, le=LONGEST_MAX_HOPS, description=MAX_HOPS_DESCRIPTION)
    ] = DEFAULT_MAX_HOPS,
) -> CloseAccountsRead:
    """The accounts a rep is socially closest to (their social territory today), scored as
    rankings score them."""
    return await service.closest_accounts(
        session, tenant_id=principal.tenant_id, rep_id=rep_id, max_hops=max_hops, limit=limit
    )
