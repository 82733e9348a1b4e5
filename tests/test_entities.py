"""Table-driven tests for the entity parser (bot.nlu.entities)."""

from __future__ import annotations

import datetime as dt
import time
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.nlu.entities import Entities, cn_to_number, extract, place_roles

TODAY = dt.date(2026, 11, 25)  # a Wednesday
YEAR_END = dt.date(2026, 12, 31)  # a Thursday, last day of month and year
JAN_END = dt.date(2027, 1, 31)  # next month (February) is short


def d(year: int, month: int, day: int) -> dt.date:
    return dt.date(year, month, day)


def ex(text: str, today: dt.date = TODAY) -> Entities:
    return extract(text, today)


# ---------------------------------------------------------------------------
# cn_to_number
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("十二", 12),
        ("二十", 20),
        ("十", 10),
        ("一百零五", 105),
        ("三千二", 3200),  # colloquial elision
        ("两万五", 25000),
        ("一百五", 150),
        ("三万二千五", 32500),
        ("一千零五十", 1050),
        ("两千零二十六", 2026),
        ("二〇二六", 2026),  # positional
        ("1.5万", 15000),
        ("3千", 3000),
        ("3千2", 3200),
        ("1万5", 15000),
        ("8k", 8000),
        ("1.5w", 15000),
        ("一点五万", 15000),
        ("三点五", Decimal("3.5")),
        ("壹佰", 100),
        ("叁仟贰佰", 3200),
        ("十万", 100000),
        ("一亿两千万", 120000000),
        ("零", 0),
        ("两", 2),
        ("3200", 3200),
        ("12.5", Decimal("12.5")),
    ],
)
def test_cn_to_number(text: str, expected: int | Decimal) -> None:
    assert cn_to_number(text) == Decimal(expected)


@pytest.mark.parametrize(
    "text",
    ["", " ", "万一", "千万", "三四千", "abc", "十十", "二百三千", "两零", "百", "k", "1.2.3"],
)
def test_cn_to_number_rejects_malformed(text: str) -> None:
    assert cn_to_number(text) is None


def test_cn_to_number_drops_float_noise() -> None:
    assert str(cn_to_number("1.5万")) == "15000"


# ---------------------------------------------------------------------------
# Durations: months, days, years
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "months"),
    [
        ("4个月", 4),
        ("四个月", 4),
        ("断了5个月", 5),
        ("半年", 6),
        ("一年", 12),
        ("两年", 24),
        ("一年半", 18),
        ("三个半月", 4),  # a started month counts: round up
        ("一个半月", 2),
        ("1年3个月", 15),
        ("一年零三个月", 15),
        ("十二个月", 12),
        ("12个月", 12),
        ("三个多月", 3),  # 多 keeps the stated lower bound
        ("十多个月", 10),
        ("两月没交了", 2),
        ("断交两年", 24),  # gap word: a duration, not contribution years
        ("断了2年多", 24),
        ("断了一个月要补多少", 1),  # gap word beats the rate rule
        ("单位漏缴了3个月", 3),
        ("身份证号110101199003074578,断了3个月", 3),
    ],
)
def test_months(text: str, months: int) -> None:
    assert ex(text).months == months


@pytest.mark.parametrize(
    "text",
    [
        "几个月",
        "一个月交多少钱",  # a rate, not a duration
        "居民医保一年多少钱",
        "3000元一个月",
        "工资一万一个月",
        "每个月交350",
        "每年交380",
        "上半年断了",  # a period of the year
        "第一年",
        "一年级",
        "2015年3月参保",  # a calendar date
        "15年3月参保",
        "3月份",
        "交了10年",  # contribution years, not months
    ],
)
def test_no_months(text: str) -> None:
    assert ex(text).months is None


@pytest.mark.parametrize(
    ("text", "days"),
    [
        ("30天", 30),
        ("晚了20天", 20),
        ("两个星期", 14),
        ("两周", 14),
        ("一周", 7),
        ("两个礼拜", 14),
        ("半个月", 15),
        ("一百多天", 100),
        ("30日内", 30),
        ("15个工作日", 15),
    ],
)
def test_days(text: str, days: int) -> None:
    assert ex(text).days == days


