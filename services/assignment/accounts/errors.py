"""Errors specific to accounts and their bulk uploads."""

from typing import Any

from shared.errors import AppError, InvalidInput, NotFound


class AccountNotFound(NotFound):
    def __init__(self, external_id: str) -> None:
        super().__init__(
            f"no account with external_id {external_id!r} in this tenant", field="external_id"
        )


class OwnerNotFound(NotFound):
    def __init__(self, detail: str, *, field: str) -> None:
        super().__init__(detail, field=field)


class InvalidUpload(InvalidInput):
    """The upload as a whole cannot be read (not its rows: those are reported one by one)."""

    def __init__(self, detail: str, *, field: str = "body") -> None:
        super().__init__(detail, field=field)


class BulkRejected(InvalidInput):
    """An atomic upload with bad rows: nothing was written; every bad row is listed."""

    def __init__(self, *, received: int, failed: int, errors: list[dict[str, Any]]) -> None:
        first = errors[0]
        super().__init__(
            f"{failed} of {received} rows are invalid and atomic is true, so nothing was "
            f"written; first: row {first['row']}, {first['field']}: {first['message']}",
            field=first["field"],
            received=received,
            failed=failed,
            errors=errors,
        )


class PayloadTooLarge(AppError):
    status, slug, title = 413, "payload-too-large", "Request body too large"

    def __init__(self, limit_bytes: int) -> None:
        super().__init__(
            f"the body is larger than this endpoint's {limit_bytes // (1024 * 1024)} MiB limit; "
            "split the upload",
            field="body",
        )


class TooManyRows(AppError):
    status, slug, title = 413, "payload-too-large", "Request body too large"

    def __init__(self, limit_rows: int, *, field: str, hint: str = "") -> None:
        super().__init__(
            f"an upload holds at most {limit_rows:,} rows; split it{hint}", field=field
        )


class UnsupportedMediaType(AppError):
    status, slug, title = 415, "unsupported-media-type", "Unsupported media type"

    def __init__(self, expected: str, received: str) -> None:
        super().__init__(
            f"send the body as {expected} (Content-Type: {expected}); got {received or 'none'}",
            field="Content-Type",
        )
