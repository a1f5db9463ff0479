"""Basic geographic units, their adjacency, and territory-design scenarios."""

import enum
import uuid
from datetime import datetime
from typing import Any

from geoalchemy2 import Geometry
from sqlalchemy import (
    Boolean,
    CheckConstraint,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from shared.models.assignment import _enum
from shared.models.base import Base, CreatedAt, TenantId, UpdatedAt, UuidPk


class ScenarioStatus(enum.StrEnum):
    pending = "pending"
    running = "running"
    succeeded = "succeeded"
    failed = "failed"
    cancelled = "cancelled"


class UnitSetKind(enum.StrEnum):
    polygon = "polygon"
    point = "point"


class AdjacencyRule(enum.StrEnum):
    rook = "rook"  # a shared boundary of positive length
    queen = "queen"  # touching at a point is enough


class AdjacencyKind(enum.StrEnum):
    border = "border"  # computed from shared boundaries
    explicit = "explicit"  # given (point units' edge lists)
    island = "island"  # a unit or component with no neighbour joined to its nearest unit


class OverrideAction(enum.StrEnum):
    add = "add"
    remove = "remove"


class ImportStatus(enum.StrEnum):
    pending = "pending"
    running = "running"
    succeeded = "succeeded"
    failed = "failed"


class UnitSet(Base):
    """A set of basic units a design runs on: polygons (adjacency from shared boundaries) or
    points (adjacency given as an edge list). Each tenant has one default set for the
    ``/planning/units`` routes that name none."""

    __tablename__ = "unit_set"
    __table_args__ = (
        UniqueConstraint("tenant_id", "name"),
        Index(
            "uq_unit_set_default",
            "tenant_id",
            unique=True,
            postgresql_where=text("is_default"),
        ),
        CheckConstraint("min_shared_border_m >= 0", name="min_shared_border_non_negative"),
    )

    id: Mapped[UuidPk]
    tenant_id: Mapped[TenantId]
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[UnitSetKind] = mapped_column(
        _enum(UnitSetKind, "unit_set_kind"), server_default=UnitSetKind.polygon.value
    )
    adjacency: Mapped[AdjacencyRule] = mapped_column(
        _enum(AdjacencyRule, "adjacency_rule"), server_default=AdjacencyRule.rook.value
    )
    min_shared_border_m: Mapped[float] = mapped_column(Float, server_default="0")
    # Measures every imported unit must carry (numbers), e.g. ["accounts", "potential"].
    required_measures: Mapped[list[str]] = mapped_column(JSONB, server_default="[]")
    is_default: Mapped[bool] = mapped_column(Boolean, server_default="false")
    adjacency_built_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[CreatedAt]
    updated_at: Mapped[UpdatedAt]


class BasicUnit(Base):
    __tablename__ = "basic_unit"
    __table_args__ = (UniqueConstraint("tenant_id", "unit_set_id", "code"),)

    id: Mapped[UuidPk]
    tenant_id: Mapped[TenantId]
    unit_set_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("unit_set.id", ondelete="CASCADE"), index=True
    )
    code: Mapped[str] = mapped_column(String(100))
    name: Mapped[str | None] = mapped_column(String(200))
    # A polygon unit's shape; a point unit's Voronoi cell (for maps and accounts by location).
    geom: Mapped[Any | None] = mapped_column(
        Geometry("MULTIPOLYGON", srid=4326, spatial_index=True)
    )
    # A point unit's location (a ZIP centroid…); null for polygon units.
    point: Mapped[Any | None] = mapped_column(Geometry("POINT", srid=4326, spatial_index=True))
    # Balancing measures, e.g. {"accounts": 120, "potential": 1.5e6, "workload": 340}.
    measures: Mapped[dict[str, float]] = mapped_column(JSONB, server_default="{}")
    created_at: Mapped[CreatedAt]
    updated_at: Mapped[UpdatedAt]