@pytest.mark.parametrize("text", ["半天", "十几天", "3周岁", "两周一次", "今天", "3月30日内"])
def test_no_days(text: str) -> None:
    assert ex(text).days is None


@pytest.mark.parametrize(
    ("text", "years"),
    [
        ("交了10年", Decimal(10)),
        ("差两年", Decimal(2)),
        ("还差两年", Decimal(2)),
        ("缴费年限15年", Decimal(15)),
        ("交够15年了吗", Decimal(15)),
        ("满15年", Decimal(15)),
        ("累计缴费满20年", Decimal(20)),
        ("15年的缴费年限", Decimal(15)),
        ("工龄20年", Decimal(20)),
        ("交了一年半", Decimal("1.5")),
        ("交了1年3个月", Decimal("1.25")),
        ("还差3年5个月", Decimal("3.42")),  # N + M/12, 2 dp
        ("交了10年,还差5年", Decimal(10)),  # first phrase wins
        ("我男的55岁交了20年可以退休吗", Decimal(20)),
    ],
)
def test_years(text: str, years: Decimal) -> None:
    result = ex(text)
    assert result.years == years
    assert result.months is None


@pytest.mark.parametrize("text", ["断交两年", "两年", "差两个月", "2015年"])
def test_no_years(text: str) -> None:
    assert ex(text).years is None


# ---------------------------------------------------------------------------
# Money
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("3200元", [(3200, "unknown")]),
        ("3千", [(3000, "unknown")]),
        ("三千二", [(3200, "unknown")]),
        ("8k", [(8000, "unknown")]),
        ("8K", [(8000, "unknown")]),
        ("8000块", [(8000, "unknown")]),
        ("3000块钱", [(3000, "unknown")]),
        ("¥3000", [(3000, "unknown")]),
        ("3,200元", [(3200, "unknown")]),
        ("1.5万", [(15000, "unknown")]),
        ("1.5w", [(15000, "unknown")]),
        ("两万", [(20000, "unknown")]),
        ("6000多", [(6000, "unknown")]),
        ("6000左右", [(6000, "unknown")]),
        ("基数6000", [(6000, "base")]),
        ("缴费基数6000", [(6000, "base")]),
        ("按6000的基数交", [(6000, "base")]),
        ("按6000交", [(6000, "base")]),
        ("6000的基数", [(6000, "base")]),
        ("工资5000", [(5000, "wage")]),
        ("工资是八千", [(8000, "wage")]),
        ("月薪8k,基数按最低", [(8000, "wage")]),
        ("工资3000多", [(3000, "wage")]),
        ("工资一个月5000", [(5000, "wage")]),
        ("收入大概5000", [(5000, "wage")]),
        ("欠了1000块", [(1000, "arrears")]),
        ("欠费2000元", [(2000, "arrears")]),
        ("补缴金额3000", [(3000, "arrears")]),
        ("差300块", [(300, "arrears")]),
        ("交了350", [(350, "fee")]),
        ("每个月交350", [(350, "fee")]),
        ("一年交380", [(380, "fee")]),
        ("交了五百", [(500, "fee")]),
        ("差不多3000块", [(3000, "unknown")]),  # 差不多 = "about", not arrears
        ("工资一万一个月", [(10000, "wage")]),  # the trailing 一 belongs to 一个月
        ("三千二一个月", [(3200, "unknown")]),
        (
            "缴费基数6000,工资8000,欠费2000元",
            [(6000, "base"), (8000, "wage"), (2000, "arrears")],
        ),
        ("我的电话13812345678,工资3千", [(3000, "wage")]),
    ],
)
def test_amounts(text: str, expected: list[tuple[int, str]]) -> None:
    got = [(m.value, m.role) for m in ex(text).amounts]
    assert got == [(Decimal(v), role) for v, role in expected]


