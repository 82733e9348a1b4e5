"""City and province policy figures: value types, JSON loader and validation.

Every figure in ``city_policy.json`` carries its source and the year it describes. The loader
turns the file into frozen dataclasses and raises :class:`CityPolicyError` on the first bad row,
so a broken table stops the boot instead of producing a wrong answer for a user later.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from functools import lru_cache
from pathlib import Path
from types import MappingProxyType
from typing import Generic, Literal, TypeVar

__all__ = [
    "DEFAULT_PATH",
    "NATIONAL_LABEL",
    "CapTier",
    "CityPolicy",
    "BackPaymentWindow",
    "CityPolicyError",
    "CollectionWindow",
    "IntraProvinceBalance",
    "PolicyTable",
    "Provenance",
    "ProvincePolicy",
    "RateRange",
    "RequiredYears",
    "ResidentLateRule",
    "Scheme",
    "Sourced",
    "default_city_policies",
    "load_city_policies",
    "parse_city_policies",
]

DEFAULT_PATH = Path(__file__).with_name("city_policy.json")

# The wording every reply built on a national default must carry (policy-facts, preamble).
NATIONAL_LABEL = "按全国通行规则估算，以当地医保部门公布为准"

T = TypeVar("T")


class CityPolicyError(ValueError):
    """A row of the city policy table is missing, malformed or unsourced."""


class Scheme(StrEnum):
    """Which basic medical-insurance scheme a person is in."""

    EMPLOYEE = "employee"  # 职工医保, with an employer
    FLEXIBLE = "flexible"  # 灵活就业人员参加职工医保
    RESIDENT = "resident"  # 城乡居民医保


class IntraProvinceBalance(StrEnum):
    """What happens to the personal-account balance on a move inside one province."""

    MOVES = "moves"
    USABLE_ACROSS_CITIES = "usable_across_cities"


@dataclass(frozen=True, slots=True)
class Provenance:
    """Where a figure comes from: the place's own source or a national default.

    ``kind="city"`` covers every local figure, province-level ones included; ``source`` is a file
    id in shared/sources or a policy-facts section, ``as_of`` the year the figure describes.
    """

    kind: Literal["city", "national"]
    source: str
    as_of: str | int
    note: str = ""

    @property
    def is_estimate(self) -> bool:
        """True when the figure is a national default rather than the place's own."""
        return self.kind == "national"

    @property
    def label(self) -> str:
        """Short Chinese label for a reply footer."""
        if self.kind == "national":
            return NATIONAL_LABEL
        return f"当地资料（{self.as_of}年，来源 {self.source}）"


@dataclass(frozen=True, slots=True)
class Sourced(Generic[T]):
    """A value together with its provenance."""

    value: T
    provenance: Provenance


@dataclass(frozen=True, slots=True)
class RateRange:
    """Combined employer + personal contribution rate, as fractions (0.10 = 10%)."""

    low: Decimal
    high: Decimal

    def __post_init__(self) -> None:
        if not (Decimal(0) < self.low <= self.high < Decimal(1)):
            raise ValueError(f"bad rate range {self.low}–{self.high}")


@dataclass(frozen=True, slots=True)
class RequiredYears:
    """Contribution years needed for lifelong cover (e.g. 男25/女20)."""

    male: int
    female: int
    min_actual: int | None = None  # years that must be really paid, not deemed


@dataclass(frozen=True, slots=True)
class CapTier:
    """An annual reimbursement cap for a band of continuous insured months."""

    amount: Sourced[Decimal]
    scheme: Scheme | None = None  # None: the source does not say which scheme
    min_months: int = 0
    below_months: int | None = None  # exclusive upper bound; None = no upper bound
    approximate: bool = False

    def covers(self, scheme: Scheme, months: int) -> bool:
        """Whether this tier applies to ``scheme`` with ``months`` of continuous cover."""
        scheme_ok = self.scheme is None or self.scheme == scheme
        upper_ok = self.below_months is None or months < self.below_months
        return scheme_ok and self.min_months <= months and upper_ok


@dataclass(frozen=True, slots=True)
class ResidentLateRule:
    """Residents who pay before a month of the cover year get no wait; later payers wait."""

    before_month: int  # pay before the 1st of this month of the cover year
    waiting_days: int


@dataclass(frozen=True, slots=True)
class CollectionWindow:
    """Residents' annual collection period, in the year before the cover year."""

    start_month: int
    start_day: int
    end_month: int
    end_day: int
    end_in_cover_year: bool = False  # some places run into the new year


@dataclass(frozen=True, slots=True)
class BackPaymentWindow:
    """Residents' back-payment window after the collection period, inside the cover year."""

    start_month: int
    start_day: int
    end_month: int
    end_day: int
    waiting_months: int | None = None  # None: the source gives no waiting period


