"""Social territory jobs (proximity): accounts assigned to reps by proximity, run on the worker."""

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, DateTime, Float, Integer, LargeBinary, String, Text, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from shared.models.base import Base, CreatedAt, TenantId, UuidPk


class SocialTerritoryJob(Base):
    """One request for social territories: its parameters, status and progress, a summary for
    the job read, and the whole result (JSON, gzip) once it succeeded."""

    __tablename__ = "social_territory_job"

    id: Mapped[UuidPk]
    tenant_id: Mapped[TenantId]
    # pending, running, succeeded, failed, cancelled
    status: Mapped[str] = mapped_column(String(16), server_default=text("'pending'"))
    stage: Mapped[str] = mapped_column(String(32), server_default=text("'queued'"))
    progress: Mapped[float] = mapped_column(Float, server_default=text("0"))
    cancel_requested: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    parameters: Mapped[dict[str, Any]] = mapped_column(JSONB)
    accounts: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    summary: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    result_json_gzip: Mapped[bytes | None] = mapped_column(LargeBinary)
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[CreatedAt]
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
