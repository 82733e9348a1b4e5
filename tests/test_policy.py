"""Table-driven tests for bot.policy and the region_data city policy table."""

from __future__ import annotations

import copy
import dataclasses
import json
import re
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from bot.policy import (
    NATIONAL_LABEL,
    BalanceHandling,
    CityPolicy,
    Condition,
    DeadlineKind,
    Eligibility,
    ExplanationKey,
    FeeApplies,
    LapseBucket,
    LapseCause,
    Material,
    MemberStatus,
    MoneyRange,
    Place,
    PolicyResult,
    Provenance,
    RateRange,
    Scheme,
    Sex,
    Sourced,
    TransferKind,
    WithdrawalCase,
    add_months,
    add_working_days,
    back_payment,
    benefit_resumption,
    check_working_day,
    contribution_years_shortfall,
    fmt_money,
    is_estimate,
    late_fee,
    monthly_account_credit,
    newborn_enrolment,
    next_deadline,
    next_monthly_due,
    reimbursement_cap,
    resident_collection_period,
    shanghai_date,
    transfer_kind,
    transfer_timeline,
    withdrawal_eligibility,
)
from bot.policy.lapse import resident_late_payment
from bot.policy.payment import COMMON_CITY_REQUIRED_YEARS
from bot.policy.transfer import TransferStage, applied_on_from_elapsed, transfer_stage
from bot.policy.withdrawal import Consequence
from region_data.city_policy import (
    DEFAULT_PATH,
    CityPolicyError,
    CollectionWindow,
    PolicyTable,
    RequiredYears,
    default_city_policies,
    load_city_policies,
    parse_city_policies,
)

K = ExplanationKey
D = Decimal
EMP, FLEX, RES = Scheme.EMPLOYEE, Scheme.FLEXIBLE, Scheme.RESIDENT


def day(iso: str | None) -> date | None:
    """Dates in tables are ISO strings so rows stay on one line."""
    return None if iso is None else date.fromisoformat(iso)


def local(note: str, as_of: int = 2025) -> Provenance:
    """A city provenance for hand-built test cities."""
    return Provenance(kind="city", source="policy-facts §8", as_of=as_of, note=note)


@pytest.fixture(scope="module")
def table() -> PolicyTable:
    return default_city_policies()


def city(name: str) -> CityPolicy:
    found = default_city_policies().city(name)
    assert found is not None, name
    return found


# A city with every optional figure filled in, to exercise the "city knows" paths that the
# sourced table does not yet cover (own rate, retiree credit, required years, collection window).
RICH = CityPolicy(
    name="测试市",
    province="测试省",
    average_monthly_wage=Sourced(D("6000"), local("test wage", 2024)),
    contribution_rate=Sourced(RateRange(D("0.08"), D("0.08")), local("test rate")),
    retiree_monthly_credit=Sourced(D("95.5"), local("test retiree credit")),
    required_years=Sourced(RequiredYears(male=25, female=20, min_actual=10), local("25/20")),
    resident_collection=Sourced(CollectionWindow(10, 15, 2, 28, True), local("test window")),
)


# --- region data -----------------------------------------------------------------------------


def test_table_keys_and_province(table: PolicyTable) -> None:
    assert set(table.cities) >= {"深圳市", "南京市", "郑州市", "北京市", "成都市"}
    assert city("深圳市").province == "广东省"
    assert table.province("广东省") is not None
    assert table.city("深圳") is None  # keys are normalised full names only
    assert table.city(None) is None


def _figures(value: object) -> Iterator[Sourced[Any]]:
    if isinstance(value, Sourced):
        yield value
    elif dataclasses.is_dataclass(value):
        for f in dataclasses.fields(value):
            yield from _figures(getattr(value, f.name))
    elif isinstance(value, tuple):
        for item in value:
            yield from _figures(item)


def test_every_table_figure_is_sourced(table: PolicyTable) -> None:
    figures = [
        f for entry in [*table.cities.values(), *table.provinces.values()] for f in _figures(entry)
    ]
    assert len(figures) >= 9
    for fig in figures:
        assert fig.provenance.kind == "city"
        assert fig.provenance.source and fig.provenance.note
        assert isinstance(fig.provenance.as_of, int) and 2000 <= fig.provenance.as_of <= 2100
        assert not isinstance(fig.value, float)


def test_table_is_frozen(table: PolicyTable) -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        city("深圳市").province = "x"  # type: ignore[misc]
    with pytest.raises(TypeError):
        table.cities["x"] = city("深圳市")  # type: ignore[index]


def _raw() -> dict[str, Any]:
    raw: dict[str, Any] = json.loads(DEFAULT_PATH.read_text(encoding="utf-8"))
    return raw


def _wage(raw: dict[str, Any]) -> dict[str, Any]:
    wage: dict[str, Any] = raw["cities"]["深圳市"]["average_monthly_wage"]
    return wage


BAD_ROWS: list[tuple[str, Callable[[dict[str, Any]], None], str]] = [
    ("no source", lambda r: _wage(r).pop("source"), "missing"),
    ("no as_of", lambda r: _wage(r).pop("as_of"), "missing"),
    ("no description", lambda r: _wage(r).pop("description"), "missing"),
    ("odd source", lambda r: _wage(r).update(source="internet"), "source"),
    ("as_of not a year", lambda r: _wage(r).update(as_of="2024"), "as_of"),
    ("float money", lambda r: _wage(r).update(value=8000.5), "decimal"),
    ("negative money", lambda r: _wage(r).update(value="-1"), "non-negative"),
    ("unknown key", lambda r: r["cities"]["深圳市"].update(wage=1), "unknown"),
    ("short city name", lambda r: r["cities"].update(苏州=r["cities"]["深圳市"]), "full names"),
    ("no province", lambda r: r["cities"]["郑州市"].pop("province"), "missing"),
    (
        "bad days",
        lambda r: r["cities"]["南京市"]["balance_to_bank_working_days"].update(value="30"),
        "integer",
    ),
    (
        "bad month",
        lambda r: r["cities"]["南京市"]["resident_late_payment"]["value"].update(before_month=13),
        "outside",
    ),
    (
        "bad scheme",
        lambda r: r["cities"]["北京市"]["reimbursement_caps"][0].update(scheme="x"),
        "scheme",
    ),
    (
        "bad province rule",
        lambda r: r["provinces"]["广东省"]["intra_province_balance"].update(value="x"),
        "balance",
    ),
    ("bad schema", lambda r: r.update(schema=2), "schema"),
]


@pytest.mark.parametrize(("name", "mutate", "message"), BAD_ROWS, ids=[b[0] for b in BAD_ROWS])
def test_bad_rows_fail_loudly(
    name: str, mutate: Callable[[dict[str, Any]], None], message: str
) -> None:
    raw = copy.deepcopy(_raw())
    mutate(raw)
    with pytest.raises(CityPolicyError, match=message):
        parse_city_policies(raw)


