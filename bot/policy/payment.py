"""Money calculators: back-payment, late fee, monthly account credit, years shortfall."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from region_data.city_policy import (
    CityPolicy,
    Provenance,
    RateRange,
    RequiredYears,
    Scheme,
    Sourced,
)

from . import national as nat
from .common import ExplanationKey as K
from .common import LapseCause
from .money import MoneyRange, fmt_money, fmt_number, fmt_rate, require_money

__all__ = [
    "COMMON_CITY_REQUIRED_YEARS",
    "AccountCredit",
    "AccountCreditInputs",
    "BackPayment",
    "BackPaymentInputs",
    "FeeApplies",
    "FlexibleContribution",
    "FlexibleContributionInputs",
    "LateFee",
    "LateFeeInputs",
    "LateFeeShare",
    "MemberStatus",
    "OverdueDaysEstimate",
    "Sex",
    "YearsAgainstRule",
    "YearsShortfall",
    "YearsShortfallInputs",
    "YearsTopUp",
    "YearsTopUpInputs",
    "back_payment",
    "contribution_years_shortfall",
    "flexible_monthly_contribution",
    "flexible_yearly_contribution",
    "late_fee",
    "late_fee_share",
    "monthly_account_credit",
    "overdue_days_estimate",
    "years_top_up",
]


def _rate(city: CityPolicy | None) -> Sourced[RateRange]:
    return city.contribution_rate if city and city.contribution_rate else nat.CONTRIBUTION_RATE


def _base(
    base: Decimal | None, city: CityPolicy | None
) -> tuple[Decimal | None, Provenance | None]:
    """The person's own base wins (it needs no source); else the city's average wage."""
    if base is not None:
        return require_money("base", base), None
    wage = city.average_monthly_wage if city else None
    return (wage.value, wage.provenance) if wage else (None, None)


def _base_text(value: Decimal | None) -> str:
    return "缴费基数" if value is None else f"{fmt_number(value)}元"


def _given(base: Decimal | None) -> str:
    """A base the user gave is said to be theirs: neither the city's figure nor a national
    default (kept after the formula, so a group reply that hides the amount still reads)."""
    return "，基数是你给的" if base is not None else ""


def _known(*items: Provenance | None) -> tuple[Provenance, ...]:
    return tuple(p for p in items if p is not None)


# --- 1. back-payment -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Priced:
    """Months of contributions priced: base × months × rate, and what that rests on."""

    base: Decimal | None
    rate: RateRange
    amount: MoneyRange | None
    notes: tuple[K, ...]
    provenance: tuple[Provenance, ...]


def _priced(
    months: Decimal | int, base: Decimal | None, city: CityPolicy | None, *also: Provenance
) -> _Priced:
    """The user's base, else the city's average wage (a common middle choice), at the city's
    rate where known, else the national 10%–12%; no amount (and NEED_BASE) without a base."""
    base_value, base_source = _base(base, city)
    rate_fig = _rate(city)
    rate = rate_fig.value
    notes: list[K] = []
    amount = None
    if base_value is None:
        notes.append(K.NEED_BASE)
    else:
        total = base_value * months
        amount = MoneyRange(total * rate.low, total * rate.high)
        if base is None:
            notes.append(K.BASE_FROM_CITY_WAGE)
    provenance = _known(base_source, rate_fig.provenance, *also)
    return _Priced(base_value, rate, amount, tuple(notes), provenance)


@dataclass(frozen=True, slots=True)
class BackPaymentInputs:
    months: int
    base: Decimal | None
    city: str | None


@dataclass(frozen=True, slots=True)
class BackPayment:
    """Arrears for ``months``: base × months × (employer + personal) rate, as a range."""

    inputs: BackPaymentInputs
    base: Decimal | None
    rate: RateRange
    amount: MoneyRange | None  # None when no base is known
    basis: str
    notes: tuple[K, ...]
    provenance: tuple[Provenance, ...]


def back_payment(
    months: int, *, city: CityPolicy | None, base: Decimal | None = None
) -> BackPayment:
    """Estimate what paying back ``months`` of arrears costs (Decimal range, not rounded)."""
    if months < 1:
        raise ValueError("months must be at least 1")
    priced = _priced(months, base, city)
    return BackPayment(
        inputs=BackPaymentInputs(months, base, city.name if city else None),
        base=priced.base,
        rate=priced.rate,
        amount=priced.amount,
        basis=f"{_base_text(priced.base)} × {months}个月 × {fmt_rate(priced.rate)}{_given(base)}",
        notes=priced.notes,
        provenance=priced.provenance,
    )


# --- 1b. a flexible worker's monthly contribution --------------------------------------------


@dataclass(frozen=True, slots=True)
class FlexibleContributionInputs:
    base: Decimal | None
    city: str | None


@dataclass(frozen=True, slots=True)
class FlexibleContribution:
    """A flexible worker's monthly 职工医保 contribution: the base × the whole rate (the
    employer's and the personal part, both paid by the worker), as a range like the rate."""

    inputs: FlexibleContributionInputs
    base: Decimal | None  # the user's, else the city's average wage, else None
    rate: RateRange
    amount: MoneyRange | None  # None when no base is known
    basis: str
    notes: tuple[K, ...]
    provenance: tuple[Provenance, ...]