class UnitAdjacency(Base):
    __tablename__ = "unit_adjacency"
    __table_args__ = (CheckConstraint("unit_a_id < unit_b_id", name="ordered_pair"),)

    tenant_id: Mapped[TenantId]
    unit_a_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("basic_unit.id", ondelete="CASCADE"), primary_key=True
    )
    # Indexed: deleting a unit (or a set of 50,000) looks its edges up by either end.
    unit_b_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True),
        ForeignKey("basic_unit.id", ondelete="CASCADE"),
        primary_key=True,
        index=True,
    )
    shared_border_m: Mapped[float] = mapped_column(Float, server_default="0")
    unit_set_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("unit_set.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[AdjacencyKind] = mapped_column(
        _enum(AdjacencyKind, "adjacency_kind"), server_default=AdjacencyKind.border.value
    )
    # An island link: the distance between the two units (metres) and the one on the island.
    distance_m: Mapped[float | None] = mapped_column(Float)
    island_unit_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))


class AdjacencyOverride(Base):
    """A planner's correction of a unit set's adjacency (a river: remove; a bridge: add),
    applied on top of the computed or given edges whenever a design runs."""

    __tablename__ = "adjacency_override"
    __table_args__ = (
        UniqueConstraint("unit_set_id", "unit_a_id", "unit_b_id"),
        CheckConstraint("unit_a_id < unit_b_id", name="ordered_pair"),
    )

    id: Mapped[UuidPk]
    tenant_id: Mapped[TenantId]
    unit_set_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("unit_set.id", ondelete="CASCADE")
    )
    unit_a_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("basic_unit.id", ondelete="CASCADE"), index=True
    )
    unit_b_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("basic_unit.id", ondelete="CASCADE"), index=True
    )
    action: Mapped[OverrideAction] = mapped_column(_enum(OverrideAction, "override_action"))
    reason: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[CreatedAt]


class UnitImport(Base):
    """A bulk import of units into a set, run on the job worker: progress, counts and the
    per-feature errors. The upload itself waits in ``unit_import_upload`` until the job."""

    __tablename__ = "unit_import"

    id: Mapped[UuidPk]
    tenant_id: Mapped[TenantId]
    unit_set_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("unit_set.id", ondelete="CASCADE"), index=True
    )
    format: Mapped[str] = mapped_column(String(16))
    skip_invalid: Mapped[bool] = mapped_column(Boolean, server_default="false")
    status: Mapped[ImportStatus] = mapped_column(
        _enum(ImportStatus, "unit_import_status"), server_default=ImportStatus.pending.value
    )
    stage: Mapped[str | None] = mapped_column(String(64))
    progress: Mapped[float] = mapped_column(Float, server_default="0")
    features: Mapped[int | None] = mapped_column(Integer)
    imported: Mapped[int] = mapped_column(Integer, server_default="0")
    error_count: Mapped[int] = mapped_column(Integer, server_default="0")
    errors: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, server_default="[]")
    error: Mapped[str | None] = mapped_column(Text)
    timings: Mapped[dict[str, float]] = mapped_column(JSONB, server_default="{}")
    created_at: Mapped[CreatedAt]
    updated_at: Mapped[UpdatedAt]
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class UnitImportUpload(Base):
    """The body of a queued import, as sent; deleted when its job has read it."""

    __tablename__ = "unit_import_upload"

    import_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("unit_import.id", ondelete="CASCADE"), primary_key=True
    )
    tenant_id: Mapped[TenantId]
    body: Mapped[str] = mapped_column(Text)


class Scenario(Base):
    __tablename__ = "scenario"

    id: Mapped[UuidPk]
    tenant_id: Mapped[TenantId]
    name: Mapped[str] = mapped_column(String(200))
    unit_set_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("unit_set.id", ondelete="CASCADE"), index=True
    )
    alignment_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("alignment.id", ondelete="SET NULL")
    )
    base_alignment_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("alignment.id", ondelete="SET NULL")
    )
    parameters: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default="{}")
    statistics: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    status: Mapped[ScenarioStatus] = mapped_column(
        _enum(ScenarioStatus, "scenario_status"), server_default=ScenarioStatus.pending.value
    )
    progress: Mapped[float] = mapped_column(Float, server_default="0")
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[CreatedAt]
    updated_at: Mapped[UpdatedAt]
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
