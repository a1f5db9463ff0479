"""The explanation of an assignment: typed steps, one schema for the single and the bulk path,
and the one place their human text is rendered.

Both paths store only the steps' data (``assign_lead_commit`` and ``service._decide`` for one
lead, ``services/assignment/bulk/explanation.py`` as SQL for a million); the text (``detail``)
is rendered here when an assignment is read, so a change of wording touches no stored row and
the two paths can never word the same step differently.
"""

import uuid
from collections.abc import Mapping, Sequence
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

# A lead whose point lies further than this from its postal code's centroid gets a warning.
# 25 km: a US ZIP code's centroid is within ~10 km of almost all of its addresses (urban and
# suburban ZIPs are a few km across; the large rural ones, tens of km, are sparsely populated),
# so beyond 25 km the point or the code is most likely wrong (a typo, a stale geocode, a
# company's head-office ZIP on a branch lead). A warning routes nothing differently, so a rare
# false alarm in a huge rural ZIP costs only a line of text.
POSTAL_DISAGREEMENT_KM = 25.0

ALSO_MATCHED_TIE_BREAK = "lowest priority number, then deeper level, then name"
CONTAINING_TIE_BREAK = "deepest level, then smallest area, then id"


class _Step(BaseModel):
    # Stored rows written before a field existed still read; unknown stored keys are dropped.
    model_config = ConfigDict(extra="ignore")

    detail: str = Field(default="", description="The step in words (rendered, not stored)")


class NamedAccountStep(_Step):
    step: Literal["named_account"] = "named_account"
    outcome: Literal["matched", "skipped", "no_match"]
    account_id: uuid.UUID | None = None
    by: Literal["external_id", "domain"] | None = Field(
        default=None, description="How the account was found"
    )
    rep_id: uuid.UUID | None = Field(default=None, description="The account's owner")
    reason: Literal["no_owner", "inactive_owner"] | None = Field(
        default=None, description="Why a matched account did not decide"
    )


class AttributeRuleStep(_Step):
    step: Literal["attribute_rule"] = "attribute_rule"
    outcome: Literal["matched", "no_match"]
    territory_id: uuid.UUID | None = None
    also_matched: list[uuid.UUID] | None = None
    tie_break: str | None = None
    rules: int | None = Field(default=None, description="How many territory rules were tried")


class GeographyStep(_Step):
    step: Literal["geography"] = "geography"
    outcome: Literal["matched", "no_match", "no_location"]
    territory_id: uuid.UUID | None = None
    point: tuple[float, float] | None = Field(default=None, description="[longitude, latitude]")
    placed_by: Literal["coordinates", "postal_code", "account"] | None = None
    also_containing: list[uuid.UUID] | None = None
    tie_break: str | None = None
    unknown_postal_code: str | None = None


class FallbackStep(_Step):
    step: Literal["fallback"] = "fallback"
    outcome: Literal["matched"] = "matched"
    territory_id: uuid.UUID | None = None


class ProximityRanking(BaseModel):
    rep_id: uuid.UUID
    score: float


class ProximityStep(_Step):
    step: Literal["proximity"] = "proximity"
    outcome: Literal["ranked", "fallback", "skipped"]
    reason: Literal["no_account", "unavailable", "bulk"] | None = None
    error: str | None = Field(default=None, description="What the proximity service answered")
    ranked: int | None = Field(default=None, description="How many reps were ranked")
    ranking: list[ProximityRanking] | None = Field(default=None, description="The first five")


class DistributionStep(_Step):
    step: Literal["distribution"] = "distribution"
    outcome: Literal["assigned", "no_rep"]
    territory_id: uuid.UUID | None = None
    rule: str | None = Field(default=None, description="The territory's distribution rule")
    rep_id: uuid.UUID | None = None
    eligible: int | None = Field(default=None, description="Eligible owners")
    turn: int | None = Field(default=None, description="The round-robin turn used, if any")
    reason: Literal["no_eligible_owner", "at_capacity"] | None = None


