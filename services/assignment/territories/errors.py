"""Errors specific to territories and their members."""

import uuid

from shared.errors import Conflict, InvalidInput, NotFound


class TerritoryNotFound(NotFound):
    def __init__(self, territory_id: uuid.UUID, *, field: str = "territory_id") -> None:
        super().__init__(f"no territory with id {territory_id} in this tenant", field=field)


class DuplicateTerritoryName(Conflict):
    def __init__(self, name: str) -> None:
        super().__init__(
            f"the alignment already has a territory named {name!r}; choose another name",
            field="name",
        )


class FallbackExists(Conflict):
    def __init__(self, name: str) -> None:
        super().__init__(
            f"the alignment already has a fallback territory ({name!r}); at most one is "
            "allowed: set is_fallback=false on it first",
            field="is_fallback",
        )


class ParentInOtherAlignment(InvalidInput):
    def __init__(self, parent_id: uuid.UUID) -> None:
        super().__init__(
            f"parent territory {parent_id} belongs to another alignment; a parent must be in "
            "the same alignment",
            field="parent_id",
        )


class ParentCycle(InvalidInput):
    def __init__(self, territory_id: uuid.UUID, parent_id: uuid.UUID) -> None:
        super().__init__(
            f"territory {parent_id} is {territory_id} itself or one of its descendants: making "
            "it the parent would create a cycle; move that territory elsewhere first",
            field="parent_id",
        )


class TerritoryHasChildren(Conflict):
    def __init__(self, territory_id: uuid.UUID, child_count: int) -> None:
        super().__init__(
            f"territory {territory_id} has {child_count} child territories: delete them or "
            "move them to another parent (PATCH parent_id) first",
            field="territory_id",
        )


class DuplicateMember(Conflict):
    def __init__(self, rep_id: uuid.UUID, role: str) -> None:
        super().__init__(
            f"rep {rep_id} is already a member of this territory as {role}; to change the "
            "weight, remove the member and add it again",
            field="rep_id",
        )


class MemberNotFound(NotFound):
    def __init__(self, rep_id: uuid.UUID, role: str | None) -> None:
        as_role = f" as {role}" if role else ""
        super().__init__(f"rep {rep_id} is not a member of this territory{as_role}", field="rep_id")
