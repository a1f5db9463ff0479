"""Errors shared by every metrics domain: unknown referenced ids and periods out of order."""

import uuid

from shared.errors import InvalidInput, NotFound


class ReferenceNotFound(NotFound):
    """A rep, territory or account id that does not exist in the caller's tenant."""

    def __init__(self, field: str, value: uuid.UUID) -> None:
        kind = field.removesuffix("_id")
        super().__init__(f"no {kind} with id {value} in this tenant", field=field)


class PeriodOutOfOrder(InvalidInput):
    def __init__(self) -> None:
        super().__init__(
            "period_end must be after period_start (the end day is exclusive)", field="period_end"
        )
