"""Errors specific to tiles and map layers."""

import uuid

from shared.errors import BadRequest, NotFound

MAX_ZOOM = 22


class InvalidTile(BadRequest):
    """A tile address outside the web Mercator tile grid."""

    def __init__(self, *, z: int, x: int, y: int) -> None:
        if not 0 <= z <= MAX_ZOOM:
            detail, field = f"zoom {z} is out of range: use 0 to {MAX_ZOOM}", "z"
        else:
            last = 2**z - 1
            bad = "x" if not 0 <= x <= last else "y"
            value = x if bad == "x" else y
            detail = f"{bad} = {value} is not a tile at zoom {z}: use 0 to {last}"
            field = bad
        super().__init__(detail, field=field)


class NoActiveAlignment(NotFound):
    def __init__(self) -> None:
        super().__init__(
            "this tenant has no active alignment: publish one, or name one with alignment_id",
            field="alignment_id",
        )


class TileAlignmentNotFound(NotFound):
    def __init__(self, alignment_id: uuid.UUID) -> None:
        super().__init__(
            f"no alignment with id {alignment_id} in this tenant", field="alignment_id"
        )


class MapTerritoryNotFound(NotFound):
    def __init__(self, territory_id: uuid.UUID) -> None:
        super().__init__(
            f"no territory with id {territory_id} in this tenant", field="territory_id"
        )
