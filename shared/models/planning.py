"""Basic geographic units, their adjacency, and territory-design scenarios."""

import enum
import uuid
from datetime import datetime
from typing import Any

from geoalchemy2 import Geometry
from sqlalchemy import CheckConstraint, DateTime, Float, ForeignKey, String, Text, UniqueConstraint
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


class BasicUnit(Base):
    __tablename__ = "basic_unit"
    __table_args__ = (UniqueConstraint("tenant_id", "code"),)

    id: Mapped[UuidPk]
    tenant_id: Mapped[TenantId]
    code: Mapped[str] = mapped_column(String(100))
    name: Mapped[str | None] = mapped_column(String(200))
    geom: Mapped[Any] = mapped_column(Geometry("MULTIPOLYGON", srid=4326, spatial_index=True))
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
    unit_b_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("basic_unit.id", ondelete="CASCADE"), primary_key=True
    )
    shared_border_m: Mapped[float] = mapped_column(Float, server_default="0")


class Scenario(Base):
    __tablename__ = "scenario"

    id: Mapped[UuidPk]
    tenant_id: Mapped[TenantId]
    name: Mapped[str] = mapped_column(String(200))
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
