"""Change requests: propose a scenario, approve or reject it (four-eyes), withdraw it, and the
publish gate the scenarios service asks before publishing."""

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from services.planning.change_requests import repository
from services.planning.change_requests.errors import (
    AlreadyProposed,
    ApprovalMissing,
    ChangeRequestNotFound,
    NotDecidable,
    NotTheProposer,
    SelfApproval,
)
from services.planning.change_requests.schemas import (
    ChangeRequestCreate,
    ChangeRequestEventRead,
    ChangeRequestPage,
    ChangeRequestRead,
    PlanningSettingsRead,
)
from services.planning.scenarios import client as assignment_client
from services.planning.scenarios import repository as scenarios
from services.planning.scenarios.errors import ScenarioNotFound, ScenarioNotReady
from shared.auth import Principal
from shared.http_client import ServiceClient
from shared.keyset import decode_cursor, encode_cursor
from shared.models.collaboration import ChangeRequest, ChangeRequestStatus
from shared.models.planning import ScenarioStatus


def _read(change_request: ChangeRequest, events: list[ChangeRequestEventRead]) -> ChangeRequestRead:
    return ChangeRequestRead(
        id=change_request.id,
        scenario_id=change_request.scenario_id,
        title=change_request.title,
        description=change_request.description,
        status=change_request.status.value,
        proposed_by=change_request.proposed_by,
        decided_by=change_request.decided_by,
        decided_at=change_request.decided_at,
        created_at=change_request.created_at,
        updated_at=change_request.updated_at,
        history=events,
    )


async def _with_history(
    session: AsyncSession, *, tenant_id: uuid.UUID, requests: list[ChangeRequest]
) -> list[ChangeRequestRead]:
    events = await repository.history(
        session, tenant_id=tenant_id, change_request_ids=[r.id for r in requests]
    )
    by_request: dict[uuid.UUID, list[ChangeRequestEventRead]] = {r.id: [] for r in requests}
    for event in events:
        by_request[event.change_request_id].append(
            ChangeRequestEventRead(
                action=event.action,
                actor_key_id=event.actor_key_id,
                comment=event.comment,
                created_at=event.created_at,
            )
        )
    return [_read(r, by_request[r.id]) for r in requests]


async def _one(session: AsyncSession, change_request: ChangeRequest) -> ChangeRequestRead:
    (read,) = await _with_history(
        session, tenant_id=change_request.tenant_id, requests=[change_request]
    )
    return read


def hold_reason(change_request_id: uuid.UUID, state: str = "proposes it") -> str:
    return (
        f"change request {change_request_id} {state}: it is published through"
        f" POST /planning/scenarios/{{id}}:publish once an approver approves it"
    )


async def propose(
    session: AsyncSession,
    assignment: ServiceClient,
    *,
    principal: Principal,
    data: ChangeRequestCreate,
) -> ChangeRequestRead:
    tenant_id = principal.tenant_id
    scenario = await scenarios.get(session, tenant_id=tenant_id, scenario_id=data.scenario_id)
    if scenario is None:
        raise ScenarioNotFound(data.scenario_id)
    if scenario.status != ScenarioStatus.succeeded:
        raise ScenarioNotReady(data.scenario_id, scenario.status.value)
    existing = await repository.open_for_scenario(
        session, tenant_id=tenant_id, scenario_id=data.scenario_id
    )
    if existing is not None:
        raise AlreadyProposed(data.scenario_id, existing.id, existing.status.value)
    # A racing second proposal hits the partial unique index: a 409 from the error handlers.
    change_request = await repository.add(
        session,
        tenant_id=tenant_id,
        scenario_id=data.scenario_id,
        title=data.title,
        description=data.description,
        proposed_by=principal.api_key_id,
    )
    await repository.add_event(
        session,
        tenant_id=tenant_id,
        change_request_id=change_request.id,
        action="proposed",
        actor_key_id=principal.api_key_id,
        comment=data.description,
    )
    if scenario.alignment_id is not None:
        # Under review, the draft can be neither edited nor published around the approval.
        await assignment_client.hold(
            assignment,
            api_key=principal.token,
            alignment_id=scenario.alignment_id,
            reason=hold_reason(change_request.id),
        )
    return await _one(session, change_request)


