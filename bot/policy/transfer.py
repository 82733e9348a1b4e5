"""Moving the insurance relationship: what kind of transfer, what moves, and how long it takes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
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
from .workdays import WorkdayResult, add_working_days

__all__ = [
    "BalanceHandling",
    "Place",
    "TransferAssessment",
    "TransferInputs",
    "TransferKind",
    "TransferTimeline",
    "TransferTimelineInputs",
    "classify_transfer",
    "transfer_kind",
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
) -> TransferAssessment:
    """Assess a move; ``province`` is the origin province's policy (used inside one province)."""
    if province is not None and province.name != origin.province:
        raise ValueError(f"province policy {province.name} is not the origin's {origin.province}")
    kind = classify_transfer(origin, destination)
    if kind is TransferKind.SAME_CITY:
        balance, keys, prov = BalanceHandling.STAYS, [K.SAME_CITY_NO_TRANSFER], [nat.SAME_CITY]
        basis = "同一城市内不涉及跨统筹地区转移"
    elif scheme is Scheme.RESIDENT:
        balance, keys = BalanceHandling.NO_PERSONAL_ACCOUNT, [K.RESIDENT_JOIN_NEXT_YEAR]
        prov = [nat.RESIDENT_TRANSFER, nat.NO_RESIDENT_ACCOUNT]
        basis = "居民医保：先在新参保地参加下一年度居民医保，再申请转移接续"
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
class TransferTimeline:
    """Latest expected dates, counted in Chinese working days from the application day."""

    inputs: TransferTimelineInputs
    origin_done_by: date
    process_done_by: date
    balance_by: date  # the usual arrival date
    balance_latest: date  # the slow end (or a city's own timing)
    follow_up_on: date  # when to check progress if nothing has happened
    calendar_fallback: bool
    fallback_years: tuple[int, ...]
    explanation_keys: tuple[K, ...]
    basis: str
    provenance: tuple[Provenance, ...]


def transfer_timeline(
    applied_on: date, *, kind: TransferKind, origin: CityPolicy | None
) -> TransferTimeline:
    """Estimate transfer dates from ``applied_on``; ``origin`` supplies city timing overrides."""
    if kind is TransferKind.SAME_CITY:
        raise ValueError("no transfer is needed within one city")
    origin_done = add_working_days(applied_on, nat.ORIGIN_WORKING_DAYS.value)
    process_done = add_working_days(applied_on, nat.CROSS_PROVINCE_WORKING_DAYS.value)
    fast, slow = (add_working_days(applied_on, d) for d in nat.BALANCE_WORKING_DAYS.value)
    prov = [
        nat.ORIGIN_WORKING_DAYS.provenance,
        nat.CROSS_PROVINCE_WORKING_DAYS.provenance,
        nat.FOLLOW_UP_MONTHS.provenance,
    ]
    keys: list[K] = []
    low, high = nat.BALANCE_WORKING_DAYS.value
    balance_basis = f"余额约{low}–{high}个工作日到账"
    city_timing = _city_balance(applied_on, origin_done, origin)
    if city_timing:
        fast = slow = city_timing[0]
        prov.append(city_timing[1])
        keys.append(K.CITY_BALANCE_TIMING)
        balance_basis = f"余额按当地规定：{city_timing[1].note}"
    else:
        prov.append(nat.BALANCE_WORKING_DAYS.provenance)
    used = (origin_done, process_done, fast, slow)
    fallback = tuple(sorted({y for r in used for y in r.fallback_years}))
    if fallback:
        keys.append(K.CALENDAR_FALLBACK)
        prov.append(nat.CALENDAR_FALLBACK)
    return TransferTimeline(
        inputs=TransferTimelineInputs(applied_on, kind, origin.name if origin else None),
        origin_done_by=origin_done.day,
        process_done_by=process_done.day,
        balance_by=fast.day,
        balance_latest=slow.day,
        follow_up_on=add_months(applied_on, nat.FOLLOW_UP_MONTHS.value),
        calendar_fallback=bool(fallback),
        fallback_years=fallback,
        explanation_keys=tuple(keys),
        basis=(
            f"{applied_on.isoformat()}申请起算：转出地≤{nat.ORIGIN_WORKING_DAYS.value}个工作日，"
            f"全流程≤{nat.CROSS_PROVINCE_WORKING_DAYS.value}个工作日，{balance_basis}"
        ),
        provenance=tuple(prov),
    )


def _city_balance(
    applied_on: date, origin_done: WorkdayResult, city: CityPolicy | None
) -> tuple[WorkdayResult, Provenance] | None:
    """A city's own balance timing: 南京 counts from transfer-out, 郑州 in calendar months."""
    if city is None:
        return None
    if city.balance_to_bank_working_days:
        fig = city.balance_to_bank_working_days
        after = add_working_days(origin_done.day, fig.value)
        years = tuple(sorted(set(origin_done.fallback_years) | set(after.fallback_years)))
        return WorkdayResult(after.day, years), fig.provenance
    if city.balance_transfer_months:
        fig = city.balance_transfer_months
        return WorkdayResult(add_months(applied_on, fig.value), ()), fig.provenance
    return None