def test_loader_rejects_invalid_json_and_reads_files(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{", encoding="utf-8")
    with pytest.raises(CityPolicyError, match="invalid JSON"):
        load_city_policies(bad)
    good = tmp_path / "good.json"
    good.write_text(DEFAULT_PATH.read_text(encoding="utf-8"), encoding="utf-8")
    assert load_city_policies(good).city("南京市") == city("南京市")


# --- 1. back-payment -------------------------------------------------------------------------

BACK_PAYMENT = [
    # (city, months, base, low, high, basis, provenance kinds)
    ("深圳市", 4, None, "3200", "3840", "8000元 × 4个月 × 10%–12%", {"city", "national"}),
    (None, 2, D("5000"), "1000", "1200", "5000元 × 2个月 × 10%–12%，基数是你给的", {"national"}),
    (
        "深圳市",
        1,
        D("10000.50"),
        "1000.05",
        "1200.06",
        "10000.5元 × 1个月 × 10%–12%，基数是你给的",
        {"national"},
    ),
    ("test", 3, None, "1440", "1440", "6000元 × 3个月 × 8%", {"city"}),
]


@pytest.mark.parametrize(
    ("where", "months", "base", "low", "high", "basis", "kinds"), BACK_PAYMENT
)
def test_back_payment(
    where: str | None,
    months: int,
    base: Decimal | None,
    low: str,
    high: str,
    basis: str,
    kinds: set[str],
) -> None:
    policy = RICH if where == "test" else city(where) if where else None
    result = back_payment(months, city=policy, base=base)
    assert result.amount is not None
    assert result.amount.rounded == (D(low).quantize(D("0.01")), D(high).quantize(D("0.01")))
    assert result.basis == basis
    assert {p.kind for p in result.provenance} == kinds
    assert result.inputs.months == months and result.inputs.base == base


def test_back_payment_worked_example_shenzhen() -> None:
    result = back_payment(4, city=city("深圳市"))
    assert result.amount == MoneyRange(D("3200.00"), D("3840.00"))
    assert result.amount.display == "3200.00–3840.00元"
    assert K.BASE_FROM_CITY_WAGE in result.notes
    wage = result.provenance[0]
    assert (wage.kind, wage.as_of) == ("city", 2024)


def test_back_payment_without_base() -> None:
    result = back_payment(3, city=None)
    assert result.amount is None and K.NEED_BASE in result.notes
    assert result.basis == "缴费基数 × 3个月 × 10%–12%"


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"months": 0}, ValueError),
        ({"months": 2, "base": 8000.0}, TypeError),
        ({"months": 2, "base": 8000}, TypeError),
        ({"months": 2, "base": D("-1")}, ValueError),
        ({"months": 2, "base": D("NaN")}, ValueError),
    ],
)
def test_back_payment_rejects_bad_input(kwargs: dict[str, Any], error: type[Exception]) -> None:
    months = kwargs.pop("months")
    with pytest.raises(error):
        back_payment(months, city=None, **kwargs)


# --- 2. late fee -----------------------------------------------------------------------------

LATE_FEES = [
    (LapseCause.PERSONAL, FeeApplies.YES, "48.00", K.LATE_FEE_PERSONAL),
    (LapseCause.EMPLOYER, FeeApplies.NO, "0.00", K.NO_LATE_FEE_EMPLOYER),
    (LapseCause.UNKNOWN, FeeApplies.ASSUMED, "48.00", K.LATE_FEE_ASSUMED_PERSONAL),
]


@pytest.mark.parametrize(("cause", "applies", "display", "note"), LATE_FEES)
def test_late_fee(
    cause: LapseCause, applies: FeeApplies, display: str, note: ExplanationKey
) -> None:
    result = late_fee(D("3200"), 30, cause)
    assert result.applies is applies
    assert result.display == f"{display}元"
    assert note in result.notes and K.LATE_FEE_SOME_PLACES in result.notes
    assert result.basis == "3200元 × 0.05%/天 × 30天"
    assert all(p.kind == "national" for p in result.provenance)


def test_late_fee_is_exact_decimal() -> None:
    result = late_fee(D("3200"), 30, LapseCause.PERSONAL)
    assert isinstance(result.amount, Decimal) and result.amount == D("48")
    assert late_fee(D("0.01"), 1, LapseCause.PERSONAL).amount == D("0.000005")
    assert late_fee(D("1000"), 0, LapseCause.PERSONAL).amount == 0
    with pytest.raises(TypeError):
        late_fee(3200.0, 30, LapseCause.PERSONAL)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        late_fee(D("3200"), -1, LapseCause.PERSONAL)


# --- 3. benefit resumption -------------------------------------------------------------------

PAID = date(2026, 5, 10)
B3, B6, BX = LapseBucket.UP_TO_3, LapseBucket.THREE_TO_6, LapseBucket.OVER_6
# fmt: off
RESUMPTION = [
    # (scheme, months, bucket, waiting months, reset, resume_from, resume_by, key)
    (EMP, 1, B3, (0, 0), False, "2026-06-01", "2026-06-01", K.BACK_PAY_MOST_PLACES),
    (EMP, 3, B3, (0, 0), False, "2026-06-01", "2026-06-01", K.RESUME_MONTH_AFTER_PAYMENT),
    (EMP, 4, B6, (1, 6), True, "2026-07-01", "2026-12-01", K.BACK_PAY_THEN_WAIT),
    (FLEX, 6, B6, (1, 6), True, "2026-07-01", "2026-12-01", K.BACK_PAY_THEN_WAIT),
    (FLEX, 2, B3, (0, 0), False, "2026-06-01", "2026-06-01", K.BACK_PAY_MOST_PLACES),
    (EMP, 7, BX, (6, 6), True, "2026-12-01", "2026-12-01", K.MAY_RE_ENROL_AS_NEW),
    (FLEX, 24, BX, (6, 6), True, "2026-12-01", "2026-12-01", K.MAY_RE_ENROL_AS_NEW),
    (RES, 2, B3, (3, 3), False, "2026-09-01", "2026-09-01", K.RESIDENT_WINDOW_WAIT),
    (RES, 5, B6, (3, 3), True, "2026-09-01", "2026-09-01", K.RESIDENT_WINDOW_WAIT),
    (RES, 12, BX, (3, 3), True, "2026-09-01", "2026-09-01", K.RESIDENT_NEXT_PERIOD),
]
# fmt: on


