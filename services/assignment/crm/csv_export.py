"""A CRM's CSV export (its column labels or API names) rewritten as our import layout while it
streams: columns renamed through the connector's mapping, ignored columns dropped, country names
turned into ISO codes. Bad rows are still the importer's to report, row by row."""

import codecs
import csv
import io
from collections.abc import AsyncIterator

from services.assignment.crm.errors import BadEnvelope, UnmappedFields
from services.assignment.crm.mapping import ATTRIBUTE, IGNORE, FieldMap, country_code

_ATTRIBUTE_COLUMN = "attr."


def _header(field_map: FieldMap, names: list[str]) -> tuple[list[int], list[str], int | None]:
    """Indexes of kept columns, their names in our layout, the country column's position."""
    kept: list[int] = []
    renamed: list[str] = []
    unmapped: list[str] = []
    country: int | None = None
    for index, name in enumerate(names):
        destination = field_map.destination(name)
        if destination is None:
            unmapped.append(name)
            continue
        if destination == IGNORE:
            continue
        column = (
            _ATTRIBUTE_COLUMN + destination[len(ATTRIBUTE) :]
            if destination.startswith(ATTRIBUTE)
            else destination
        )
        if column in renamed:
            # Two CRM columns for one field (e.g. Country and CountryCode): the first one wins.
            continue
        if column == "country":
            country = len(renamed)
        kept.append(index)
        renamed.append(column)
    if unmapped:
        raise UnmappedFields(field_map.unmapped_help(unmapped), fields=unmapped)
    return kept, renamed, country


def _records(text: str) -> tuple[list[str], str]:
    """Complete CSV records of ``text`` (a newline inside quotes continues a record) and the
    unfinished rest."""
    lines = text.splitlines(keepends=True)
    complete: list[str] = []
    current: list[str] = []
    quotes = 0
    for line in lines:
        current.append(line)
        quotes += line.count('"')
        if quotes % 2 == 0 and line.endswith(("\n", "\r")):
            complete.append("".join(current))
            current, quotes = [], 0
    return complete, "".join(current)


async def translate(field_map: FieldMap, chunks: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    """The export, rewritten record by record (memory bounded by one chunk)."""
    rest = ""
    layout: tuple[list[int], list[str], int | None] | None = None
    width = 0
    decoder = codecs.getincrementaldecoder("utf-8-sig")()

    def convert(records: list[str]) -> bytes:
        nonlocal layout, width
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        for row in csv.reader(records):
            if layout is None:
                if not row or all(not cell.strip() for cell in row):
                    raise BadEnvelope("the CSV export has no header row", field="header")
                layout, width = _header(field_map, row), len(row)
                writer.writerow(layout[1])
                continue
            kept, _, country = layout
            if len(row) != width:
                # Keep the row's wrong width visible: the importer reports it for that row.
                extra = [""] if len(row) > width else []
                writer.writerow([row[index] for index in kept if index < len(row)] + extra)
                continue
            cells = [row[index] for index in kept]
            if country is not None and cells[country]:
                cells[country] = country_code(cells[country]) or cells[country]
            writer.writerow(cells)
        return out.getvalue().encode()

    async for chunk in chunks:
        try:
            text = decoder.decode(chunk)
        except UnicodeDecodeError as error:
            raise BadEnvelope("the CSV export is not UTF-8 text", field="body") from error
        records, rest = _records(rest + text)
        if records:
            yield convert(records)
    rest += decoder.decode(b"", final=True)
    if rest.strip():
        yield convert([rest + "\n"])
