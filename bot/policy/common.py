"""Shared vocabulary of the policy functions: result protocol, enums and date arithmetic."""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass, replace
from datetime import date, datetime
from enum import StrEnum
from typing import Protocol
from zoneinfo import ZoneInfo

from region_data.city_policy import Provenance

__all__ = [
    "SHANGHAI",
    "ExplanationKey",
    "ForUsers",
    "LapseCause",
    "PolicyResult",
    "add_months",
    "first_of_next_month",
    "for_users",
    "is_estimate",
    "public_provenance",
    "public_source",
    "shanghai_date",
]

# Policy dates are Beijing dates; callers turn an aware datetime into ``today`` with this zone.
SHANGHAI = ZoneInfo("Asia/Shanghai")


class PolicyResult(Protocol):
    """What every policy result offers a reply template."""

    @property
    def basis(self) -> str:
        """The formula or rule in words, e.g. '8000元 × 4个月 × 10%–12%'."""
        ...

    @property
    def provenance(self) -> tuple[Provenance, ...]:
        """Where each figure used came from."""
        ...


def is_estimate(result: PolicyResult) -> bool:
    """True when any figure behind the result is a national default, not the place's own."""
    return any(p.is_estimate for p in result.provenance)


class LapseCause(StrEnum):
    """Who caused the arrears; it decides the late fee and retroactive cover."""

    PERSONAL = "personal"
    EMPLOYER = "employer"
    UNKNOWN = "unknown"


class ExplanationKey(StrEnum):
    """Keys that reply templates turn into sentences; one key, one idea."""

    # lapse and resumption
    PAID_MONEY_KEPT = "paid_money_kept"
    BENEFITS_STOP_NEXT_MONTH = "benefits_stop_next_month"
    ACCOUNT_USABLE_NO_CREDIT = "account_usable_no_credit"
    BACK_PAY_MOST_PLACES = "back_pay_most_places"
    BACK_PAY_THEN_WAIT = "back_pay_then_wait"
    MAY_RE_ENROL_AS_NEW = "may_re_enrol_as_new"
    RESUME_MONTH_AFTER_PAYMENT = "resume_month_after_payment"
    CONTINUOUS_YEARS_RESET = "continuous_years_reset"
    CAP_MAY_DROP = "cap_may_drop"
    EMPLOYER_BACK_PAYS = "employer_back_pays"
    RETROACTIVE_REIMBURSEMENT = "retroactive_reimbursement"
    RESIDENT_WINDOW_WAIT = "resident_window_wait"
    RESIDENT_NEXT_PERIOD = "resident_next_period"
    CITY_RESIDENT_DEADLINE = "city_resident_deadline"
    RESIDENT_PAID_ON_TIME = "resident_paid_on_time"
    PAYMENT_DATE_NEEDED = "payment_date_needed"
    # money
    NEED_BASE = "need_base"
    BASE_FROM_CITY_WAGE = "base_from_city_wage"
    LATE_FEE_PERSONAL = "late_fee_personal"
    LATE_FEE_SOME_PLACES = "late_fee_some_places"
    LATE_FEE_ASSUMED_PERSONAL = "late_fee_assumed_personal"
    NO_LATE_FEE_EMPLOYER = "no_late_fee_employer"
    # personal account
    CREDIT_PERCENT_OF_BASE = "credit_percent_of_base"
    RETIREE_CITY_FIXED = "retiree_city_fixed"
    RETIREE_SET_BY_PROVINCE = "retiree_set_by_province"
    NO_PERSONAL_ACCOUNT = "no_personal_account"
    # contribution years
    REQUIRED_YEARS_CITY = "required_years_city"
    REQUIRED_YEARS_REFERENCE = "required_years_reference"
    SEX_NEEDED = "sex_needed"
    YEARS_ENOUGH = "years_enough"
    PAY_UP_IN_ONE_GO = "pay_up_in_one_go"
    # transfer
    SAME_CITY_NO_TRANSFER = "same_city_no_transfer"
    BALANCE_MOVES = "balance_moves"
    BALANCE_TO_BANK_IF_STUCK = "balance_to_bank_if_stuck"
    POOLED_FUND_STAYS = "pooled_fund_stays"
    YEARS_ADD_UP = "years_add_up"
    PROVINCE_BALANCE_USABLE_ACROSS_CITIES = "province_balance_usable_across_cities"
    PROVINCE_RULE_VARIES = "province_rule_varies"
    RESIDENT_JOIN_NEXT_YEAR = "resident_join_next_year"
    OLD_PLACE_STOPPED_NO_ARREARS = "old_place_stopped_no_arrears"
    CALENDAR_FALLBACK = "calendar_fallback"
    CITY_BALANCE_TIMING = "city_balance_timing"
    # collection periods
    COLLECTION_PERIOD_ESTIMATE = "collection_period_estimate"


def shanghai_date(moment: datetime) -> date:
    """The Beijing calendar date of an aware datetime; naive datetimes are refused."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("shanghai_date needs an aware datetime")
    return moment.astimezone(SHANGHAI).date()


def add_months(day: date, months: int) -> date:
    """The same day ``months`` later, clipped to the end of a shorter month."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return date(year, month + 1, min(day.day, last))


def first_of_next_month(day: date) -> date:
    """1st of the month after ``day``; benefits restart from there after a back-payment."""
    return add_months(day.replace(day=1), 1)


# --- what a user may be shown of a source ----------------------------------------------------

# Bookkeeping for maintainers, not for users: "policy-facts §10 (002)" names a section of our own
# notes (the article behind it is 002), and "资料未注明年份…" explains how ``as_of`` was chosen.
_FACTS_SECTION = re.compile(r"policy-facts\s*§\s*[0-9]+\s*(?:\((?P<files>[^)]*)\))?")
_BOOKKEEPING_NOTE = re.compile(r"（资料未注明年份[^）]*）")


def public_source(source: str) -> str:
    """A source as users see it: the article numbers ("资料002"), never our notes' sections."""
    parts: list[str] = []
    for piece in re.split(r"[;；]", source):
        match = _FACTS_SECTION.search(piece)
        text = (match.group("files") or "") if match else piece
        parts.extend(p.strip() for p in text.split(",") if p.strip())
    return ", ".join(dict.fromkeys(parts))


def public_provenance(item: Provenance) -> Provenance:
    """``item`` with its source and note cleaned of maintainers' bookkeeping."""
    note = _BOOKKEEPING_NOTE.sub("", item.note)
    return replace(item, source=public_source(item.source) or item.source, note=note)


@dataclass(frozen=True, slots=True)
class ForUsers:
    """A policy result's basis and provenance as a reply may show them."""

    basis: str
    provenance: tuple[Provenance, ...]


def for_users(result: PolicyResult) -> ForUsers:
    return ForUsers(result.basis, tuple(public_provenance(p) for p in result.provenance))
