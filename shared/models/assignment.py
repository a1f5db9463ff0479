"""Reps, alignments, territories, accounts, leads, assignments and postal-code reference data."""

import enum
import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

from geoalchemy2 import Geometry
from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    Enum,
    Float,
    ForeignKey,
    Identity,
    Index,
    Integer,
    Numeric,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from shared.models.base import Base, CreatedAt, TenantId, UpdatedAt, UuidPk


def _enum(enum_class: type[enum.Enum], name: str) -> Enum:
    """Stored as text with a CHECK, so adding a value is a plain migration."""
    return Enum(
        enum_class,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=32,
        values_callable=lambda members: [member.value for member in members],
    )


class AlignmentStatus(enum.StrEnum):
    draft = "draft"
    active = "active"
    archived = "archived"


class DistributionRule(enum.StrEnum):
    round_robin = "round_robin"
    weighted = "weighted"
    capacity = "capacity"
    proximity = "proximity"


class AssignmentStatus(enum.StrEnum):
    """An assignment's lifecycle: open and worked hold the rep's capacity; the rest ended."""

    open = "open"
    worked = "worked"
    converted = "converted"
    closed = "closed"
    reassigned = "reassigned"


class MemberRole(enum.StrEnum):
    owner = "owner"
    overlay = "overlay"


class Rep(Base):
    __tablename__ = "rep"
    __table_args__ = (UniqueConstraint("tenant_id", "external_id"),)

    id: Mapped[UuidPk]
    tenant_id: Mapped[TenantId]
    external_id: Mapped[str | None] = mapped_column(String(255))
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(320))
    # Maximum number of open assignments; None means unlimited.
    capacity: Mapped[int | None] = mapped_column(
        Integer, CheckConstraint("capacity >= 0", name="capacity_non_negative")
    )
    home: Mapped[Any | None] = mapped_column(Geometry("POINT", srid=4326, spatial_index=True))
    skills: Mapped[list[str]] = mapped_column(ARRAY(Text), server_default="{}")
    segments: Mapped[list[str]] = mapped_column(ARRAY(Text), server_default="{}")
    manager_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("rep.id", ondelete="SET NULL")
    )
    active: Mapped[bool] = mapped_column(Boolean, server_default=text("true"))
    # Open assignments held now; compared with capacity under a row lock, so never exceeds it.
    open_assignments: Mapped[int] = mapped_column(BigInteger, server_default="0")
    created_at: Mapped[CreatedAt]
    updated_at: Mapped[UpdatedAt]


class Alignment(Base):
    __tablename__ = "alignment"
    __table_args__ = (
        # At most one active alignment per tenant: publishing swaps it atomically.
        Index(
            "uq_alignment_one_active_per_tenant",
            "tenant_id",
            unique=True,
            postgresql_where=text("status = 'active'"),
        ),
    )

    id: Mapped[UuidPk]
    tenant_id: Mapped[TenantId]
    name: Mapped[str] = mapped_column(String(200))
    status: Mapped[AlignmentStatus] = mapped_column(
        _enum(AlignmentStatus, "alignment_status"), server_default=AlignmentStatus.draft.value
    )
    effective_from: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    cloned_from_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("alignment.id", ondelete="SET NULL")
    )
    published_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    archived_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Why the draft may be neither edited nor published (a change request under review);
    # null when it is free. Set by any write key, lifted by an admin key only.
    review_hold: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[CreatedAt]
    updated_at: Mapped[UpdatedAt]


