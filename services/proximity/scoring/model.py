"""The proximity scoring model: one formula, its parameters and why (README "Proximity scores").

Edge weight of a tie u–v (several kinds between the same two people are one route; the best counts):

    w(u, v) = max over kinds of  min(1, strength × kind_weight[kind]) × 0.5 ^ (age_days / half_life)

Hub damping of a person m in the middle of a path (never the rep or the contact at its ends):

    h(m) = min(1, sqrt(hub_degree / degree(m)))

Best path from a rep's person r to a contact c, at most ``max_hops`` ties, simple:

    p(r, c) = max over paths r = v0 – v1 – … – vk = c, k ≤ max_hops, of
              hop_decay ^ (k - 1) × Π_i w(v_i, v_i+1) × Π_{0<i<k} h(v_i)

    (the middle people v1 … vk-1 are never contacts of the same account: reaching one arrived)

A rep's score for an account with contacts C is the noisy-or over the contacts:

    score(r, A) = 1 - Π_{c in C} (1 - p(r, c))                      in [0, 1]

Why: a buyer answers the rep they already know, so one strong recent direct tie (w close to 1)
dominates; every introduction costs ``hop_decay``; a tie not used for a half-life counts half
(two quarters: one B2B sales cycle); a hub (a person with thousands of ties) is a weak introducer,
so a rep does not win by count through hubs; and several *people* at the account who know the rep
are independent evidence (noisy-or), while several routes to the *same* person are not (max). The
score depends only on the paths between the rep and the account, so it is comparable across
accounts and does not move when unrelated parts of the graph change. A new tie never lowers a
score, except through hub damping when it pushes a middle person's degree over ``hub_degree``.
"""

from dataclasses import dataclass, field

# Default weights per connection kind: how much a tie of this kind says about a warm introduction.
# A tenant's own weights replace these (kind_weights); a kind not listed counts UNKNOWN_KIND_WEIGHT.
DEFAULT_KIND_WEIGHTS: dict[str, float] = {
    "colleague": 1.0,
    "referral": 1.0,
    "meeting": 0.9,
    "former_colleague": 0.8,
    "call": 0.8,
    "email": 0.7,
    "email_thread": 0.7,
    "social": 0.5,
    "social_network": 0.5,
    "shared_school": 0.4,
}
UNKNOWN_KIND_WEIGHT = 0.5


@dataclass(frozen=True, slots=True)
class ScoringModel:
    """Parameters of the formula in this module's docstring."""

    hop_decay: float = 0.5
    half_life_days: float = 180.0
    hub_degree: float = 100.0
    kind_weights: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_KIND_WEIGHTS))
    unknown_kind_weight: float = UNKNOWN_KIND_WEIGHT

    def kind_weight(self, kind: str) -> float:
        return self.kind_weights.get(kind, self.unknown_kind_weight)


DEFAULT_MODEL = ScoringModel()


def tenant_model(kind_weights: dict[str, float]) -> ScoringModel:
    """The stated model with a tenant's own kind weights on top of the defaults."""
    return ScoringModel(kind_weights=DEFAULT_KIND_WEIGHTS | kind_weights)