def flexible_monthly_contribution(
    *, city: CityPolicy | None, base: Decimal | None = None
) -> FlexibleContribution:
    """Estimate one month's contribution (Decimal range, not rounded): the user's base first,
    else the city's average wage (a common middle choice of base), at the city's rate where
    known, else the national 10%–12%."""
    priced = _priced(1, base, city)
    return FlexibleContribution(
        inputs=FlexibleContributionInputs(base, city.name if city else None),
        base=priced.base,
        rate=priced.rate,
        amount=priced.amount,
        basis=f"{_base_text(priced.base)} × {fmt_rate(priced.rate)}{_given(base)}",
        notes=priced.notes,
        provenance=priced.provenance,
    )


MONTHS_PER_YEAR = 12


def flexible_yearly_contribution(
    *, city: CityPolicy | None, base: Decimal | None = None
) -> FlexibleContribution:
    """A year of a flexible worker's contributions: the monthly amount × 12 (Decimal range,
    not rounded), with the same base, rate, notes and sources as the monthly figure."""
    month = flexible_monthly_contribution(city=city, base=base)
    months = Decimal(MONTHS_PER_YEAR)
    return FlexibleContribution(
        inputs=month.inputs,
        base=month.base,
        rate=month.rate,
        amount=month.amount.scale(months) if month.amount is not None else None,
        basis=(
            f"{_base_text(month.base)} × {fmt_rate(month.rate)} × {MONTHS_PER_YEAR}个月"
            f"{_given(base)}"
        ),
        notes=month.notes,
        provenance=month.provenance,
    )


# --- 2. late fee -----------------------------------------------------------------------------


class FeeApplies(StrEnum):
    """Whether the person owes a late fee."""

    YES = "yes"
    NO = "no"
    ASSUMED = "assumed"  # cause unknown: computed as if the person caused the arrears


@dataclass(frozen=True, slots=True)
class LateFeeInputs:
    arrears: Decimal
    days: int
    cause: LapseCause


@dataclass(frozen=True, slots=True)
class LateFee:
    """Late fee on arrears: 0.05% per day, owed by the person only for personal arrears."""

    inputs: LateFeeInputs
    applies: FeeApplies
    daily_rate: Decimal
    amount: Decimal  # exact; zero when the person owes nothing
    basis: str
    notes: tuple[K, ...]
    provenance: tuple[Provenance, ...]

    @property
    def display(self) -> str:
        """The fee rounded to the cent, e.g. '48.00元'."""
        return fmt_money(self.amount)


