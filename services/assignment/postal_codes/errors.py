"""Errors specific to the postal-code table."""

from shared.errors import NotFound


class PostalCodeNotFound(NotFound):
    def __init__(self, country: str, code: str) -> None:
        super().__init__(
            f"no postal code {code} in {country}: the table ships every US ZIP code; other "
            "countries are loaded with `python -m services.assignment.postal_codes load-csv`",
            field="code",
        )
