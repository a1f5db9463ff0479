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


def _literal(value: Scalar) -> str:
    """A SQL literal: numbers are validated finite, text is quoted (standard_conforming_strings)."""
    if isinstance(value, bool):
        raise ValueError("booleans are not comparable values")
    if isinstance(value, int | float):
        if not math.isfinite(value):
            raise ValueError("numbers must be finite")
        return repr(float(value)) if isinstance(value, float) else str(value)
    return "'" + str(value).replace("'", "''").replace("\x00", "") + "'"


def _text_literal(value: Scalar) -> str:
    return _literal(str(value).strip().lower())


def _column(field: str, kind: Literal["text", "number"], alias: str) -> str:
    match = _ATTRIBUTE_KEY.match(field)
    if match is None:
        column = f"{alias}.{field}"
        return f"lower({column})" if kind == "text" else f"{column}::numeric"
    raw = f"({alias}.attributes ->> {_literal(match.group(1))})"
    if kind == "text":
        return f"lower({raw})"
    # Custom attributes are free-form: a value that is not a number never matches a number op.
    return f"(CASE WHEN {raw} ~ '^\\s*-?[0-9]+(\\.[0-9]+)?\\s*$' THEN {raw}::numeric END)"


def _compile_condition(condition: Condition, alias: str) -> str:
    kind: Literal["text", "number"] = LEAD_FIELDS.get(
        condition.field, "number" if condition.op in NUMBER_OPS else "text"
    )
    column = _column(condition.field, kind, alias)
    render = _literal if kind == "number" else _text_literal
    op = condition.op
    if op == "exists":
        return f"({column} IS NOT NULL)"
    if op in ("in", "not_in"):
        listed = ", ".join(render(value) for value in condition.values or [])
        sql = f"{column} IN ({listed})"
        return f"COALESCE(NOT ({sql}), false)" if op == "not_in" else f"COALESCE({sql}, false)"
    if op == "prefix":
        tests = " OR ".join(
            f"starts_with({column}, {_text_literal(value)})" for value in condition.values or []
        )
        return f"COALESCE({tests}, false)"
    if op == "between":
        return f"COALESCE({column} BETWEEN {_literal(condition.min or 0.0)} AND {_literal(condition.max or 0.0)}, false)"  # noqa: E501
    assert condition.value is not None
    symbol = {"eq": "=", "ne": "<>", "gt": ">", "gte": ">=", "lt": "<", "lte": "<="}[op]
    return f"COALESCE({column} {symbol} {render(condition.value)}, false)"


def compile_criteria(criteria: Criteria, *, alias: str = "l", depth: int = 0) -> str:
    """A boolean SQL expression over the lead row ``alias``; never NULL."""
    if depth > MAX_DEPTH:
        raise ValueError(f"criteria nest deeper than {MAX_DEPTH} levels")
    if isinstance(criteria, Condition):
        return _compile_condition(criteria, alias)
    if isinstance(criteria, AllGroup):
        return (
            "("
            + " AND ".join(compile_criteria(c, alias=alias, depth=depth + 1) for c in criteria.all)
            + ")"
        )  # noqa: E501
    if isinstance(criteria, AnyGroup):
        return (
            "("
            + " OR ".join(compile_criteria(c, alias=alias, depth=depth + 1) for c in criteria.any)
            + ")"
        )  # noqa: E501
    return f"(NOT {compile_criteria(criteria.not_, alias=alias, depth=depth + 1)})"


def criteria_from_json(data: dict[str, Any]) -> Criteria:
    from pydantic import TypeAdapter

    return TypeAdapter(Criteria).validate_python(data)