class Territory(Base):
    __tablename__ = "territory"
    __table_args__ = (
        UniqueConstraint("alignment_id", "name"),
        Index("ix_territory_tenant_id_alignment_id", "tenant_id", "alignment_id"),
        Index(
            "uq_territory_one_fallback_per_alignment",
            "alignment_id",
            unique=True,
            postgresql_where=text("is_fallback"),
        ),
    )

    id: Mapped[UuidPk]
    tenant_id: Mapped[TenantId]
    alignment_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("alignment.id", ondelete="CASCADE")
    )
    parent_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("territory.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(200))
    # Depth in the hierarchy (0 = top, e.g. region); the deepest match wins in geography routing.
    level: Mapped[int] = mapped_column(Integer, server_default="0")
    geom: Mapped[Any | None] = mapped_column(
        Geometry("MULTIPOLYGON", srid=4326, spatial_index=True)
    )
    # Attribute criteria: a JSON tree of AND/OR groups over lead attributes.
    criteria: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    # Descriptive properties (e.g. a GeoJSON feature's FIPS code): kept, never matched on.
    attributes: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default="{}")
    # Why the stored polygon differs from the one sent (?repair=true); NULL when it does not.
    repair_note: Mapped[str | None] = mapped_column(Text)
    priority: Mapped[int] = mapped_column(Integer, server_default="100")
    distribution_rule: Mapped[DistributionRule] = mapped_column(
        _enum(DistributionRule, "distribution_rule"),
        server_default=DistributionRule.round_robin.value,
    )
    required_skills: Mapped[list[str]] = mapped_column(ARRAY(Text), server_default="{}")
    is_fallback: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    created_at: Mapped[CreatedAt]
    updated_at: Mapped[UpdatedAt]


class TerritoryTurn(Base):
    """A territory's round-robin turn counter, apart from the territory: the counter changes on
    every lead, and rewriting the wide, GiST-indexed territory row each time cost a new row
    version plus index entries; this narrow row updates in place (HOT, fillfactor 50). Its row
    lock serialises the turns of the territory (``assign_lead_commit``, bulk ``reserve``)."""

    __tablename__ = "territory_turn"

    territory_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("territory.id", ondelete="CASCADE"), primary_key=True
    )
    tenant_id: Mapped[TenantId]
    # Monotonic: the number of turns taken so far (round robin picks owner turn mod n).
    turn_counter: Mapped[int] = mapped_column(BigInteger, server_default="0")


class TerritoryMember(Base):
    __tablename__ = "territory_member"
    __table_args__ = (UniqueConstraint("territory_id", "rep_id", "role"),)

    id: Mapped[UuidPk]
    tenant_id: Mapped[TenantId]
    territory_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("territory.id", ondelete="CASCADE")
    )
    rep_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("rep.id", ondelete="CASCADE"), index=True
    )
    role: Mapped[MemberRole] = mapped_column(
        _enum(MemberRole, "member_role"), server_default=MemberRole.owner.value
    )
    weight: Mapped[Decimal] = mapped_column(
        Numeric(10, 4), CheckConstraint("weight > 0", name="weight_positive"), server_default="1"
    )
    assigned_count: Mapped[int] = mapped_column(BigInteger, server_default="0")
    created_at: Mapped[CreatedAt]


class Account(Base):
    __tablename__ = "account"
    __table_args__ = (
        UniqueConstraint("tenant_id", "external_id"),
        Index("ix_account_tenant_id_domain", "tenant_id", "domain"),
    )

    id: Mapped[UuidPk]
    tenant_id: Mapped[TenantId]
    external_id: Mapped[str] = mapped_column(String(255))
    name: Mapped[str] = mapped_column(String(300))
    domain: Mapped[str | None] = mapped_column(String(255))
    location: Mapped[Any | None] = mapped_column(Geometry("POINT", srid=4326, spatial_index=True))
    postal_code: Mapped[str | None] = mapped_column(String(20))
    country: Mapped[str | None] = mapped_column(String(2))
    industry: Mapped[str | None] = mapped_column(String(100))
    employee_count: Mapped[int | None] = mapped_column(Integer)
    annual_revenue: Mapped[Decimal | None] = mapped_column(Numeric(18, 2))
    potential: Mapped[Decimal | None] = mapped_column(Numeric(18, 2))
    attributes: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default="{}")
    owner_rep_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("rep.id", ondelete="SET NULL"), index=True
    )
    # The territory of the active alignment the account falls in by its rules and geography,
    # whoever owns it (placed on every write and on publish).
    territory_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("territory.id", ondelete="SET NULL"), index=True
    )
    # Its owner's territory in the active alignment, where its leads go (the named-account
    # step); NULL without an active owner owning a territory.
    owner_territory_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("territory.id", ondelete="SET NULL"), index=True
    )
    created_at: Mapped[CreatedAt]
    updated_at: Mapped[UpdatedAt]


