"""When benefits resume after a lapse (断缴), by lapse length, scheme and city rules."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

from region_data.city_policy import CityPolicy, Provenance, ResidentLateRule, Scheme, Sourced

from . import national as nat
from .common import ExplanationKey as K
from .common import LapseCause, add_months, first_of_next_month
from .deadlines import ResidentPhase, resident_payment_status

__all__ = [
    "LapseBucket",
    "ResidentLateCase",
    "ResidentLatePayment",
    "ResidentLatePaymentInputs",
    "Resumption",
    "ResumptionInputs",
    "benefit_resumption",
    "lapse_bucket",
    "resident_late_payment",
]


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
    # Cover starts on the payment day itself (never before ``cover_from``), not the month after:
    # a residents' payment without a waiting period.
    cover_from: date | None = None


def on_time_cover_year(paid: date, city: CityPolicy | None) -> int | None:
    """The residents' cover year a payment on ``paid`` pays on time for (inside a collection
    period: a December payment is next year's premium, covered from 1 January, no wait), or
    None when no collection period is running that day."""
    status = resident_payment_status(paid, city=city)
    return status.cover_year if status.phase is ResidentPhase.OPEN else None


def _on_time_rule(cover_year: int) -> _Rule:
    return _Rule(
        (0, 0),
        (K.RESIDENT_PAID_ON_TIME,),
        (nat.RESIDENT_COLLECTION.provenance,),
        f"集中缴费期内按时缴纳{cover_year}年度保费，{cover_year}年1月1日起享受待遇，无等待期",
        cover_from=date(cover_year, 1, 1),
    )


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
    on_time = (
        on_time_cover_year(payment_date, city)
        if scheme is Scheme.RESIDENT and payment_date is not None
        else None
    )
    if employer:
        rule = _EMPLOYER_RULE
    elif on_time is not None and cover_year in (None, on_time):
        rule = _on_time_rule(on_time)
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
    # Dated, so the reply can say which day the payment was measured against.
    basis = (
        f"当地规定{deadline.year}年度{rule.before_month}月1日前补缴无等待期，"
        f"之后补缴等待{rule.waiting_days}天"
    )
    days = 0 if payment_date < deadline else rule.waiting_days
    if days == 0:
        # No wait: covered from the payment day (from 1 January when paid before the year).
        return _Rule(
            (0, 0),
            keys,
            (late.provenance,),
            basis,
            (0, 0),
            cover_from=date(deadline.year, 1, 1),
        )
    return _Rule((0, 0), keys, (late.provenance,), basis, (days, days))


def _resume_dates(rule: _Rule, paid: date | None) -> tuple[date | None, date | None]:
    if paid is None:
        return None, None
    if rule.cover_from is not None:
        start = max(paid, rule.cover_from)
        return start, start
    start = first_of_next_month(paid)
    low, high = rule.waiting_months
    if rule.waiting_days is not None:
        # Day-based waits run from the payment day but never beat the month-after rule.
        return (
            max(start, paid + timedelta(days=rule.waiting_days[0])),
            max(start, paid + timedelta(days=rule.waiting_days[1])),
        )
    return add_months(start, low), add_months(start, high)


# --- residents who missed the annual payment ------------------------------------------------


@dataclass(frozen=True, slots=True)
class ResidentLatePaymentInputs:
    today: date
    city: str | None
    paid_from: date | None
    paid_to: date | None


@dataclass(frozen=True, slots=True)
class ResidentLateCase:
    """One cover year under a city's "pay before day X or wait" rule, as of ``today``.

    A reply must never say "no wait" and "60 days" without saying which cover year each is
    for, so each cover year that matters today is its own case with its own basis.
    """

    cover_year: int
    no_wait_before: date
    wait_days_now: int  # paying today: 0 before ``no_wait_before``, else the city's wait
    current: bool  # the cover year running today, i.e. the one a lapsed person lacks
    basis: str
    provenance: tuple[Provenance, ...]


@dataclass(frozen=True, slots=True)
class ResidentLatePayment:
    """Until when a resident who missed the annual payment can still pay, and the wait after.

    With a city rule (南京: before 1 March of the cover year, else 60 days) the dates are for
    the coming cover year, counted from ``today``, and ``cases`` says what paying today means
    for the running cover year and for the coming one. Without one, the national practice
    applies: a back-payment window early in the year (a published year's window is cited as a
    dated source, never as this year's) and a waiting period in months. ``paid_from`` and
    ``paid_to`` bound a planned payment ("明年4月" is the whole of April); the wait and
    resumption dates are then computed for both ends.
    """

    inputs: ResidentLatePaymentInputs
    city_rule: bool
    cover_year: int  # city: the cover year ``no_wait_before`` belongs to; national: the
    # year of the next early-year back-payment window a place may open (from ``today``)
    no_wait_before: date | None  # city rule: paying before this day has no wait
    this_year_passed: bool  # city rule: this calendar year's no-wait day has gone by
    waiting_days: int | None  # city rule: the wait for later payers, from the payment day
    waiting_months: int | None  # national: the wait, from the month after payment
    example_window: tuple[date, date] | None  # national: a published back-payment window
    # City rule: today's position for the running cover year, then (once its no-wait day has
    # passed) the coming one; empty for the national practice.
    cases: tuple[ResidentLateCase, ...]
    paid_wait_days: tuple[int, int] | None  # city rule and a planned payment: its wait
    # A planned payment wholly inside a running collection period: the cover year it pays on
    # time (no waiting period, covered from that year's 1 January); None otherwise.
    on_time_cover_year: int | None
    resume_from: date | None  # with a planned payment: earliest day benefits resume
    resume_by: date | None  # latest, for the end of the planned period
    basis: str
    provenance: tuple[Provenance, ...]


def resident_late_payment(
    today: date,
    *,
    city: CityPolicy | None,
    paid_from: date | None = None,
    paid_to: date | None = None,
) -> ResidentLatePayment:
    """The residents' late-payment rule of ``city`` (or the national practice), dated."""
    if paid_to is None:
        paid_to = paid_from
    if paid_from is None or paid_to is None:
        paid_from = paid_to = None
    elif paid_to < paid_from:
        raise ValueError("paid_to is before paid_from")
    inputs = ResidentLatePaymentInputs(today, city.name if city else None, paid_from, paid_to)
    late = city.resident_late_payment if city else None
    if late is not None:
        return _city_late_payment(inputs, late, city)
    return _national_late_payment(inputs, city)


def _planned_rule(
    paid: date, city: CityPolicy | None, late: Sourced[ResidentLateRule] | None
) -> _Rule:
    """The rule a planned residents' payment on ``paid`` falls under: on time inside a
    collection period, else the city's late rule, else the national back-payment wait."""
    on_time = on_time_cover_year(paid, city)
    if on_time is not None:
        return _on_time_rule(on_time)
    if late is not None:
        return _city_resident_rule(late, paid, None)
    return _from_months(nat.RESIDENT_LATE_WAIT_MONTHS, (K.RESIDENT_WINDOW_WAIT,))


def _on_time_both(inputs: ResidentLatePaymentInputs, city: CityPolicy | None) -> int | None:
    if inputs.paid_from is None or inputs.paid_to is None:
        return None
    first = on_time_cover_year(inputs.paid_from, city)
    return (
        first if first is not None and first == on_time_cover_year(inputs.paid_to, city) else None
    )


def _city_late_payment(
    inputs: ResidentLatePaymentInputs, late: Sourced[ResidentLateRule], city: CityPolicy | None
) -> ResidentLatePayment:
    rule, today = late.value, inputs.today
    this_year = date(today.year, rule.before_month, 1)
    passed = today >= this_year
    cover_year = today.year + 1 if passed else today.year
    before = date(cover_year, rule.before_month, 1)
    wait_days: tuple[int, int] | None = None
    resume: tuple[date | None, date | None] = (None, None)
    if inputs.paid_from is not None and inputs.paid_to is not None:
        # A payment is for the cover year it falls in, as in benefit_resumption.
        first = _planned_rule(inputs.paid_from, city, late)
        last = _planned_rule(inputs.paid_to, city, late)
        days = (first.waiting_days or (0, 0))[0], (last.waiting_days or (0, 0))[1]
        wait_days = days
        resume = _resume_dates(first, inputs.paid_from)[0], _resume_dates(last, inputs.paid_to)[1]
    cases = [_late_case(today.year, today, late)]
    if passed:
        cases.append(_late_case(today.year + 1, today, late))
    return ResidentLatePayment(
        inputs=inputs,
        city_rule=True,
        cover_year=cover_year,
        no_wait_before=before,
        this_year_passed=passed,
        waiting_days=rule.waiting_days,
        waiting_months=None,
        example_window=None,
        cases=tuple(cases),
        paid_wait_days=wait_days,
        on_time_cover_year=_on_time_both(inputs, city),
        resume_from=resume[0],
        resume_by=resume[1],
        basis=(
            f"{cover_year}年度：{before.year}年{before.month}月1日前补缴无等待期，"
            f"之后补缴从补缴之日起等待{rule.waiting_days}天"
        ),
        provenance=(late.provenance,),
    )


def _late_case(cover_year: int, today: date, late: Sourced[ResidentLateRule]) -> ResidentLateCase:
    rule = late.value
    before = date(cover_year, rule.before_month, 1)
    wait = 0 if today < before else rule.waiting_days
    # (The rule's source names the wait after the day.)
    head = f"{cover_year}年度：{before.year}年{before.month}月1日前补缴无等待期"
    if wait:
        now = "，已过"
    else:
        # Counted to the last day without a wait, as every deadline is (2月28日: "还有18天").
        left = (before - timedelta(days=1) - today).days
        now = f"（还有{left}天）"
    return ResidentLateCase(
        cover_year=cover_year,
        no_wait_before=before,
        wait_days_now=wait,
        current=cover_year == today.year,
        basis=head + now,
        provenance=(late.provenance,),
    )


def _next_window_year(today: date, window: tuple[date, date]) -> int:
    """The first year, from ``today`` on, whose window (same months as the example) has not
    ended: an early-year window after the autumn collection is next year's."""
    end = window[1]
    return today.year if (end.month, end.day) >= (today.month, today.day) else today.year + 1


def _national_late_payment(
    inputs: ResidentLatePaymentInputs, city: CityPolicy | None
) -> ResidentLatePayment:
    wait = nat.RESIDENT_LATE_WAIT_MONTHS
    # The latest published window is the example; it is never moved to another year.
    example_year = max(nat.RESIDENT_BACK_PAYMENT_WINDOWS)
    window = nat.RESIDENT_BACK_PAYMENT_WINDOWS[example_year]
    rule = _from_months(wait, (K.RESIDENT_WINDOW_WAIT,))
    resume: tuple[date | None, date | None] = (None, None)
    if inputs.paid_from is not None and inputs.paid_to is not None:
        first = _planned_rule(inputs.paid_from, city, None)
        last = _planned_rule(inputs.paid_to, city, None)
        resume = _resume_dates(first, inputs.paid_from)[0], _resume_dates(last, inputs.paid_to)[1]
    start, end = window.value
    return ResidentLatePayment(
        inputs=inputs,
        city_rule=False,
        cover_year=_next_window_year(inputs.today, window.value),
        no_wait_before=None,
        this_year_passed=False,
        waiting_days=None,
        waiting_months=wait.value,
        example_window=window.value,
        cases=(),
        paid_wait_days=None,
        on_time_cover_year=_on_time_both(inputs, city),
        resume_from=resume[0],
        resume_by=resume[1],
        # The published window is a dated source ("据资料…"), not this year's window.
        basis=(
            f"错过集中缴费期后补缴，{rule.basis}（据资料{window.provenance.source}，"
            f"{example_year}年的补缴期为{start.month}月{start.day}日至{end.month}月{end.day}日）"
        ),
        provenance=(wait.provenance, window.provenance),
    )
