"""The assignment service's calls to the proximity service."""

import uuid

from pydantic import BaseModel

from shared.errors import UpstreamUnavailable
from shared.http_client import ServiceClient


class RankedRep(BaseModel):
    rep_id: uuid.UUID
    score: float


class Ranking(BaseModel):
    ranked: list[RankedRep]


async def rank_reps(
    client: ServiceClient,
    *,
    api_key: str,
    account_id: uuid.UUID,
    rep_ids: list[uuid.UUID],
    timeout_seconds: float,
) -> list[RankedRep]:
    """Reps by social proximity to the account, best first; raises UpstreamUnavailable."""
    response = await client.request(
        "POST",
        "/proximity/rankings",
        api_key=api_key,
        json={
            "account_id": str(account_id),
            "rep_ids": [str(rep_id) for rep_id in rep_ids],
            "limit": len(rep_ids),
        },
        timeout_seconds=timeout_seconds,
        retries=0,
    )
    if response.status_code != 200:
        raise UpstreamUnavailable(
            f"the proximity service answered {response.status_code}", service="proximity"
        )
    return Ranking.model_validate_json(response.content).ranked
