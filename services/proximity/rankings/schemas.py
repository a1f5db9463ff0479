"""Request and response bodies for social-proximity rankings of reps for an account."""

import uuid

from pydantic import BaseModel, ConfigDict, Field

from shared.models import PersonKind

MAX_CANDIDATES = 1000
DEFAULT_MAX_HOPS, LONGEST_MAX_HOPS = 2, 3
DEFAULT_LIMIT, MAX_LIMIT = 10, 100
MAX_HOPS_DESCRIPTION = "Longest path counted, in connections (1 = direct ties only)"
LIMIT_DESCRIPTION = "How many reps to return, best first"


class RankingRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    account_id: uuid.UUID
    rep_ids: list[uuid.UUID] | None = Field(
        default=None,
        max_length=MAX_CANDIDATES,
        description=(
            "Only rank these reps (e.g. a territory's members); absent means every rep with a "
            "person in the graph. Unknown ids are reported in `candidates_without_path`."
        ),
    )
    max_hops: int = Field(
        default=DEFAULT_MAX_HOPS, ge=1, le=LONGEST_MAX_HOPS, description=MAX_HOPS_DESCRIPTION
    )
    limit: int = Field(default=DEFAULT_LIMIT, ge=1, le=MAX_LIMIT, description=LIMIT_DESCRIPTION)


class PathPersonRead(BaseModel):
    id: uuid.UUID
    name: str
    kind: PersonKind


class WarmPathRead(BaseModel):
    """One simple path, from the rep's person to a contact at the account."""

    people: list[PathPersonRead] = Field(description="The rep first, the account's contact last")
    strengths: list[float] = Field(
        description="Each connection's strength after recency decay, in the order of `people`"
    )
    score: float = Field(description="The product of `strengths`")


class RankedRepRead(BaseModel):
    rep_id: uuid.UUID
    score: float = Field(
        ge=0,
        le=1,
        description="Noisy-or of the rep's best paths: 1 - Π(1 - path score), 6 decimals",
    )
    path_count: int = Field(description="Distinct paths found within max_hops (all, not just 10)")
    paths: list[WarmPathRead] = Field(description="The best 3 paths, strongest first")


class RankingRead(BaseModel):
    account_id: uuid.UUID
    max_hops: int
    ranked: list[RankedRepRead] = Field(
        description="Highest score first, then more paths, then rep_id ascending"
    )
    candidates_without_path: list[uuid.UUID] = Field(
        description=(
            "Candidates with no path within max_hops (unknown rep ids and reps without a person "
            "included): the requested order, or by rep_id when every rep was a candidate"
        )
    )