class Lead(Base):
    __tablename__ = "lead"
    __table_args__ = (
        Index("ix_lead_tenant_id_created_at", "tenant_id", "created_at"),
        # GET /assignment/assignments?lead_external_id=: the CRM's id of the lead.
        Index("ix_lead_tenant_id_external_id", "tenant_id", "external_id"),
        # A bulk job's leads in file order, for its export.
        Index(
            "ix_lead_job_id_job_row_number",
            "job_id",
            "job_row_number",
            postgresql_where=text("job_id IS NOT NULL"),
        ),
    )

    id: Mapped[UuidPk]
    tenant_id: Mapped[TenantId]
    external_id: Mapped[str | None] = mapped_column(String(255))
    email: Mapped[str | None] = mapped_column(String(320))
    domain: Mapped[str | None] = mapped_column(String(255))
    location: Mapped[Any | None] = mapped_column(Geometry("POINT", srid=4326, spatial_index=False))
    postal_code: Mapped[str | None] = mapped_column(String(20))
    country: Mapped[str | None] = mapped_column(String(2))
    industry: Mapped[str | None] = mapped_column(String(100))
    employee_count: Mapped[int | None] = mapped_column(Integer)
    annual_revenue: Mapped[Decimal | None] = mapped_column(Numeric(18, 2))
    attributes: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default="{}")
    job_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("assignment_job.id", ondelete="SET NULL")
    )
    # The lead's row in its bulk upload (1-based, header excluded).
    job_row_number: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[CreatedAt]


class Assignment(Base):
    __tablename__ = "assignment"
    __table_args__ = (
        # Keyset pages of GET /assignment/assignments, newest first, one index per filter
        # (rule and time range ride the first: five rule values are no index's business).
        Index("ix_assignment_tenant_id_created_at_id", "tenant_id", "created_at", "id"),
        Index("ix_assignment_rep_id_created_at_id", "rep_id", "created_at", "id"),
        Index("ix_assignment_territory_id_created_at_id", "territory_id", "created_at", "id"),
        Index(
            "ix_assignment_tenant_id_status_created_at_id",
            "tenant_id",
            "status",
            "created_at",
            "id",
        ),
        Index("ix_assignment_territory_id_rep_id", "territory_id", "rep_id"),
    )

    id: Mapped[UuidPk]
    tenant_id: Mapped[TenantId]
    lead_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("lead.id", ondelete="CASCADE"), index=True
    )
    account_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("account.id", ondelete="SET NULL")
    )
    alignment_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("alignment.id", ondelete="SET NULL")
    )
    territory_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("territory.id", ondelete="SET NULL")
    )
    rep_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("rep.id", ondelete="SET NULL")
    )
    # Which precedence step decided: named_account, attribute_rule, geography or fallback;
    # manual for a reassignment to a named rep.
    matched_rule: Mapped[str] = mapped_column(String(32))
    distribution_rule: Mapped[str | None] = mapped_column(String(32))
    explanation: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, server_default="[]")
    created_at: Mapped[CreatedAt]
    # The lifecycle (services/assignment/assignments): the last transition's time, key and
    # reason; every transition is kept in assignment_transition.
    status: Mapped[AssignmentStatus] = mapped_column(
        _enum(AssignmentStatus, "assignment_status"), server_default=AssignmentStatus.open.value
    )
    status_changed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    status_changed_by_key_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    status_reason: Mapped[str | None] = mapped_column(Text)
    # A reassignment links the two both ways (set in its transaction; read without a search).
    replaces_assignment_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("assignment.id", ondelete="SET NULL")
    )
    replaced_by_assignment_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("assignment.id", ondelete="SET NULL")
    )


class AssignmentTransition(Base):
    """One status change of an assignment: from, to, which key, why, when (never changed)."""

    __tablename__ = "assignment_transition"
    __table_args__ = (Index("ix_assignment_transition_assignment_id_id", "assignment_id", "id"),)

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    tenant_id: Mapped[TenantId]
    assignment_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("assignment.id", ondelete="CASCADE")
    )
    from_status: Mapped[AssignmentStatus] = mapped_column(
        _enum(AssignmentStatus, "assignment_transition_from_status")
    )
    to_status: Mapped[AssignmentStatus] = mapped_column(
        _enum(AssignmentStatus, "assignment_transition_to_status")
    )
    api_key_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    reason: Mapped[str | None] = mapped_column(Text)
    request_id: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[CreatedAt]


