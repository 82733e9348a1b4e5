"""Moving the insurance relationship: what kind of transfer, what moves, and how long it takes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

from region_data.city_policy import (
    CityPolicy,
    IntraProvinceBalance,
    Provenance,
    ProvincePolicy,
    Scheme,
)

from . import national as nat
from .common import ExplanationKey as K
from .common import add_months
from .deadlines import resident_collection_period
from .workdays import WorkdayResult, add_working_days, check_working_day

__all__ = [
    "BalanceHandling",
    "Place",
    "TimelineStep",
    "ResidentCoverStart",
    "TransferAssessment",
    "TransferInputs",
    "TransferKind",
    "TransferStage",
    "TransferTimeline",
    "TransferTimelineInputs",
    "applied_on_from_elapsed",
    "classify_transfer",
    "resident_cover_start",
    "transfer_kind",
    "transfer_stage",
    "transfer_timeline",
]


@dataclass(frozen=True, slots=True)
class Place:
    """A normalised place: full city name (None when only the province is known) and province."""

    city: str | None
    province: str


class TransferKind(StrEnum):
    """How far the insurance relationship moves."""

    SAME_CITY = "same_city"
    INTRA_PROVINCE = "intra_province"
    CROSS_PROVINCE = "cross_province"


class BalanceHandling(StrEnum):
    """What happens to the personal-account balance."""

    STAYS = "stays"  # same city: nothing to move
    MOVES = "moves"
    USABLE_ACROSS_CITIES = "usable_across_cities"  # neither moved nor paid out (广东)
    DEPENDS_ON_PROVINCE = "depends_on_province"
    NO_PERSONAL_ACCOUNT = "no_personal_account"  # residents
    TO_BANK_ACCOUNT = "to_bank_account"  # the origin city pays it to the person's bank (南京)


def classify_transfer(origin: Place, destination: Place) -> TransferKind:
    """Same city, inside one province, or across provinces (municipalities are cities)."""
    if origin.province != destination.province:
        return TransferKind.CROSS_PROVINCE
    if origin.city and origin.city == destination.city:
        return TransferKind.SAME_CITY
    # A missing city ("广东省内换城市") means a move between cities of that province.
    return TransferKind.INTRA_PROVINCE


@dataclass(frozen=True, slots=True)
class TransferInputs:
    origin: Place
    destination: Place
    scheme: Scheme


@dataclass(frozen=True, slots=True)
class TransferAssessment:
    """The kind of move and what goes with it."""

    inputs: TransferInputs
    kind: TransferKind
    balance: BalanceHandling
    pooled_fund_moves: bool  # never: the pooled fund stays where it was paid
    years_add_up: bool | None  # None where the rule does not apply (residents)
    explanation_keys: tuple[K, ...]
    basis: str
    provenance: tuple[Provenance, ...]


def transfer_kind(
    origin: Place,
    destination: Place,
    *,
    province: ProvincePolicy | None,
    scheme: Scheme = Scheme.EMPLOYEE,
    origin_city: CityPolicy | None = None,
) -> TransferAssessment:
    """Assess a move; ``province`` is the origin province's policy (used inside one province),
    ``origin_city`` the origin city's own rules: a city that pays the balance out to the
    person's bank account (南京) wins over the national and provincial rules."""
    if province is not None and province.name != origin.province:
        raise ValueError(f"province policy {province.name} is not the origin's {origin.province}")
    if origin_city is not None and origin_city.name != origin.city:
        raise ValueError(f"city policy {origin_city.name} is not the origin {origin.city}")
    kind = classify_transfer(origin, destination)
    to_bank = origin_city.balance_to_bank_working_days if origin_city else None
    if kind is TransferKind.SAME_CITY:
        balance, keys, prov = BalanceHandling.STAYS, [K.SAME_CITY_NO_TRANSFER], [nat.SAME_CITY]
        basis = "同一城市内不涉及跨统筹地区转移"
    elif scheme is Scheme.RESIDENT:
        balance, keys = BalanceHandling.NO_PERSONAL_ACCOUNT, [K.RESIDENT_JOIN_NEXT_YEAR]
        prov = [nat.RESIDENT_TRANSFER, nat.NO_RESIDENT_ACCOUNT]
        basis = "居民医保：先在新参保地参加下一年度居民医保，再申请转移接续"
    elif to_bank is not None:
        balance, keys = BalanceHandling.TO_BANK_ACCOUNT, [K.CITY_BALANCE_TIMING]
        prov, basis = [to_bank.provenance], f"个人账户余额按转出地规定：{to_bank.provenance.note}"
    elif kind is TransferKind.CROSS_PROVINCE:
        balance, keys = BalanceHandling.MOVES, [K.BALANCE_MOVES, K.BALANCE_TO_BANK_IF_STUCK]
        prov, basis = [nat.CROSS_PROVINCE_BALANCE], "跨省：个人账户余额随关系转移，统筹基金不转"
    else:
        balance, keys, prov, basis = _intra_province(origin.province, province)
    if kind is not TransferKind.SAME_CITY:
        keys += [K.POOLED_FUND_STAYS, K.OLD_PLACE_STOPPED_NO_ARREARS]
        prov.append(nat.TRANSFER_CONDITIONS)
    years = None if scheme is Scheme.RESIDENT else True
    if years:
        keys.append(K.YEARS_ADD_UP)
        prov.append(nat.YEARS_ADD_UP)
    return TransferAssessment(
        inputs=TransferInputs(origin, destination, scheme),
        kind=kind,
        balance=balance,
        pooled_fund_moves=False,
        years_add_up=years,
        explanation_keys=tuple(keys),
        basis=basis,
        provenance=tuple(prov),
    )


