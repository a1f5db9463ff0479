"""The default field mappings (each CRM's standard field names, API names and export labels)
and their application: a CRM record → our lead or account fields, naming any unmapped field."""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

import pycountry

from shared.models.crm import CrmKind

Target = Literal["leads", "accounts"]
IGNORE = ""  # a mapping to the empty string ignores the field
ATTRIBUTE = "attributes."

LEAD_FIELDS = frozenset(
    {
        "external_id",
        "email",
        "domain",
        "account_external_id",
        "postal_code",
        "country",
        "industry",
        "employee_count",
        "annual_revenue",
        "latitude",
        "longitude",
    }
)
ACCOUNT_FIELDS = frozenset(
    {
        "external_id",
        "name",
        "domain",
        "website",
        "latitude",
        "longitude",
        "postal_code",
        "country",
        "industry",
        "employee_count",
        "annual_revenue",
        "potential",
        "owner_rep_id",
        "owner_external_id",
    }
)
FIELDS: dict[Target, frozenset[str]] = {"leads": LEAD_FIELDS, "accounts": ACCOUNT_FIELDS}

# HubSpot: contact/company internal property names (workflow webhooks) and the column labels
# of its CSV exports.
_HUBSPOT_LEADS = {
    "hs_object_id": "external_id",
    "Record ID": "external_id",
    "email": "email",
    "Email": "email",
    "website": "domain",
    "Website URL": "domain",
    "company": "attributes.company",
    "Company Name": "attributes.company",
    "associatedcompanyid": "account_external_id",
    "Associated Company ID": "account_external_id",
    "zip": "postal_code",
    "Postal Code": "postal_code",
    "country": "country",
    "Country/Region": "country",
    "state": "attributes.state",
    "State/Region": "attributes.state",
    "city": "attributes.city",
    "City": "attributes.city",
    "industry": "industry",
    "Industry": "industry",
    "numberofemployees": "employee_count",
    "Number of Employees": "employee_count",
    "numemployees": "attributes.employees_range",
    "annualrevenue": "annual_revenue",
    "Annual Revenue": "annual_revenue",
    "jobtitle": "attributes.job_title",
    "Job Title": "attributes.job_title",
    "lifecyclestage": "attributes.lifecycle_stage",
    "Lifecycle Stage": "attributes.lifecycle_stage",
    "hs_lead_status": "attributes.lead_status",
    "Lead Status": "attributes.lead_status",
    "hs_analytics_source": "attributes.lead_source",
    "Original Source": "attributes.lead_source",
    # Personal data and bookkeeping routing never reads.
    "firstname": IGNORE,
    "First Name": IGNORE,
    "lastname": IGNORE,
    "Last Name": IGNORE,
    "phone": IGNORE,
    "Phone Number": IGNORE,
    "mobilephone": IGNORE,
    "address": IGNORE,
    "Street Address": IGNORE,
    "createdate": IGNORE,
    "Create Date": IGNORE,
    "lastmodifieddate": IGNORE,
    "Last Activity Date": IGNORE,
    "hubspot_owner_id": IGNORE,
    "Contact owner": IGNORE,
}
_HUBSPOT_ACCOUNTS = {
    "hs_object_id": "external_id",
    "Record ID": "external_id",
    "name": "name",
    "Company name": "name",
    "domain": "domain",
    "Company Domain Name": "domain",
    "website": "website",
    "Website URL": "website",
    "zip": "postal_code",
    "Postal Code": "postal_code",
    "country": "country",
    "Country/Region": "country",
    "state": "attributes.state",
    "State/Region": "attributes.state",
    "city": "attributes.city",
    "City": "attributes.city",
    "industry": "industry",
    "Industry": "industry",
    "numberofemployees": "employee_count",
    "Number of Employees": "employee_count",
    "annualrevenue": "annual_revenue",
    "Annual Revenue": "annual_revenue",
    "phone": IGNORE,
    "Phone Number": IGNORE,
    "address": IGNORE,
    "Street Address": IGNORE,
    "createdate": IGNORE,
    "Create Date": IGNORE,
    "hubspot_owner_id": IGNORE,
    "Company owner": IGNORE,
}
# Salesforce: Lead/Account API names (Outbound Messages, Data Loader exports) and report labels.
_SALESFORCE_LEADS = {
    "Id": "external_id",
    "Lead ID": "external_id",
    "Email": "email",
    "Website": "domain",
    "Company": "attributes.company",
    "Company / Account": "attributes.company",
    "PostalCode": "postal_code",
    "Zip/Postal Code": "postal_code",
    "Country": "country",
    "CountryCode": "country",
    "State": "attributes.state",
    "StateCode": "attributes.state",
    "State/Province": "attributes.state",
    "City": "attributes.city",
    "Latitude": "latitude",
    "Longitude": "longitude",
    "Industry": "industry",
    "NumberOfEmployees": "employee_count",
    "No. of Employees": "employee_count",
    "AnnualRevenue": "annual_revenue",
    "Annual Revenue": "annual_revenue",
    "LeadSource": "attributes.lead_source",
    "Lead Source": "attributes.lead_source",
    "Title": "attributes.job_title",
    "Status": "attributes.lead_status",
    "Lead Status": "attributes.lead_status",
    "Rating": "attributes.rating",
    **{
        name: IGNORE
        for name in (
            "FirstName",
            "First Name",
            "LastName",
            "Last Name",
            "Name",
            "Salutation",
            "Phone",
            "MobilePhone",
            "Fax",
            "Street",
            "Description",
            "OwnerId",
            "Lead Owner",
            "CreatedDate",
            "Create Date",
            "CreatedById",
            "LastModifiedDate",
            "LastModifiedById",
            "SystemModstamp",
            "LastActivityDate",
            "IsDeleted",
            "IsConverted",
            "IsUnreadByOwner",
            "HasOptedOutOfEmail",
            "GeocodeAccuracy",
            "MasterRecordId",
        )
    },
}
_SALESFORCE_ACCOUNTS = {
    "Id": "external_id",
    "Account ID": "external_id",
    "Name": "name",
    "Account Name": "name",
    "Website": "website",
    "BillingPostalCode": "postal_code",
    "Billing Zip/Postal Code": "postal_code",
    "BillingCountry": "country",
    "BillingCountryCode": "country",
    "Billing Country": "country",
    "BillingState": "attributes.state",
    "Billing State/Province": "attributes.state",
    "BillingCity": "attributes.city",
    "Billing City": "attributes.city",
    "BillingLatitude": "latitude",
    "BillingLongitude": "longitude",
    "Industry": "industry",
    "NumberOfEmployees": "employee_count",
    "Employees": "employee_count",
    "AnnualRevenue": "annual_revenue",
    "Annual Revenue": "annual_revenue",
    "Type": "attributes.account_type",
    **{
        name: IGNORE
        for name in (
            "Phone",
            "BillingStreet",
            "Billing Street",
            "OwnerId",
            "Account Owner",
            "CreatedDate",
            "Create Date",
            "LastModifiedDate",
            "SystemModstamp",
            "IsDeleted",
            "Description",
        )
    },
}
DEFAULTS: dict[CrmKind, dict[Target, dict[str, str]]] = {
    CrmKind.hubspot: {"leads": _HUBSPOT_LEADS, "accounts": _HUBSPOT_ACCOUNTS},
    CrmKind.salesforce: {"leads": _SALESFORCE_LEADS, "accounts": _SALESFORCE_ACCOUNTS},
}
# HubSpot sends dozens of hs_* bookkeeping properties with every record; read only those mapped.
IGNORED_PREFIXES: dict[CrmKind, tuple[str, ...]] = {
    CrmKind.hubspot: ("hs_",),
    CrmKind.salesforce: (),
}


