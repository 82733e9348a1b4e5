"""Residents' collection periods, payment deadlines and newborn enrolment dates (for reminders)."""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import TypeVar

from region_data.city_policy import (
    CityPolicy,
    CollectionWindow,
    Provenance,
    ProvincePolicy,
    Sourced,
)

from . import national as nat
from .common import ExplanationKey as K
from .common import add_months

__all__ = [
    "CollectionPeriod",
    "CollectionPeriodInputs",
    "Deadline",
    "DeadlineInputs",
    "DeadlineKind",
    "NewbornEnrolment",
    "NewbornInputs",
    "ResidentPaymentStatus",
    "ResidentPhase",
    "newborn_enrolment",
    "next_deadline",
    "next_monthly_due",
    "resident_collection_period",
    "resident_payment_status",
]

T = TypeVar("T")


def _first(*figures: Sourced[T] | None) -> Sourced[T] | None:
    """The first figure present: callers pass city, then province (national is their fallback)."""
    return next((f for f in figures if f is not None), None)


@dataclass(frozen=True, slots=True)
class CollectionPeriodInputs:
    cover_year: int
    city: str | None
    province: str | None = None


@dataclass(frozen=True, slots=True)
class CollectionPeriod:
    """When residents pay for ``cover_year`` and any later back-payment window."""

    inputs: CollectionPeriodInputs
    opens_on: date  # earliest usual opening (the city's own date when known)
    opens_by: date  # latest usual opening; equals opens_on for a city figure
    closes_on: date
    back_payment_window: tuple[date, date] | None
    back_payment_waiting_months: int | None
    late_payment_before: date | None  # a city's "pay before this day or wait" rule
    late_waiting_days: int | None
    explanation_keys: tuple[K, ...]
    basis: str
    provenance: tuple[Provenance, ...]


def resident_collection_period(
    cover_year: int, *, city: CityPolicy | None, province: ProvincePolicy | None = None
) -> CollectionPeriod:
    """Residents' collection period for ``cover_year``: city, else province, else estimate."""
    own = _first(
        city.resident_collection if city else None,
        province.resident_collection if province else None,
    )
    window = own.value if own else nat.RESIDENT_COLLECTION.value
    opens, closes = _window_dates(window, cover_year)
    opens_by = opens
    keys: list[K] = []
    prov = [own.provenance if own else nat.RESIDENT_COLLECTION.provenance]
    if own is None:
        month, day = nat.RESIDENT_COLLECTION_LATEST_OPEN
        opens_by = date(cover_year - 1, month, day)
        keys.append(K.COLLECTION_PERIOD_ESTIMATE)
    back = _back_payment(cover_year, city, province)
    if back:
        prov.append(back.provenance)
        # Only say "there is a wait" when the source gives one.
        if back.waiting_months:
            keys.append(K.RESIDENT_WINDOW_WAIT)
    late = city.resident_late_payment if city else None
    if late:
        prov.append(late.provenance)
        keys.append(K.CITY_RESIDENT_DEADLINE)
    return CollectionPeriod(
        inputs=CollectionPeriodInputs(
            cover_year, city.name if city else None, province.name if province else None
        ),
        opens_on=opens,
        opens_by=opens_by,
        closes_on=closes,
        back_payment_window=back.window if back else None,
        back_payment_waiting_months=back.waiting_months if back else None,
        late_payment_before=date(cover_year, late.value.before_month, 1) if late else None,
        late_waiting_days=late.value.waiting_days if late else None,
        explanation_keys=tuple(keys),
        basis=_period_basis(cover_year, opens, opens_by, closes),
        provenance=tuple(prov),
    )


@dataclass(frozen=True, slots=True)
class _BackPayment:
    window: tuple[date, date]
    waiting_months: int | None
    provenance: Provenance


def _back_payment(
    cover_year: int, city: CityPolicy | None, province: ProvincePolicy | None
) -> _BackPayment | None:
    """The back-payment window for ``cover_year``: the place's own every year, else national.

    National windows exist only for the years a source announced one (2025), so a place without
    its own gets none in other years rather than a guessed one.
    """
    own = _first(
        city.resident_back_payment if city else None,
        province.resident_back_payment if province else None,
    )
    if own:
        w = own.value
        window = (
            _clipped(cover_year, w.start_month, w.start_day),
            _clipped(cover_year, w.end_month, w.end_day),
        )
        return _BackPayment(window, w.waiting_months, own.provenance)
    default = nat.RESIDENT_BACK_PAYMENT_WINDOWS.get(cover_year)
    if default is None:
        return None
    return _BackPayment(default.value, nat.RESIDENT_LATE_WAIT_MONTHS.value, default.provenance)


