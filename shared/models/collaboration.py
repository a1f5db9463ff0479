"""Collaboration on territory plans: change requests with approval, their history, comments."""

import enum
import uuid
from datetime import datetime

from sqlalchemy import (
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    String,
    Text,
    text,
)
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column

from shared.models.assignment import _enum
from shared.models.base import Base, CreatedAt, TenantId, UpdatedAt, UuidPk


class ChangeRequestStatus(enum.StrEnum):
    proposed = "proposed"
    approved = "approved"
    rejected = "rejected"
    withdrawn = "withdrawn"
    published = "published"


class ChangeRequest(Base):
    """A scenario proposed for publication; only an approved one may be published."""

    __tablename__ = "change_request"
    __table_args__ = (
        # One live proposal per scenario: a second one while the first is undecided (or approved
        # and not yet published) would leave two verdicts for the same plan.
        Index(
            "uq_change_request_open_per_scenario",
            "tenant_id",
            "scenario_id",
            unique=True,
            postgresql_where=text("status IN ('proposed', 'approved')"),
        ),
    )

    id: Mapped[UuidPk]
    tenant_id: Mapped[TenantId]
    scenario_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("scenario.id", ondelete="CASCADE"), index=True
    )
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    status: Mapped[ChangeRequestStatus] = mapped_column(
        _enum(ChangeRequestStatus, "change_request_status"),
        server_default=ChangeRequestStatus.proposed.value,
    )
    # API keys, not people: keys are the identities this platform has. SET NULL keeps the
    # history readable after a key is deleted.
    proposed_by: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("api_key.id", ondelete="SET NULL")
    )
    decided_by: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("api_key.id", ondelete="SET NULL")
    )
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[CreatedAt]
    updated_at: Mapped[UpdatedAt]


class ChangeRequestEvent(Base):
    """One step in a change request's history (proposed, approved, rejected, …), never edited."""

    __tablename__ = "change_request_event"

    id: Mapped[UuidPk]
    tenant_id: Mapped[TenantId]
    change_request_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("change_request.id", ondelete="CASCADE"), index=True
    )
    action: Mapped[str] = mapped_column(String(32))
    actor_key_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("api_key.id", ondelete="SET NULL")
    )
    comment: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[CreatedAt]


class CommentSubject(enum.StrEnum):
    territory = "territory"
    scenario = "scenario"
    change_request = "change_request"


class Comment(Base):
    """A remark on a territory, a scenario or a change request, optionally replying to another."""

    __tablename__ = "comment"
    __table_args__ = (
        Index("ix_comment_subject", "tenant_id", "subject_type", "subject_id", "created_at"),
    )

    id: Mapped[UuidPk]
    tenant_id: Mapped[TenantId]
    # Polymorphic subject: territories live in the assignment service's tables, so no FK.
    subject_type: Mapped[CommentSubject] = mapped_column(_enum(CommentSubject, "comment_subject"))
    subject_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    reply_to: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("comment.id", ondelete="CASCADE")
    )
    body: Mapped[str] = mapped_column(Text)
    author_key_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("api_key.id", ondelete="SET NULL")
    )
    created_at: Mapped[CreatedAt]
    updated_at: Mapped[UpdatedAt]


class PlanningSettings(Base):
    """Per-tenant planning policy: whether every publish needs an approved change request."""

    __tablename__ = "planning_settings"

    tenant_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("tenant.id", ondelete="CASCADE"), primary_key=True
    )
    require_approval: Mapped[bool] = mapped_column(Boolean, server_default="false")
    updated_at: Mapped[UpdatedAt]
