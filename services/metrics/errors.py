"""Errors shared by every metrics domain: unknown referenced ids and periods out of order."""

import uuid

from shared.errors import InvalidInput, NotFound


class ReferenceNotFound(NotFound):
    """A rep, territory or account id that does not exist in the caller's tenant."""

    def __init__(self, field: str, value: uuid.UUID) -> None:
        kind = field.removesuffix("_id")
        super().__init__(f"no {kind} with id {value} in this tenant", field=field)


class PeriodOutOfOrder(InvalidInput):
    def __init__(self, field: str = "period_end") -> None:
        super().__init__(f"{field} must be after the start (the end day is exclusive)", field=field)


class PeriodInvalid(InvalidInput):
    def __init__(self, detail: str, *, field: str = "period") -> None:
        super().__init__(detail, field=field)


class SubjectInvalid(InvalidInput):
    def __init__(self, *, both: bool) -> None:
        super().__init__(
            "KPIs are for one rep or one territory: send rep_id or territory_id, "
            + ("not both" if both else "one of them"),
            field="territory_id" if both else "rep_id",
        )


class TooManyBuckets(InvalidInput):
    def __init__(self, count: int, limit: int) -> None:
        super().__init__(
            f"the range holds {count} buckets, at most {limit} are served: "
            "choose a coarser grain or a shorter range",
            field="grain",
        )


class AlignmentRequired(InvalidInput):
    def __init__(self) -> None:
        super().__init__(
            "a territory leaderboard ranks the territories of one alignment: send alignment_id",
            field="alignment_id",
        )