@dataclass(frozen=True, slots=True)
class CityPolicy:
    """A prefecture-level city's own figures; ``None`` means fall back to national rules."""

    name: str
    province: str
    average_monthly_wage: Sourced[Decimal] | None = None
    contribution_rate: Sourced[RateRange] | None = None
    retiree_monthly_credit: Sourced[Decimal] | None = None
    required_years: Sourced[RequiredYears] | None = None
    reimbursement_caps: tuple[CapTier, ...] = ()
    resident_late_payment: Sourced[ResidentLateRule] | None = None
    resident_collection: Sourced[CollectionWindow] | None = None
    resident_back_payment: Sourced[BackPaymentWindow] | None = None
    monthly_due_day: Sourced[int] | None = None  # flexible workers' monthly payment day
    newborn_fee: Sourced[Decimal] | None = None
    newborn_enrol_days: Sourced[int] | None = None
    balance_to_bank_working_days: Sourced[int] | None = None
    balance_transfer_months: Sourced[int] | None = None


@dataclass(frozen=True, slots=True)
class ProvincePolicy:
    """A province's own rules; a city's own figure, where it has one, wins over these."""

    name: str
    intra_province_balance: Sourced[IntraProvinceBalance] | None = None
    resident_collection: Sourced[CollectionWindow] | None = None
    resident_back_payment: Sourced[BackPaymentWindow] | None = None
    monthly_due_day: Sourced[int] | None = None


@dataclass(frozen=True, slots=True)
class PolicyTable:
    """All loaded city and province policies, keyed by normalised full name."""

    cities: Mapping[str, CityPolicy]
    provinces: Mapping[str, ProvincePolicy]

    def city(self, name: str | None) -> CityPolicy | None:
        """The city's policy, or None when the table has nothing for it."""
        return self.cities.get(name) if name else None

    def province(self, name: str | None) -> ProvincePolicy | None:
        """The province's policy, or None when the table has nothing for it."""
        return self.provinces.get(name) if name else None


# ---------------------------------------------------------------------------------------------
# Validation. Each reader takes the raw JSON value and a dotted path used in error messages.

_SOURCE_RE = re.compile(r"^(\d{3}(, \d{3})*|policy-facts §\d+)( \(\d{3}(, \d{3})*\))?$")
_CITY_SUFFIXES = ("市", "自治州", "地区", "盟")
_PROVINCE_SUFFIXES = ("省", "市", "自治区", "特别行政区")
_FIGURE_META = {"source", "description", "as_of"}

Reader = Callable[[object, str], T]


def _fail(path: str, message: str) -> CityPolicyError:
    return CityPolicyError(f"{path}: {message}")


def _obj(raw: object, path: str, required: set[str], optional: set[str]) -> dict[str, object]:
    raw = _mapping(raw, path)
    missing = required - raw.keys()
    unknown = raw.keys() - required - optional
    if missing:
        raise _fail(path, f"missing {sorted(missing)}")
    if unknown:
        raise _fail(path, f"unknown keys {sorted(unknown)}")
    return raw


def _int(raw: object, path: str, low: int = 0, high: int = 10_000) -> int:
    if isinstance(raw, bool) or not isinstance(raw, int):
        raise _fail(path, f"expected an integer, got {raw!r}")
    if not low <= raw <= high:
        raise _fail(path, f"{raw} outside {low}..{high}")
    return raw


def _decimal(raw: object, path: str) -> Decimal:
    # Money is written as a string or integer in the file; a float would already be inexact.
    if isinstance(raw, bool) or not isinstance(raw, str | int):
        raise _fail(path, f"expected a decimal string or integer, got {raw!r}")
    try:
        value = Decimal(raw)
    except InvalidOperation:
        raise _fail(path, f"not a number: {raw!r}") from None
    if not value.is_finite() or value < 0:
        raise _fail(path, f"not a non-negative finite number: {raw!r}")
    return value


def _text(raw: object, path: str) -> str:
    if not isinstance(raw, str) or not raw.strip():
        raise _fail(path, "expected a non-empty string")
    return raw


def _provenance(obj: Mapping[str, object], path: str) -> Provenance:
    source = _text(obj["source"], f"{path}.source")
    if not _SOURCE_RE.match(source):
        raise _fail(f"{path}.source", f"unknown source form {source!r}")
    return Provenance(
        kind="city",
        source=source,
        as_of=_int(obj["as_of"], f"{path}.as_of", 2000, 2100),
        note=_text(obj["description"], f"{path}.description"),
    )


def _sourced(raw: object, path: str, read: Reader[T]) -> Sourced[T]:
    obj = _obj(raw, path, {"value"} | _FIGURE_META, set())
    return Sourced(read(obj["value"], f"{path}.value"), _provenance(obj, path))