def late_fee(arrears: Decimal, days: int, cause: LapseCause) -> LateFee:
    """Late fee for ``days`` overdue on ``arrears``; employer-caused arrears cost the person 0."""
    require_money("arrears", arrears)
    if days < 0:
        raise ValueError("days must not be negative")
    rate = nat.LATE_FEE_DAILY_RATE
    applies = {
        LapseCause.PERSONAL: FeeApplies.YES,
        LapseCause.EMPLOYER: FeeApplies.NO,
        LapseCause.UNKNOWN: FeeApplies.ASSUMED,
    }[cause]
    cause_note = {
        FeeApplies.YES: K.LATE_FEE_PERSONAL,
        FeeApplies.NO: K.NO_LATE_FEE_EMPLOYER,
        FeeApplies.ASSUMED: K.LATE_FEE_ASSUMED_PERSONAL,
    }[applies]
    owed = applies is not FeeApplies.NO
    pct = fmt_number(rate.value * 100)
    return LateFee(
        inputs=LateFeeInputs(arrears, days, cause),
        applies=applies,
        daily_rate=rate.value,
        amount=arrears * rate.value * days if owed else Decimal(0),
        basis=f"{fmt_number(arrears)}元 × {pct}%/天 × {days}天",
        notes=(cause_note, K.LATE_FEE_SOME_PLACES),
        provenance=(rate.provenance,) + ((nat.EMPLOYER_BACK_PAYMENT,) if not owed else ()),
    )


@dataclass(frozen=True, slots=True)
class LateFeeShare:
    """The late fee for ``days`` as a share of the arrears (0.05%/day × days), for when the
    arrears themselves are not known yet: "欠费的6%"."""

    days: int
    share: Decimal  # exact, e.g. Decimal("0.06")
    basis: str
    provenance: tuple[Provenance, ...]

    @property
    def percent(self) -> str:
        """'6%', '1.5%'."""
        return f"{fmt_number(self.share * 100)}%"


def late_fee_share(days: int) -> LateFeeShare:
    """What ``days`` overdue add as a share of the arrears (personal arrears)."""
    if days < 0:
        raise ValueError("days must not be negative")
    rate = nat.LATE_FEE_DAILY_RATE
    pct = fmt_number(rate.value * 100)
    return LateFeeShare(
        days=days,
        share=rate.value * days,
        basis=f"欠费 × {pct}%/天 × {days}天",
        provenance=(rate.provenance,),
    )


DAYS_PER_MONTH = 30


@dataclass(frozen=True, slots=True)
class OverdueDaysEstimate:
    """Days overdue estimated from a lapse of ``months`` consecutive months paid back today:
    each month is due at its end, so the newest is about 30 days late and the oldest
    ``months`` × 30; the late fee on the whole arrears is that of the average, 15 × (months+1)."""

    months: int
    average_days: int
    oldest_days: int
    basis: str
    provenance: tuple[Provenance, ...]


def overdue_days_estimate(months: int) -> OverdueDaysEstimate:
    """The average days overdue for ``months`` missed months (an estimate, said to be one)."""
    if months < 1:
        raise ValueError("months must be at least 1")
    average = DAYS_PER_MONTH // 2 * (months + 1)
    return OverdueDaysEstimate(
        months=months,
        average_days=average,
        oldest_days=DAYS_PER_MONTH * months,
        basis=f"断缴{months}个月，各月按每月30天、月底到期算，平均逾期约{average}天",
        provenance=(nat.OVERDUE_DAYS_RULE,),
    )


# --- 6. monthly personal-account credit ------------------------------------------------------


class MemberStatus(StrEnum):
    """Whether an employee is still working or retired."""

    IN_SERVICE = "in_service"
    RETIRED = "retired"


@dataclass(frozen=True, slots=True)
class AccountCreditInputs:
    status: MemberStatus
    base: Decimal | None
    scheme: Scheme
    city: str | None


@dataclass(frozen=True, slots=True)
class AccountCredit:
    """What the personal account receives each month; ``amount`` None when not computable."""

    inputs: AccountCreditInputs
    amount: Decimal | None
    rule: K
    basis: str
    notes: tuple[K, ...]
    provenance: tuple[Provenance, ...]

    @property
    def display(self) -> str | None:
        return None if self.amount is None else fmt_money(self.amount)


