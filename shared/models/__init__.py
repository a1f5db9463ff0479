"""Every ORM model, importable from one place (Alembic autogenerate reads ``Base.metadata``)."""

from shared.models.assignment import (
    Account,
    Alignment,
    AlignmentStatus,
    Assignment,
    AssignmentJob,
    AssignmentJobError,
    AssignmentJobStatus,
    DistributionRule,
    Lead,
    MemberRole,
    PostalCode,
    Rep,
    Territory,
    TerritoryMember,
    TerritoryPart,
)
from shared.models.base import Base
from shared.models.metrics import (
    Activity,
    ExchangeRate,
    MetricsSettings,
    Opportunity,
    OpportunityStatus,
    Quota,
)
from shared.models.planning import BasicUnit, Scenario, ScenarioStatus, UnitAdjacency
from shared.models.proximity import Connection, Person, PersonKind
from shared.models.tenancy import ApiKey, AuditEvent, IdempotencyRecord, Tenant

__all__ = [
    "Account",
    "Activity",
    "Alignment",
    "AlignmentStatus",
    "ApiKey",
    "Assignment",
    "AssignmentJob",
    "AssignmentJobError",
    "AssignmentJobStatus",
    "AuditEvent",
    "Base",
    "BasicUnit",
    "Connection",
    "DistributionRule",
    "ExchangeRate",
    "IdempotencyRecord",
    "Lead",
    "MemberRole",
    "MetricsSettings",
    "Opportunity",
    "OpportunityStatus",
    "Person",
    "PersonKind",
    "PostalCode",
    "Quota",
    "Rep",
    "Scenario",
    "ScenarioStatus",
    "Territory",
    "TerritoryMember",
    "TerritoryPart",
    "Tenant",
    "UnitAdjacency",
]
