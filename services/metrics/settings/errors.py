"""Errors specific to metrics settings."""

from shared.errors import InvalidInput


class UnknownTimeZone(InvalidInput):
    def __init__(self, name: str) -> None:
        super().__init__(
            f"unknown time zone {name!r}: use an IANA name such as UTC or Europe/Berlin",
            field="time_zone",
        )
