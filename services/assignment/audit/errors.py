"""Errors of the audit trail."""

from shared.errors import InvalidInput


class InvalidCursor(InvalidInput):
    def __init__(self, cursor: str) -> None:
        super().__init__(
            f"cursor {cursor!r} is not one this endpoint gave out; pass a next_cursor unchanged "
            "or leave it out for the newest events",
            field="cursor",
        )


class InvalidTimeRange(InvalidInput):
    def __init__(self) -> None:
        super().__init__("since must be before until", field="since")