class TerritoryPart(Base):
    """Territory polygons cut by ST_Subdivide into pieces of few vertices: point-in-polygon
    tests against them stay fast however detailed the territory's boundary is."""

    __tablename__ = "territory_part"
    __table_args__ = (Index("ix_territory_part_alignment_id", "alignment_id"),)

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    tenant_id: Mapped[TenantId]
    alignment_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("alignment.id", ondelete="CASCADE")
    )
    territory_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("territory.id", ondelete="CASCADE"), index=True
    )
    level: Mapped[int] = mapped_column(Integer)
    # The whole territory's area: where polygons of one level overlap, the smaller one wins.
    territory_area_m2: Mapped[float] = mapped_column(Float)
    geom: Mapped[Any] = mapped_column(Geometry("POLYGON", srid=4326, spatial_index=True))


class TerritoryTileGeometry(Base):
    """A territory polygon as vector tiles read it: in web Mercator (EPSG:3857), simplified for
    one zoom band (services/assignment/tiles/sql/territory_tile_geometry.sql). Written only by
    triggers on ``territory``."""

    __tablename__ = "territory_tile_geometry"
    # One partial GiST index per band: a tile reads one band (a literal in its statement).
    __table_args__ = tuple(
        Index(
            f"idx_territory_tile_geometry_geom_band_{band}",
            "geom",
            postgresql_using="gist",
            postgresql_where=text(f"band = {band}"),
        )
        for band in range(6)
    )

    territory_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("territory.id", ondelete="CASCADE"), primary_key=True
    )
    band: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    tenant_id: Mapped[TenantId]
    # The territory's alignment, copied (its rows go with the territory's).
    alignment_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    geom: Mapped[Any] = mapped_column(Geometry(srid=3857, spatial_index=False))


class AssignmentJobStatus(enum.StrEnum):
    pending = "pending"
    running = "running"
    succeeded = "succeeded"
    failed = "failed"
    cancelled = "cancelled"


class AssignmentJob(Base):
    """A job of a tenant (an upload of leads, or the reassignment of accounts after a publish):
    status, stage, progress, summary and error; queued ones run on the job worker (shared/jobs)."""

    __tablename__ = "assignment_job"

    id: Mapped[UuidPk]
    tenant_id: Mapped[TenantId]
    kind: Mapped[str] = mapped_column(String(32))
    status: Mapped[AssignmentJobStatus] = mapped_column(
        _enum(AssignmentJobStatus, "assignment_job_status"),
        server_default=AssignmentJobStatus.pending.value,
    )
    alignment_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("alignment.id", ondelete="SET NULL")
    )
    total_rows: Mapped[int] = mapped_column(BigInteger, server_default="0")
    processed_rows: Mapped[int] = mapped_column(BigInteger, server_default="0")
    assigned_rows: Mapped[int] = mapped_column(BigInteger, server_default="0")
    failed_rows: Mapped[int] = mapped_column(BigInteger, server_default="0")
    # Where the work is: parsing, staging, matching, distributing, writing.
    stage: Mapped[str | None] = mapped_column(String(32))
    error: Mapped[str | None] = mapped_column(Text)
    summary: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default="{}")
    created_at: Mapped[CreatedAt]
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # The procrastinate job running it (shared/jobs); NULL for a job run inline by the API.
    queue_job_id: Mapped[int | None] = mapped_column(BigInteger)


class AssignmentJobError(Base):
    """One rejected input row of a bulk job: its number in the upload, the field and why."""

    __tablename__ = "assignment_job_error"

    job_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("assignment_job.id", ondelete="CASCADE"), primary_key=True
    )
    row_number: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    field: Mapped[str | None] = mapped_column(String(100))
    message: Mapped[str] = mapped_column(Text)


class PostalCode(Base):
    """Global reference data (not tenant-owned): postal-code centroids for offline geocoding."""

    __tablename__ = "postal_code"

    country: Mapped[str] = mapped_column(String(2), primary_key=True)
    code: Mapped[str] = mapped_column(String(20), primary_key=True)
    place_name: Mapped[str | None] = mapped_column(String(200))
    admin_area: Mapped[str | None] = mapped_column(String(100))
    centroid: Mapped[Any] = mapped_column(Geometry("POINT", srid=4326, spatial_index=True))
