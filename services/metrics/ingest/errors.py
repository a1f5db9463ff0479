"""Errors of bulk uploads."""

import uuid

from shared.errors import AppError, Conflict, InvalidInput, NotFound


class InvalidUpload(InvalidInput):
    """The upload as a whole cannot be read (its header, its CSV structure): nothing staged."""


class NotUploadMediaType(AppError):
    status, slug, title = 415, "unsupported-media-type", "Unsupported media type"

    def __init__(self, media_type: str) -> None:
        super().__init__(
            f"send the rows as text/csv (with a header row) or application/x-ndjson (one JSON "
            f"object per line), not {media_type or 'no Content-Type'}",
            field="content-type",
        )


class ImportJobNotFound(NotFound):
    def __init__(self, job_id: uuid.UUID) -> None:
        super().__init__(f"no import job {job_id} in this tenant", field="job_id")


class ImportNotQueued(Conflict):
    def __init__(self) -> None:
        super().__init__(
            "the job queue did not take the upload; nothing was written: upload it again"
        )
