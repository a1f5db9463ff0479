"""Errors specific to connections."""

import uuid

from shared.errors import Conflict, InvalidInput


class SelfConnection(InvalidInput):
    def __init__(self) -> None:
        super().__init__("a person cannot be connected to themselves", field="person_b_id")


class DuplicateConnection(Conflict):
    def __init__(self, *, person_a_id: uuid.UUID, person_b_id: uuid.UUID, kind: str) -> None:
        super().__init__(
            f"{person_a_id} and {person_b_id} already have a {kind!r} connection "
            "(connections are undirected)",
            field="kind",
        )
