"""Application days said in a message: parts of a month or year, 前几天, weekdays, day numbers
and past tense (QA round 3, finding 5).

Every expected day is found by walking a real calendar (``datetime``) from ``today``, never
copied from the parser or from a reply.
"""

from __future__ import annotations

import calendar
from datetime import date, timedelta

import pytest

from bot.dialog.figures import fmt_date
from bot.nlu.entities import Entities, extract
from bot.pipeline import Pipeline
from bot.policy import TransferKind, transfer_timeline

TODAY = date(2026, 11, 25)
ONE = timedelta(days=1)
# A spread of days: month starts and ends, a leap day, year ends, and ordinary days.
TODAYS = [
    date(2026, 11, 25), date(2026, 11, 1), date(2026, 12, 31), date(2027, 1, 1),
    date(2027, 1, 31), date(2027, 3, 1), date(2028, 2, 29), date(2028, 3, 30),
    date(2026, 10, 15), date(2027, 6, 30),
]  # fmt: skip
CN_DAY = {3: "三", 15: "十五", 20: "二十", 31: "三十一"}


def days_back(today: date, n: int = 800) -> list[date]:
    return [today - timedelta(days=i) for i in range(n)]


def days_ahead(today: date, n: int = 800) -> list[date]:
    return [today + timedelta(days=i) for i in range(n)]


def last_day(year: int, month: int) -> int:
    return calendar.monthrange(year, month)[1]


def only_rough(e: Entities) -> date:
    assert e.dates == (), e
    assert len(e.approx_dates) == 1, e
    return e.approx_dates[0].day


def only_exact(e: Entities) -> date:
    assert e.approx_dates == (), e
    assert len(e.dates) == 1, e
    return e.dates[0]


# --- day numbers ------------------------------------------------------------------------------


@pytest.mark.parametrize("today", TODAYS)
@pytest.mark.parametrize("day", [1, 3, 15, 20, 29, 30, 31])
def test_a_day_number_said_as_done_is_the_latest_one_so_far(today: date, day: int) -> None:
    expected = next(d for d in days_back(today) if d.day == day)
    assert only_exact(extract(f"我{day}号申请的", today)) == expected
    assert only_exact(extract(f"{day}号就交了材料", today)) == expected


@pytest.mark.parametrize("today", TODAYS)
@pytest.mark.parametrize(("day", "cn"), CN_DAY.items())
def test_chinese_day_numbers(today: date, day: int, cn: str) -> None:
    past = next(d for d in days_back(today) if d.day == day)
    ahead = next(d for d in days_ahead(today) if d.day == day)
    assert only_exact(extract(f"我{cn}号申请的", today)) == past
    assert only_exact(extract(f"{cn}号前要交吗", today)) == ahead  # a plan stays ahead


@pytest.mark.parametrize("today", TODAYS)
@pytest.mark.parametrize(
    "text", ["15号前要交吗", "15号交医保", "15号交的话来得及吗", "还没申请,15号去"]
)
def test_a_day_number_not_said_as_done_is_the_next_one(today: date, text: str) -> None:
    expected = next(d for d in days_ahead(today) if d.day == 15)
    assert only_exact(extract(text, today)) == expected


@pytest.mark.parametrize("today", TODAYS)
@pytest.mark.parametrize("cn", ["三", "15"])
def test_a_day_of_last_month(today: date, cn: str) -> None:
    first_of_this = today.replace(day=1)
    last_month = (first_of_this - ONE).replace(day=1)
    day = int(cn) if cn.isdigit() else 3
    expected = last_month.replace(day=day)
    assert only_exact(extract(f"上个月{cn}号申请的", today)) == expected


# --- month and day: a done thing whose day has not come yet this year -------------------------