def _window_dates(window: CollectionWindow, cover_year: int) -> tuple[date, date]:
    end_year = cover_year if window.end_in_cover_year else cover_year - 1
    return (
        _clipped(cover_year - 1, window.start_month, window.start_day),
        _clipped(end_year, window.end_month, window.end_day),
    )


def _clipped(year: int, month: int, day: int) -> date:
    return date(year, month, min(day, calendar.monthrange(year, month)[1]))


def _period_basis(cover_year: int, opens: date, opens_by: date, closes: date) -> str:
    start = (
        f"{opens:%Y-%m-%d}" if opens == opens_by else f"{opens:%Y-%m-%d}至{opens_by:%Y-%m-%d}间"
    )
    return f"{cover_year}年度居民医保：{start}开始缴费，{closes:%Y-%m-%d}截止"


# --- where today falls in the residents' payment year ----------------------------------------


class ResidentPhase(StrEnum):
    """Whether a residents' collection period is running today."""

    OPEN = "open"  # paying now is paying on time, for ``cover_year``: no waiting period
    CLOSED = "closed"  # the period for ``closed_year`` has ended; the next one is ahead


@dataclass(frozen=True, slots=True)
class ResidentPaymentStatus:
    """Today against the residents' collection periods (city, else province, else national).

    OPEN: a payment today is for ``cover_year`` and covers it from its first day, without a
    waiting period. CLOSED: the period for ``closed_year`` ended on ``closed_on``; whoever missed
    it can only use a back-payment window (with a wait) where the place opens one, and the
    period for ``cover_year`` is still ahead (``period``).
    """

    inputs: DeadlineInputs
    phase: ResidentPhase
    cover_year: int
    period: CollectionPeriod
    days_left: int | None  # OPEN: days until ``period.closes_on``
    opening_uncertain: bool  # OPEN only under the estimate: some places open a month later
    closed_year: int | None  # CLOSED: the cover year whose period has ended
    closed_on: date | None
    basis: str
    provenance: tuple[Provenance, ...]


def resident_payment_status(
    today: date, *, city: CityPolicy | None, province: ProvincePolicy | None = None
) -> ResidentPaymentStatus:
    """Is a residents' collection period open today, and for which cover year?"""
    inputs = DeadlineInputs(
        today, city.name if city else None, province=province.name if province else None
    )
    periods = [
        resident_collection_period(year, city=city, province=province)
        for year in (today.year, today.year + 1, today.year + 2)
    ]
    running = next((p for p in periods if p.opens_on <= today <= p.closes_on), None)
    if running is not None:
        year = running.inputs.cover_year
        left = (running.closes_on - today).days
        return ResidentPaymentStatus(
            inputs=inputs,
            phase=ResidentPhase.OPEN,
            cover_year=year,
            period=running,
            days_left=left,
            opening_uncertain=today < running.opens_by,
            closed_year=None,
            closed_on=None,
            basis=(
                f"{year}年度居民医保集中缴费{running.closes_on:%Y-%m-%d}截止，"
                f"期内缴费{year}年1月1日起享受待遇，无等待期"
            ),
            provenance=running.provenance,
        )
    ahead = next(p for p in periods if p.opens_on > today)
    closed = resident_collection_period(ahead.inputs.cover_year - 1, city=city, province=province)
    return ResidentPaymentStatus(
        inputs=inputs,
        phase=ResidentPhase.CLOSED,
        cover_year=ahead.inputs.cover_year,
        period=ahead,
        days_left=None,
        opening_uncertain=False,
        closed_year=closed.inputs.cover_year,
        closed_on=closed.closes_on,
        basis=(
            f"{closed.inputs.cover_year}年度集中缴费{closed.closes_on:%Y-%m-%d}已截止；"
            f"{ahead.basis}"
        ),
        provenance=tuple(dict.fromkeys((*closed.provenance, *ahead.provenance))),
    )


# --- next deadline ---------------------------------------------------------------------------


class DeadlineKind(StrEnum):
    """Which deadline ``Deadline.due`` is."""

    COLLECTION_END = "collection_end"
    BACK_PAYMENT_END = "back_payment_end"
    CITY_LATE_PAYMENT = "city_late_payment"
    MONTHLY_DUE = "monthly_due"


@dataclass(frozen=True, slots=True)
class DeadlineInputs:
    today: date
    city: str | None
    due_day: int | None = None  # the user's own day, as asked
    province: str | None = None


@dataclass(frozen=True, slots=True)
class Deadline:
    """The next date to pay by; ``due`` is the last day that still counts."""

    inputs: DeadlineInputs
    kind: DeadlineKind
    due: date
    days_left: int
    cover_year: int | None
    basis: str
    provenance: tuple[Provenance, ...]
    # Monthly deadlines only: the day of month used (user's or the table's); None = month end.
    # Kept so a monthly reminder rolls over on the same day without re-reading the table.
    monthly_day: int | None = None


