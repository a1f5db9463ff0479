"""CSV rendering of any metrics table (leaderboards, time series, territory health)."""

import csv
import io
from collections.abc import Sequence
from typing import Literal

from fastapi import Response
from pydantic import BaseModel

FormatParam = Literal["json", "csv"]
CSV_RESPONSE = {"content": {"text/csv": {"schema": {"type": "string"}}}}


def csv_response(rows: Sequence[BaseModel], *, filename: str) -> Response:
    """One header line of field names, then one line per row; nulls are empty cells."""
    buffer = io.StringIO()
    dumped = [row.model_dump(mode="json") for row in rows]
    fields = list(dumped[0]) if dumped else []
    writer = csv.DictWriter(buffer, fieldnames=fields, lineterminator="\n")
    writer.writeheader()
    writer.writerows(dumped)
    return Response(
        buffer.getvalue(),
        media_type="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
