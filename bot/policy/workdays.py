"""Chinese working days: weekends and statutory holidays off, make-up days (调休) on."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache

import chinese_calendar

__all__ = ["WorkdayResult", "add_working_days", "check_working_day"]


# Cached: chinese_calendar scans its whole holiday table (min/max) on every call, ~8 µs a day,
# and one deadline walks dozens of days; the table is fixed for the life of the process.
@lru_cache(maxsize=4096)
def check_working_day(day: date) -> tuple[bool, bool]:
    """(is a working day, was guessed from weekends only because the year is unpublished)."""
    try:
        return bool(chinese_calendar.is_workday(day)), False
    except NotImplementedError:
        # The State Council publishes each year's holidays late in the year before; until the
        # package ships them, count Monday–Friday and tell the caller the date may slip.
        return day.weekday() < 5, True


@dataclass(frozen=True, slots=True)
class WorkdayResult:
    """The date reached and the years for which only weekends were known."""

    day: date
    fallback_years: tuple[int, ...]

    @property
    def estimated(self) -> bool:
        return bool(self.fallback_years)


def add_working_days(start: date, days: int) -> WorkdayResult:
    """The ``days``-th working day after ``start``; ``start`` itself is day 0 and never counted."""
    if days < 0:
        raise ValueError("days must not be negative")
    current, remaining, guessed = start, days, set[int]()
    while remaining:
        current += timedelta(days=1)
        working, estimated = check_working_day(current)
        if estimated:
            guessed.add(current.year)
        if working:
            remaining -= 1
    return WorkdayResult(current, tuple(sorted(guessed)))