async def _locked(
    session: AsyncSession, *, tenant_id: uuid.UUID, change_request_id: uuid.UUID
) -> ChangeRequest:
    change_request = await repository.get(
        session, tenant_id=tenant_id, change_request_id=change_request_id, lock=True
    )
    if change_request is None:
        raise ChangeRequestNotFound(change_request_id)
    return change_request


async def decide(
    session: AsyncSession,
    assignment: ServiceClient,
    *,
    principal: Principal,
    change_request_id: uuid.UUID,
    approve: bool,
    comment: str | None,
) -> ChangeRequestRead:
    """Approve or reject a proposed request (admin keys; approval by another key than the
    proposer's). The row lock makes two racing verdicts give one winner and one 409."""
    change_request = await _locked(
        session, tenant_id=principal.tenant_id, change_request_id=change_request_id
    )
    action = "approved" if approve else "rejected"
    if change_request.status != ChangeRequestStatus.proposed:
        raise NotDecidable(change_request_id, change_request.status.value, action)
    if approve and change_request.proposed_by == principal.api_key_id:
        raise SelfApproval()
    status = ChangeRequestStatus.approved if approve else ChangeRequestStatus.rejected
    updated = await repository.set_status(
        session, change_request=change_request, status=status, decided_by=principal.api_key_id
    )
    await repository.add_event(
        session,
        tenant_id=principal.tenant_id,
        change_request_id=change_request_id,
        action=action,
        actor_key_id=principal.api_key_id,
        comment=comment,
    )
    await _settle_hold(
        session, assignment, principal, updated, release=approve, state="was rejected"
    )
    return await _one(session, updated)


async def _settle_hold(
    session: AsyncSession,
    assignment: ServiceClient,
    principal: Principal,
    change_request: ChangeRequest,
    *,
    release: bool,
    state: str,
) -> None:
    """After a verdict: lift the scenario draft's review hold, or restate why it stays."""
    alignment_id = await _draft_of(session, change_request)
    if alignment_id is None:
        return
    if release:
        await assignment_client.release(
            assignment, api_key=principal.token, alignment_id=alignment_id
        )
    else:
        await assignment_client.hold(
            assignment,
            api_key=principal.token,
            alignment_id=alignment_id,
            reason=hold_reason(change_request.id, state),
        )


async def _draft_of(session: AsyncSession, change_request: ChangeRequest) -> uuid.UUID | None:
    scenario = await scenarios.get(
        session, tenant_id=change_request.tenant_id, scenario_id=change_request.scenario_id
    )
    return scenario.alignment_id if scenario is not None else None


async def withdraw(
    session: AsyncSession,
    assignment: ServiceClient,
    *,
    principal: Principal,
    change_request_id: uuid.UUID,
    comment: str | None,
) -> ChangeRequestRead:
    change_request = await _locked(
        session, tenant_id=principal.tenant_id, change_request_id=change_request_id
    )
    if change_request.proposed_by != principal.api_key_id and not principal.allows("admin"):
        raise NotTheProposer()
    if change_request.status not in repository.OPEN:
        raise NotDecidable(change_request_id, change_request.status.value, "withdrawn")
    updated = await repository.set_status(
        session, change_request=change_request, status=ChangeRequestStatus.withdrawn
    )
    await repository.add_event(
        session,
        tenant_id=principal.tenant_id,
        change_request_id=change_request_id,
        action="withdrawn",
        actor_key_id=principal.api_key_id,
        comment=comment,
    )
    # Lifting a hold is an approver's act: the proposer's key leaves it for an admin.
    await _settle_hold(
        session,
        assignment,
        principal,
        updated,
        release=principal.allows("admin"),
        state="was withdrawn (an admin key releases it)",
    )
    return await _one(session, updated)