def _intra_province(
    name: str, province: ProvincePolicy | None
) -> tuple[BalanceHandling, list[K], list[Provenance], str]:
    rule = province.intra_province_balance if province else None
    if rule is None:
        basis = f"{name}内转移：余额是否随转以当地规定为准"
        keys = [K.PROVINCE_RULE_VARIES]
        return BalanceHandling.DEPENDS_ON_PROVINCE, keys, [nat.INTRA_PROVINCE_VARIES], basis
    if rule.value is IntraProvinceBalance.USABLE_ACROSS_CITIES:
        basis = f"{name}内跨市：余额不划转、不提现，省内各市通用"
        keys = [K.PROVINCE_BALANCE_USABLE_ACROSS_CITIES]
        return BalanceHandling.USABLE_ACROSS_CITIES, keys, [rule.provenance], basis
    return BalanceHandling.MOVES, [K.BALANCE_MOVES], [rule.provenance], f"{name}内转移：余额随转"


# --- 5. how long it takes --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TransferTimelineInputs:
    applied_on: date
    kind: TransferKind
    origin_city: str | None


@dataclass(frozen=True, slots=True)
class TimelineStep:
    """One estimated date (``first == last``) or range, with only the rules it was computed
    from: a figure built on it names exactly these sources."""

    first: date
    last: date
    basis: str
    provenance: tuple[Provenance, ...]

    @property
    def is_range(self) -> bool:
        return self.first != self.last


@dataclass(frozen=True, slots=True)
class TransferTimeline:
    """Latest expected dates, counted in Chinese working days from the application day."""

    inputs: TransferTimelineInputs
    origin_done_by: date
    process_done_by: date
    balance_by: date  # the usual arrival date
    balance_latest: date  # the slow end (or a city's own timing)
    follow_up_on: date  # when to check progress: never before the usual arrival
    calendar_fallback: bool
    fallback_years: tuple[int, ...]
    explanation_keys: tuple[K, ...]
    basis: str
    provenance: tuple[Provenance, ...]
    origin_step: TimelineStep
    process_step: TimelineStep
    balance_step: TimelineStep
    city_balance: bool  # the balance dates follow the origin city's own timing


