"""Keyset cursors over (created_at, id): opaque to clients, stable while rows are added."""

import base64
import binascii
import uuid
from datetime import datetime

from shared.errors import InvalidInput


def encode_cursor(created_at: datetime, row_id: uuid.UUID) -> str:
    return base64.urlsafe_b64encode(f"{created_at.isoformat()}|{row_id}".encode()).decode()


def decode_cursor(cursor: str) -> tuple[datetime, uuid.UUID]:
    """The position a ``next_cursor`` stands for; 422 naming ``cursor`` for anything else."""
    try:
        created_at, row_id = base64.urlsafe_b64decode(cursor).decode().split("|")
        return datetime.fromisoformat(created_at), uuid.UUID(row_id)
    except (ValueError, binascii.Error, UnicodeDecodeError) as error:
        raise InvalidInput(
            "cursor is not a next_cursor this endpoint returned", field="cursor"
        ) from error
