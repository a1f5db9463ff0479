"""Errors of the event feed."""

from shared.errors import InvalidInput


class InvalidCursor(InvalidInput):
    def __init__(self, cursor: str) -> None:
        super().__init__(
            f"after={cursor!r} is not a cursor this feed gave out: pass a next_cursor unchanged, "
            "or leave after out to read from the oldest event kept",
            field="after",
        )


class UnknownEventType(InvalidInput):
    def __init__(self, event_type: str, known: tuple[str, ...]) -> None:
        super().__init__(
            f"unknown event type {event_type!r}; the types are: {', '.join(known)}",
            field="types",
        )
