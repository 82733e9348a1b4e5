"""Deadline calendar figures in the region table: city → province → national precedence.

The table here is test-only (descriptions say 测试用): the shared sources give no city's or
province's collection period, monthly due day or back-payment window, so the bundled table has
none and these paths are exercised with made-up rows, like test_policy's 测试市.
"""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator, Callable
from datetime import date
from typing import Any

import pytest

from bot.dialog.context import Context
from bot.dialog.figures import fmt_date
from bot.dialog.manager import Dialog
from bot.dialog.render import render_part
from bot.dialog.types import Part
from bot.nlu.understand import NLU
from bot.policy import (
    CityPolicy,
    DeadlineKind,
    ProvincePolicy,
    is_estimate,
    next_deadline,
    next_monthly_due,
    resident_collection_period,
)
from bot.storage import open_storage
from region_data.city_policy import CityPolicyError, parse_city_policies


def fig(value: object, note: str) -> dict[str, Any]:
    return {"value": value, "source": "policy-facts §9", "description": note, "as_of": 2026}


RAW: dict[str, Any] = {
    "schema": 1,
    "provinces": {
        "福建省": {
            "resident_collection": fig({"start": "10-01", "end": "12-20"}, "测试用：福建省"),
            "resident_back_payment": fig(
                {"start": "01-01", "end": "04-30", "waiting_months": 2}, "测试用：福建省"
            ),
            "monthly_due_day": fig(20, "测试用：福建省"),
        }
    },
    "cities": {
        "福州市": {
            "province": "福建省",
            "resident_collection": fig(
                {"start": "11-01", "end": "01-31", "end_in_cover_year": True}, "测试用：福州市"
            ),
            "resident_back_payment": fig({"start": "02-01", "end": "02-15"}, "测试用：福州市"),
            "monthly_due_day": fig(15, "测试用：福州市"),
        },
        # Only its own due day: the collection period must still come from the province.
        "泉州市": {"province": "福建省", "monthly_due_day": fig(10, "测试用：泉州市")},
    },
}
TABLE = parse_city_policies(RAW)
FUJIAN = TABLE.province("福建省")


def place(city: str | None) -> tuple[CityPolicy | None, ProvincePolicy | None]:
    """Policies as the dialogue passes them: the city's row (if any) and its province's."""
    if city is None:
        return None, None
    return TABLE.city(city), FUJIAN if city in ("福州市", "泉州市", "厦门市") else None


def source_of(note: str) -> str:
    """Which level a figure came from: the place named in a test note, or national."""
    return note.removeprefix("测试用：") if note.startswith("测试用") else "national"


# --- precedence --------------------------------------------------------------------------------

# fmt: off
MONTHLY = [
    # (today, city, user's day, due, which level)
    ("2026-06-03", "福州市", None, "2026-06-15", "福州市"),
    ("2026-06-03", "泉州市", None, "2026-06-10", "泉州市"),
    ("2026-06-03", "厦门市", None, "2026-06-20", "福建省"),   # no city row: province
    ("2026-06-03", "郑州市", None, "2026-06-30", "national"),  # nothing: month end, estimate
    ("2026-06-16", "福州市", None, "2026-07-15", "福州市"),   # past this month's day: next month
    ("2026-06-03", "福州市", 5, "2026-06-05", "national"),    # the user's own day wins
]
# fmt: on


@pytest.mark.parametrize(("today", "city", "user_day", "due", "level"), MONTHLY)
def test_monthly_due_day_precedence(
    today: str, city: str, user_day: int | None, due: str, level: str
) -> None:
    policy, province = place(city)
    result = next_monthly_due(
        date.fromisoformat(today), due_day=user_day, city=policy, province=province
    )
    assert result.due == date.fromisoformat(due)
    assert source_of(result.provenance[0].note) == level
    assert is_estimate(result) is (level == "national")
    assert result.monthly_day == (user_day or (None if level == "national" else result.due.day))


# fmt: off
PERIODS = [
    # (cover year, city, opens, closes, collection level, back window, wait, back level)
    (2027, "福州市", "2026-11-01", "2027-01-31", "福州市", ("2027-02-01", "2027-02-15"), None, "福州市"),  # noqa: E501
    (2027, "泉州市", "2026-10-01", "2026-12-20", "福建省", ("2027-01-01", "2027-04-30"), 2, "福建省"),  # noqa: E501
    (2027, "郑州市", "2026-09-01", "2026-12-31", "national", None, None, None),
    (2025, "郑州市", "2024-09-01", "2024-12-31", "national", ("2025-01-01", "2025-03-31"), 3, "national"),  # noqa: E501
]
# fmt: on


@pytest.mark.parametrize(
    ("year", "city", "opens", "closes", "level", "window", "wait", "back_level"), PERIODS
)
def test_collection_and_back_payment_precedence(
    year: int,
    city: str,
    opens: str,
    closes: str,
    level: str,
    window: tuple[str, str] | None,
    wait: int | None,
    back_level: str | None,
) -> None:
    policy, province = place(city)
    period = resident_collection_period(year, city=policy, province=province)
    assert (period.opens_on, period.closes_on) == (
        date.fromisoformat(opens),
        date.fromisoformat(closes),
    )
    assert source_of(period.provenance[0].note) == level
    expected = None if window is None else tuple(date.fromisoformat(d) for d in window)
    assert period.back_payment_window == expected
    assert period.back_payment_waiting_months == wait
    if back_level is not None:
        assert source_of(period.provenance[1].note) == back_level


