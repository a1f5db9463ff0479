"""The tenant's audit trail, read by admin keys."""
