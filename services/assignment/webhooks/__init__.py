"""Webhooks: per-tenant subscriptions, signed deliveries by the job worker, dead letters."""
