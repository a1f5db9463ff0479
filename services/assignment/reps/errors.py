"""Errors specific to reps."""

import uuid

from shared.errors import Conflict, NotFound


class RepNotFound(NotFound):
    def __init__(self, rep_id: uuid.UUID, *, field: str = "rep_id") -> None:
        super().__init__(f"no rep with id {rep_id} in this tenant", field=field)


class DuplicateExternalId(Conflict):
    def __init__(self, external_id: str) -> None:
        super().__init__(
            f"a rep with external_id {external_id!r} already exists; update it instead",
            field="external_id",
        )
