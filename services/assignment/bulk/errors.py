"""Errors of bulk lead uploads and their jobs."""

from shared.errors import AppError, Conflict, InvalidInput, NotFound


class PayloadTooLarge(AppError):
    status, slug, title = 413, "payload-too-large", "Request body too large"


class UnsupportedMediaType(AppError):
    status, slug, title = 415, "unsupported-media-type", "Unsupported media type"


class TooManyRows(PayloadTooLarge):
    def __init__(self, *, limit: int) -> None:
        super().__init__(
            f"An upload holds at most {limit:,} rows; split the file and upload the parts "
            "as separate jobs.",
            field="body",
            limit=limit,
        )


class TooManyBytes(PayloadTooLarge):
    def __init__(self, *, limit_bytes: int) -> None:
        super().__init__(
            f"An upload is at most {limit_bytes // (1024 * 1024)} MiB; split the file and upload "
            "the parts as separate jobs.",
            field="body",
            limit_bytes=limit_bytes,
        )


class NotBulkMediaType(UnsupportedMediaType):
    def __init__(self, content_type: str) -> None:
        super().__init__(
            f"Send the leads as Content-Type text/csv (a header row, then one lead per row) or "
            f"application/x-ndjson (one JSON object per line); got {content_type or 'none'!r}.",
            field="Content-Type",
        )


class InvalidUpload(InvalidInput):
    """The file as a whole cannot be read (bad header, broken CSV structure, bad encoding)."""


class JobNotFound(NotFound):
    def __init__(self, job_id: object) -> None:
        super().__init__(f"no assignment job with id {job_id}", field="job_id")


class ReferencedRowGone(Exception):
    """A row the job's assignments point at was deleted while the job ran."""

    def __init__(self, table: str, row_id: object) -> None:
        super().__init__(f"{table} {row_id} was deleted while the job ran; upload the file again")
        self.table = table
        self.row_id = row_id


class JobAlreadyEnded(Conflict):
    def __init__(self, job_id: object, status: str) -> None:
        super().__init__(
            f"job {job_id} already ended ({status}); only a pending or running job can be "
            "cancelled",
            field="job_id",
            job_status=status,
        )


class JobRunsInline(Conflict):
    def __init__(self, job_id: object) -> None:
        super().__init__(
            f"job {job_id} runs inside the request that uploaded it (a small upload) and ends "
            "with that request; it cannot be cancelled",
            field="job_id",
        )
