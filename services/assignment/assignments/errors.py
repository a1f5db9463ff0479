"""Errors of the lead lifecycle."""

import uuid

from shared.errors import Conflict, InvalidInput, NotFound


class AssignmentNotFound(NotFound):
    def __init__(self, assignment_id: uuid.UUID) -> None:
        super().__init__(f"no assignment with id {assignment_id}", field="assignment_id")


class LeadNotFound(NotFound):
    def __init__(self, lead_id: uuid.UUID) -> None:
        super().__init__(f"no lead with id {lead_id}", field="lead_id")


class RepNotFound(NotFound):
    def __init__(self, rep_id: uuid.UUID) -> None:
        super().__init__(f"no rep with id {rep_id}", field="rep_id")


class AlignmentNotFound(NotFound):
    def __init__(self, alignment_id: uuid.UUID) -> None:
        super().__init__(f"no alignment with id {alignment_id}", field="alignment_id")


class TransitionNotAllowed(Conflict):
    """The problem names the current status, so a client can tell a retry from a race."""

    def __init__(
        self, *, assignment_id: uuid.UUID, current_status: str, to_status: str, allowed: str
    ) -> None:
        super().__init__(
            f"assignment {assignment_id} is {current_status}: it cannot become {to_status} "
            f"(only {allowed} can)",
            current_status=current_status,
        )


class RepInactive(Conflict):
    def __init__(self, rep_id: uuid.UUID) -> None:
        super().__init__(
            f"rep {rep_id} is inactive: reactivate them (PATCH /assignment/reps/{rep_id}) or "
            "name another rep",
            field="rep_id",
        )


class InvalidCursor(InvalidInput):
    def __init__(self) -> None:
        super().__init__(
            "cursor is not a next_cursor this endpoint returned; start again without it",
            field="cursor",
        )