def monthly_account_credit(
    status: MemberStatus,
    *,
    city: CityPolicy | None,
    base: Decimal | None = None,
    scheme: Scheme = Scheme.EMPLOYEE,
) -> AccountCredit:
    """Monthly credit: 2% of the base in service; a provincial fixed amount for retirees."""
    inputs = AccountCreditInputs(status, base, scheme, city.name if city else None)
    if scheme is Scheme.RESIDENT:
        prov = (nat.NO_RESIDENT_ACCOUNT,)
        return AccountCredit(inputs, None, K.NO_PERSONAL_ACCOUNT, "居民医保不设个人账户", (), prov)
    if status is MemberStatus.RETIRED:
        return _retiree_credit(inputs, city)
    rate = nat.IN_SERVICE_CREDIT_RATE
    pct = f"{fmt_number(rate.value * 100)}%"
    if base is None:
        basis = f"缴费基数 × {pct}"
        return AccountCredit(
            inputs, None, K.CREDIT_PERCENT_OF_BASE, basis, (K.NEED_BASE,), (rate.provenance,)
        )
    amount = require_money("base", base) * rate.value
    basis = f"{fmt_number(base)}元 × {pct}"
    return AccountCredit(inputs, amount, K.CREDIT_PERCENT_OF_BASE, basis, (), (rate.provenance,))


def _retiree_credit(inputs: AccountCreditInputs, city: CityPolicy | None) -> AccountCredit:
    fixed = city.retiree_monthly_credit if city else None
    if fixed is None:
        basis = "退休人员每月定额划入，金额由所在省确定"
        prov = (nat.RETIREE_CREDIT_RULE,)
        return AccountCredit(inputs, None, K.RETIREE_SET_BY_PROVINCE, basis, (), prov)
    basis = f"当地退休人员每月定额 {fmt_number(fixed.value)}元"
    return AccountCredit(inputs, fixed.value, K.RETIREE_CITY_FIXED, basis, (), (fixed.provenance,))


# --- 8. contribution-years shortfall ---------------------------------------------------------


class Sex(StrEnum):
    """Used only where a city sets different required years for men and women."""

    MALE = "male"
    FEMALE = "female"


@dataclass(frozen=True, slots=True)
class YearsShortfallInputs:
    paid_years: Decimal
    sex: Sex | None
    base: Decimal | None
    city: str | None


# Many cities ask more than the 15-year reference. Without a city rule of its own, a reply gives
# both, so "15年: enough" never stands alone where 男25/女20 may apply.
COMMON_CITY_REQUIRED_YEARS = Sourced(
    RequiredYears(male=25, female=20),
    nat.national(
        "policy-facts §8", 2025, "不少城市要求男25年、女20年（各地不同，以参保地规定为准）"
    ),
)


@dataclass(frozen=True, slots=True)
class YearsAgainstRule:
    """The shortfall for one sex under the stricter rule many cities use."""

    sex: Sex
    required: int
    short: Decimal


@dataclass(frozen=True, slots=True)
class YearsShortfall:
    """Years still to pay before retirement and a rough one-off cost (always an estimate)."""

    inputs: YearsShortfallInputs
    required_years: tuple[int, int]  # (low, high): differs only when sex is unknown
    min_actual_years: int | None
    years_short: tuple[Decimal, Decimal]
    cost: MoneyRange | None  # None when no base is known
    basis: str
    notes: tuple[K, ...]
    provenance: tuple[Provenance, ...]
    # Only without a city rule: the same years against 男25/女20, one entry per sex that applies
    # (both, men first, while the sex is unknown).
    common_rule: tuple[YearsAgainstRule, ...] = ()


