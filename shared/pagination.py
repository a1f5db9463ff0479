"""Offset pagination shared by every list endpoint."""

from typing import Annotated, Generic, TypeVar

from fastapi import Depends, Query
from pydantic import BaseModel

from shared.validation import INT64_MAX

ItemT = TypeVar("ItemT")


class PageParams(BaseModel):
    limit: int
    offset: int


def _page_params(
    limit: Annotated[int, Query(ge=1, le=1000, description="Items per page")] = 100,
    # OFFSET is a bigint: a larger number would fail in the database, not here.
    offset: Annotated[int, Query(ge=0, le=INT64_MAX, description="Items to skip")] = 0,
) -> PageParams:
    return PageParams(limit=limit, offset=offset)


PageDep = Annotated[PageParams, Depends(_page_params)]


class Page(BaseModel, Generic[ItemT]):
    items: list[ItemT]
    limit: int
    offset: int
    # The offset of the next page, or null on the last page.
    next_offset: int | None

    @classmethod
    def build(cls, items: list[ItemT], params: PageParams) -> "Page[ItemT]":
        """``items`` holds up to ``limit + 1`` rows; the extra one only says another page exists."""
        has_more = len(items) > params.limit
        return cls(
            items=items[: params.limit],
            limit=params.limit,
            offset=params.offset,
            next_offset=params.offset + params.limit if has_more else None,
        )
