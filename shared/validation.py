"""Annotated types for request fields that PostgreSQL would otherwise refuse with a 500: text
holding a NUL character, integers beyond their column's range. Every request schema and query
parameter uses them, so the refusal is a 422 problem naming the field."""

from typing import Annotated

from pydantic import AfterValidator, Field
from pydantic_core import PydanticCustomError

NUL = "\x00"
INT32_MAX = 2**31 - 1
INT64_MAX = 2**63 - 1


def reject_nul(value: str) -> str:
    """PostgreSQL text and jsonb cannot hold U+0000."""
    if NUL in value:
        raise PydanticCustomError(
            "nul_character",
            "text must not contain the NUL character (\\u0000) at position {position}; "
            "remove it or send the value without control characters",
            {"position": value.index(NUL)},
        )
    return value


Text = Annotated[str, AfterValidator(reject_nul)]
"""Any request text."""

Int32 = Annotated[int, Field(ge=-(2**31), le=INT32_MAX)]
"""An integer stored in an ``integer`` column."""

Int64 = Annotated[int, Field(ge=-(2**63), le=INT64_MAX)]
"""An integer stored in (or compared with) a ``bigint``, such as an offset."""