def _rate(raw: object, path: str) -> RateRange:
    obj = _obj(raw, path, {"low", "high"}, set())
    try:
        return RateRange(
            _decimal(obj["low"], f"{path}.low"), _decimal(obj["high"], f"{path}.high")
        )
    except ValueError as exc:
        raise _fail(path, str(exc)) from None


def _required_years(raw: object, path: str) -> RequiredYears:
    obj = _obj(raw, path, {"male", "female"}, {"min_actual"})
    min_actual = obj.get("min_actual")
    return RequiredYears(
        male=_int(obj["male"], f"{path}.male", 1, 50),
        female=_int(obj["female"], f"{path}.female", 1, 50),
        min_actual=None if min_actual is None else _int(min_actual, f"{path}.min_actual", 1, 50),
    )


def _late_rule(raw: object, path: str) -> ResidentLateRule:
    obj = _obj(raw, path, {"before_month", "waiting_days"}, set())
    return ResidentLateRule(
        before_month=_int(obj["before_month"], f"{path}.before_month", 1, 12),
        waiting_days=_int(obj["waiting_days"], f"{path}.waiting_days", 0, 366),
    )


def _window(raw: object, path: str) -> CollectionWindow:
    obj = _obj(raw, path, {"start", "end"}, {"end_in_cover_year"})
    start = _month_day(obj["start"], f"{path}.start")
    end = _month_day(obj["end"], f"{path}.end")
    spill = obj.get("end_in_cover_year", False)
    if not isinstance(spill, bool):
        raise _fail(f"{path}.end_in_cover_year", "expected true or false")
    return CollectionWindow(start[0], start[1], end[0], end[1], spill)


def _back_window(raw: object, path: str) -> BackPaymentWindow:
    obj = _obj(raw, path, {"start", "end"}, {"waiting_months"})
    start = _month_day(obj["start"], f"{path}.start")
    end = _month_day(obj["end"], f"{path}.end")
    # The window is read as month-days of one cover year, so it cannot wrap past 31 Dec.
    if end < start:
        raise _fail(path, f"window ends before it starts: {obj['start']}–{obj['end']}")
    wait = obj.get("waiting_months")
    return BackPaymentWindow(
        start[0],
        start[1],
        end[0],
        end[1],
        None if wait is None else _int(wait, f"{path}.waiting_months", 0, 12),
    )


def _due_day(raw: object, path: str) -> int:
    # 31 is allowed and clipped to the month's last day when the dates are computed.
    return _int(raw, path, 1, 31)


def _month_day(raw: object, path: str) -> tuple[int, int]:
    text = _text(raw, path)
    match = re.fullmatch(r"(\d{2})-(\d{2})", text)
    if not match:
        raise _fail(path, f"expected MM-DD, got {text!r}")
    month, day = int(match[1]), int(match[2])
    if not (1 <= month <= 12 and 1 <= day <= 31):
        raise _fail(path, f"no such day {text!r}")
    return month, day


def _cap_tier(raw: object, path: str) -> CapTier:
    obj = _obj(
        raw,
        path,
        {"amount"} | _FIGURE_META,
        {"scheme", "min_months", "below_months", "approximate"},
    )
    scheme_raw = obj.get("scheme")
    try:
        scheme = None if scheme_raw is None else Scheme(_text(scheme_raw, f"{path}.scheme"))
    except ValueError:
        raise _fail(f"{path}.scheme", f"unknown scheme {scheme_raw!r}") from None
    below = obj.get("below_months")
    approximate = obj.get("approximate", False)
    if not isinstance(approximate, bool):
        raise _fail(f"{path}.approximate", "expected true or false")
    return CapTier(
        amount=Sourced(_decimal(obj["amount"], f"{path}.amount"), _provenance(obj, path)),
        scheme=scheme,
        min_months=_int(obj.get("min_months", 0), f"{path}.min_months"),
        below_months=None if below is None else _int(below, f"{path}.below_months", 1),
        approximate=approximate,
    )


def _balance_rule(raw: object, path: str) -> IntraProvinceBalance:
    try:
        return IntraProvinceBalance(_text(raw, path))
    except ValueError:
        raise _fail(path, f"unknown balance rule {raw!r}") from None


def _days(raw: object, path: str) -> int:
    return _int(raw, path, 1, 366)


def _months(raw: object, path: str) -> int:
    return _int(raw, path, 1, 24)


_CITY_KEYS = {
    "province",
    "average_monthly_wage",
    "contribution_rate",
    "retiree_monthly_credit",
    "required_years",
    "reimbursement_caps",
    "resident_late_payment",
    "resident_collection",
    "resident_back_payment",
    "monthly_due_day",
    "newborn_fee",
    "newborn_enrol_days",
    "balance_to_bank_working_days",
    "balance_transfer_months",
}


