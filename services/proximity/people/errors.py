"""Errors specific to people."""

import uuid

from shared.errors import Conflict, InvalidInput, NotFound


class PersonNotFound(NotFound):
    def __init__(self, person_id: uuid.UUID, *, field: str = "person_id") -> None:
        super().__init__(f"no person with id {person_id} in this tenant", field=field)


class RepNotFound(NotFound):
    def __init__(self, rep_id: uuid.UUID) -> None:
        super().__init__(f"no rep with id {rep_id} in this tenant", field="rep_id")


class AccountNotFound(NotFound):
    def __init__(self, account_id: uuid.UUID) -> None:
        super().__init__(f"no account with id {account_id} in this tenant", field="account_id")


class RepIdMismatch(InvalidInput):
    def __init__(self, *, kind: str) -> None:
        detail = (
            "a person of kind 'rep' needs the rep_id of their rep"
            if kind == "rep"
            else "only a person of kind 'rep' has a rep_id; a contact must not send one"
        )
        super().__init__(detail, field="rep_id")


class DuplicateExternalId(Conflict):
    def __init__(self, external_id: str) -> None:
        super().__init__(
            f"a person with external_id {external_id!r} already exists", field="external_id"
        )
