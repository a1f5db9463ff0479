"""Periods in the tenant's calendar: fiscal years and quarters, months, custom ranges.

A fiscal year starting in month M is named after the calendar year it ends in: with M = 2,
FY2026 runs 2025-02-01 to 2026-01-31 and its Q1 is February to April 2025. With M = 1 fiscal
and calendar years coincide. Months are calendar months. Every period is a half-open range of
local days ``[start, end)``; its instants are the local midnights in the tenant's time zone, so
a deal closed at 23:30 on 31 March in Berlin belongs to March even though it is April in UTC.
"""

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from services.metrics.errors import PeriodInvalid, PeriodOutOfOrder

_YEAR = re.compile(r"^(\d{4})$")
_QUARTER = re.compile(r"^(\d{4})-Q([1-4])$")
_MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")
# Years served: wide enough for any sales history, narrow enough that a period a year (or a
# season of history) earlier is still a date.
FIRST_YEAR, LAST_YEAR = 1900, 2200
# Custom ranges beyond this are refused: nobody reads a KPI over decades, and it bounds the work.
MAX_CUSTOM_DAYS = 3 * 366


def add_months(day: date, months: int) -> date:
    """The first of a month ``months`` after ``day``'s month (``day`` is a first of month)."""
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def _year_earlier(day: date) -> date:
    try:
        return day.replace(year=day.year - 1)
    except ValueError:  # 29 February
        return day.replace(year=day.year - 1, day=28)


@dataclass(frozen=True)
class Period:
    label: str
    start: date
    end: date
    # Length in months for fiscal years, quarters and months; None for custom ranges.
    months: int | None

    def previous(self) -> "Period":
        """The period of the same length just before this one."""
        if self.months is not None:
            return Period(
                f"before {self.label}",
                add_months(self.start, -self.months),
                self.start,
                self.months,
            )
        days = self.end - self.start
        return Period(f"before {self.label}", self.start - days, self.start, None)

    def year_ago(self) -> "Period":
        if self.months is not None:
            return Period(
                f"{self.label} a year earlier",
                add_months(self.start, -12),
                add_months(self.end, -12),
                self.months,
            )
        return Period(
            f"{self.label} a year earlier",
            _year_earlier(self.start),
            _year_earlier(self.end),
            None,
        )


def check_day(day: date, field: str) -> date:
    if not FIRST_YEAR <= day.year <= LAST_YEAR:
        raise PeriodInvalid(
            f"{field} must lie in the years {FIRST_YEAR} to {LAST_YEAR}", field=field
        )
    return day


def fiscal_year_start(fiscal_year: int, start_month: int) -> date:
    return date(fiscal_year if start_month == 1 else fiscal_year - 1, start_month, 1)


def resolve(
    *,
    period: str | None,
    start: date | None,
    end: date | None,
    fiscal_year_start_month: int,
) -> Period:
    """The period named by ``period`` (``2026``, ``2026-Q1``, ``2026-03``) or by start and end."""
    if period is not None:
        if start is not None or end is not None:
            raise PeriodInvalid("send period, or start and end, not both")
        year = int(period[:4]) if period[:4].isdigit() else FIRST_YEAR
        if not FIRST_YEAR < year < LAST_YEAR:
            raise PeriodInvalid(f"the year must lie between {FIRST_YEAR} and {LAST_YEAR}")
        if match := _YEAR.match(period):
            first = fiscal_year_start(int(match[1]), fiscal_year_start_month)
            return Period(f"FY{match[1]}", first, add_months(first, 12), 12)
        if match := _QUARTER.match(period):
            year_first = fiscal_year_start(int(match[1]), fiscal_year_start_month)
            first = add_months(year_first, 3 * (int(match[2]) - 1))
            return Period(f"FY{match[1]}-Q{match[2]}", first, add_months(first, 3), 3)
        if match := _MONTH.match(period):
            first = date(int(match[1]), int(match[2]), 1)
            return Period(period, first, add_months(first, 1), 1)
        raise PeriodInvalid(
            f"period {period!r} is not a fiscal year (2026), fiscal quarter (2026-Q1) or "
            "month (2026-03)"
        )
    if start is None or end is None:
        raise PeriodInvalid("send period (2026, 2026-Q1, 2026-03), or both start and end")
    check_day(start, "start")
    check_day(end, "end")
    if end <= start:
        raise PeriodOutOfOrder(field="end")
    if (end - start).days > MAX_CUSTOM_DAYS:
        raise PeriodInvalid(f"a custom range spans at most {MAX_CUSTOM_DAYS} days", field="end")
    return Period(f"{start.isoformat()}..{end.isoformat()}", start, end, None)


def local_midnight(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time.min, tzinfo=zone)


def days_between(first: date, second: date) -> int:
    return (second - first) // timedelta(days=1)
