"""Request and response bodies of the lead lifecycle."""

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from services.assignment.leads.explanation import ExplanationStep
from services.assignment.leads.schemas import AssignmentRead, NamedRef
from shared.validation import Text

AssignmentStatusName = Literal["open", "worked", "converted", "closed", "reassigned"]
# The lead precedence's rules, and "manual" for a reassignment to a named rep.
AssignmentRule = Literal["named_account", "attribute_rule", "geography", "fallback", "manual"]


class TransitionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: Text | None = Field(
        default=None, max_length=1000, description="Why, in the CRM user's words"
    )


class ReassignIn(BaseModel):
    """To a named rep, or (without ``rep_id``) back through the rules of the active alignment."""

    model_config = ConfigDict(extra="forbid")

    rep_id: uuid.UUID | None = Field(
        default=None, description="The rep to hand the lead to; omit to route it again"
    )
    reason: Text | None = Field(default=None, max_length=1000, description="e.g. rep left")


class TransitionRead(BaseModel):
    from_status: AssignmentStatusName
    to_status: AssignmentStatusName
    api_key_id: uuid.UUID | None = Field(description="The key that made the change")
    reason: str | None
    created_at: datetime


class AssignmentRecordRead(AssignmentRead):
    """An assignment with its place in the lead's lifecycle."""

    matched_rule: AssignmentRule  # type: ignore[assignment]
    lead_external_id: str | None
    status: AssignmentStatusName = Field(
        description="open and worked hold the rep's capacity; converted, closed and "
        "reassigned ended"
    )
    status_changed_at: datetime | None
    status_changed_by_key_id: uuid.UUID | None
    status_reason: str | None
    replaces_assignment_id: uuid.UUID | None = Field(
        description="The assignment this reassignment replaced"
    )
    replaced_by_assignment_id: uuid.UUID | None = Field(
        description="The assignment that replaced this one (status reassigned)"
    )


class AssignmentDetailRead(AssignmentRecordRead):
    history: list[TransitionRead] = Field(description="Every status change, oldest first")


class AssignmentPage(BaseModel):
    items: list[AssignmentRecordRead]
    limit: int
    next_cursor: str | None = Field(description="Pass as cursor for the next page; null at the end")


class LeadPreviewRead(BaseModel):
    """Where a lead would go and why: ``POST /assignment/leads``'s answer without its ids."""

    alignment_id: uuid.UUID
    territory: NamedRef | None
    rep: NamedRef | None
    matched_rule: AssignmentRule
    distribution_rule: str | None
    explanation: list[ExplanationStep] = Field(description="Every precedence step, in order")