_PROVINCE_KEYS = {
    "intra_province_balance",
    "resident_collection",
    "resident_back_payment",
    "monthly_due_day",
}


def _opt(obj: Mapping[str, object], key: str, path: str, read: Reader[T]) -> Sourced[T] | None:
    return _sourced(obj[key], f"{path}.{key}", read) if key in obj else None


def _city(name: str, raw: object, path: str) -> CityPolicy:
    if not name.endswith(_CITY_SUFFIXES):
        raise _fail(path, "city keys are normalised full names such as 深圳市")
    obj = _obj(raw, path, {"province"}, _CITY_KEYS)
    province = _text(obj["province"], f"{path}.province")
    if not province.endswith(_PROVINCE_SUFFIXES):
        raise _fail(f"{path}.province", "expected a full province name such as 广东省")
    caps_raw = obj.get("reimbursement_caps", [])
    if not isinstance(caps_raw, list):
        raise _fail(f"{path}.reimbursement_caps", "expected a list")
    return CityPolicy(
        name=name,
        province=province,
        average_monthly_wage=_opt(obj, "average_monthly_wage", path, _decimal),
        contribution_rate=_opt(obj, "contribution_rate", path, _rate),
        retiree_monthly_credit=_opt(obj, "retiree_monthly_credit", path, _decimal),
        required_years=_opt(obj, "required_years", path, _required_years),
        reimbursement_caps=tuple(
            _cap_tier(tier, f"{path}.reimbursement_caps[{i}]") for i, tier in enumerate(caps_raw)
        ),
        resident_late_payment=_opt(obj, "resident_late_payment", path, _late_rule),
        resident_collection=_opt(obj, "resident_collection", path, _window),
        resident_back_payment=_opt(obj, "resident_back_payment", path, _back_window),
        monthly_due_day=_opt(obj, "monthly_due_day", path, _due_day),
        newborn_fee=_opt(obj, "newborn_fee", path, _decimal),
        newborn_enrol_days=_opt(obj, "newborn_enrol_days", path, _days),
        balance_to_bank_working_days=_opt(obj, "balance_to_bank_working_days", path, _days),
        balance_transfer_months=_opt(obj, "balance_transfer_months", path, _months),
    )


def _province(name: str, raw: object, path: str) -> ProvincePolicy:
    if not name.endswith(_PROVINCE_SUFFIXES):
        raise _fail(path, "province keys are full names such as 广东省")
    obj = _obj(raw, path, set(), _PROVINCE_KEYS)
    return ProvincePolicy(
        name=name,
        intra_province_balance=_opt(obj, "intra_province_balance", path, _balance_rule),
        resident_collection=_opt(obj, "resident_collection", path, _window),
        resident_back_payment=_opt(obj, "resident_back_payment", path, _back_window),
        monthly_due_day=_opt(obj, "monthly_due_day", path, _due_day),
    )


def parse_city_policies(raw: object) -> PolicyTable:
    """Validate an already-decoded JSON document into a :class:`PolicyTable`."""
    top = _obj(raw, "$", {"schema", "cities", "provinces"}, {"comment"})
    if top["schema"] != 1:
        raise _fail("$.schema", f"unsupported schema {top['schema']!r}")
    cities_raw = _mapping(top["cities"], "$.cities")
    provinces_raw = _mapping(top["provinces"], "$.provinces")
    cities = {k: _city(k, v, f"$.cities.{k}") for k, v in cities_raw.items()}
    provinces = {k: _province(k, v, f"$.provinces.{k}") for k, v in provinces_raw.items()}
    return PolicyTable(MappingProxyType(cities), MappingProxyType(provinces))


def _mapping(raw: object, path: str) -> dict[str, object]:
    if not isinstance(raw, dict):
        raise _fail(path, f"expected an object, got {type(raw).__name__}")
    return raw


def load_city_policies(path: Path = DEFAULT_PATH) -> PolicyTable:
    """Read and validate the policy table; raises CityPolicyError on any bad row."""
    try:
        # Decimal for any stray float so nothing passes through binary floating point.
        raw = json.loads(path.read_text(encoding="utf-8"), parse_float=Decimal)
    except json.JSONDecodeError as exc:
        raise CityPolicyError(f"{path}: invalid JSON: {exc}") from exc
    return parse_city_policies(raw)


@lru_cache(maxsize=1)
def default_city_policies() -> PolicyTable:
    """The bundled table, loaded once; call at start-up so a bad row fails the boot."""
    return load_city_policies(DEFAULT_PATH)
