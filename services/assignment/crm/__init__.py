"""CRM adapters: leads straight from a HubSpot workflow webhook or a Salesforce Outbound Message,
and accounts/leads from their CSV exports, through a per-tenant field mapping."""
