"""The one normalisation of countries and postal codes: loaders, accounts and leads all use it,
so a code is stored and looked up in the same form."""

import re

_COUNTRY = re.compile(r"[A-Z]{2}")
# After whitespace is removed: letters, digits and inner dashes (PL 00-950, JP 100-0001).
_POSTAL_CODE = re.compile(r"[A-Z0-9](?:[A-Z0-9-]{0,18}[A-Z0-9])?")
_US_ZIP = re.compile(r"(\d{5})(?:-?\d{4})?")
# Spreadsheets drop ZIP codes' leading zeros: 2134 was 02134 (New England, Puerto Rico…).
_US_ZIP_LOST_ZEROS = re.compile(r"\d{3,4}")


class InvalidCountry(ValueError):
    """Not an ISO 3166-1 alpha-2 country code."""


class InvalidPostalCode(ValueError):
    """Not a postal code of the given country."""


def normalise_country(country: str) -> str:
    """``" us "`` → ``"US"``; anything but two letters is rejected."""
    value = country.strip().upper()
    if not _COUNTRY.fullmatch(value):
        raise InvalidCountry(
            f"country must be an ISO 3166-1 alpha-2 code such as US or DE; got {country!r}"
        )
    return value


def normalise_postal_code(country: str, code: str) -> str:
    """The stored form of ``code`` in ``country``: whitespace removed, upper case; US ZIP+4
    (``10001-1234``, ``100011234``) cut to the 5-digit ZIP, lost leading zeros restored."""
    country = normalise_country(country)
    value = "".join(code.split()).upper()
    if country == "US":
        if _US_ZIP_LOST_ZEROS.fullmatch(value):
            return value.zfill(5)
        match = _US_ZIP.fullmatch(value)
        if match is None:
            raise InvalidPostalCode(
                f"a US ZIP code has 5 digits (ZIP+4 such as 10001-1234 is accepted); got {code!r}"
            )
        return match.group(1)
    if not _POSTAL_CODE.fullmatch(value):
        raise InvalidPostalCode(
            "a postal code has up to 20 letters, digits and inner dashes (spaces are ignored); "
            f"got {code!r}"
        )
    return value
