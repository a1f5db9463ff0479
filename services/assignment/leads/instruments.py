"""Prometheus counters of lead assignment: which precedence rule decided, and the outcome."""

from prometheus_client import Counter

from services.assignment.leads.explanation import ProximityStep
from services.assignment.leads.schemas import AssignmentRead

LEAD_ASSIGNMENTS = Counter(
    "lead_assignments",
    "Leads assigned, by the precedence rule that decided (named_account, attribute_rule, "
    "geography, fallback), the territory's distribution rule, the outcome (rep: a rep was "
    "picked; queued: no rep could take it; replayed: an Idempotency-Key repeat that wrote "
    'nothing) and the path (single; bulk jobs count with path="bulk").',
    ["rule", "distribution", "outcome", "path"],
)
PROXIMITY_RANKINGS = Counter(
    "lead_proximity_rankings",
    "Proximity rankings the lead hot path asked for, by outcome (ranked, fallback: round robin "
    "because the proximity service failed or had no account to rank against).",
    ["outcome"],
)


def record_assignment(result: AssignmentRead) -> None:
    """Count one answer of ``POST /assignment/leads``."""
    if result.replayed:
        outcome = "replayed"
    else:
        outcome = "rep" if result.rep is not None else "queued"
        for step in result.explanation:
            if isinstance(step, ProximityStep):
                PROXIMITY_RANKINGS.labels(outcome=step.outcome).inc()
    LEAD_ASSIGNMENTS.labels(
        rule=result.matched_rule,
        distribution=result.distribution_rule or "none",
        outcome=outcome,
        path="single",
    ).inc()