def next_deadline(
    today: date, *, city: CityPolicy | None, province: ProvincePolicy | None = None
) -> Deadline:
    """The next residents' payment deadline on or after ``today`` (never None: 31 Dec exists)."""
    candidates: list[tuple[date, DeadlineKind, int, str, Provenance]] = []
    for cover_year in (today.year, today.year + 1):
        period = resident_collection_period(cover_year, city=city, province=province)
        first = period.provenance[0]
        name = f"{cover_year}年度居民医保"
        candidates.append(
            (
                period.closes_on,
                DeadlineKind.COLLECTION_END,
                cover_year,
                f"{name}集中缴费截止",
                first,
            )
        )
        back = _back_payment(cover_year, city, province)
        if back:
            end, kind = back.window[1], DeadlineKind.BACK_PAYMENT_END
            candidates.append((end, kind, cover_year, f"{name}补缴期截止", back.provenance))
        if period.late_payment_before and city and city.resident_late_payment:
            due = period.late_payment_before - timedelta(days=1)
            text = f"{name}补缴免等待期的最后一天"
            prov = city.resident_late_payment.provenance
            candidates.append((due, DeadlineKind.CITY_LATE_PAYMENT, cover_year, text, prov))
    due, kind, cover_year, text, prov = min(
        (c for c in candidates if c[0] >= today), key=lambda c: c[0]
    )
    return Deadline(
        inputs=DeadlineInputs(
            today, city.name if city else None, province=province.name if province else None
        ),
        kind=kind,
        due=due,
        days_left=(due - today).days,
        cover_year=cover_year,
        basis=f"{text}：{due:%Y-%m-%d}",
        provenance=(prov,),
    )


def next_monthly_due(
    today: date,
    *,
    due_day: int | None = None,
    city: CityPolicy | None = None,
    province: ProvincePolicy | None = None,
) -> Deadline:
    """Flexible workers' next monthly due date (clipped to short months).

    The day is the user's ``due_day`` when given (they know their own bank's deduction day),
    else the city's, else the province's, else the month's last day as a national estimate.
    """
    if due_day is not None and not 1 <= due_day <= 31:
        raise ValueError("due_day must be 1..31")
    own = _first(
        city.monthly_due_day if city else None,
        province.monthly_due_day if province else None,
    )
    day = due_day
    prov = nat.FLEXIBLE_MONTHLY_DUE
    if due_day is None and own is not None:
        day, prov = own.value, own.provenance
    due = _monthly(today.year, today.month, day)
    if due < today:
        nxt = add_months(today.replace(day=1), 1)
        due = _monthly(nxt.year, nxt.month, day)
    label = "月底" if day is None else f"每月{day}日"
    return Deadline(
        inputs=DeadlineInputs(
            today,
            city.name if city else None,
            due_day,
            province.name if province else None,
        ),
        kind=DeadlineKind.MONTHLY_DUE,
        due=due,
        days_left=(due - today).days,
        cover_year=None,
        basis=f"灵活就业按月缴费，{label}前缴清：{due:%Y-%m-%d}",
        provenance=(prov,),
        monthly_day=day,
    )


def _monthly(year: int, month: int, due_day: int | None) -> date:
    last = calendar.monthrange(year, month)[1]
    return date(year, month, last if due_day is None else min(due_day, last))


# --- newborns --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class NewbornInputs:
    birth_date: date
    city: str | None


@dataclass(frozen=True, slots=True)
class NewbornEnrolment:
    """Enrolment deadline for a newborn to be covered from the birth month, where known."""

    inputs: NewbornInputs
    enrol_by: date | None
    covered_from: date | None
    fee: Decimal | None
    fee_year: str | int | None
    basis: str
    provenance: tuple[Provenance, ...]


def newborn_enrolment(birth_date: date, *, city: CityPolicy | None) -> NewbornEnrolment:
    """Last day to enrol a newborn for cover from the birth month (city rule only)."""
    days = city.newborn_enrol_days if city else None
    fee = city.newborn_fee if city else None
    inputs = NewbornInputs(birth_date, city.name if city else None)
    prov = tuple(f.provenance for f in (days, fee) if f is not None) or (nat.NEWBORN_VARIES,)
    if days is None:
        basis = "新生儿参保期限以当地规定为准"
        fee_value, fee_year = (fee.value, fee.provenance.as_of) if fee else (None, None)
        return NewbornEnrolment(inputs, None, None, fee_value, fee_year, basis, prov)
    return NewbornEnrolment(
        inputs=inputs,
        enrol_by=birth_date + timedelta(days=days.value),
        covered_from=birth_date.replace(day=1),
        fee=fee.value if fee else None,
        fee_year=fee.provenance.as_of if fee else None,
        basis=f"出生后{days.value}天内参保，自出生当月起享受待遇",
        provenance=prov,
    )
