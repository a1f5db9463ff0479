"""Errors specific to opportunities."""

from shared.errors import InvalidInput


class ClosedAtRequired(InvalidInput):
    def __init__(self, status: str) -> None:
        super().__init__(
            f"a {status} opportunity needs closed_at: KPIs count it in the period it closed",
            field="closed_at",
        )


class ClosedBeforeOpened(InvalidInput):
    def __init__(self) -> None:
        super().__init__("closed_at must not be before opened_at", field="closed_at")


class ExchangeRateMissing(InvalidInput):
    def __init__(self, currency: str, reporting_currency: str) -> None:
        super().__init__(
            f"no exchange rate from {currency} to the reporting currency {reporting_currency}: "
            f"set one with PUT /metrics/exchange-rates/{currency} first",
            field="currency",
        )