@pytest.mark.parametrize(
    ("scheme", "months", "bucket", "waiting", "reset", "resume_from", "resume_by", "key"),
    RESUMPTION,
)
def test_resumption_national(
    scheme: Scheme,
    months: int,
    bucket: LapseBucket,
    waiting: tuple[int, int],
    reset: bool,
    resume_from: str,
    resume_by: str,
    key: ExplanationKey,
) -> None:
    result = benefit_resumption(scheme, months, city=None, payment_date=PAID)
    assert result.bucket is bucket
    assert result.waiting_months == waiting and result.waiting_days is None
    assert result.continuous_years_reset is reset
    assert (result.resume_from, result.resume_by) == (day(resume_from), day(resume_by))
    assert key in result.explanation_keys
    assert (K.CONTINUOUS_YEARS_RESET in result.explanation_keys) is reset
    assert (K.ACCOUNT_USABLE_NO_CREDIT in result.explanation_keys) is (
        scheme is not Scheme.RESIDENT
    )
    assert all(p.kind == "national" for p in result.provenance)


# fmt: off
NANJING_RESIDENTS = [
    # (payment date, cover year, waiting days, resume_from, key present)
    # No wait: covered from the payment day itself, not from the month after.
    ("2026-02-10", None, (0, 0), "2026-02-10", K.CITY_RESIDENT_DEADLINE),
    ("2026-02-28", 2026, (0, 0), "2026-02-28", K.CITY_RESIDENT_DEADLINE),
    ("2026-03-01", None, (60, 60), "2026-04-30", K.CITY_RESIDENT_DEADLINE),
    ("2026-05-10", None, (60, 60), "2026-07-09", K.CITY_RESIDENT_DEADLINE),
    (None, None, (0, 60), None, K.PAYMENT_DATE_NEEDED),
]
# fmt: on


@pytest.mark.parametrize(("paid", "cover_year", "days", "resume_from", "key"), NANJING_RESIDENTS)
def test_resumption_nanjing_residents_override(
    paid: str | None,
    cover_year: int | None,
    days: tuple[int, int],
    resume_from: str | None,
    key: ExplanationKey,
) -> None:
    result = benefit_resumption(
        RES, 4, city=city("南京市"), payment_date=day(paid), cover_year=cover_year
    )
    assert result.waiting_days == days and result.waiting_months == (0, 0)
    assert result.resume_from == day(resume_from) == result.resume_by
    assert key in result.explanation_keys
    assert K.CITY_RESIDENT_DEADLINE in result.explanation_keys
    assert "city" in {p.kind for p in result.provenance}
    assert "60天" in result.basis


# fmt: off
RESIDENT_LATE = [
    # (today, planned payment, no-wait day, this year's passed, wait for the plan, resume)
    ("2026-11-25", None, "2027-03-01", True, None, None),
    ("2027-02-10", None, "2027-03-01", False, None, None),
    ("2027-03-01", None, "2028-03-01", True, None, None),
    ("2026-11-25", ("2027-04-01", "2027-04-30"), "2027-03-01", True, (60, 60),
     ("2027-05-31", "2027-06-29")),
    ("2026-11-25", ("2027-02-01", "2027-02-28"), "2027-03-01", True, (0, 0),
     ("2027-02-01", "2027-02-28")),
    ("2026-11-25", ("2027-02-15", "2027-03-15"), "2027-03-01", True, (0, 60),
     ("2027-02-15", "2027-05-14")),
    # December: next year's premium inside its collection period, on time (no wait).
    ("2026-11-25", ("2026-12-01", "2026-12-31"), "2027-03-01", True, (0, 0),
     ("2027-01-01", "2027-01-01")),
]
# fmt: on


@pytest.mark.parametrize(("today", "plan", "before", "passed", "wait", "resume"), RESIDENT_LATE)
def test_resident_late_payment_nanjing(
    today: str,
    plan: tuple[str, str] | None,
    before: str,
    passed: bool,
    wait: tuple[int, int] | None,
    resume: tuple[str, str] | None,
) -> None:
    paid_from, paid_to = (day(plan[0]), day(plan[1])) if plan else (None, None)
    result = resident_late_payment(
        day(today), city=city("南京市"), paid_from=paid_from, paid_to=paid_to
    )
    assert result.city_rule and result.no_wait_before == day(before)
    assert result.cover_year == day(before).year and result.this_year_passed is passed
    assert result.waiting_days == 60 and result.waiting_months is None
    assert result.paid_wait_days == wait
    assert (result.resume_from, result.resume_by) == (
        (day(resume[0]), day(resume[1])) if resume else (None, None)
    )
    assert {p.kind for p in result.provenance} == {"city"} and not is_estimate(result)
    if plan and plan[0] == plan[1]:
        # One day: the same answer as benefit_resumption for that payment.
        same = benefit_resumption(RES, 4, city=city("南京市"), payment_date=paid_from)
        assert (same.resume_from, same.waiting_days) == (result.resume_from, result.paid_wait_days)


@pytest.mark.parametrize("paid", [None, "2026-12-01", "2027-04-10"])
def test_resident_late_payment_national(paid: str | None) -> None:
    result = resident_late_payment(date(2026, 11, 25), city=None, paid_from=day(paid))
    assert not result.city_rule and result.no_wait_before is None
    assert result.waiting_months == 3 and result.example_window == (
        date(2025, 1, 1),
        date(2025, 3, 31),
    )
    assert is_estimate(result) and all(p.kind == "national" for p in result.provenance)
    if paid is None:
        assert result.resume_from is None
    else:
        # As benefit_resumption's national residents' rule computes it.
        same = benefit_resumption(RES, 2, city=None, payment_date=day(paid))
        assert result.resume_from == same.resume_from == result.resume_by


def test_resident_late_payment_refuses_a_reversed_period() -> None:
    with pytest.raises(ValueError):
        resident_late_payment(
            date(2026, 11, 25), city=None, paid_from=date(2027, 2, 1), paid_to=date(2027, 1, 1)
        )


def test_resumption_city_override_only_for_residents() -> None:
    employee = benefit_resumption(Scheme.EMPLOYEE, 4, city=city("南京市"), payment_date=PAID)
    assert employee.waiting_days is None and employee.waiting_months == (1, 6)
    assert all(p.kind == "national" for p in employee.provenance)


def test_resumption_employer_cause() -> None:
    result = benefit_resumption(
        Scheme.EMPLOYEE, 5, city=None, payment_date=PAID, cause=LapseCause.EMPLOYER
    )
    assert result.bucket is LapseBucket.THREE_TO_6
    assert result.waiting_months == (0, 0) and not result.continuous_years_reset
    assert result.resume_from == date(2026, 6, 1)
    assert {K.EMPLOYER_BACK_PAYS, K.RETROACTIVE_REIMBURSEMENT} <= set(result.explanation_keys)
    # A flexible worker has no employer: the cause cannot waive the wait.
    flexible = benefit_resumption(
        Scheme.FLEXIBLE, 5, city=None, payment_date=PAID, cause=LapseCause.EMPLOYER
    )
    assert flexible.waiting_months == (1, 6)