def transfer_timeline(
    applied_on: date, *, kind: TransferKind, origin: CityPolicy | None
) -> TransferTimeline:
    """Estimate transfer dates from ``applied_on``; ``origin`` supplies city timing overrides."""
    if kind is TransferKind.SAME_CITY:
        raise ValueError("no transfer is needed within one city")
    start = applied_on.isoformat()
    origin_days = nat.ORIGIN_WORKING_DAYS.value
    process_days = nat.CROSS_PROVINCE_WORKING_DAYS.value
    origin_done = add_working_days(applied_on, origin_days)
    process_done = add_working_days(applied_on, process_days)
    fast, slow = (add_working_days(applied_on, d) for d in nat.BALANCE_WORKING_DAYS.value)
    prov = [
        nat.ORIGIN_WORKING_DAYS.provenance,
        nat.CROSS_PROVINCE_WORKING_DAYS.provenance,
        nat.FOLLOW_UP_MONTHS.provenance,
    ]
    keys: list[K] = []
    low, high = nat.BALANCE_WORKING_DAYS.value
    balance_basis = f"余额约{low}–{high}个工作日到账"
    balance_step_basis = f"{start}申请起算，余额约{low}–{high}个工作日到账"
    balance_prov = [nat.BALANCE_WORKING_DAYS.provenance]
    city_timing = _city_balance(applied_on, origin_done, origin, kind)
    if city_timing:
        fast = slow = city_timing.day
        prov.append(city_timing.provenance)
        keys.append(K.CITY_BALANCE_TIMING)
        balance_basis = f"余额按当地规定：{city_timing.provenance.note}"
        balance_prov = list(city_timing.rests_on)
        balance_step_basis = f"{start}申请，{city_timing.basis}"
    else:
        prov.append(nat.BALANCE_WORKING_DAYS.provenance)
    used = (origin_done, process_done, fast, slow)
    fallback = tuple(sorted({y for r in used for y in r.fallback_years}))
    if fallback:
        keys.append(K.CALENDAR_FALLBACK)
        prov.append(nat.CALENDAR_FALLBACK)
    # A check a month after applying is the usual advice, but never before the balance is due.
    follow_up = max(add_months(applied_on, nat.FOLLOW_UP_MONTHS.value), fast.day)
    return TransferTimeline(
        inputs=TransferTimelineInputs(applied_on, kind, origin.name if origin else None),
        origin_done_by=origin_done.day,
        process_done_by=process_done.day,
        balance_by=fast.day,
        balance_latest=slow.day,
        follow_up_on=follow_up,
        calendar_fallback=bool(fallback),
        fallback_years=fallback,
        explanation_keys=tuple(keys),
        basis=(
            f"{start}申请起算：转出地≤{origin_days}个工作日，"
            f"全流程≤{process_days}个工作日，{balance_basis}"
        ),
        provenance=tuple(prov),
        origin_step=_step(
            (origin_done,),
            f"{start}申请起算，转出地≤{origin_days}个工作日",
            [nat.ORIGIN_WORKING_DAYS.provenance],
        ),
        process_step=_step(
            (process_done,),
            f"{start}申请起算，全流程≤{process_days}个工作日",
            [nat.CROSS_PROVINCE_WORKING_DAYS.provenance],
        ),
        balance_step=_step((fast, slow), balance_step_basis, balance_prov),
        city_balance=city_timing is not None,
    )


def _step(used: tuple[WorkdayResult, ...], basis: str, prov: list[Provenance]) -> TimelineStep:
    """A step's dates; the calendar caveat only where its own count ran into an unpublished
    year."""
    if any(r.fallback_years for r in used):
        prov = [*prov, nat.CALENDAR_FALLBACK]
    days = [r.day for r in used]
    return TimelineStep(min(days), max(days), basis, tuple(prov))


@dataclass(frozen=True, slots=True)
class _CityBalance:
    day: WorkdayResult
    provenance: Provenance  # the city's own figure
    rests_on: tuple[Provenance, ...]  # everything the date was computed from
    basis: str