def check_target(target: Target, field: str) -> str | None:
    """Why ``field`` is no valid destination for ``target`` (None when it is)."""
    if field == IGNORE or field in FIELDS[target]:
        return None
    if field.startswith(ATTRIBUTE):
        key = field[len(ATTRIBUTE) :]
        if key.isidentifier() and key.isascii() and len(key) <= 63:
            return None
        return f"{field!r}: an attribute key has letters, digits and underscores, up to 63"
    return (
        f"{field!r} is not a {target[:-1]} field: use one of {', '.join(sorted(FIELDS[target]))},"
        ' attributes.<key>, or "" to ignore the CRM field'
    )


@dataclass(frozen=True)
class FieldMap:
    """The effective mapping of one connector for one target: defaults, then overrides."""

    kind: CrmKind
    target: Target
    fields: Mapping[str, str]  # casefolded CRM name → destination
    ignore_unmapped: bool

    @classmethod
    def of(
        cls, kind: CrmKind, target: Target, overrides: Mapping[str, Any], *, ignore_unmapped: bool
    ) -> "FieldMap":
        merged = {name.casefold(): to for name, to in DEFAULTS[kind][target].items()}
        merged |= {name.casefold(): str(to) for name, to in overrides.get(target, {}).items()}
        return cls(kind=kind, target=target, fields=merged, ignore_unmapped=ignore_unmapped)

    def destination(self, name: str) -> str | None:
        """Where a CRM field goes: a field, "" (ignored), or None (unmapped)."""
        found = self.fields.get(name.strip().casefold())
        if found is not None:
            return found
        if self.ignore_unmapped or name.startswith(IGNORED_PREFIXES[self.kind]):
            return IGNORE
        return None

    def unmapped_help(self, names: list[str]) -> str:
        shown = ", ".join(repr(name) for name in names[:10])
        more = f" and {len(names) - 10} more" if len(names) > 10 else ""
        return (
            f"{len(names)} field{'s' if len(names) > 1 else ''} of this {self.kind.value} record"
            f" {'have' if len(names) > 1 else 'has'} no mapping: {shown}{more}. Map each to a"
            f' {self.target[:-1]} field or attributes.<key>, or to "" to ignore it'
            f' (PATCH the connector\'s field_mapping, e.g. {{"{self.target}": {{"{names[0]}":'
            f' "attributes.{_attribute_key(names[0])}"}}}}), or set unmapped to "ignore"'
        )