def test_resumption_without_payment_date_and_bad_input() -> None:
    result = benefit_resumption(Scheme.EMPLOYEE, 4, city=None)
    assert result.resume_from is None and K.PAYMENT_DATE_NEEDED in result.explanation_keys
    with pytest.raises(ValueError):
        benefit_resumption(Scheme.EMPLOYEE, 0, city=None)


def test_resumption_month_end_clipping() -> None:
    result = benefit_resumption(Scheme.EMPLOYEE, 4, city=None, payment_date=date(2026, 12, 31))
    assert (result.resume_from, result.resume_by) == (date(2027, 2, 1), date(2027, 7, 1))


# --- 4. transfer kind ------------------------------------------------------------------------

CROSS, INTRA, SAME = (
    TransferKind.CROSS_PROVINCE,
    TransferKind.INTRA_PROVINCE,
    TransferKind.SAME_CITY,
)
BH = BalanceHandling
# fmt: off
TRANSFERS = [
    # (origin, destination, scheme, kind, balance, province policy passed)
    (("福州市", "福建省"), ("北京市", "北京市"), EMP, CROSS, BH.MOVES, None),
    (("北京市", "北京市"), ("北京市", "北京市"), EMP, SAME, BH.STAYS, None),
    (("广州市", "广东省"), ("深圳市", "广东省"), EMP, INTRA, BH.USABLE_ACROSS_CITIES, "广东省"),
    ((None, "广东省"), ("东莞市", "广东省"), FLEX, INTRA, BH.USABLE_ACROSS_CITIES, "广东省"),
    (("南京市", "江苏省"), ("苏州市", "江苏省"), EMP, INTRA, BH.DEPENDS_ON_PROVINCE, None),
    (("深圳市", "广东省"), ("南昌市", "江西省"), EMP, CROSS, BH.MOVES, "广东省"),
    (("贵港市", "广西壮族自治区"), ("东莞市", "广东省"), RES, CROSS, BH.NO_PERSONAL_ACCOUNT, None),
]
# fmt: on


@pytest.mark.parametrize(("origin", "dest", "scheme", "kind", "balance", "province"), TRANSFERS)
def test_transfer_kind(
    table: PolicyTable,
    origin: tuple[str | None, str],
    dest: tuple[str, str],
    scheme: Scheme,
    kind: TransferKind,
    balance: BalanceHandling,
    province: str | None,
) -> None:
    result = transfer_kind(
        Place(*origin), Place(*dest), province=table.province(province), scheme=scheme
    )
    assert result.kind is kind and result.balance is balance
    assert result.pooled_fund_moves is False
    assert result.years_add_up is (None if scheme is Scheme.RESIDENT else True)
    kinds = {p.kind for p in result.provenance}
    assert ("city" in kinds) is (balance is BalanceHandling.USABLE_ACROSS_CITIES)


@pytest.mark.parametrize(
    ("origin", "dest", "scheme", "balance"),
    [
        (("南京市", "江苏省"), ("郑州市", "河南省"), EMP, BH.TO_BANK_ACCOUNT),
        (("南京市", "江苏省"), ("苏州市", "江苏省"), EMP, BH.TO_BANK_ACCOUNT),
        (("南京市", "江苏省"), ("杭州市", "浙江省"), RES, BH.NO_PERSONAL_ACCOUNT),
        (("郑州市", "河南省"), ("北京市", "北京市"), EMP, BH.MOVES),  # 郑州 only has a timing
    ],
)
def test_transfer_kind_follows_the_origin_city_rule(
    table: PolicyTable,
    origin: tuple[str, str],
    dest: tuple[str, str],
    scheme: Scheme,
    balance: BalanceHandling,
) -> None:
    """南京 pays the balance to the person's bank account: it is not moved with the relation."""
    result = transfer_kind(
        Place(*origin),
        Place(*dest),
        province=table.province(origin[1]),
        scheme=scheme,
        origin_city=table.city(origin[0]),
    )
    assert result.balance is balance
    city_notes = [p.note for p in result.provenance if p.kind == "city"]
    if balance is BH.TO_BANK_ACCOUNT:
        assert K.BALANCE_MOVES not in result.explanation_keys
        assert city_notes and "银行账户" in city_notes[0] and "银行账户" in result.basis
    else:
        assert not city_notes


def test_transfer_kind_refuses_another_city_policy(table: PolicyTable) -> None:
    with pytest.raises(ValueError):
        transfer_kind(
            Place("福州市", "福建省"),
            Place("北京市", "北京市"),
            province=None,
            origin_city=table.city("南京市"),
        )


def test_transfer_kind_keys_and_mismatched_province(table: PolicyTable) -> None:
    cross = transfer_kind(Place("福州市", "福建省"), Place("北京市", "北京市"), province=None)
    assert {K.BALANCE_MOVES, K.POOLED_FUND_STAYS, K.YEARS_ADD_UP} <= set(cross.explanation_keys)
    guangdong = transfer_kind(
        Place("广州市", "广东省"), Place("深圳市", "广东省"), province=table.province("广东省")
    )
    assert "不划转" in guangdong.basis and "不提现" in guangdong.basis
    with pytest.raises(ValueError):
        transfer_kind(
            Place("南京市", "江苏省"), Place("苏州市", "江苏省"), province=table.province("广东省")
        )


# --- 5. working days and transfer timeline --------------------------------------------------

# fmt: off
WORKDAYS = [
    # (start, n, expected, fallback years)
    ("2026-09-28", 10, "2026-10-16", ()),  # National Day 10-01..07 off, Saturday 10-10 worked
    ("2026-09-28", 15, "2026-10-23", ()),
    ("2026-09-30", 1, "2026-10-08", ()),
    ("2026-10-09", 1, "2026-10-10", ()),  # make-up Saturday
    ("2026-09-24", 1, "2026-09-28", ()),  # Mid-Autumn 09-25..27
    ("2026-09-28", 0, "2026-09-28", ()),
    ("2026-12-24", 10, "2027-01-08", (2027,)),  # 2027 unpublished: weekends and 元旦 off
    ("2027-03-05", 5, "2027-03-12", (2027,)),
]
# fmt: on


@pytest.mark.parametrize(("start", "days", "expected", "fallback"), WORKDAYS)
def test_add_working_days(start: str, days: int, expected: str, fallback: tuple[int, ...]) -> None:
    result = add_working_days(date.fromisoformat(start), days)
    assert result.day == day(expected)
    assert result.fallback_years == fallback and result.estimated is bool(fallback)


