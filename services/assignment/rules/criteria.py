"""Territory attribute criteria: the JSON language, and its compilation to one SQL predicate.

A criteria tree is a condition or a group::

    {"all": [{"field": "industry", "op": "in", "values": ["software", "saas"]},
             {"any": [{"field": "employee_count", "op": "between", "min": 100, "max": 999},
                      {"field": "attributes.segment", "op": "eq", "value": "enterprise"}]}]}

The same compiled predicate serves the single-lead path and the set-based bulk path, so both
always agree. Text comparisons ignore case; a condition on a missing value is false, so ``not``
of it is true (two-valued logic, what a sales-ops admin expects).
"""

import math
import re
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any, Literal, Union

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    FiniteFloat,
    GetJsonSchemaHandler,
    Tag,
    field_validator,
    model_validator,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema

from shared.validation import Text

# Lead columns a condition may name, and their kind. Anything else is `attributes.<key>`.
LEAD_FIELDS: dict[str, Literal["text", "number"]] = {
    "industry": "text",
    "country": "text",
    "postal_code": "text",
    "domain": "text",
    "email": "text",
    "employee_count": "number",
    "annual_revenue": "number",
}
_ATTRIBUTE_KEY = re.compile(r"^attributes\.([A-Za-z_][A-Za-z0-9_]{0,62})$")
TEXT_OPS = ("eq", "ne", "in", "not_in", "prefix")
NUMBER_OPS = ("gt", "gte", "lt", "lte", "between")
MAX_VALUES = 10_000
MAX_DEPTH = 8

Scalar = Text | FiniteFloat | int


class Condition(BaseModel):
    model_config = ConfigDict(extra="forbid")

    field: str = Field(
        description=(
            "A lead field (industry, country, postal_code, domain, email, employee_count, "
            "annual_revenue) or attributes.<key> for any custom lead attribute"
        ),
        examples=["industry", "attributes.lead_source"],
    )
    op: Literal["eq", "ne", "in", "not_in", "prefix", "gt", "gte", "lt", "lte", "between", "exists"]
    value: Scalar | None = None
    values: list[Scalar] | None = Field(default=None, max_length=MAX_VALUES)
    min: float | None = Field(default=None, description="between: inclusive lower bound")
    max: float | None = Field(default=None, description="between: inclusive upper bound")

    @field_validator("field")
    @classmethod
    def _known_field(cls, value: str) -> str:
        if value not in LEAD_FIELDS and not _ATTRIBUTE_KEY.match(value):
            raise ValueError(
                f"unknown field {value!r}: use one of {', '.join(LEAD_FIELDS)} or "
                "attributes.<key> (letters, digits, underscores)"
            )
        return value

    @model_validator(mode="after")
    def _operands_fit_op(self) -> "Condition":
        kind = LEAD_FIELDS.get(self.field)
        if kind == "number" and self.op in ("prefix",):
            raise ValueError(f"op 'prefix' needs a text field; {self.field} is a number")
        if kind == "text" and self.op in NUMBER_OPS:
            raise ValueError(f"op {self.op!r} needs a number field; {self.field} is text")
        if self.op in ("in", "not_in", "prefix"):
            if not self.values:
                raise ValueError(f"op {self.op!r} needs a non-empty 'values' list")
        elif self.op == "between":
            if self.min is None or self.max is None or self.min > self.max:
                raise ValueError("op 'between' needs 'min' <= 'max'")
        elif self.op != "exists" and self.value is None:
            raise ValueError(f"op {self.op!r} needs a 'value'")
        if self.op in ("gt", "gte", "lt", "lte") and not isinstance(self.value, int | float):
            raise ValueError(f"op {self.op!r} needs a numeric 'value'")
        for number in (self.min, self.max, self.value):
            if isinstance(number, float) and not math.isfinite(number):
                raise ValueError("numbers must be finite")
        return self


