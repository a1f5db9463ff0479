"""PATCH bodies: fields that may be left out but not cleared.

A PATCH field typed ``X | None`` tells clients that null is a value to send; for a column that
cannot be empty (a name, a flag, a list) the service would then refuse what the schema allows.
``NotNull[X]`` keeps the field optional (left out: unchanged) while the schema and the
validation both refuse an explicit null.
"""

from typing import Annotated, Any, TypeVar

from pydantic import BeforeValidator, Field

ValueT = TypeVar("ValueT")


def _refuse_null(value: Any) -> Any:
    if value is None:
        raise ValueError("cannot be null; leave the field out to keep its value")
    return value


def _without_null(schema: dict[str, Any]) -> None:
    """Document the value's own type: drop the null branch and the None default, which only
    stand for "left out"."""
    schema.pop("default", None)
    branches = [branch for branch in schema.pop("anyOf", []) if branch != {"type": "null"}]
    if len(branches) == 1:
        schema.update(branches[0])
    elif branches:
        schema["anyOf"] = branches


# `X | None` rather than pydantic's SkipJsonSchema[None]: a plain optional keeps validation
# errors located at the field (`name`, not `name.constrained-str`). Defaults are not
# validated, so a field left out stays None and out of exclude_unset dumps.
NotNull = Annotated[
    ValueT | None,
    BeforeValidator(_refuse_null),
    Field(json_schema_extra=_without_null),
]