def test_check_working_day() -> None:
    assert check_working_day(date(2026, 10, 1)) == (False, False)
    assert check_working_day(date(2026, 10, 10)) == (True, False)
    # 2027 is not published yet: weekends and the statutory holidays, flagged as a guess
    assert check_working_day(date(2027, 1, 1)) == (False, True)  # 元旦, a Friday
    assert check_working_day(date(2027, 2, 5)) == (False, True)  # 除夕
    assert check_working_day(date(2027, 2, 8)) == (False, True)  # 初三, a Monday
    assert check_working_day(date(2027, 2, 9)) == (True, True)
    assert check_working_day(date(2027, 4, 5)) == (False, True)  # 清明, a Monday
    assert check_working_day(date(2027, 5, 3)) == (True, True)  # 劳动节 is 5-1 and 5-2 only
    assert check_working_day(date(2027, 6, 9)) == (False, True)  # 端午
    assert check_working_day(date(2027, 9, 15)) == (False, True)  # 中秋
    assert check_working_day(date(2027, 10, 1)) == (False, True)
    with pytest.raises(ValueError):
        add_working_days(date(2026, 1, 1), -1)


# fmt: off
TIMELINES = [
    # (applied, origin city, origin done, process done, balance by, balance latest, fallback)
    ("2026-09-28", None, "2026-10-16", "2026-10-23", "2026-10-23", "2026-11-13", ()),
    ("2026-09-28", "南京市", "2026-10-16", "2026-10-23", "2026-11-27", "2026-11-27", ()),
    # 郑州's 3 months are for moving the balance to the provincial pool: inside 河南 only.
    ("2026-09-28", "郑州市", "2026-10-16", "2026-10-23", "2026-12-28", "2026-12-28", ()),
    # 2027 unpublished: weekends and statutory days off (元旦 01-01; 春节 02-05..08)
    ("2026-12-24", None, "2027-01-08", "2027-01-15", "2027-01-15", "2027-02-09", (2027,)),
    ("2026-12-01", None, "2026-12-15", "2026-12-22", "2026-12-22", "2027-01-13", (2027,)),
    ("2026-12-01", "南京市", "2026-12-15", "2026-12-22", "2027-01-27", "2027-01-27", (2027,)),
]
# fmt: on


@pytest.mark.parametrize(
    (
        "applied",
        "origin",
        "origin_done",
        "process_done",
        "balance_by",
        "balance_latest",
        "fallback",
    ),
    TIMELINES,
)
def test_transfer_timeline(
    applied: str,
    origin: str | None,
    origin_done: str,
    process_done: str,
    balance_by: str,
    balance_latest: str,
    fallback: tuple[int, ...],
) -> None:
    applied_on = date.fromisoformat(applied)
    kind = INTRA if origin == "郑州市" else CROSS
    result = transfer_timeline(applied_on, kind=kind, origin=city(origin) if origin else None)
    assert (result.origin_done_by, result.process_done_by) == (day(origin_done), day(process_done))
    assert (result.balance_by, result.balance_latest) == (day(balance_by), day(balance_latest))
    assert result.fallback_years == fallback and result.calendar_fallback is bool(fallback)
    assert (K.CALENDAR_FALLBACK in result.explanation_keys) is bool(fallback)
    assert (K.CITY_BALANCE_TIMING in result.explanation_keys) is bool(origin)
    assert ("city" in {p.kind for p in result.provenance}) is bool(origin)
    assert result.follow_up_on.month != applied_on.month


def test_zhengzhou_months_not_across_provinces() -> None:
    result = transfer_timeline(date(2026, 9, 28), kind=CROSS, origin=city("郑州市"))
    assert (result.balance_by, result.balance_latest) == (day("2026-10-23"), day("2026-11-13"))
    assert not result.city_balance


@pytest.mark.parametrize(("applied", "origin"), [(r[0], r[1]) for r in TIMELINES])
def test_transfer_timeline_steps_carry_only_their_own_provenance(
    applied: str, origin: str | None
) -> None:
    applied_on = date.fromisoformat(applied)
    kind = INTRA if origin == "郑州市" else CROSS
    result = transfer_timeline(applied_on, kind=kind, origin=city(origin) if origin else None)
    out, whole, balance = result.origin_step, result.process_step, result.balance_step
    assert (out.first, out.last) == (result.origin_done_by, result.origin_done_by)
    assert (whole.first, whole.last) == (result.process_done_by, result.process_done_by)
    assert (balance.first, balance.last) == (result.balance_by, result.balance_latest)
    # The transfer-out and whole-process limits are national rules, whatever the city.
    for step in (out, whole):
        assert {p.kind for p in step.provenance} == {"national"}
        assert not origin or origin.removesuffix("市") not in step.basis
    balance_kinds = {p.kind for p in balance.provenance}
    assert ("city" in balance_kinds) is bool(origin) is result.city_balance
    # A city that counts from the transfer-out day (南京) also rests on the national transfer-out
    # time; 郑州's months are its own figure alone.
    assert ("national" in balance_kinds) is (origin != "郑州市")
    assert balance.is_range is (result.balance_by != result.balance_latest)
    # The calendar caveat only on the steps whose own count ran into an unpublished year.
    for step in (out, whole, balance):
        guessed = any(p.source == "chinese_calendar" for p in step.provenance)
        assert guessed is any(check_working_day(d)[1] for d in (step.first, step.last))


@pytest.mark.parametrize(("applied", "origin"), [(r[0], r[1]) for r in TIMELINES])
def test_transfer_follow_up_is_never_before_the_balance_is_due(
    applied: str, origin: str | None
) -> None:
    applied_on = date.fromisoformat(applied)
    result = transfer_timeline(applied_on, kind=CROSS, origin=city(origin) if origin else None)
    assert result.follow_up_on >= result.balance_by
    assert result.follow_up_on >= add_months(applied_on, 1)
    assert result.follow_up_on in (result.balance_by, add_months(applied_on, 1))


# fmt: off
ELAPSED = [
    # (today, months, days, working days, applied on)
    ("2026-11-25", 1, 0, 0, "2026-10-25"),
    ("2026-03-31", 1, 0, 0, "2026-02-28"),  # clipped to the shorter month
    ("2026-11-25", 1, 15, 0, "2026-10-10"),  # 一个半月
    ("2026-11-25", 0, 14, 0, "2026-11-11"),  # 两周
    ("2026-11-25", 0, 0, 0, "2026-11-25"),
    ("2026-10-16", 0, 0, 10, "2026-09-28"),  # back over National Day (the 10-10 make-up day)
    ("2026-11-25", 0, 0, 15, "2026-11-04"),
]
# fmt: on