def _city_balance(
    applied_on: date, origin_done: WorkdayResult, city: CityPolicy | None, kind: TransferKind
) -> _CityBalance | None:
    """A city's own balance timing: 南京 counts from transfer-out, 郑州 in calendar months.

    A timing in calendar months describes moving the balance to the provincial pool
    ("郑州…余额转移至省医保约需3个月"): a move inside the province. A move to another
    province follows the national timing instead."""
    if city is None:
        return None
    if city.balance_to_bank_working_days:
        fig = city.balance_to_bank_working_days
        after = add_working_days(origin_done.day, fig.value)
        years = tuple(sorted(set(origin_done.fallback_years) | set(after.fallback_years)))
        out = nat.ORIGIN_WORKING_DAYS
        return _CityBalance(
            WorkdayResult(after.day, years),
            fig.provenance,
            (fig.provenance, out.provenance),  # counted from the national transfer-out time
            f"转出地约{out.value}个工作日办结后，再约{fig.value}个工作日",
        )
    if city.balance_transfer_months and kind is TransferKind.INTRA_PROVINCE:
        months = city.balance_transfer_months
        day = WorkdayResult(add_months(applied_on, months.value), ())
        return _CityBalance(day, months.provenance, (months.provenance,), f"约{months.value}个月")
    return None


# --- 6. where an application stands ----------------------------------------------------------


class TransferStage(StrEnum):
    """Where an application made on ``applied_on`` stands on a given day."""

    PROCESSING = "processing"  # still inside the whole-process time limit
    PROCESS_OVERDUE = "process_overdue"  # the process limit is past, the balance not yet due
    OVERDUE = "overdue"  # even the latest balance date has passed


def transfer_stage(timeline: TransferTimeline, today: date) -> TransferStage:
    """Compare ``today`` with the timeline's limits (a limit day itself is still in time)."""
    if today > timeline.balance_latest:
        return TransferStage.OVERDUE
    if today > timeline.process_done_by:
        return TransferStage.PROCESS_OVERDUE
    return TransferStage.PROCESSING


def applied_on_from_elapsed(
    today: date, *, months: int = 0, days: int = 0, working_days: int = 0
) -> date:
    """The application day when the user says how long ago it was ("申请了一个月了",
    "交了材料两周了", "都20个工作日了"): calendar months first, then days, then working days
    counted back over the Chinese calendar."""
    if min(months, days, working_days) < 0:
        raise ValueError("elapsed time must not be negative")
    day = add_months(today, -months) - timedelta(days=days)
    remaining = working_days
    while remaining:
        day -= timedelta(days=1)
        if check_working_day(day)[0]:
            remaining -= 1
    return day


# --- 7. residents: when cover starts at the new place ----------------------------------------


@dataclass(frozen=True, slots=True)
class ResidentCoverStart:
    """When a resident who moved is covered at the new place, counted from ``today``.

    Residents' insurance has no personal account, so nothing "arrives": the old place stops
    the insurance, the new place enrols the person for a cover year, and cover there starts
    with that year. The cover year is the next one whose collection period has not closed.
    """

    today: date
    city: str | None
    cover_year: int
    opens_on: date  # the collection period's earliest usual opening
    opens_by: date  # its latest usual opening (equals opens_on for a place's own date)
    pay_by: date  # the collection period's last day
    covered_from: date  # 1 January of the cover year
    basis: str
    provenance: tuple[Provenance, ...]


def resident_cover_start(
    today: date, *, city: CityPolicy | None, province: ProvincePolicy | None = None
) -> ResidentCoverStart:
    """The first cover year a resident can still pay for at the new place, and its dates."""
    for cover_year in (today.year, today.year + 1, today.year + 2):
        period = resident_collection_period(cover_year, city=city, province=province)
        if period.closes_on >= today:
            break
    covered_from = date(period.inputs.cover_year, 1, 1)
    return ResidentCoverStart(
        today=today,
        city=city.name if city else None,
        cover_year=period.inputs.cover_year,
        opens_on=period.opens_on,
        opens_by=period.opens_by,
        pay_by=period.closes_on,
        covered_from=covered_from,
        # (The reply says how to transfer; the basis is only what the date rests on.)
        basis=f"新参保地{period.basis}；交费后自{covered_from:%Y-%m-%d}起享受待遇",
        provenance=(
            *period.provenance[:1],
            nat.RESIDENT_TRANSFER,
            nat.TRANSFER_CONDITIONS,
        ),
    )
