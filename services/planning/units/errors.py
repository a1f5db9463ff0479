"""Errors specific to basic units."""

import uuid

from shared.errors import AppError, Conflict, InvalidInput, NotFound


class UnitNotFound(NotFound):
    def __init__(self, unit_id: uuid.UUID, *, field: str = "unit_id") -> None:
        super().__init__(f"no basic unit with id {unit_id} in this tenant", field=field)


class DuplicateCode(Conflict):
    def __init__(self, code: str) -> None:
        super().__init__(
            f"a basic unit with code {code!r} already exists; delete it or use another code",
            field="code",
        )


class UnitSetNotFound(NotFound):
    def __init__(self, unit_set_id: uuid.UUID, *, field: str = "unit_set_id") -> None:
        super().__init__(f"no unit set with id {unit_set_id} in this tenant", field=field)


class DuplicateSetName(Conflict):
    def __init__(self, name: str) -> None:
        super().__init__(
            f"a unit set named {name!r} already exists; pick another name", field="name"
        )


class WrongKind(InvalidInput):
    """An operation of polygon units on a set of points, or the reverse."""


class UnknownEdgeUnits(InvalidInput):
    """Edges naming units the set does not hold: ``errors`` lists each row."""

    def __init__(self, errors: list[dict[str, object]], *, total: int, field: str) -> None:
        super().__init__(
            f"{total} of the edges name units this set does not hold (listed in errors);"
            " nothing was written: import the units first or fix the ids",
            field=field,
            errors=errors,
        )


class OverrideExists(Conflict):
    def __init__(self, a: str, b: str, action: str) -> None:
        super().__init__(
            f"the edge {a!r}–{b!r} already has an override ({action}); delete it first",
            field="a",
        )


class SameUnit(InvalidInput):
    def __init__(self) -> None:
        super().__init__("an edge joins two different units: a and b are the same", field="b")


class ImportNotFound(NotFound):
    def __init__(self, import_id: uuid.UUID) -> None:
        super().__init__(f"no import with id {import_id} in this unit set", field="import_id")


class BadUpload(InvalidInput):
    """The import's body cannot be read at all (encoding, NUL bytes, empty)."""


class UnsupportedMediaType(AppError):
    status, slug, title = 415, "unsupported-media-type", "Unsupported media type"

    def __init__(self, received: str) -> None:
        super().__init__(
            "send a GeoJSON FeatureCollection (Content-Type: application/geo+json or"
            " application/json) or one feature per line (application/x-ndjson);"
            f" got {received or 'none'}",
            field="Content-Type",
        )


class PayloadTooLarge(AppError):
    status, slug, title = 413, "payload-too-large", "Request body too large"

    def __init__(self, limit_bytes: int) -> None:
        super().__init__(
            f"the body is larger than this endpoint's {limit_bytes // (1024 * 1024)} MiB limit;"
            " split the upload",
            field="body",
        )


class OverrideNotFound(NotFound):
    def __init__(self, override_id: uuid.UUID) -> None:
        super().__init__(
            f"no adjacency override with id {override_id} in this unit set", field="override_id"
        )