@pytest.mark.parametrize("today", TODAYS)
@pytest.mark.parametrize(("month", "day"), [(12, 1), (1, 10), (10, 8), (6, 30), (2, 29)])
def test_month_day_said_as_done_is_the_latest_one(today: date, month: int, day: int) -> None:
    back = [d for d in days_back(today, 8 * 366) if (d.month, d.day) == (month, day)]
    ahead = [d for d in days_ahead(today, 8 * 366) if (d.month, d.day) == (month, day)]
    e = extract(f"我{month}月{day}号申请的", today)
    assert only_exact(e) == back[0]
    # Only when the plain (nearest) reading is still ahead was a year assumed.
    # Only when the plain (nearest) reading is still ahead and this year's has not come yet
    # was last year's assumed; a 29 February with none near today is simply the last one.
    candidates = [c for c in (back[0], ahead[0]) if abs(c.year - today.year) <= 1]
    nearest = min(candidates, key=lambda c: (abs((c - today).days), c < today), default=None)
    moved = nearest is not None and nearest > today and back[0].year < today.year
    assert e.assumed_last_year == ((back[0],) if moved else ())


def test_december_first_said_on_november_25th_is_last_years() -> None:
    e = extract("我12月1号申请的", TODAY)
    expected = date(TODAY.year - 1, 12, 1)
    assert e.dates == (expected,) and e.assumed_last_year == (expected,)
    # Asked as a plan, it is this year's and nothing is assumed.
    plan = extract("12月1号要交吗", TODAY)
    assert plan.dates == (date(TODAY.year, 12, 1),) and plan.assumed_last_year == ()


# --- parts of a month -------------------------------------------------------------------------

PART_DAY = {"初": 1, "上旬": 5, "中": 15, "中旬": 15, "下旬": 25, "底": 31, "末": 31}


def part_day(year: int, month: int, part: str) -> date:
    return date(year, month, min(PART_DAY[part], last_day(year, month)))


def month_starts_back(today: date, n: int = 30) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    d = today.replace(day=1)
    for _ in range(n):
        out.append((d.year, d.month))
        d = (d - ONE).replace(day=1)
    return out


@pytest.mark.parametrize("today", TODAYS)
@pytest.mark.parametrize("part", ["初", "中", "底", "末"])
def test_bare_month_part_said_as_done_is_this_or_last_month(today: date, part: str) -> None:
    expected = next(
        part_day(y, m, part) for y, m in month_starts_back(today) if part_day(y, m, part) <= today
    )
    assert only_rough(extract(f"月{part}申请的", today)) == expected


@pytest.mark.parametrize("today", TODAYS)
@pytest.mark.parametrize("part", ["上旬", "中旬", "下旬"])
def test_bare_ten_day_periods_said_as_done(today: date, part: str) -> None:
    expected = next(
        part_day(y, m, part) for y, m in month_starts_back(today) if part_day(y, m, part) <= today
    )
    assert only_rough(extract(f"我{part}申请的转移", today)) == expected


@pytest.mark.parametrize("today", TODAYS)
@pytest.mark.parametrize("month", [1, 10, 12])
@pytest.mark.parametrize("part", ["初", "上旬", "中旬", "下旬", "底"])
def test_named_month_part_said_as_done(today: date, month: int, part: str) -> None:
    expected = next(
        part_day(y, m, part)
        for y, m in month_starts_back(today)
        if m == month and part_day(y, m, part) <= today
    )
    e = extract(f"我{month}月{part}申请了", today)
    assert only_rough(e) == expected
    this_year = part_day(today.year, month, part)
    nearest = min(
        (part_day(today.year + k, month, part) for k in (-1, 0, 1)),
        key=lambda c: (abs((c - today).days), c < today),
    )
    assert (expected in e.assumed_last_year) is (nearest > today and this_year != expected)