@pytest.mark.parametrize(
    "text",
    [
        "13812345678",  # phone
        "电话13812345678",
        "138-1234-5678",
        "110101199003074578",  # ID card
        "11010119900307457x",
        "3200",  # bare number without a money word
        "一个月5000",
        "五百",
        "1",
        "交了10年",
        "按60%",
        "60岁左右",
        "一百多天",
        "15号",
        "3月31日",
        "2026-10-08",
        "10.8前",
        "一万多人",
        "他们一块交的",  # 一块 = together
        "8kg",
        "四五千",  # a range: deliberately not guessed
        "万一断了",
        "2026年",
    ],
)
def test_not_money(text: str) -> None:
    assert ex(text).amounts == ()


def test_money_span_covers_unit_and_currency() -> None:
    text = "工资¥3000元左右"
    (money,) = ex(text).amounts
    assert text[money.span[0] : money.span[1]] == "¥3000元左右"
    assert money.role == "wage"


@pytest.mark.parametrize(
    ("text", "base", "arrears"),
    [
        ("缴费基数6000,工资8000,欠费2000元", 6000, 2000),
        ("工资5000", 5000, None),  # base falls back to the wage
        ("欠了1000块", None, 1000),
        ("你好", None, None),
    ],
)
def test_base_and_arrears_properties(text: str, base: int | None, arrears: int | None) -> None:
    result = ex(text)
    assert result.base == (None if base is None else Decimal(base))
    assert result.arrears == (None if arrears is None else Decimal(arrears))


# ---------------------------------------------------------------------------
# Dates
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "dates"),
    [
        ("3月31日", [d(2027, 3, 31)]),  # nearest occurrence: next March is closer
        ("3月31号", [d(2027, 3, 31)]),
        ("三月三十一日前", [d(2027, 3, 31)]),
        ("10月8日", [d(2026, 10, 8)]),  # last month is nearer than next October
        ("十月八号", [d(2026, 10, 8)]),
        ("2026-10-08", [d(2026, 10, 8)]),
        ("2026/10/8", [d(2026, 10, 8)]),
        ("2026.10.8", [d(2026, 10, 8)]),
        ("2026年10月8日", [d(2026, 10, 8)]),
        ("26年10月8日", [d(2026, 10, 8)]),
        ("二〇二六年十月八日", [d(2026, 10, 8)]),
        ("截止10.8", [d(2026, 10, 8)]),
        ("截止到10.8", [d(2026, 10, 8)]),
        ("10.8前", [d(2026, 10, 8)]),
        ("10/8前交", [d(2026, 10, 8)]),
        ("10.8号", [d(2026, 10, 8)]),
        ("下个月15号", [d(2026, 12, 15)]),
        ("下月15日", [d(2026, 12, 15)]),
        ("上个月20号", [d(2026, 10, 20)]),
        ("15号", [d(2026, 12, 15)]),  # next occurrence on or after today
        ("25号", [d(2026, 11, 25)]),  # today itself counts
        ("31号", [d(2026, 12, 31)]),  # November has no 31st
        ("今天", [d(2026, 11, 25)]),
        ("明天", [d(2026, 11, 26)]),
        ("后天", [d(2026, 11, 27)]),
        ("大后天", [d(2026, 11, 28)]),
        ("昨天", [d(2026, 11, 24)]),
        ("下周一", [d(2026, 11, 30)]),
        ("下星期三", [d(2026, 12, 2)]),
        ("下下周三", [d(2026, 12, 9)]),
        ("这周五", [d(2026, 11, 27)]),
        ("周日", [d(2026, 11, 29)]),
        ("星期天", [d(2026, 11, 29)]),
        ("月底", [d(2026, 11, 30)]),
        ("本月底", [d(2026, 11, 30)]),
        ("下个月底", [d(2026, 12, 31)]),
        ("年底", [d(2026, 12, 31)]),
        ("明年底", [d(2027, 12, 31)]),
        ("明天或者下周一", [d(2026, 11, 26), d(2026, 11, 30)]),
        ("下个月15号之前交,欠了1000块会怎样", [d(2026, 12, 15)]),
    ],
)
def test_dates(text: str, dates: list[dt.date]) -> None:
    assert list(ex(text).dates) == dates


