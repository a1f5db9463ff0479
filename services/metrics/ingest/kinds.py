"""What each kind of upload holds: its fields (CSV columns or JSON keys) and its SQL."""

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Literal

Kind = Literal["opportunities", "activities", "quotas"]
_SQL = Path(__file__).parent / "sql"
# At most 16 digits before the point and 2 after (numeric(18, 2)); a sign, which the check
# after the cast turns into "negative amount" rather than "not a number".
AMOUNT_RE = r"'^[+-]?\d{1,16}(\.\d{0,2})?$'"


@dataclass(frozen=True)
class KindSpec:
    kind: Kind
    fields: tuple[str, ...]
    required: tuple[str, ...]
    table: str
    # (column of the typed rows, table it references by id): locked during the write in place
    # of the per-row foreign-key triggers, when the session may turn those off.
    references: tuple[tuple[str, str], ...]

    def _sql(self, step: str) -> str:
        return (_SQL / f"{self.kind}_{step}.sql").read_text()

    @cached_property
    def validate_sql(self) -> str:
        return self._sql("validate")

    @cached_property
    def update_sql(self) -> str:
        return self._sql("update")

    @cached_property
    def insert_sql(self) -> str:
        return self._sql("insert")


KINDS: dict[Kind, KindSpec] = {
    "opportunities": KindSpec(
        kind="opportunities",
        fields=(
            "external_id",
            "name",
            "account_id",
            "account_external_id",
            "rep_id",
            "rep_external_id",
            "territory_id",
            "stage",
            "status",
            "amount",
            "currency",
            "opened_at",
            "closed_at",
        ),
        required=("external_id", "amount"),
        table="opportunity",
        references=(("account_id", "account"), ("rep_id", "rep"), ("territory_id", "territory")),
    ),
    "activities": KindSpec(
        kind="activities",
        fields=(
            "external_id",
            "kind",
            "occurred_at",
            "rep_id",
            "rep_external_id",
            "account_id",
            "account_external_id",
            "territory_id",
            "opportunity_external_id",
            "duration_minutes",
        ),
        required=("external_id", "kind", "occurred_at"),
        table="activity",
        references=(
            ("account_id", "account"),
            ("rep_id", "rep"),
            ("territory_id", "territory"),
            ("opportunity_id", "opportunity"),
        ),
    ),
    "quotas": KindSpec(
        kind="quotas",
        fields=(
            "external_id",
            "rep_id",
            "rep_external_id",
            "territory_id",
            "period_start",
            "period_end",
            "amount",
        ),
        required=("external_id", "period_start", "period_end", "amount"),
        table="quota",
        references=(("rep_id", "rep"), ("territory_id", "territory")),
    ),
}