class AllGroup(BaseModel):
    model_config = ConfigDict(extra="forbid")
    all: list["Criteria"] = Field(min_length=1, max_length=100)


class AnyGroup(BaseModel):
    model_config = ConfigDict(extra="forbid")
    any: list["Criteria"] = Field(min_length=1, max_length=100)


class NotGroup(BaseModel):
    model_config = ConfigDict(extra="forbid")
    not_: "Criteria" = Field(alias="not")


def _criteria_kind(value: Any) -> str:
    """Which member a node is, by its key, so that a bad node gets that member's errors only
    (not four members' worth of "missing 'all'", "missing 'any'"...)."""
    if isinstance(value, dict):
        for group in ("all", "any", "not"):
            if group in value:
                return group
        return "condition"
    kinds: dict[type, str] = {AllGroup: "all", AnyGroup: "any", NotGroup: "not"}
    return kinds.get(type(value), "condition")


class _DocumentedAsAnyOf:
    """The members exclude each other (each forbids the others' keys), so the document says
    anyOf, as before the discriminator: client generators and property-based tests handle it far
    better than the oneOf pydantic writes for a callable discriminator."""

    def __get_pydantic_json_schema__(
        self, schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        document = handler(schema)
        if "oneOf" in document:
            document["anyOf"] = document.pop("oneOf")
        return document


Criteria = Annotated[
    Union[  # noqa: UP007
        Annotated[Condition, Tag("condition")],
        Annotated[AllGroup, Tag("all")],
        Annotated[AnyGroup, Tag("any")],
        Annotated[NotGroup, Tag("not")],
    ],
    Discriminator(_criteria_kind),
    _DocumentedAsAnyOf(),
]


class RuleValues:
    """The user's values of compiled criteria, bound as two array parameters.

    No value is ever written into the SQL text: a predicate reads its values as elements of
    ``rule_values.t`` (text) and ``rule_values.n`` (numeric), a one-row relation the statement
    that evaluates the predicates joins in (``relation``), so the same predicate text serves the
    single-lead statement ($15, $16) and the bulk ones ($1, $2). The planner folds the elements
    to constants wherever it plans for the actual parameters (the bulk statements).
    """

    def __init__(self) -> None:
        self.texts: list[str] = []
        self.numbers: list[Decimal] = []

    def text(self, value: str) -> str:
        # Postgres text holds no NUL; the API refuses NUL in input, this keeps the binding total.
        self.texts.append(value.replace("\x00", ""))
        return f"{RULE_VALUES}.t[{len(self.texts)}]"

    def text_list(self, values: list[str]) -> str:
        first = len(self.texts) + 1
        self.texts.extend(value.replace("\x00", "") for value in values)
        return f"{RULE_VALUES}.t[{first}:{len(self.texts)}]"

    def number(self, value: Scalar) -> str:
        self.numbers.append(_decimal(value))
        return f"{RULE_VALUES}.n[{len(self.numbers)}]"

    def number_list(self, values: list[Scalar]) -> str:
        first = len(self.numbers) + 1
        self.numbers.extend(_decimal(value) for value in values)
        return f"{RULE_VALUES}.n[{first}:{len(self.numbers)}]"

    def relation(self, first_parameter: int) -> str:
        """The FROM item that binds the values: ``$k`` text[] and ``$k+1`` numeric[]."""
        k = first_parameter
        return f"(SELECT ${k}::text[] AS t, ${k + 1}::numeric[] AS n) {RULE_VALUES}"

    @property
    def arguments(self) -> tuple[list[str], list[Decimal]]:
        return self.texts, self.numbers


RULE_VALUES = "rule_values"
# A custom attribute holds a number when it reads like one (no backslashes in the pattern: it
# means the same whatever standard_conforming_strings says).
_NUMERIC_TEXT = "'^[[:space:]]*-?[0-9]+([.][0-9]+)?[[:space:]]*$'"


def _decimal(value: Scalar) -> Decimal:
    """A number operand: finite, exact (a float keeps the digits it was written with)."""
    if isinstance(value, bool):
        raise ValueError("booleans are not comparable values")
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError("numbers must be finite")
    try:
        number = Decimal(repr(value) if isinstance(value, float) else str(value).strip())
    except InvalidOperation:
        raise ValueError(f"{value!r} is not a number; this field compares numbers") from None
    if not number.is_finite():
        raise ValueError("numbers must be finite")
    return number


def _folded(value: Scalar) -> str:
    """Text comparisons ignore case and surrounding blanks."""
    return str(value).strip().lower()


def _column(field: str, kind: Literal["text", "number"], alias: str, values: RuleValues) -> str:
    match = _ATTRIBUTE_KEY.match(field)
    if match is None:
        column = f"{alias}.{field}"
        return f"lower({column})" if kind == "text" else f"{column}::numeric"
    raw = f"({alias}.attributes ->> {values.text(match.group(1))})"
    if kind == "text":
        return f"lower({raw})"
    # Custom attributes are free-form: a value that is not a number never matches a number op.
    return f"(CASE WHEN {raw} ~ {_NUMERIC_TEXT} THEN {raw}::numeric END)"


def _compile_condition(condition: Condition, alias: str, values: RuleValues) -> str:
    kind: Literal["text", "number"] = LEAD_FIELDS.get(
        condition.field, "number" if condition.op in NUMBER_OPS else "text"
    )
    column = _column(condition.field, kind, alias, values)
    op = condition.op
    if op == "exists":
        return f"({column} IS NOT NULL)"
    if op in ("in", "not_in"):
        listed = (
            values.number_list(condition.values or [])
            if kind == "number"
            else values.text_list([_folded(value) for value in condition.values or []])
        )
        sql = f"{column} = ANY ({listed})"
        return f"COALESCE(NOT ({sql}), false)" if op == "not_in" else f"COALESCE({sql}, false)"
    if op == "prefix":
        prefixes = values.text_list([_folded(value) for value in condition.values or []])
        return f"COALESCE({column} ^@ ANY ({prefixes}), false)"
    if op == "between":
        low, high = values.number(condition.min or 0.0), values.number(condition.max or 0.0)
        return f"COALESCE({column} BETWEEN {low} AND {high}, false)"
    assert condition.value is not None
    symbol = {"eq": "=", "ne": "<>", "gt": ">", "gte": ">=", "lt": "<", "lte": "<="}[op]
    if kind == "number":
        operand = values.number(condition.value)
    else:
        operand = values.text(_folded(condition.value))
    return f"COALESCE({column} {symbol} {operand}, false)"


def compile_criteria(
    criteria: Criteria, *, values: RuleValues | None = None, alias: str = "l", depth: int = 0
) -> str:
    """A boolean SQL expression over the lead row ``alias``, never NULL; its operands go into
    ``values`` (a throwaway collector when only checking that the criteria compile)."""
    values = values if values is not None else RuleValues()
    if depth > MAX_DEPTH:
        raise ValueError(f"criteria nest deeper than {MAX_DEPTH} levels")
    if isinstance(criteria, Condition):
        return _compile_condition(criteria, alias, values)
    if isinstance(criteria, AllGroup | AnyGroup):
        parts, joiner = (
            (criteria.all, " AND ") if isinstance(criteria, AllGroup) else (criteria.any, " OR ")
        )
        compiled = (
            compile_criteria(part, values=values, alias=alias, depth=depth + 1) for part in parts
        )
        return "(" + joiner.join(compiled) + ")"
    return f"(NOT {compile_criteria(criteria.not_, values=values, alias=alias, depth=depth + 1)})"


def criteria_from_json(data: dict[str, Any]) -> Criteria:
    from pydantic import TypeAdapter

    return TypeAdapter(Criteria).validate_python(data)