@pytest.mark.parametrize(
    "text",
    [
        "2月30日",  # invalid: ignored, not raised
        "13月1日",
        "2026-02-30",
        "2026-13-01",
        "每月月底",  # recurring, not a date
        "每年年底",
        "每周一",
        "两周一次",
        "1号线",
        "调到3.5",  # no date context
        "以后天天交",
        "说明日期",
        "3月份",
        "一月两次",
    ],
)
def test_no_dates(text: str) -> None:
    assert ex(text).dates == ()


@pytest.mark.parametrize(
    ("text", "today", "dates"),
    [
        ("明天", YEAR_END, [d(2027, 1, 1)]),
        ("月底", YEAR_END, [d(2026, 12, 31)]),
        ("年底", YEAR_END, [d(2026, 12, 31)]),
        ("下个月15号", YEAR_END, [d(2027, 1, 15)]),
        ("15号", YEAR_END, [d(2027, 1, 15)]),
        ("下周一", YEAR_END, [d(2027, 1, 4)]),
        ("1月5日", YEAR_END, [d(2027, 1, 5)]),
        ("12月20日", YEAR_END, [d(2026, 12, 20)]),
        ("下个月底", JAN_END, [d(2027, 2, 28)]),
        ("31号", JAN_END, [d(2027, 1, 31)]),
        ("下个月30号", JAN_END, []),  # 2月30日 does not exist; not re-read as "30号"
    ],
)
def test_dates_relative_to_today(text: str, today: dt.date, dates: list[dt.date]) -> None:
    assert list(ex(text, today).dates) == dates


def test_today_drives_relative_dates() -> None:
    assert ex("明天", TODAY).dates != ex("明天", YEAR_END).dates
    assert ex("15号", TODAY).dates == (d(2026, 12, 15),)
    assert ex("15号", d(2026, 12, 16)).dates == (d(2027, 1, 15),)


@pytest.mark.parametrize(
    ("text", "day"),
    [("每月15号", 15), ("每个月10日", 10), ("每月的15号前扣款", 15), ("每个月二十号", 20)],
)
def test_day_of_month(text: str, day: int) -> None:
    result = ex(text)
    assert result.day_of_month == day
    assert result.dates == ()  # recurring, so not also a one-off date


# ---------------------------------------------------------------------------
# Scheme, cause, gender
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "scheme"),
    [
        ("职工医保怎么交", "employee"),
        ("单位给交的", "employee"),
        ("公司没给交", "employee"),
        ("我在职", "employee"),
        ("我是灵活就业的", "flexible"),
        ("个体户怎么交医保", "flexible"),
        ("自由职业", "flexible"),
        ("我自己交的", "flexible"),
        ("城乡居民医保", "resident"),
        ("居民医保一年多少钱", "resident"),
        ("新农合", "resident"),
        ("学生医保", "resident"),
        ("新生儿怎么参保", "resident"),
        ("小孩的医保", "resident"),
        ("退休了还要交吗", "retired"),
        # precedence
        ("退休职工", "retired"),  # retired beats other explicit names
        ("职工转灵活就业", "flexible"),  # explicit names: the last one wins
        ("灵活就业转职工", "employee"),
        ("以前在公司,现在自己交", "flexible"),  # hints: the last one wins
        ("在公司上班,孩子怎么交居民医保", "resident"),
        ("公司没交,我是灵活就业", "flexible"),  # explicit beats hint
        ("女职工50岁退休", "employee"),  # retirement age, not a retiree
        ("快退休了", None),
        ("办退休要什么", None),
        ("居民身份证", None),
        ("医保断缴了会影响报销吗", None),
    ],
)
def test_scheme(text: str, scheme: str | None) -> None:
    assert ex(text).scheme == scheme


