"""Request and response bodies for social-proximity rankings of reps for an account."""

import uuid

from pydantic import BaseModel, ConfigDict, Field

from shared.models import PersonKind

MAX_CANDIDATES = 1000
DEFAULT_MAX_HOPS, LONGEST_MAX_HOPS = 2, 3
DEFAULT_LIMIT, MAX_LIMIT = 10, 100
PATHS_SHOWN = 3
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


class TieTermRead(BaseModel):
    """One tie of a warm path and the factors of its weight."""

    kind: str = Field(description="The kind that gives this pair its strongest tie")
    strength: float = Field(description="The tie's strength as stored")
    kind_weight: float = Field(description="The weight of its kind")
    recency: float = Field(description="0.5 ^ (days since the last interaction / half-life)")
    weight: float = Field(description="min(1, strength × kind_weight) × recency")


class WarmPathRead(BaseModel):
    """The best simple path from the rep's person to one contact at the account."""

    people: list[PathPersonRead] = Field(description="The rep first, the account's contact last")
    strengths: list[float] = Field(
        description="Each tie's weight (`ties[i].weight`), in the order of `people`"
    )
    ties: list[TieTermRead] = Field(description="Each tie and the factors of its weight")
    damping: list[float] = Field(
        description="Hub damping of each person in the middle (1 below the hub degree)"
    )
    hop_decay: float = Field(description="hop_decay ^ (ties - 1): what the introductions cost")
    score: float = Field(description="hop_decay × the product of the weights and the damping")
    contribution: float = Field(
        description="How much the rep's score would fall without this contact's path"
    )


class RankedRepRead(BaseModel):
    rep_id: uuid.UUID
    score: float = Field(
        ge=0,
        le=1,
        description=(
            "Noisy-or over the account's contacts of the rep's best path to each: "
            "1 - Π(1 - path score), 6 decimals (README, Proximity scores)"
        ),
    )
    path_count: int = Field(
        description="Contacts of the account the rep reaches within max_hops (one best path each)"
    )
    paths: list[WarmPathRead] = Field(description="The best 3 paths, strongest first")


class RankingRead(BaseModel):
    account_id: uuid.UUID
    max_hops: int
    ranked: list[RankedRepRead] = Field(
        description="Highest score first, then more contacts reached, then rep_id ascending"
    )
    candidates_without_path: list[uuid.UUID] = Field(
        description=(
            "Candidates with no path within max_hops (unknown rep ids and reps without a person "
            "included): the requested order, or by rep_id when every rep was a candidate"
        )
    )


class CloseAccountRead(BaseModel):
    account_id: uuid.UUID
    score: float = Field(ge=0, le=1, description="The rep's score for this account, as in rankings")
    path_count: int = Field(description="Contacts of the account the rep reaches")
    paths: list[WarmPathRead] = Field(description="The best 3 paths, strongest first")


class CloseAccountsRead(BaseModel):
    """A rep's social territory today: the accounts they are closest to."""

    rep_id: uuid.UUID
    max_hops: int
    accounts: list[CloseAccountRead] = Field(
        description="Highest score first, then more contacts reached, then account_id"
    )
