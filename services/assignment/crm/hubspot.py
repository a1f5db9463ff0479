"""HubSpot: request signatures (v3, and the older v1/v2 HubSpot still sends) and the workflow
webhook's body flattened into one record of property → value."""

import base64
import hashlib
import hmac
import time
from collections.abc import Mapping
from typing import Any

from services.assignment.crm.errors import BadSignature

# HubSpot rejects nothing older itself; its documentation asks receivers to refuse v3 requests
# whose timestamp is more than five minutes old (a captured request cannot be replayed later).
MAX_AGE_SECONDS = 300
# The characters HubSpot decodes in the URI before signing (its documented list).
_DECODED = {
    "%3A": ":",
    "%2F": "/",
    "%3F": "?",
    "%40": "@",
    "%21": "!",
    "%24": "$",
    "%27": "'",
    "%28": "(",
    "%29": ")",
    "%2A": "*",
    "%2C": ",",
    "%3B": ";",
}


def _decode_uri(uri: str) -> str:
    for encoded, char in _DECODED.items():
        uri = uri.replace(encoded, char).replace(encoded.lower(), char)
    return uri


def candidate_uris(headers: Mapping[str, str], path_and_query: str) -> list[str]:
    """The URLs HubSpot may have called to reach this request through the gateway (and any TLS
    proxy before it): scheme and host as forwarded, with and without the port."""
    host = headers.get("x-forwarded-host") or headers.get("host", "")
    host = host.split(":")[0]
    port = headers.get("x-forwarded-port", "")
    schemes = {headers.get("x-forwarded-proto", "http"), "https"}
    uris = []
    for scheme in sorted(schemes):
        uris.append(f"{scheme}://{host}{path_and_query}")
        if port and port not in ("80", "443"):
            uris.append(f"{scheme}://{host}:{port}{path_and_query}")
    return [_decode_uri(uri) for uri in uris]


def verify(
    *,
    secret: str,
    method: str,
    uris: list[str],
    body: bytes,
    headers: Mapping[str, str],
    now: float | None = None,
) -> None:
    """Raise BadSignature unless one of HubSpot's signatures matches (v3 when sent)."""
    signature_v3 = headers.get("x-hubspot-signature-v3")
    if signature_v3 is not None:
        timestamp = headers.get("x-hubspot-request-timestamp", "")
        if not timestamp.isdigit():
            raise BadSignature("X-HubSpot-Request-Timestamp is missing or not milliseconds")
        age = (now if now is not None else time.time()) - int(timestamp) / 1000
        if abs(age) > MAX_AGE_SECONDS:
            raise BadSignature(
                f"the request was signed {age:.0f} s ago, more than {MAX_AGE_SECONDS} s: replays"
                " are refused"
            )
        for uri in uris:
            source = method.encode() + uri.encode() + body + timestamp.encode()
            digest = hmac.new(secret.encode(), source, hashlib.sha256).digest()
            if hmac.compare_digest(base64.b64encode(digest).decode(), signature_v3.strip()):
                return
        raise BadSignature("X-HubSpot-Signature-v3 does not match this connector's client secret")
    signature = headers.get("x-hubspot-signature")
    version = headers.get("x-hubspot-signature-version", "v1").lower()
    if signature is None:
        raise BadSignature(
            "no HubSpot signature: the webhook must be sent by the HubSpot app whose client"
            " secret this connector holds (X-HubSpot-Signature-v3)"
        )
    sources = (
        [secret.encode() + body]
        if version == "v1"
        else [secret.encode() + method.encode() + uri.encode() + body for uri in uris]
    )
    for source in sources:
        if hmac.compare_digest(hashlib.sha256(source).hexdigest(), signature.strip().lower()):
            return
    raise BadSignature(f"X-HubSpot-Signature ({version}) does not match the client secret")


def flatten(body: Any) -> dict[str, Any]:
    """One record from the shapes a HubSpot workflow webhook posts: the contact/company JSON
    (``properties`` of ``{"value": …}`` with ``vid``/``objectId``), a CRM v3 object
    (``id`` + flat ``properties``), or a customised body of flat property values."""
    if not isinstance(body, dict):
        return {}
    properties = body.get("properties")
    if isinstance(properties, dict):
        record = {
            name: (value.get("value") if isinstance(value, dict) else value)
            for name, value in properties.items()
        }
        object_id = body.get("objectId") or body.get("vid") or body.get("id")
        if object_id is not None and "hs_object_id" not in record:
            record["hs_object_id"] = str(object_id)
        return record
    return {name: value for name, value in body.items() if not isinstance(value, dict | list)}