@pytest.mark.parametrize(
    ("text", "cause"),
    [
        ("单位漏缴了", "employer"),
        ("公司没交", "employer"),
        ("公司没给交", "employer"),
        ("单位欠缴", "employer"),
        ("老板没交", "employer"),
        ("公司给我停了", "employer"),
        ("被公司断缴", "employer"),
        ("个人原因断了", "personal"),
        ("自己断了3个月", "personal"),
        ("辞职了", "personal"),
        ("失业了", "personal"),
        ("没钱交", "personal"),
        ("忘了交", "personal"),
        ("单位交了但自己断了", "personal"),
        ("辞职后公司没给交最后一个月", "employer"),  # employer beats personal
        ("断了两个月 个人补缴要带什么", "personal"),  # the person pays the arrears
        ("欠的几个月个人交可以吗", "personal"),
        ("公司漏缴了 能个人补吗", "employer"),
        ("断了两个月是单位的原因", "employer"),  # the employer named as to blame
        ("是厂里的问题 不是我没交", "employer"),
        ("老板那边的责任 断缴了", "employer"),
        ("公司原因断了3个月", "employer"),
        ("不是单位的原因 是我自己断了", "personal"),
        ("单位和个人交的比例是多少", None),  # shares, not a cause
        ("个人补充医疗保险", None),
        ("医保怎么交", None),
    ],
)
def test_cause(text: str, cause: str | None) -> None:
    assert ex(text).cause == cause


@pytest.mark.parametrize(
    ("text", "gender"),
    [
        ("男,55岁", "male"),
        ("我是男的", "male"),
        ("男性交多少年", "male"),
        ("女的交多少年", "female"),
        ("女职工", "female"),
        ("性别:女", "female"),
        ("女 50", "female"),
        ("我女儿的医保", None),
        ("子女的医保", None),
        ("男女都一样吗", None),
        ("妇女", None),
        ("医保", None),
    ],
)
def test_gender(text: str, gender: str | None) -> None:
    assert ex(text).gender == gender


# ---------------------------------------------------------------------------
# Menu choice
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "choice"),
    [
        ("1", 1),
        ("2", 2),
        (" 3 ", 3),
        ("1.", 1),
        ("1、", 1),
        ("①", 1),
        ("⑩", 10),
        ("(2)", 2),
        ("第二个", 2),
        ("第2个", 2),
        ("第二", 2),
        ("选3", 3),
        ("二", 2),
        ("十二", 12),
    ],
)
def test_number_choice(text: str, choice: int) -> None:
    result = ex(text)
    assert result.number_choice == choice
    assert result.amounts == ()


@pytest.mark.parametrize(
    "text", ["0", "100", "12个月", "第二个月", "选1还是2", "1和2", "我选第一个方案", ""]
)
def test_not_number_choice(text: str) -> None:
    assert ex(text).number_choice is None


# ---------------------------------------------------------------------------
# Place roles
# ---------------------------------------------------------------------------


def spans_of(text: str, *places: str) -> list[tuple[int, int]]:
    spans, pos = [], 0
    for place in places:
        start = text.index(place, pos)
        spans.append((start, start + len(place)))
        pos = start + len(place)
    return spans


@pytest.mark.parametrize(
    ("text", "places", "roles"),
    [
        ("从北京转到上海", ["北京", "上海"], ["origin", "destination"]),
        ("北京转上海", ["北京", "上海"], ["origin", "destination"]),
        ("北京调到上海", ["北京", "上海"], ["origin", "destination"]),
        ("北京的医保转去上海", ["北京", "上海"], ["origin", "destination"]),
        ("北京转入上海", ["北京", "上海"], ["origin", "destination"]),
        ("上海转入,北京转出", ["上海", "北京"], ["destination", "origin"]),
        ("离开北京去上海", ["北京", "上海"], ["origin", "destination"]),
        ("回老家河南", ["河南"], ["destination"]),
        ("北京转出", ["北京"], ["origin"]),
        ("转到上海", ["上海"], ["destination"]),
        ("医保转入上海", ["上海"], ["destination"]),
        ("北京转移出去", ["北京"], ["origin"]),
        ("我想把医保从福州转走", ["福州"], ["origin"]),  # 转走: leaving, like 转出
        ("福州的医保转走", ["福州"], ["origin"]),
        ("我在北京交了5年,想转到上海", ["北京", "上海"], ["origin", "destination"]),
        ("去杭州看病", ["杭州"], ["destination"]),
        ("北京和上海哪个好", ["北京", "上海"], ["unknown", "unknown"]),
        ("我在北京,户口在上海", ["北京", "上海"], ["unknown", "unknown"]),
        ("北京", ["北京"], ["unknown"]),
    ],
)
def test_place_roles(text: str, places: list[str], roles: list[str]) -> None:
    assert place_roles(text, spans_of(text, *places)) == roles