def _attribute_key(name: str) -> str:
    key = "".join(ch if ch.isalnum() else "_" for ch in name.strip().lower()).strip("_")
    return key if key and not key[0].isdigit() else f"f_{key}"


def country_code(value: str) -> str | None:
    """ISO 3166-1 alpha-2 of a code or a name ("US", "USA", "United States"); None if unknown."""
    text = value.strip()
    if not text:
        return None
    try:
        return str(pycountry.countries.lookup(text).alpha_2)
    except LookupError:
        return None


@dataclass(frozen=True)
class Mapped:
    values: dict[str, Any]
    unmapped: list[str]
    problems: list[tuple[str, str]]  # (CRM field, why its value cannot be used)


def apply(field_map: FieldMap, record: Mapping[str, Any]) -> Mapped:
    """A CRM record's non-empty values at their destinations; attributes gathered in one dict."""
    values: dict[str, Any] = {}
    attributes: dict[str, Any] = {}
    unmapped: list[str] = []
    problems: list[tuple[str, str]] = []
    for name, value in record.items():
        destination = field_map.destination(name)
        if destination is None:
            unmapped.append(name)
            continue
        if destination == IGNORE or value is None or value == "":
            continue
        if destination == "country" and isinstance(value, str):
            code = country_code(value)
            if code is None:
                problems.append((name, f"{value!r} is no country name or ISO 3166 code"))
                continue
            value = code
        if destination.startswith(ATTRIBUTE):
            attributes[destination[len(ATTRIBUTE) :]] = value
        else:
            values[destination] = value
    if attributes:
        values["attributes"] = attributes
    return Mapped(values=values, unmapped=unmapped, problems=problems)