class EscalationStep(_Step):
    step: Literal["escalation"] = "escalation"
    outcome: Literal["escalated"] = "escalated"
    from_territory_id: uuid.UUID | None = None
    territory_id: uuid.UUID | None = None
    reason: Literal["no_eligible_owner", "at_capacity"] | None = None


class QueueStep(_Step):
    step: Literal["queue"] = "queue"
    outcome: Literal["queued"] = "queued"
    territory_id: uuid.UUID | None = None


class WarningStep(_Step):
    """Something about the lead's data a person should check; routing went on regardless."""

    step: Literal["warning"] = "warning"
    outcome: Literal["point_far_from_postal_code", "swapped_coordinates"]
    postal_code: str | None = None
    distance_km: float | None = Field(
        default=None, description="From the point to the postal code's centroid"
    )
    threshold_km: float | None = None
    swapped_territory_id: uuid.UUID | None = Field(
        default=None, description="Where the point would lie with latitude and longitude swapped"
    )


class ReassignmentStep(_Step):
    """The lead left an earlier assignment (the lead lifecycle): handed to a rep by a person,
    or routed again through the rules."""

    step: Literal["reassignment"] = "reassignment"
    outcome: Literal["assigned", "rerouted"]
    from_assignment_id: uuid.UUID | None = None
    rep_id: uuid.UUID | None = Field(default=None, description="The rep chosen by hand")
    reason: str | None = Field(default=None, description="Why, in the caller's words")


ExplanationStep = Annotated[
    ReassignmentStep
    | NamedAccountStep
    | AttributeRuleStep
    | GeographyStep
    | FallbackStep
    | ProximityStep
    | DistributionStep
    | EscalationStep
    | QueueStep
    | WarningStep,
    Field(discriminator="step"),
]
_STEPS: TypeAdapter[list[ExplanationStep]] = TypeAdapter(list[ExplanationStep])


def referenced_ids(steps: Sequence[Mapping[str, Any]]) -> set[uuid.UUID]:
    """The ids the text names (territories, reps, accounts): look their names up once."""
    ids: set[uuid.UUID] = set()
    for step in steps:
        for key in (
            "account_id",
            "rep_id",
            "territory_id",
            "from_territory_id",
            "swapped_territory_id",
        ):
            value = step.get(key)
            if value:
                ids.add(uuid.UUID(str(value)))
    return ids


def render(
    steps: Sequence[Mapping[str, Any]], *, names: Mapping[uuid.UUID, str] | None = None
) -> list[ExplanationStep]:
    """Stored steps → typed steps, each with its text. ``names``: what to call an id."""
    typed = _STEPS.validate_python([_without_detail(step) for step in steps])
    known = names or {}
    for step in typed:
        step.detail = _text(step, known)
    return typed


def _without_detail(step: Mapping[str, Any]) -> dict[str, Any]:
    # Rows written before the steps were typed stored their text: it is rendered again.
    return {key: value for key, value in step.items() if key != "detail"}


def _called(value: uuid.UUID | None, names: Mapping[uuid.UUID, str], what: str) -> str:
    if value is None:
        return f"no {what}"
    name = names.get(value)
    return f"{what} {name!r}" if name else f"{what} {value}"