def contribution_years_shortfall(
    paid_years: Decimal | int,
    *,
    city: CityPolicy | None,
    sex: Sex | None = None,
    base: Decimal | None = None,
) -> YearsShortfall:
    """Required years (city rule, else the 15-year reference) minus paid years, and its cost."""
    paid = Decimal(paid_years)
    if paid < 0:
        raise ValueError("paid_years must not be negative")
    required, min_actual, req_source, notes = _required(city, sex)
    short = (max(Decimal(0), required[0] - paid), max(Decimal(0), required[1] - paid))
    base_value, base_source = _base(base, city)
    rate_fig = _rate(city)
    rate = rate_fig.value
    cost = None
    if base_value is None:
        notes.append(K.NEED_BASE)
    else:
        yearly = 12 * base_value
        cost = MoneyRange(short[0] * yearly * rate.low, short[1] * yearly * rate.high)
        if base is None:
            notes.append(K.BASE_FROM_CITY_WAGE)
    notes.append(K.YEARS_ENOUGH if short[1] == 0 else K.PAY_UP_IN_ONE_GO)
    years_text = "–".join(dict.fromkeys(fmt_number(y) for y in short))
    base_text = _base_text(base_value)
    common = _against_common_rule(paid, sex) if city is None or city.required_years is None else ()
    common_source = COMMON_CITY_REQUIRED_YEARS.provenance if common else None
    return YearsShortfall(
        inputs=YearsShortfallInputs(paid, sex, base, city.name if city else None),
        required_years=required,
        min_actual_years=min_actual,
        years_short=short,
        cost=cost,
        basis=f"{years_text}年 × 12个月 × {base_text} × {fmt_rate(rate)}{_given(base)}",
        notes=tuple(notes),
        provenance=_known(req_source, base_source, rate_fig.provenance, common_source),
        common_rule=common,
    )


def _against_common_rule(paid: Decimal, sex: Sex | None) -> tuple[YearsAgainstRule, ...]:
    rule = COMMON_CITY_REQUIRED_YEARS.value
    years = {Sex.MALE: rule.male, Sex.FEMALE: rule.female}
    sexes = (Sex.MALE, Sex.FEMALE) if sex is None else (sex,)
    return tuple(YearsAgainstRule(s, years[s], max(Decimal(0), years[s] - paid)) for s in sexes)


def _required(
    city: CityPolicy | None, sex: Sex | None
) -> tuple[tuple[int, int], int | None, Provenance, list[K]]:
    rule = city.required_years if city else None
    if rule is None:
        ref = nat.REFERENCE_REQUIRED_YEARS
        return (ref.value, ref.value), None, ref.provenance, [K.REQUIRED_YEARS_REFERENCE]
    years = {Sex.MALE: rule.value.male, Sex.FEMALE: rule.value.female}
    notes = [K.REQUIRED_YEARS_CITY]
    if sex is None:
        notes.append(K.SEX_NEEDED)
        pair = (min(years.values()), max(years.values()))
    else:
        pair = (years[sex], years[sex])
    return pair, rule.value.min_actual, rule.provenance, notes


@dataclass(frozen=True, slots=True)
class YearsTopUpInputs:
    years_short: Decimal
    base: Decimal | None
    city: str | None


@dataclass(frozen=True, slots=True)
class YearsTopUp:
    """Paying the missing years in one go at retirement: base × rate × the missing months
    (a range like the rate; ``amount`` None when no base is known). Always an estimate of a
    rule that differs by place (some places ask to keep paying monthly instead)."""

    inputs: YearsTopUpInputs
    months: Decimal
    base: Decimal | None
    rate: RateRange
    amount: MoneyRange | None
    basis: str
    notes: tuple[K, ...]
    provenance: tuple[Provenance, ...]


def years_top_up(
    years_short: Decimal | int, *, city: CityPolicy | None, base: Decimal | None = None
) -> YearsTopUp:
    """What topping up ``years_short`` missing years costs (Decimal range, not rounded): the
    user's base, else the city's average wage, at the city's rate, else 10%–12%."""
    short = Decimal(years_short)
    if short <= 0:
        raise ValueError("years_short must be positive")
    months = short * 12
    priced = _priced(months, base, city, nat.YEARS_TOP_UP)
    return YearsTopUp(
        inputs=YearsTopUpInputs(short, base, city.name if city else None),
        months=months,
        base=priced.base,
        rate=priced.rate,
        amount=priced.amount,
        basis=(
            f"{_base_text(priced.base)} × {fmt_rate(priced.rate)} × {fmt_number(months)}个月"
            f"（差{fmt_number(short)}年）{_given(base)}"
        ),
        notes=(K.PAY_UP_IN_ONE_GO, *priced.notes),
        provenance=priced.provenance,
    )
