"""Chinese working days: weekends and statutory holidays off, make-up days (调休) on."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache

import chinese_calendar

__all__ = ["WorkdayResult", "add_working_days", "check_working_day"]


# For years the package has not published yet: the statutory holidays of 《全国年节及纪念日放假
# 办法》 (2024 revision: 元旦 1 day, 春节 4 days from 除夕, 清明 1, 劳动节 2, 端午 1, 中秋 1,
# 国庆 3). Without the State Council's bridging and make-up days (调休) the count is still
# an estimate, but no longer puts a deadline on New Year's Day. Lunar dates (正月初一, 五月初五,
# 八月十五) from the Chinese lunar calendar, checked against the `lunardate` package.
_FIXED_HOLIDAYS = frozenset({(1, 1), (5, 1), (5, 2), (10, 1), (10, 2), (10, 3)})
_LUNAR_HOLIDAYS: dict[int, tuple[date, date, date]] = {  # year: 春节 (初一), 端午, 中秋
    2027: (date(2027, 2, 6), date(2027, 6, 9), date(2027, 9, 15)),
    2028: (date(2028, 1, 26), date(2028, 5, 28), date(2028, 10, 3)),
    2029: (date(2029, 2, 13), date(2029, 6, 16), date(2029, 9, 22)),
    2030: (date(2030, 2, 3), date(2030, 6, 5), date(2030, 9, 12)),
}


@lru_cache(maxsize=16)
def _statutory_holidays(year: int) -> frozenset[date]:
    days = {date(year, m, d) for m, d in _FIXED_HOLIDAYS}
    lunar = _LUNAR_HOLIDAYS.get(year)
    if lunar is not None:
        spring, dragon_boat, mid_autumn = lunar
        days |= {spring + timedelta(days=i) for i in range(-1, 3)}  # 除夕 to 初三
        days |= {dragon_boat, mid_autumn}
    try:
        terms = chinese_calendar.get_solar_terms(date(year, 4, 1), date(year, 4, 30))
        days |= {day for day, name in terms if name == "清明"}
    except Exception:  # the solar-term table has its own range; 清明 is one day either way
        pass
    return frozenset(days)


# Cached: chinese_calendar scans its whole holiday table (min/max) on every call, ~8 µs a day,
# and one deadline walks dozens of days; the table is fixed for the life of the process.
@lru_cache(maxsize=4096)
def check_working_day(day: date) -> tuple[bool, bool]:
    """(is a working day, was guessed from weekends only because the year is unpublished)."""
    try:
        return bool(chinese_calendar.is_workday(day)), False
    except NotImplementedError:
        # The State Council publishes each year's holidays late in the year before; until the
        # package ships them, count Monday–Friday less the statutory holidays, and tell the
        # caller the date may slip.
        return day.weekday() < 5 and day not in _statutory_holidays(day.year), True


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
