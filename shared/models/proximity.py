"""The social graph: people (reps and contacts) and the connections between them."""

import enum
import uuid
from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from shared.models.assignment import _enum
from shared.models.base import Base, CreatedAt, TenantId, UpdatedAt, UuidPk


class PersonKind(enum.StrEnum):
    rep = "rep"
    contact = "contact"


class Person(Base):
    __tablename__ = "person"
    __table_args__ = (
        UniqueConstraint("tenant_id", "external_id"),
        CheckConstraint("kind <> 'rep' OR rep_id IS NOT NULL", name="rep_has_rep_id"),
        # One person per rep: proximity scores are per rep.
        Index(
            "uq_person_tenant_id_rep_id",
            "tenant_id",
            "rep_id",
            unique=True,
            postgresql_where=text("rep_id IS NOT NULL"),
        ),
    )

    id: Mapped[UuidPk]
    tenant_id: Mapped[TenantId]
    external_id: Mapped[str | None] = mapped_column(String(255))
    kind: Mapped[PersonKind] = mapped_column(_enum(PersonKind, "person_kind"))
    rep_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("rep.id", ondelete="CASCADE"), index=True
    )
    account_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("account.id", ondelete="SET NULL"), index=True
    )
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(320))
    title: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[CreatedAt]
    updated_at: Mapped[UpdatedAt]


class Connection(Base):
    """An undirected tie; stored once with ``person_a_id < person_b_id``."""

    __tablename__ = "connection"
    __table_args__ = (
        UniqueConstraint("person_a_id", "person_b_id", "kind"),
        CheckConstraint("person_a_id < person_b_id", name="ordered_pair"),
        CheckConstraint("strength > 0 AND strength <= 1", name="strength_range"),
        CheckConstraint("interaction_count >= 0", name="interaction_count_range"),
        Index("ix_connection_person_b_id", "person_b_id"),
    )

    id: Mapped[UuidPk]
    tenant_id: Mapped[TenantId]
    person_a_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("person.id", ondelete="CASCADE")
    )
    person_b_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("person.id", ondelete="CASCADE")
    )
    # e.g. colleague, former_colleague, email, meeting, social, referral.
    kind: Mapped[str] = mapped_column(String(50))
    strength: Mapped[float] = mapped_column(Float)
    first_interaction_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_interaction_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    interaction_count: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    created_at: Mapped[CreatedAt]
    updated_at: Mapped[UpdatedAt]


class ProximityGraphVersion(Base):
    """A counter per tenant, bumped by triggers on every write to ``person`` or ``connection``:
    the proximity service's cached graph (services/proximity/scoring/cache.py) is rebuilt when
    it differs."""

    __tablename__ = "proximity_graph_version"

    tenant_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("tenant.id", ondelete="CASCADE"), primary_key=True
    )
    version: Mapped[int] = mapped_column(BigInteger, server_default=text("0"))


class ProximityJob(Base):
    """A proximity job of a tenant (the accounts × reps matrix) run on the job worker: status,
    progress, error, and its CSV result (gzip)."""

    __tablename__ = "proximity_job"

    id: Mapped[UuidPk]
    tenant_id: Mapped[TenantId]
    kind: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16), server_default=text("'pending'"))
    max_hops: Mapped[int] = mapped_column(Integer)
    total_accounts: Mapped[int] = mapped_column(BigInteger, server_default=text("0"))
    result_rows: Mapped[int] = mapped_column(BigInteger, server_default=text("0"))
    error: Mapped[str | None] = mapped_column(Text)
    result_csv_gzip: Mapped[bytes | None] = mapped_column(LargeBinary)
    created_at: Mapped[CreatedAt]
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class ProximitySettings(Base):
    """A tenant's scoring settings: its own weight per connection kind (scoring/model.py
    ``DEFAULT_KIND_WEIGHTS`` for a kind it does not set)."""

    __tablename__ = "proximity_settings"

    tenant_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("tenant.id", ondelete="CASCADE"), primary_key=True
    )
    kind_weights: Mapped[dict[str, float]] = mapped_column(
        JSONB, server_default=text("'{}'::jsonb")
    )
    updated_at: Mapped[UpdatedAt]


class ProximityImport(Base):
    """A bulk upload of people or connections (services/proximity/ingest), run on the job
    worker: what it holds, where it is, and what it wrote."""

    __tablename__ = "proximity_import"

    id: Mapped[UuidPk]
    tenant_id: Mapped[TenantId]
    target: Mapped[str] = mapped_column(String(16))  # people | connections
    format: Mapped[str] = mapped_column(String(8))  # csv | ndjson
    mode: Mapped[str] = mapped_column(String(8))  # upsert (rows may say delete) | delete
    skip_bad_rows: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    status: Mapped[str] = mapped_column(String(16), server_default=text("'pending'"))
    stage: Mapped[str | None] = mapped_column(String(32))
    total_rows: Mapped[int] = mapped_column(BigInteger, server_default=text("0"))
    valid_rows: Mapped[int] = mapped_column(BigInteger, server_default=text("0"))
    error_count: Mapped[int] = mapped_column(BigInteger, server_default=text("0"))
    inserted: Mapped[int] = mapped_column(BigInteger, server_default=text("0"))
    updated: Mapped[int] = mapped_column(BigInteger, server_default=text("0"))
    deleted: Mapped[int] = mapped_column(BigInteger, server_default=text("0"))
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[CreatedAt]
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class ProximityImportError(Base):
    """One bad row of an upload: its number (1 = the first row after a CSV header), the field
    and why."""

    __tablename__ = "proximity_import_error"

    import_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("proximity_import.id", ondelete="CASCADE"), primary_key=True
    )
    row_number: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    tenant_id: Mapped[TenantId]
    field: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(Text)