DK = DeadlineKind
# fmt: off
DEADLINES = [
    # (today, city, due, kind, which level)
    ("2027-01-10", "福州市", "2027-01-31", DK.COLLECTION_END, "福州市"),
    ("2027-02-05", "福州市", "2027-02-15", DK.BACK_PAYMENT_END, "福州市"),
    ("2027-02-05", "厦门市", "2027-04-30", DK.BACK_PAYMENT_END, "福建省"),
    ("2027-06-01", "厦门市", "2027-12-20", DK.COLLECTION_END, "福建省"),
    ("2027-02-05", "郑州市", "2027-12-31", DK.COLLECTION_END, "national"),
]
# fmt: on


@pytest.mark.parametrize(("today", "city", "due", "kind", "level"), DEADLINES)
def test_next_deadline_uses_table_windows(
    today: str, city: str, due: str, kind: DeadlineKind, level: str
) -> None:
    policy, province = place(city)
    result = next_deadline(date.fromisoformat(today), city=policy, province=province)
    assert (result.due, result.kind) == (date.fromisoformat(due), kind)
    assert source_of(result.provenance[0].note) == level
    assert result.provenance[0].kind == ("national" if level == "national" else "city")


# --- validation --------------------------------------------------------------------------------


def _fujian(raw: dict[str, Any]) -> dict[str, Any]:
    row: dict[str, Any] = raw["provinces"]["福建省"]
    return row


def _fuzhou(raw: dict[str, Any]) -> dict[str, Any]:
    row: dict[str, Any] = raw["cities"]["福州市"]
    return row


BAD_ROWS: list[tuple[str, Callable[[dict[str, Any]], object], str]] = [
    ("province due day unsourced", lambda r: _fujian(r)["monthly_due_day"].pop("source"), "missing"),
    ("city window without as_of", lambda r: _fuzhou(r)["resident_back_payment"].pop("as_of"), "missing"),
    ("province window odd source", lambda r: _fujian(r)["resident_collection"].update(source="网上"), "source"),
    ("due day 32", lambda r: _fuzhou(r)["monthly_due_day"].update(value=32), "outside"),
    ("due day as text", lambda r: _fujian(r)["monthly_due_day"].update(value="20"), "integer"),
    ("window backwards", lambda r: _fuzhou(r)["resident_back_payment"]["value"].update(start="03-01"), "ends before"),
    ("wait too long", lambda r: _fujian(r)["resident_back_payment"]["value"].update(waiting_months=13), "outside"),
    ("bad month-day", lambda r: _fujian(r)["resident_collection"]["value"].update(start="9-1"), "MM-DD"),
    ("unknown window key", lambda r: _fuzhou(r)["resident_back_payment"]["value"].update(days=5), "unknown"),
    ("unknown province key", lambda r: _fujian(r).update(newborn_fee=fig("1", "x")), "unknown"),
]  # fmt: skip


@pytest.mark.parametrize(("name", "mutate", "message"), BAD_ROWS, ids=[b[0] for b in BAD_ROWS])
def test_bad_deadline_rows_fail_loudly(
    name: str, mutate: Callable[[dict[str, Any]], object], message: str
) -> None:
    raw = copy.deepcopy(RAW)
    mutate(raw)
    with pytest.raises(CityPolicyError, match=message):
        parse_city_policies(raw)


# --- replies -----------------------------------------------------------------------------------

TODAY = date(2026, 6, 3)
# A figure built on a national default is labelled in its line, and the reply ends with the note.
ESTIMATE_MARK = "按全国通行规则估算"
ESTIMATE_NOTE = render_part(Part("common/estimate_note"))


@pytest.fixture
async def dialog() -> AsyncIterator[Dialog]:
    storage = open_storage("memory://")
    yield Dialog(NLU.default(), Context(policy=TABLE), storage)
    await storage.close()


@pytest.mark.parametrize(("text", "city", "estimate"), [
    ("福州灵活就业医保每月几号前交", "福州市", False),
    ("厦门灵活就业医保每月几号前交", "厦门市", False),
    ("郑州灵活就业医保每月几号前交", "郑州市", True),
])  # fmt: skip
async def test_monthly_reply_labels_only_the_national_default(
    dialog: Dialog, text: str, city: str, estimate: bool
) -> None:
    answer = await dialog.respond("d1", text, TODAY)
    assert answer.intent == "payment"
    policy, province = place(city)
    due = next_monthly_due(TODAY, city=policy, province=province)
    assert fmt_date(due.due) in answer.text
    assert (ESTIMATE_MARK in answer.text) is estimate, answer.text
    assert (ESTIMATE_NOTE in answer.text) is estimate
    if not estimate:
        assert f"每月{due.monthly_day}日" in answer.text


async def test_resident_reply_for_a_place_without_data_says_estimate(dialog: Dialog) -> None:
    answer = await dialog.respond("d2", "郑州居民医保什么时候交", TODAY)
    due = next_deadline(TODAY, city=None)
    assert fmt_date(due.due) in answer.text
    assert ESTIMATE_MARK in answer.text and ESTIMATE_NOTE in answer.text, answer.text