@pytest.mark.parametrize("today", TODAYS)
@pytest.mark.parametrize(("word", "back"), [("上个月", 1), ("上月", 1), ("上上个月", 2)])
@pytest.mark.parametrize("part", ["初", "中旬", "底"])
def test_month_part_of_last_month(today: date, word: str, back: int, part: str) -> None:
    year, month = month_starts_back(today)[back]
    assert only_rough(extract(f"{word}{part}申请的", today)) == part_day(year, month, part)


@pytest.mark.parametrize("today", TODAYS)
def test_month_part_of_this_and_next_month_is_never_moved(today: date) -> None:
    assert only_rough(extract("本月中旬申请的", today)) == part_day(today.year, today.month, "中")
    after = (today.replace(day=28) + timedelta(days=7)).replace(day=1)
    assert only_rough(extract("下个月初申请", today)) == after


@pytest.mark.parametrize("today", TODAYS)
@pytest.mark.parametrize(
    ("text", "ahead"),
    [("我下个月补", 1), ("下月补", 1), ("下个月交", 1), ("下个月再补吧", 1), ("下月缴", 1),
     ("下下个月补", 2), ("下下月交", 2)],
)  # fmt: skip
def test_paying_next_month_is_roughly_its_first_day(today: date, text: str, ahead: int) -> None:
    # QA round 4, t13: "我下个月补" is a rough day like "下个月初", never today or a past day.
    first = today.replace(day=1)
    for _ in range(ahead):
        first = (first + timedelta(days=31)).replace(day=1)
    assert only_rough(extract(text, today)) == first


@pytest.mark.parametrize("text", ["下个月", "下个月的事", "下个月再说", "上个月补的"])
def test_next_month_without_a_payment_is_no_planned_day(text: str) -> None:
    e = extract(text, TODAY)
    assert all(r.day <= TODAY for r in e.approx_dates) and e.dates == ()


def test_end_of_october_from_the_qa_report() -> None:
    e = extract("我10月底申请了从广州转到成都,到现在还没到账", TODAY)
    assert only_rough(e) == date(TODAY.year, 10, last_day(TODAY.year, 10))
    assert e.approx_dates[0].span == (1, 5)


@pytest.mark.parametrize("today", TODAYS)
def test_a_month_end_as_a_deadline_stays_exact(today: date) -> None:
    nearest = min(
        (date(today.year + k, 10, 31) for k in (-1, 0, 1)),
        key=lambda c: (abs((c - today).days), c < today),
    )
    assert only_exact(extract("10月底前要交吗", today)) == nearest
    this_end = date(today.year, today.month, last_day(today.year, today.month))
    assert only_exact(extract("月底", today)) == this_end


# --- parts of a year --------------------------------------------------------------------------


@pytest.mark.parametrize("today", TODAYS)
def test_year_parts(today: date) -> None:
    y = today.year
    assert only_rough(extract("去年年底申请的", today)) == date(y - 1, 12, 31)
    assert only_rough(extract("去年底申请的", today)) == date(y - 1, 12, 31)
    assert only_exact(extract("去年年底", today)) == date(y - 1, 12, 31)
    assert only_exact(extract("明年底", today)) == date(y + 1, 12, 31)
    assert only_exact(extract("今年年底前交", today)) == date(y, 12, 31)
    assert only_rough(extract("年初申请的", today)) == date(y, 1, 1)
    assert only_rough(extract("今年年初申请的", today)) == date(y, 1, 1)
    assert only_rough(extract("2025年底申请的", today)) == date(2025, 12, 31)
    end = date(y, 12, 31)
    e = extract("年底申请的", today)
    assert only_rough(e) == (end if end <= today else date(y - 1, 12, 31))
    assert e.assumed_last_year == (() if end <= today else (date(y - 1, 12, 31),))


# --- a few days back, weekdays ------------------------------------------------------------------


@pytest.mark.parametrize("today", TODAYS)
@pytest.mark.parametrize("text", ["前几天申请的", "几天前提交的", "前些天办的转移"])
def test_a_few_days_back_is_about_three(today: date, text: str) -> None:
    assert only_rough(extract(text, today)) == today - 3 * ONE


