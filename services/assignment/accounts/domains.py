"""Company web domains in the one form accounts are matched on: lower case, no ``www.``."""

import re
from urllib.parse import urlsplit

_LABEL = r"(?!-)[a-z0-9-]{1,63}(?<!-)"
_DOMAIN = re.compile(rf"(?=.{{1,253}}$){_LABEL}(?:\.{_LABEL})+")


class InvalidDomain(ValueError):
    """Not a domain name, nor a URL or e-mail address with one."""


def normalise_domain(value: str) -> str:
    """``"WWW.Acme.com."`` → ``"acme.com"``. A URL or an e-mail address is reduced to its host,
    so ``"https://www.acme.com/about"`` and ``"sales@acme.com"`` give ``"acme.com"`` too."""
    text = value.strip().lower()
    if "@" in text and "://" not in text:
        text = text.rsplit("@", 1)[1]
    if "://" in text or "/" in text:
        text = urlsplit(text if "://" in text else f"//{text}").hostname or ""
    else:
        text = text.split(":", 1)[0]
    text = text.rstrip(".")
    if text.startswith("www."):
        text = text[4:]
    if not text.isascii():  # the codec is slow pure Python: only for internationalised names
        try:
            text = text.encode("idna").decode("ascii")
        except UnicodeError as error:
            raise InvalidDomain(f"not a domain name: {value!r}") from error
    if not _DOMAIN.fullmatch(text):
        raise InvalidDomain(
            f"not a domain name such as acme.com (a URL or e-mail address also works): {value!r}"
        )
    return text
