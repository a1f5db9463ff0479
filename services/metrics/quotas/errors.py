"""Errors specific to quotas."""

from shared.errors import InvalidInput


class QuotaSubjectInvalid(InvalidInput):
    def __init__(self, *, both: bool) -> None:
        super().__init__(
            "a quota is for exactly one rep or one territory: send rep_id or territory_id, "
            + ("not both" if both else "one of them"),
            field="territory_id" if both else "rep_id",
        )
