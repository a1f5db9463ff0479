"""Errors specific to basic units."""

import uuid

from shared.errors import Conflict, NotFound


class UnitNotFound(NotFound):
    def __init__(self, unit_id: uuid.UUID, *, field: str = "unit_id") -> None:
        super().__init__(f"no basic unit with id {unit_id} in this tenant", field=field)


class DuplicateCode(Conflict):
    def __init__(self, code: str) -> None:
        super().__init__(
            f"a basic unit with code {code!r} already exists; delete it or use another code",
            field="code",
        )
