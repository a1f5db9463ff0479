"""Errors specific to change requests."""

import uuid

from shared.errors import Conflict, Forbidden, NotFound


class ChangeRequestNotFound(NotFound):
    def __init__(self, change_request_id: uuid.UUID) -> None:
        super().__init__(
            f"no change request with id {change_request_id} in this tenant",
            field="change_request_id",
        )


class AlreadyProposed(Conflict):
    def __init__(self, scenario_id: uuid.UUID, existing: uuid.UUID, status: str) -> None:
        super().__init__(
            f"scenario {scenario_id} already has the {status} change request {existing}:"
            " withdraw or reject it before proposing the scenario again",
            field="scenario_id",
            change_request_id=str(existing),
        )


class NotDecidable(Conflict):
    def __init__(self, change_request_id: uuid.UUID, status: str, action: str) -> None:
        super().__init__(
            f"change request {change_request_id} is {status}: only a proposed request can be"
            f" {action}",
            field="change_request_id",
        )


class SelfApproval(Forbidden):
    slug, title = "four-eyes", "Approval needs a second key"

    def __init__(self) -> None:
        super().__init__(
            "a change request cannot be approved with the key that proposed it: approve it with"
            " another admin key (four-eyes rule)"
        )


class NotTheProposer(Forbidden):
    slug, title = "not-the-proposer", "Only the proposer or an admin can withdraw"

    def __init__(self) -> None:
        super().__init__(
            "only the key that proposed a change request, or an admin key, can withdraw it"
        )


class ApprovalMissing(Conflict):
    """Publishing a scenario whose change request is not approved (or that has none when the
    tenant's policy asks for one)."""

    slug, title = "approval-required", "The scenario needs an approved change request"

    def __init__(self, detail: str, *, change_request_id: uuid.UUID | None) -> None:
        extra = {"change_request_id": str(change_request_id)} if change_request_id else {}
        super().__init__(detail, field="scenario_id", **extra)