def _text(step: ExplanationStep, names: Mapping[uuid.UUID, str]) -> str:  # noqa: C901
    territory = _called(getattr(step, "territory_id", None), names, "territory")
    match step:
        case ReassignmentStep():
            why = f": {step.reason}" if step.reason else ""
            if step.outcome == "assigned":
                return f"Reassigned by hand to {_called(step.rep_id, names, 'rep')}{why}."
            return f"Routed again through the rules of the active alignment{why}."
        case NamedAccountStep(outcome="no_match"):
            return "No account has this external account id or domain."
        case NamedAccountStep(outcome="matched"):
            how = f" by {step.by.replace('_', ' ')}" if step.by else ""
            return (
                f"Matched {_called(step.account_id, names, 'account')}{how}; "
                f"it is owned by {_called(step.rep_id, names, 'rep')}."
            )
        case NamedAccountStep():
            how = f" by {step.by.replace('_', ' ')}" if step.by else ""
            why = "has an inactive owner" if step.reason == "inactive_owner" else "has no owner"
            return f"Matched {_called(step.account_id, names, 'account')}{how}, but it {why}."
        case AttributeRuleStep(outcome="matched"):
            text = f"The rules of {territory} match the lead."
            if step.also_matched:
                text += f" {len(step.also_matched)} more matched; tie broken by {step.tie_break}."
            return text
        case AttributeRuleStep():
            count = f"of the {step.rules} " if step.rules is not None else ""
            return f"None {count}territory rules match."
        case GeographyStep(outcome="no_location"):
            if step.unknown_postal_code:
                return (
                    f"The lead has no coordinates and postal code {step.unknown_postal_code} "
                    "is unknown."
                )
            return "The lead has no coordinates."
        case GeographyStep():
            source = {
                "account": "its account's location",
                "postal_code": "its postal code's centroid",
            }.get(step.placed_by or "", "its coordinates")
            if step.outcome == "no_match":
                return f"No territory contains the lead, placed by {source}."
            text = f"The lead, placed by {source}, lies in {territory}."
            if step.also_containing:
                text += (
                    f" {len(step.also_containing)} more contain it; tie broken by {step.tie_break}."
                )
            return text
        case FallbackStep():
            return f"Nothing more specific matched: the alignment's fallback, {territory}."
        case ProximityStep(outcome="ranked"):
            return f"The proximity service ranked {step.ranked} rep(s) with a warm path."
        case ProximityStep(reason="no_account"):
            return (
                "No account matched, so there is nothing to rank proximity against; "
                "round robin instead."
            )
        case ProximityStep(reason="bulk"):
            return "Bulk assignment does not consult the proximity service; round robin instead."
        case ProximityStep():
            error = f" ({step.error})" if step.error else ""
            return f"The proximity service did not answer in time{error}; round robin instead."
        case DistributionStep(outcome="no_rep", reason="at_capacity"):
            return f"Every eligible owner of {territory} is at capacity."
        case DistributionStep(outcome="no_rep"):
            return (
                f"{territory[:1].upper()}{territory[1:]} has no active owner with the "
                "required skills."
            )
        case DistributionStep():
            among = f" among {step.eligible} eligible owner(s)" if step.eligible else ""
            how = {
                "weighted": "weighted round robin (the rep furthest below their weighted share)",
                "capacity": f"round robin over the reps with capacity left, turn {step.turn}",
                "proximity": "the highest-ranked eligible rep with capacity left"
                if step.turn is None
                else f"round robin, turn {step.turn}",
            }.get(step.rule or "", f"round robin, turn {step.turn}")
            rep = _called(step.rep_id, names, "rep")
            return f"{rep[:1].upper()}{rep[1:]} of {territory}, picked by {how}{among}."
        case EscalationStep():
            why = (
                "every eligible owner is at capacity"
                if step.reason == "at_capacity"
                else "it has no active owner with the required skills"
            )
            return (
                f"No rep of {_called(step.from_territory_id, names, 'territory')} can take the "
                f"lead ({why}): escalated to the alignment's fallback, {territory}."
            )
        case QueueStep():
            return f"No rep can take the lead now; it waits in the queue of {territory}."
        case WarningStep(outcome="point_far_from_postal_code"):
            return (
                f"The lead's point is {step.distance_km:.0f} km from the centroid of its postal "
                f"code {step.postal_code} (more than {step.threshold_km:.0f} km): check the "
                "coordinates or the postal code; the point was used."
            )
        case WarningStep():
            where = _called(step.swapped_territory_id, names, "territory")
            return (
                "The lead's point lies in no territory, but with latitude and longitude swapped "
                f"it would lie in {where}: check the coordinates' order."
            )
    return ""
