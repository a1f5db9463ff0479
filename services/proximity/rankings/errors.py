"""Errors specific to rankings."""

import uuid

from shared.errors import NotFound


class AccountNotFound(NotFound):
    def __init__(self, account_id: uuid.UUID) -> None:
        super().__init__(f"no account with id {account_id} in this tenant", field="account_id")
