"""What an upload of people or connections may hold: its columns (CSV header, NDJSON keys)."""

from dataclasses import dataclass
from typing import Literal

Target = Literal["people", "connections"]
Format = Literal["csv", "ndjson"]
Mode = Literal["upsert", "delete"]

# Both targets: ``op`` (upsert | delete) or ``deleted`` (true/false, 1/0, yes/no) mark a
# deletion row; ``mode=delete`` makes every row one.
_OPS = ("op", "deleted")

PEOPLE_FIELDS = (
    "external_id",
    "kind",
    "name",
    "email",
    "title",
    "rep_id",
    "account_id",
    "account_external_id",
    *_OPS,
)
CONNECTION_FIELDS = (
    "person_a_external_id",
    "person_b_external_id",
    "kind",
    "strength",
    "first_interaction_at",
    "last_interaction_at",
    "interaction_count",
    *_OPS,
)
FIELDS: dict[Target, tuple[str, ...]] = {"people": PEOPLE_FIELDS, "connections": CONNECTION_FIELDS}
# Without these a file cannot say which rows it means.
KEY_FIELDS: dict[Target, tuple[str, ...]] = {
    "people": ("external_id",),
    "connections": ("person_a_external_id", "person_b_external_id", "kind"),
}


@dataclass(frozen=True)
class Upload:
    """What the API staged and the worker reads: the target, the file's format and, for a CSV,
    its columns in file order (a staged column ``c<i>`` holds ``columns[i]``)."""

    target: Target
    fmt: Format
    columns: tuple[str, ...] = ()
