"""Errors of the account-potential model."""

from shared.errors import Conflict


class PotentialNotFitted(Conflict):
    """No model could be fitted, or none is stored yet."""