@pytest.mark.parametrize(("today", "months", "days", "working", "expected"), ELAPSED)
def test_applied_on_from_elapsed(
    today: str, months: int, days: int, working: int, expected: str
) -> None:
    applied = applied_on_from_elapsed(day(today), months=months, days=days, working_days=working)
    assert applied == day(expected)
    if working and not (months or days):
        # Counting forward again lands on the same (working) day.
        assert add_working_days(applied, working).day == day(today)
    with pytest.raises(ValueError):
        applied_on_from_elapsed(day(today), days=-1)


def test_transfer_stage_by_the_limits() -> None:
    applied = date(2026, 10, 10)
    timeline = transfer_timeline(applied, kind=CROSS, origin=None)
    process, latest = timeline.process_done_by, timeline.balance_latest
    assert transfer_stage(timeline, applied) is TransferStage.PROCESSING
    assert (
        transfer_stage(timeline, process) is TransferStage.PROCESSING
    )  # the limit day is in time
    after = process + timedelta(days=1)
    assert transfer_stage(timeline, after) is TransferStage.PROCESS_OVERDUE
    assert transfer_stage(timeline, latest) is TransferStage.PROCESS_OVERDUE
    assert transfer_stage(timeline, latest + timedelta(days=1)) is TransferStage.OVERDUE
    # 南京: the balance date is the city's own, long after the whole-process limit.
    nanjing = transfer_timeline(applied, kind=CROSS, origin=city("南京市"))
    assert nanjing.balance_latest > nanjing.process_done_by
    assert transfer_stage(nanjing, after) is TransferStage.PROCESS_OVERDUE


def test_transfer_timeline_same_city_is_an_error() -> None:
    with pytest.raises(ValueError):
        transfer_timeline(date(2026, 9, 28), kind=TransferKind.SAME_CITY, origin=None)


# --- 6. monthly account credit ---------------------------------------------------------------

IN, OUT = MemberStatus.IN_SERVICE, MemberStatus.RETIRED
# fmt: off
CREDITS = [
    # (status, scheme, base, city, amount, rule, provenance kind)
    (IN, EMP, D("8000"), None, D("160.00"), K.CREDIT_PERCENT_OF_BASE, "national"),
    (IN, FLEX, D("4567.89"), None, D("91.3578"), K.CREDIT_PERCENT_OF_BASE, "national"),
    (IN, EMP, None, None, None, K.CREDIT_PERCENT_OF_BASE, "national"),
    (OUT, EMP, None, None, None, K.RETIREE_SET_BY_PROVINCE, "national"),
    (OUT, EMP, None, "test", D("95.5"), K.RETIREE_CITY_FIXED, "city"),
    (IN, RES, D("8000"), None, None, K.NO_PERSONAL_ACCOUNT, "national"),
]
# fmt: on


@pytest.mark.parametrize(("status", "scheme", "base", "where", "amount", "rule", "kind"), CREDITS)
def test_monthly_account_credit(
    status: MemberStatus,
    scheme: Scheme,
    base: Decimal | None,
    where: str | None,
    amount: Decimal | None,
    rule: ExplanationKey,
    kind: str,
) -> None:
    result = monthly_account_credit(status, city=RICH if where else None, base=base, scheme=scheme)
    assert result.amount == amount and result.rule is rule
    assert {p.kind for p in result.provenance} == {kind}
    if amount is not None:
        assert isinstance(result.amount, Decimal) and result.display == fmt_money(amount)
    if status is MemberStatus.RETIRED and where is None:
        assert "省" in result.basis


# --- 7. withdrawal ---------------------------------------------------------------------------

WC, EL, CO, MA = WithdrawalCase, Eligibility, Condition, Material
ABROAD, AWAY = CO.FOREIGN_RESIDENCE_HUKOU_CANCELLED, CO.REMOTE_CARE_REGISTERED_6_MONTHS
# fmt: off
WITHDRAWALS = [
    # (case, months elsewhere, allowed, a condition, a material)
    (WC.EMIGRATION, None, EL.IF_CONDITIONS, ABROAD, MA.HUKOU_CANCELLATION_PROOF),
    (WC.LONG_TERM_ELSEWHERE, None, EL.IF_CONDITIONS, AWAY, MA.REMOTE_CARE_RECORD),
    (WC.LONG_TERM_ELSEWHERE, 5, EL.NO, AWAY, MA.REMOTE_CARE_RECORD),
    (WC.LONG_TERM_ELSEWHERE, 6, EL.YES, AWAY, MA.REMOTE_CARE_RECORD),
    (WC.NEW_PLACE_REFUSES, None, EL.IF_CONDITIONS, CO.NEW_PLACE_WONT_ACCEPT,
     MA.NON_ACCEPTANCE_PROOF),
    (WC.SERIOUS_ILLNESS, None, EL.SOME_PLACES, CO.LOCAL_ILLNESS_LIST, MA.ITEMISED_BILL),
    (WC.DEATH, None, EL.YES, CO.LEGAL_HEIR_APPLIES, MA.DEATH_CERTIFICATE),
    (WC.QUIT_EMPLOYEE_SCHEME, None, EL.SOME_PLACES, CO.LOCAL_RULE_ON_QUITTING, MA.ID_CARD),
    (WC.TO_WALLET, None, EL.NO, CO.USE_E_CARD_INSTEAD, None),
    (WC.OTHER, None, EL.NO, CO.NORMALLY_NOT_ALLOWED, None),
]
# fmt: on


@pytest.mark.parametrize(("case", "months", "allowed", "condition", "material"), WITHDRAWALS)
def test_withdrawal_eligibility(
    case: WithdrawalCase,
    months: int | None,
    allowed: Eligibility,
    condition: Condition,
    material: Material | None,
) -> None:
    result = withdrawal_eligibility(case, months_elsewhere=months)
    assert result.allowed is allowed and condition in result.conditions
    if material is None:
        assert result.materials == () and result.consequences == ()
    else:
        assert material in result.materials and Material.ID_CARD in result.materials
        # Closing the account follows a withdrawal; it is not a condition for one.
        assert result.consequences == (Consequence.ACCOUNT_CLOSED,)
    assert not set(result.conditions) & set(Consequence)
    assert all(p.kind == "national" for p in result.provenance)


# --- 8. contribution-years shortfall ---------------------------------------------------------

# fmt: off
SHORTFALLS = [
    # (paid, sex, where, base, required, short, cost low, cost high, key)
    (12, None, None, D("8000"), (15, 15), ("3", "3"), "28800", "34560",
     K.REQUIRED_YEARS_REFERENCE),
    (D("12.5"), Sex.FEMALE, "深圳市", None, (15, 15), ("2.5", "2.5"), "24000", "28800",
     K.BASE_FROM_CITY_WAGE),
    (18, Sex.MALE, "test", None, (25, 25), ("7", "7"), "40320", "40320", K.REQUIRED_YEARS_CITY),
    (18, Sex.FEMALE, "test", None, (20, 20), ("2", "2"), "11520", "11520", K.REQUIRED_YEARS_CITY),
    (18, None, "test", None, (20, 25), ("2", "7"), "11520", "40320", K.SEX_NEEDED),
    (30, Sex.MALE, "test", None, (25, 25), ("0", "0"), "0", "0", K.YEARS_ENOUGH),
]
# fmt: on


