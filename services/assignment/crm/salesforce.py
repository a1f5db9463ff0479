"""Salesforce Outbound Messages: the SOAP ``notifications`` envelope read into records, and the
acknowledgement Salesforce waits for (without it, it retries for 24 hours)."""

from dataclasses import dataclass
from typing import Any
from xml.etree.ElementTree import Element

import defusedxml.ElementTree as SafeXml
from defusedxml import DefusedXmlException

from services.assignment.crm.errors import BadEnvelope

SOAP = "http://schemas.xmlsoap.org/soap/envelope/"
OUTBOUND = "http://soap.sforce.com/2005/09/outbound"
XSI = "http://www.w3.org/2001/XMLSchema-instance"

ACK = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    f'<soapenv:Envelope xmlns:soapenv="{SOAP}">'
    "<soapenv:Body>"
    f'<notificationsResponse xmlns="{OUTBOUND}"><Ack>true</Ack></notificationsResponse>'
    "</soapenv:Body></soapenv:Envelope>"
)


@dataclass(frozen=True)
class Notification:
    notification_id: str
    sobject_type: str
    record: dict[str, Any]


@dataclass(frozen=True)
class OutboundMessage:
    organization_id: str
    action_id: str | None
    notifications: list[Notification]


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _text(element: Element | None) -> str | None:
    if element is None or element.get(f"{{{XSI}}}nil") == "true":
        return None
    return (element.text or "").strip() or None


def parse(body: bytes) -> OutboundMessage:
    """The message's org, and each notification's id, sObject type and fields (nil → None).
    DTDs, entities and external references are refused (defusedxml)."""
    try:
        root = SafeXml.fromstring(body, forbid_dtd=True)
    except (SafeXml.ParseError, DefusedXmlException) as error:
        raise BadEnvelope(
            f"the body is not a SOAP envelope this adapter can read: {error}"
        ) from error
    notifications = root.find(f"{{{SOAP}}}Body/{{{OUTBOUND}}}notifications")
    if notifications is None:
        raise BadEnvelope(
            "no soapenv:Body/notifications element (namespace"
            f" {OUTBOUND}): send a Salesforce Outbound Message"
        )
    organization_id = _text(notifications.find(f"{{{OUTBOUND}}}OrganizationId"))
    if organization_id is None:
        raise BadEnvelope("the notifications element has no OrganizationId", field="OrganizationId")
    items: list[Notification] = []
    for notification in notifications.findall(f"{{{OUTBOUND}}}Notification"):
        notification_id = _text(notification.find(f"{{{OUTBOUND}}}Id"))
        sobject = notification.find(f"{{{OUTBOUND}}}sObject")
        if notification_id is None or sobject is None:
            raise BadEnvelope(
                f"notification {len(items) + 1} has no Id or no sObject", field="Notification"
            )
        sobject_type = (sobject.get(f"{{{XSI}}}type") or "").split(":")[-1]
        record = {_local(field.tag): _text(field) for field in sobject}
        items.append(Notification(notification_id, sobject_type, record))
    if not items:
        raise BadEnvelope("the message holds no Notification", field="Notification")
    return OutboundMessage(
        organization_id=organization_id,
        action_id=_text(notifications.find(f"{{{OUTBOUND}}}ActionId")),
        notifications=items,
    )


def same_org(configured: str, sent: str) -> bool:
    """Salesforce ids come as 15 (case-sensitive) or 18 characters (the 15 plus a checksum)."""
    return configured[:15] == sent[:15]
