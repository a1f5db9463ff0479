"""Errors of lead assignment."""

from shared.errors import Conflict, InvalidInput


class NoActiveAlignment(Conflict):
    def __init__(self) -> None:
        super().__init__(
            "The tenant has no active alignment: create territories in a draft alignment and "
            "publish it (POST /assignment/alignments/{id}:publish)."
        )


class IdempotencyKeyReused(InvalidInput):
    def __init__(self) -> None:
        super().__init__(
            "This Idempotency-Key was already used with a different request body; use a new "
            "key for a new lead.",
            field="Idempotency-Key",
        )