@pytest.mark.parametrize(
    ("paid", "sex", "where", "base", "required", "short", "low", "high", "key"), SHORTFALLS
)
def test_contribution_years_shortfall(
    paid: Decimal | int,
    sex: Sex | None,
    where: str | None,
    base: Decimal | None,
    required: tuple[int, int],
    short: tuple[str, str],
    low: str,
    high: str,
    key: ExplanationKey,
) -> None:
    policy = RICH if where == "test" else city(where) if where else None
    result = contribution_years_shortfall(paid, city=policy, sex=sex, base=base)
    assert result.required_years == required
    assert result.years_short == (D(short[0]), D(short[1]))
    assert result.cost is not None and (result.cost.low, result.cost.high) == (D(low), D(high))
    assert key in result.notes
    kinds = {p.kind for p in result.provenance}
    assert ("national" in kinds) is (where != "test")
    if where == "test":
        assert result.min_actual_years == 10


# fmt: off
COMMON_RULE = [
    # (paid, sex, (sex, required, short) per entry): 男25/女20 beside the 15-year reference
    (18, Sex.FEMALE, ((Sex.FEMALE, 20, "2"),)),
    (18, None, ((Sex.MALE, 25, "7"), (Sex.FEMALE, 20, "2"))),
    (D("22.5"), Sex.MALE, ((Sex.MALE, 25, "2.5"),)),
    (30, None, ((Sex.MALE, 25, "0"), (Sex.FEMALE, 20, "0"))),
]
# fmt: on


@pytest.mark.parametrize(("paid", "sex", "expected"), COMMON_RULE)
def test_shortfall_without_city_rule_gives_the_common_city_rule_too(
    paid: Decimal | int, sex: Sex | None, expected: tuple[tuple[Sex, int, str], ...]
) -> None:
    for policy in (None, city("深圳市")):  # no table entry, and a city without a years rule
        result = contribution_years_shortfall(paid, city=policy, sex=sex)
        assert result.required_years == (15, 15)
        got = tuple((c.sex, c.required, c.short) for c in result.common_rule)
        assert got == tuple((s, r, D(short)) for s, r, short in expected)
        assert COMMON_CITY_REQUIRED_YEARS.provenance in result.provenance
        assert is_estimate(result)


def test_shortfall_with_a_city_rule_has_no_common_rule() -> None:
    result = contribution_years_shortfall(18, city=RICH, sex=Sex.FEMALE)
    assert result.common_rule == ()
    assert COMMON_CITY_REQUIRED_YEARS.provenance not in result.provenance


def test_shortfall_without_base_is_labelled() -> None:
    result = contribution_years_shortfall(10, city=None)
    assert result.cost is None and K.NEED_BASE in result.notes
    assert is_estimate(result) and result.provenance[0].label == NATIONAL_LABEL
    with pytest.raises(ValueError):
        contribution_years_shortfall(-1, city=None)


# --- 9. collection periods and deadlines ----------------------------------------------------


def test_collection_period_national_estimate() -> None:
    result = resident_collection_period(2027, city=None)
    assert (result.opens_on, result.opens_by, result.closes_on) == (
        date(2026, 9, 1),
        date(2026, 10, 1),
        date(2026, 12, 31),
    )
    assert result.back_payment_window is None
    assert K.COLLECTION_PERIOD_ESTIMATE in result.explanation_keys
    assert is_estimate(result)


def test_collection_period_2025_window_and_city_rules() -> None:
    y2025 = resident_collection_period(2025, city=None)
    assert y2025.back_payment_window == (date(2025, 1, 1), date(2025, 3, 31))
    assert y2025.back_payment_waiting_months == 3
    nanjing = resident_collection_period(2026, city=city("南京市"))
    assert nanjing.late_payment_before == date(2026, 3, 1) and nanjing.late_waiting_days == 60
    own = resident_collection_period(2026, city=RICH)
    assert (own.opens_on, own.opens_by, own.closes_on) == (
        date(2025, 10, 15),
        date(2025, 10, 15),
        date(2026, 2, 28),
    )
    assert own.provenance[0].kind == "city"


DK = DeadlineKind
# fmt: off
DEADLINES = [
    # (today, city, due, kind, cover year, provenance kind)
    ("2025-01-05", None, "2025-03-31", DK.BACK_PAYMENT_END, 2025, "national"),
    ("2025-04-01", None, "2025-12-31", DK.COLLECTION_END, 2026, "national"),
    ("2026-04-05", None, "2026-12-31", DK.COLLECTION_END, 2027, "national"),
    ("2026-12-31", None, "2026-12-31", DK.COLLECTION_END, 2027, "national"),
    ("2026-02-01", "南京市", "2026-02-28", DK.CITY_LATE_PAYMENT, 2026, "city"),
    ("2028-01-10", "南京市", "2028-02-29", DK.CITY_LATE_PAYMENT, 2028, "city"),
    # 南京 has no published collection period of its own: the national estimate applies.
    ("2026-03-01", "南京市", "2026-12-31", DK.COLLECTION_END, 2027, "national"),
    ("2026-01-10", "test", "2026-02-28", DK.COLLECTION_END, 2026, "city"),
]
# fmt: on


@pytest.mark.parametrize(("today", "where", "due", "kind", "cover_year", "source_kind"), DEADLINES)
def test_next_deadline(
    today: str, where: str | None, due: str, kind: DeadlineKind, cover_year: int, source_kind: str
) -> None:
    policy = RICH if where == "test" else city(where) if where else None
    result = next_deadline(date.fromisoformat(today), city=policy)
    assert (result.due, result.kind, result.cover_year) == (day(due), kind, cover_year)
    assert result.days_left == (result.due - date.fromisoformat(today)).days >= 0
    assert result.provenance[0].kind == source_kind


MONTHLY = [
    (date(2026, 2, 10), None, date(2026, 2, 28)),
    (date(2026, 2, 28), None, date(2026, 2, 28)),
    (date(2026, 3, 5), 10, date(2026, 3, 10)),
    (date(2026, 1, 31), 30, date(2026, 2, 28)),
    (date(2026, 12, 20), 15, date(2027, 1, 15)),
]


@pytest.mark.parametrize(("today", "due_day", "due"), MONTHLY)
def test_next_monthly_due(today: date, due_day: int | None, due: date) -> None:
    result = next_monthly_due(today, due_day=due_day)
    assert result.due == due and result.kind is DeadlineKind.MONTHLY_DUE
    assert is_estimate(result)


