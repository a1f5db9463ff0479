"""Errors specific to alignments."""

import uuid

from shared.errors import Conflict, InvalidInput, NotFound

# The one recipe for changing a published territory design; quoted by every refusal to edit.
EDIT_RECIPE = "clone it, edit the draft, publish"


class AlignmentNotFound(NotFound):
    def __init__(self, alignment_id: uuid.UUID, *, field: str = "alignment_id") -> None:
        super().__init__(f"no alignment with id {alignment_id} in this tenant", field=field)


class AlignmentNotEditable(Conflict):
    """Active and archived alignments are immutable: the lead engine caches their rules."""

    def __init__(self, alignment_id: uuid.UUID, status: str) -> None:
        super().__init__(
            f"alignment {alignment_id} is {status} and cannot be changed; only drafts are "
            f"editable: {EDIT_RECIPE}",
            field="alignment_id",
        )


class AlignmentNotPublishable(Conflict):
    def __init__(self, alignment_id: uuid.UUID, status: str) -> None:
        if status == "active":
            detail = f"alignment {alignment_id} is already the active alignment"
        else:
            detail = (
                f"alignment {alignment_id} is {status}; only drafts can be published: {EDIT_RECIPE}"
            )
        super().__init__(detail, field="alignment_id")


class ActiveAlignmentArchive(Conflict):
    def __init__(self, alignment_id: uuid.UUID) -> None:
        super().__init__(
            f"alignment {alignment_id} is the active alignment and cannot be archived: "
            "publish another first (publishing archives the previous active alignment)",
            field="alignment_id",
        )


class AlignmentIncomplete(InvalidInput):
    """Publishing would leave leads that match no territory without an owner."""


class AlignmentHeld(Conflict):
    """A draft under review: frozen until an approver releases it."""

    slug, title = "alignment-held", "The draft is held for review"

    def __init__(self, alignment_id: uuid.UUID, reason: str) -> None:
        super().__init__(
            f"alignment {alignment_id} is held for review and can be neither edited nor"
            f" published: {reason}",
            field="alignment_id",
            review_hold=reason,
        )
