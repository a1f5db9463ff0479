"""Errors of bulk uploads of people and connections."""

import uuid

from shared.errors import AppError, InvalidInput, NotFound


class PayloadTooLarge(AppError):
    status, slug, title = 413, "payload-too-large", "Request body too large"


class UnsupportedMediaType(AppError):
    status, slug, title = 415, "unsupported-media-type", "Unsupported media type"


class TooManyRows(PayloadTooLarge):
    def __init__(self, *, limit: int) -> None:
        super().__init__(
            f"An upload holds at most {limit:,} rows; split the file and upload the parts "
            "separately.",
            field="body",
            limit=limit,
        )


class NotUploadMediaType(UnsupportedMediaType):
    def __init__(self, content_type: str | None) -> None:
        super().__init__(
            "Send the rows as Content-Type text/csv (a header row, then one row per line) or "
            f"application/x-ndjson (one JSON object per line); got {content_type or 'none'!r}.",
            field="Content-Type",
        )


class InvalidUpload(InvalidInput):
    """The file as a whole cannot be read (bad header, broken CSV structure, no rows)."""


class ImportNotFound(NotFound):
    def __init__(self, import_id: uuid.UUID) -> None:
        super().__init__(f"no import with id {import_id} in this tenant", field="import_id")