@pytest.mark.parametrize("today", TODAYS)
def test_the_last_two_days(today: date) -> None:
    assert only_rough(extract("我前两天申请的", today)) == today - 2 * ONE
    assert extract("前两天免费", today).approx_dates == ()  # "the first two days"


WEEKDAY = {"一": 0, "二": 1, "三": 2, "四": 3, "五": 4, "六": 5, "日": 6}


@pytest.mark.parametrize("today", TODAYS)
@pytest.mark.parametrize("name", ["一", "三", "五", "日"])
def test_weekdays(today: date, name: str) -> None:
    wd = WEEKDAY[name]
    monday = next(d for d in days_back(today) if d.weekday() == 0)
    assert only_exact(extract(f"上周{name}申请的", today)) == monday - 7 * ONE + wd * ONE
    assert only_exact(extract(f"这周{name}申请的", today)) == monday + wd * ONE
    assert only_exact(extract(f"下周{name}申请", today)) == monday + 7 * ONE + wd * ONE
    last = next(d for d in days_back(today) if d.weekday() == wd)
    following = next(d for d in days_ahead(today) if d.weekday() == wd)
    assert only_exact(extract(f"周{name}申请的", today)) == last
    assert only_exact(extract(f"周{name}去交", today)) == following


# --- not dates ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    ["十月初五", "正月初一", "大年初一", "每月月底", "每月中旬", "每年年底", "三个月中", "一年中",
     "学期末", "几个月中断了两次"],
)  # fmt: skip
def test_not_dates(text: str) -> None:
    e = extract(text, TODAY)
    assert e.dates == () and e.approx_dates == () and e.assumed_last_year == ()


@pytest.mark.parametrize("today", [date.min, date.min + 4 * ONE, date.max, date.max - 4 * ONE])
@pytest.mark.parametrize(
    "text",
    ["10月底申请了", "3号申请的", "12月1号申请的", "月初申请的", "上旬申请的", "前几天申请的",
     "去年年底申请的", "年初申请的", "明年底", "周五申请的", "2月29日申请的", "下个月初"],
)  # fmt: skip
def test_calendar_edges_do_not_raise(today: date, text: str) -> None:
    e = extract(text, today)
    assert all(date.min <= d <= date.max for d in e.dates)


# --- the transfer progress reply counts from the day said ---------------------------------------


async def reply(bot: Pipeline, text: str, user: str) -> str:
    answer = await bot.respond(user, text, today=TODAY)
    assert answer.intent == "transfer_progress", answer.intent
    return answer.text.split("\n\n")[0]


@pytest.mark.parametrize(
    ("text", "day", "rough"),
    [
        ("我10月底申请了从广州转到成都,到现在还没到账", date(2026, 10, 31), True),
        ("我3号申请的转移,余额啥时候到", date(2026, 11, 3), False),
        ("我三号申请的转移,余额啥时候到", date(2026, 11, 3), False),
        ("医保转移上个月初申请的,现在到哪一步了", date(2026, 10, 1), True),
        ("前几天申请的医保转移,多久能好", TODAY - 3 * ONE, True),
        ("医保转移10月中旬申请的,现在到哪一步了", date(2026, 10, 15), True),
        ("医保转移我12月1号申请的,到哪一步了", date(2025, 12, 1), False),
    ],
)
async def test_transfer_progress_counts_from_the_day_said(
    bot: Pipeline, text: str, day: date, rough: bool
) -> None:
    assert day < TODAY
    head = await reply(bot, text, user=f"ed-{text}")
    first = head.splitlines()[0]
    assert "今天申请" not in head
    assert fmt_date(day) in first
    assert ("约" + fmt_date(day) in first) is rough
    timeline = transfer_timeline(day, kind=TransferKind.CROSS_PROVINCE, origin=None)
    assert fmt_date(timeline.process_done_by) in head