def test_place_roles_tolerates_bad_spans() -> None:
    assert place_roles("北京", [(5, 9), (1, 0)]) == ["unknown", "unknown"]
    assert place_roles("", []) == []


# ---------------------------------------------------------------------------
# Hostile input
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    ["", "   ", "!!!???...", ",.;:", "😀😀😀", "a" * 50, "\n\t", "\x00\x01", "号日月年天周"],
)
def test_hostile_input_yields_nothing(text: str) -> None:
    assert ex(text) == Entities()


@pytest.mark.parametrize(
    "text",
    [
        "9" * 10_240,
        "一" * 10_240,
        ("我是灵活就业的,断了5个月,工资5000,下个月15号交😀" * 400)[:10_240],
        ("3月31日" * 2000)[:10_240],
        ("1." * 5120),
        ("十" * 10_240),
    ],
)
def test_large_input_is_fast_and_safe(text: str) -> None:
    started = time.perf_counter()
    result = ex(text)
    assert time.perf_counter() - started < 1.0  # generous: guards against quadratic blow-ups
    assert isinstance(result, Entities)


def test_long_digit_runs_are_not_money_or_durations() -> None:
    for text in ["13812345678", "110101199003074578", "13812345678个月", "123456789012345天"]:
        result = ex(text)
        assert result.amounts == ()
        assert result.months is None
        assert result.days is None


@settings(max_examples=300, deadline=None)
@given(
    st.text(
        alphabet=st.sampled_from(
            list(
                "0123456789.,-/年月日号天周个半多万千百十一二两三元块交差断欠工资基数下每明后底男女退休职工 "
            )
        ),
        max_size=40,
    )
)
def test_never_raises_on_fuzzed_fragments(text: str) -> None:
    result = ex(text)
    for money in result.amounts:
        assert money.value > 0
        assert 0 <= money.span[0] < money.span[1] <= len(text)
    assert result.months is None or 0 < result.months <= 720
    assert result.day_of_month is None or 1 <= result.day_of_month <= 31


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=60))
def test_never_raises_on_arbitrary_unicode(text: str) -> None:
    assert isinstance(ex(text), Entities)


@pytest.mark.parametrize("today", [dt.date.min, dt.date.max])
def test_calendar_edges_do_not_raise(today: dt.date) -> None:
    result = ex("昨天 明天 上个月底 下个月底 去年底 明年底 下周一 15号 3月31日 10.8前", today)
    assert all(dt.date.min <= day <= dt.date.max for day in result.dates)


def test_entities_is_frozen() -> None:
    result = ex("工资5000")
    with pytest.raises(AttributeError):
        result.months = 3  # type: ignore[misc]


def test_typical_message_speed() -> None:
    messages = [
        "我是灵活就业的,断了5个月,现在补缴要多少钱",
        "公司没给交医保3个月了,工资5000怎么办",
        "缴费基数6000,每月15号扣款,还差两年",
        "下个月15号之前交,欠了1000块会怎样",
    ]
    for message in messages:
        ex(message)  # warm up
    rounds = 500
    started = time.perf_counter()
    for _ in range(rounds):
        for message in messages:
            ex(message)
    per_message = (time.perf_counter() - started) / (rounds * len(messages))
    # Typically ~15 µs; the bound is loose so a slow CI machine does not flake.
    assert per_message < 200e-6