async def get(
    session: AsyncSession, *, tenant_id: uuid.UUID, change_request_id: uuid.UUID
) -> ChangeRequestRead:
    change_request = await repository.get(
        session, tenant_id=tenant_id, change_request_id=change_request_id
    )
    if change_request is None:
        raise ChangeRequestNotFound(change_request_id)
    return await _one(session, change_request)


async def list_requests(
    session: AsyncSession,
    *,
    tenant_id: uuid.UUID,
    status: ChangeRequestStatus | None,
    scenario_id: uuid.UUID | None,
    cursor: str | None,
    limit: int,
) -> ChangeRequestPage:
    rows = await repository.page(
        session,
        tenant_id=tenant_id,
        status=status,
        scenario_id=scenario_id,
        before=decode_cursor(cursor) if cursor else None,
        limit=limit + 1,
    )
    more = len(rows) > limit
    rows = rows[:limit]
    items = await _with_history(session, tenant_id=tenant_id, requests=rows)
    return ChangeRequestPage(
        items=items,
        limit=limit,
        next_cursor=encode_cursor(rows[-1].created_at, rows[-1].id) if more else None,
    )


async def publish_gate(
    session: AsyncSession, *, tenant_id: uuid.UUID, scenario_id: uuid.UUID
) -> ChangeRequest | None:
    """The approved request a publish of ``scenario_id`` goes through (None when the tenant's
    policy lets an unproposed scenario be published); raises when the scenario may not be."""
    live = await repository.open_for_scenario(session, tenant_id=tenant_id, scenario_id=scenario_id)
    if live is not None and live.status == ChangeRequestStatus.approved:
        return live
    if live is not None:
        raise ApprovalMissing(
            f"scenario {scenario_id} is proposed in change request {live.id}, which is not"
            f" approved yet: an approver (admin key, not the proposer's) must POST"
            f" /planning/change-requests/{live.id}:approve before it is published",
            change_request_id=live.id,
        )
    latest = await repository.latest_for_scenario(
        session, tenant_id=tenant_id, scenario_id=scenario_id
    )
    if latest is not None and latest.status == ChangeRequestStatus.rejected:
        raise ApprovalMissing(
            f"scenario {scenario_id} was rejected in change request {latest.id}: propose it"
            " again (POST /planning/change-requests) and have it approved",
            change_request_id=latest.id,
        )
    policy = await repository.settings(session, tenant_id=tenant_id)
    if policy is not None and policy.require_approval:
        raise ApprovalMissing(
            "this tenant publishes only approved change requests: propose the scenario"
            " (POST /planning/change-requests) and have it approved first",
            change_request_id=None,
        )
    return None


async def proposed_for(
    session: AsyncSession, *, tenant_id: uuid.UUID, scenario_id: uuid.UUID
) -> uuid.UUID | None:
    """The scenario's change request awaiting a verdict, if any."""
    live = await repository.open_for_scenario(session, tenant_id=tenant_id, scenario_id=scenario_id)
    return live.id if live is not None and live.status == ChangeRequestStatus.proposed else None


async def mark_published(
    session: AsyncSession, *, change_request: ChangeRequest, actor_key_id: uuid.UUID
) -> None:
    locked = await _locked(
        session, tenant_id=change_request.tenant_id, change_request_id=change_request.id
    )
    if locked.status != ChangeRequestStatus.approved:
        return  # a racing publish recorded it first
    await repository.set_status(
        session, change_request=locked, status=ChangeRequestStatus.published
    )
    await repository.add_event(
        session,
        tenant_id=change_request.tenant_id,
        change_request_id=change_request.id,
        action="published",
        actor_key_id=actor_key_id,
    )


async def get_settings(session: AsyncSession, *, tenant_id: uuid.UUID) -> PlanningSettingsRead:
    policy = await repository.settings(session, tenant_id=tenant_id)
    return PlanningSettingsRead(require_approval=bool(policy and policy.require_approval))


async def put_settings(
    session: AsyncSession, *, tenant_id: uuid.UUID, require_approval: bool
) -> PlanningSettingsRead:
    await repository.put_settings(session, tenant_id=tenant_id, require_approval=require_approval)
    return PlanningSettingsRead(require_approval=require_approval)