def test_next_monthly_due_rejects_bad_day() -> None:
    with pytest.raises(ValueError):
        next_monthly_due(date(2026, 1, 1), due_day=32)


def test_newborn_enrolment() -> None:
    chengdu = newborn_enrolment(date(2026, 3, 15), city=city("成都市"))
    assert chengdu.enrol_by == date(2026, 6, 13) and chengdu.covered_from == date(2026, 3, 1)
    assert chengdu.fee == D("350") and chengdu.fee_year == 2023
    assert {p.kind for p in chengdu.provenance} == {"city"}
    elsewhere = newborn_enrolment(date(2026, 3, 15), city=None)
    assert elsewhere.enrol_by is None and is_estimate(elsewhere)


# --- reimbursement caps ----------------------------------------------------------------------

CAPS = [
    # (scheme, city, continuous months, amount, kind, tiers listed)
    (Scheme.EMPLOYEE, "深圳市", 80, D("1000000"), "city", 1),
    (Scheme.EMPLOYEE, "深圳市", 3, D("100000"), "city", 1),
    (Scheme.EMPLOYEE, "深圳市", 24, None, "city", 2),
    (Scheme.RESIDENT, "深圳市", None, None, "city", 2),
    (Scheme.EMPLOYEE, "北京市", None, D("500000"), "city", 1),
    (Scheme.RESIDENT, "北京市", None, D("300000"), "national", 0),
    (Scheme.EMPLOYEE, None, 100, D("350000"), "national", 0),
]


@pytest.mark.parametrize(("scheme", "where", "months", "amount", "kind", "tiers"), CAPS)
def test_reimbursement_cap(
    scheme: Scheme,
    where: str | None,
    months: int | None,
    amount: Decimal | None,
    kind: str,
    tiers: int,
) -> None:
    result = reimbursement_cap(
        scheme, city=city(where) if where else None, continuous_months=months
    )
    assert result.amount == amount and len(result.tiers) == tiers
    assert {p.kind for p in result.provenance} == {kind}


# --- cross-cutting: provenance, Decimal-only money, purity -----------------------------------


def all_results() -> list[tuple[str, PolicyResult]]:
    sz, nj, zz = city("深圳市"), city("南京市"), city("郑州市")
    gd = default_city_policies().province("广东省")
    return [
        ("back_payment city", back_payment(4, city=sz)),
        ("back_payment national", back_payment(4, city=None, base=D("6000"))),
        ("late_fee", late_fee(D("3200"), 30, LapseCause.UNKNOWN)),
        ("late_fee employer", late_fee(D("3200"), 30, LapseCause.EMPLOYER)),
        ("resumption", benefit_resumption(Scheme.FLEXIBLE, 5, city=None, payment_date=PAID)),
        ("resumption nanjing", benefit_resumption(Scheme.RESIDENT, 5, city=nj, payment_date=PAID)),
        (
            "transfer cross",
            transfer_kind(Place("福州市", "福建省"), Place("北京市", "北京市"), province=None),
        ),
        (
            "transfer guangdong",
            transfer_kind(Place("广州市", "广东省"), Place("深圳市", "广东省"), province=gd),
        ),
        (
            "transfer same",
            transfer_kind(Place("北京市", "北京市"), Place("北京市", "北京市"), province=None),
        ),
        (
            "timeline",
            transfer_timeline(date(2026, 12, 24), kind=TransferKind.CROSS_PROVINCE, origin=None),
        ),
        (
            "timeline zhengzhou",
            transfer_timeline(date(2026, 9, 28), kind=TransferKind.INTRA_PROVINCE, origin=zz),
        ),
        ("credit", monthly_account_credit(MemberStatus.IN_SERVICE, city=None, base=D("8000"))),
        ("credit retiree", monthly_account_credit(MemberStatus.RETIRED, city=sz)),
        ("withdrawal", withdrawal_eligibility(WithdrawalCase.DEATH)),
        ("shortfall", contribution_years_shortfall(10, city=sz)),
        ("collection", resident_collection_period(2026, city=nj)),
        ("deadline", next_deadline(date(2026, 6, 1), city=None)),
        ("monthly", next_monthly_due(date(2026, 6, 1))),
        ("newborn", newborn_enrolment(date(2026, 6, 1), city=city("成都市"))),
        ("cap", reimbursement_cap(Scheme.EMPLOYEE, city=sz, continuous_months=100)),
    ]


def _walk(value: object) -> Iterator[object]:
    yield value
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        for f in dataclasses.fields(value):
            yield from _walk(getattr(value, f.name))
    elif isinstance(value, tuple | list):
        for item in value:
            yield from _walk(item)


@pytest.mark.parametrize(("name", "result"), all_results(), ids=[n for n, _ in all_results()])
def test_every_result_has_provenance_basis_and_inputs(name: str, result: PolicyResult) -> None:
    assert result.basis.strip()
    assert getattr(result, "inputs", None) is not None
    assert result.provenance, name
    for prov in result.provenance:
        assert prov.kind in ("city", "national")
        assert prov.source.strip() and str(prov.as_of).strip() and prov.note.strip()
        assert (
            prov.label == NATIONAL_LABEL if prov.kind == "national" else prov.source in prov.label
        )
    assert is_estimate(result) is any(p.kind == "national" for p in result.provenance)


@pytest.mark.parametrize(("name", "result"), all_results(), ids=[n for n, _ in all_results()])
def test_results_hold_no_floats(name: str, result: PolicyResult) -> None:
    assert not any(isinstance(v, float) for v in _walk(result)), name


def test_money_formatting_rounds_half_up_once() -> None:
    assert fmt_money(D("0.005")) == "0.01元"
    assert fmt_money(D("3199.995")) == "3200.00元"
    assert MoneyRange(D("48"), D("48")).display == "48.00元"
    with pytest.raises(TypeError):
        MoneyRange(1.0, D("2"))  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        MoneyRange(D("2"), D("1"))


def test_shanghai_date() -> None:
    assert shanghai_date(datetime(2026, 9, 30, 17, 0, tzinfo=UTC)) == date(2026, 10, 1)
    with pytest.raises(ValueError):
        shanghai_date(datetime(2026, 9, 30, 17, 0))  # noqa: DTZ001 - the naive case under test


def test_policy_code_never_reads_the_clock_or_files() -> None:
    package = Path(__file__).resolve().parents[1] / "bot" / "policy"
    forbidden = re.compile(
        r"date\.today\(|datetime\.now\(|datetime\.utcnow\(|time\.time\(|open\(|read_text\("
    )
    for source in package.glob("*.py"):
        assert not forbidden.search(source.read_text(encoding="utf-8")), source.name
