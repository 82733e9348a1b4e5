"""When benefits resume after a lapse (断缴), by lapse length, scheme and city rules."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

from region_data.city_policy import CityPolicy, Provenance, ResidentLateRule, Scheme, Sourced

from . import national as nat
from .common import ExplanationKey as K
from .common import LapseCause, add_months, first_of_next_month

__all__ = ["LapseBucket", "Resumption", "ResumptionInputs", "benefit_resumption", "lapse_bucket"]


class LapseBucket(StrEnum):
    """Lapse length bands used by most places: ≤3 months, 3–6 months, over 6 months."""

    UP_TO_3 = "up_to_3_months"
    THREE_TO_6 = "3_to_6_months"
    OVER_6 = "over_6_months"


def lapse_bucket(months: int) -> LapseBucket:
    """The band of a lapse of ``months`` whole months (3 is ≤3, 6 is 3–6)."""
    if months < 1:
        raise ValueError("a lapse lasts at least one month")
    if months <= nat.SHORT_LAPSE_MONTHS.value:
        return LapseBucket.UP_TO_3
    if months <= nat.MEDIUM_LAPSE_MONTHS.value:
        return LapseBucket.THREE_TO_6
    return LapseBucket.OVER_6


@dataclass(frozen=True, slots=True)
class ResumptionInputs:
    scheme: Scheme
    lapse_months: int
    payment_date: date | None
    cause: LapseCause
    cover_year: int | None
    city: str | None


@dataclass(frozen=True, slots=True)
class Resumption:
    """When cover comes back after paying, and what the lapse cost in continuity."""

    inputs: ResumptionInputs
    bucket: LapseBucket
    waiting_months: tuple[int, int]  # counted from the month after payment
    waiting_days: tuple[int, int] | None  # a city's day-based wait, counted from payment
    resume_from: date | None  # None when the payment date is unknown
    resume_by: date | None  # latest estimate; equals resume_from when the rule is exact
    continuous_years_reset: bool
    explanation_keys: tuple[K, ...]
    basis: str
    provenance: tuple[Provenance, ...]


@dataclass(frozen=True, slots=True)
class _Rule:
    waiting_months: tuple[int, int]
    keys: tuple[K, ...]
    provenance: tuple[Provenance, ...]
    basis: str
    waiting_days: tuple[int, int] | None = None


def benefit_resumption(
    scheme: Scheme,
    lapse_months: int,
    *,
    city: CityPolicy | None,
    payment_date: date | None = None,
    cause: LapseCause = LapseCause.UNKNOWN,
    cover_year: int | None = None,
) -> Resumption:
    """Estimate when benefits resume after paying back a lapse of ``lapse_months``.

    ``cover_year`` is the residents' cover year the payment is for; it defaults to the payment's
    year and only matters for a city with a residents' payment deadline (e.g. 南京).
    """
    bucket = lapse_bucket(lapse_months)
    employer = cause is LapseCause.EMPLOYER and scheme is Scheme.EMPLOYEE
    late = city.resident_late_payment if city and scheme is Scheme.RESIDENT else None
    if employer:
        rule = _EMPLOYER_RULE
    elif late:
        rule = _city_resident_rule(late, payment_date, cover_year)
    else:
        rule = _national_rule(scheme, bucket)
    # An employer's back-payment fills the gap, so continuity is not broken.
    reset = bucket is not LapseBucket.UP_TO_3 and not employer
    keys = [K.PAID_MONEY_KEPT, K.BENEFITS_STOP_NEXT_MONTH]
    if scheme is not Scheme.RESIDENT:
        keys.append(K.ACCOUNT_USABLE_NO_CREDIT)
    keys.extend(rule.keys)
    provenance = [nat.LAPSE_CONSEQUENCES, *rule.provenance]
    if reset:
        keys.extend((K.CONTINUOUS_YEARS_RESET, K.CAP_MAY_DROP))
        provenance.append(nat.CONTINUOUS_RESET)
    resume_from, resume_by = _resume_dates(rule, payment_date)
    if payment_date is None:
        keys.append(K.PAYMENT_DATE_NEEDED)
    return Resumption(
        inputs=ResumptionInputs(
            scheme, lapse_months, payment_date, cause, cover_year, city.name if city else None
        ),
        bucket=bucket,
        waiting_months=rule.waiting_months,
        waiting_days=rule.waiting_days,
        resume_from=resume_from,
        resume_by=resume_by,
        continuous_years_reset=reset,
        explanation_keys=tuple(dict.fromkeys(keys)),
        basis=f"断缴{lapse_months}个月：{rule.basis}",
        provenance=tuple(dict.fromkeys(provenance)),
    )


_EMPLOYER_RULE = _Rule(
    waiting_months=(0, 0),
    keys=(K.EMPLOYER_BACK_PAYS, K.RETROACTIVE_REIMBURSEMENT, K.RESUME_MONTH_AFTER_PAYMENT),
    provenance=(nat.EMPLOYER_BACK_PAYMENT,),
    basis="单位补缴后次月恢复待遇，断缴期间费用可追溯报销",
)


def _months_text(wait: tuple[int, int]) -> str:
    low, high = wait
    if high == 0:
        return "补缴后次月起恢复待遇"
    span = str(low) if low == high else f"{low}–{high}"
    return f"补缴后次月起再等待{span}个月"


def _from_months(
    wait: Sourced[tuple[int, int]] | Sourced[int], keys: tuple[K, ...], *extra: Provenance
) -> _Rule:
    value = wait.value
    pair = value if isinstance(value, tuple) else (value, value)
    return _Rule(pair, keys, (*extra, wait.provenance), _months_text(pair))


def _national_rule(scheme: Scheme, bucket: LapseBucket) -> _Rule:
    if scheme is Scheme.RESIDENT:
        extra = (K.RESIDENT_NEXT_PERIOD,) if bucket is LapseBucket.OVER_6 else ()
        return _from_months(nat.RESIDENT_LATE_WAIT_MONTHS, (K.RESIDENT_WINDOW_WAIT, *extra))
    if bucket is LapseBucket.UP_TO_3:
        keys = (K.BACK_PAY_MOST_PLACES, K.RESUME_MONTH_AFTER_PAYMENT)
        return _Rule((0, 0), keys, (nat.SHORT_LAPSE_MONTHS.provenance,), _months_text((0, 0)))
    if bucket is LapseBucket.THREE_TO_6:
        return _from_months(nat.MEDIUM_LAPSE_WAIT_MONTHS, (K.BACK_PAY_THEN_WAIT,))
    extra_prov = nat.MEDIUM_LAPSE_MONTHS.provenance
    return _from_months(nat.LONG_LAPSE_WAIT_MONTHS, (K.MAY_RE_ENROL_AS_NEW,), extra_prov)


def _city_resident_rule(
    late: Sourced[ResidentLateRule], payment_date: date | None, cover_year: int | None
) -> _Rule:
    rule = late.value
    basis = f"当地规定{rule.before_month}月1日前补缴无等待期，之后补缴等待{rule.waiting_days}天"
    keys: tuple[K, ...] = (K.CITY_RESIDENT_DEADLINE,)
    if payment_date is None:
        return _Rule((0, 0), keys, (late.provenance,), basis, (0, rule.waiting_days))
    deadline = date(cover_year or payment_date.year, rule.before_month, 1)
    days = 0 if payment_date < deadline else rule.waiting_days
    if days == 0:
        keys = (*keys, K.RESUME_MONTH_AFTER_PAYMENT)
    return _Rule((0, 0), keys, (late.provenance,), basis, (days, days))


def _resume_dates(rule: _Rule, paid: date | None) -> tuple[date | None, date | None]:
    if paid is None:
        return None, None
    start = first_of_next_month(paid)
    low, high = rule.waiting_months
    if rule.waiting_days is not None:
        # Day-based waits run from the payment day but never beat the month-after rule.
        return (
            max(start, paid + timedelta(days=rule.waiting_days[0])),
            max(start, paid + timedelta(days=rule.waiting_days[1])),
        )
    return add_months(start, low), add_months(start, high)
