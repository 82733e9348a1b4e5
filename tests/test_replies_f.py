"""QA round 4, handler side: a flexible worker's month or year, topping up missing years at
retirement, late fees from the days alone and arrears plus late fee together, paying "next
month", and paying again after a lapse.

Expected amounts and dates come from the policy functions, never copied from a reply.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from conversation import chat, figure_lines, head

from bot.pipeline import Pipeline
from bot.policy import (
    Scheme,
    Sex,
    back_payment,
    benefit_resumption,
    contribution_years_shortfall,
    flexible_monthly_contribution,
    flexible_yearly_contribution,
    late_fee_share,
    overdue_days_estimate,
    years_top_up,
)
from intents import lapse_effects
from region_data.city_policy import default_city_policies

TODAY = date(2026, 11, 25)
CITIES = default_city_policies()
SHENZHEN = CITIES.city("深圳市")
BEIJING = CITIES.city("北京市")


# --- 1. a flexible worker's month and year ------------------------------------------------------


@pytest.mark.parametrize("base", [Decimal(6000), Decimal(4321), Decimal("5000.5")])
def test_a_year_is_twelve_months_of_the_same_base_and_rate(base: Decimal) -> None:
    month = flexible_monthly_contribution(city=SHENZHEN, base=base)
    year = flexible_yearly_contribution(city=SHENZHEN, base=base)
    assert month.amount is not None and year.amount is not None
    assert year.amount == month.amount.scale(Decimal(12))
    assert "× 12个月" in year.basis and "基数是你给的" in year.basis
    assert year.provenance == month.provenance


def test_a_year_without_a_base_needs_one() -> None:
    year = flexible_yearly_contribution(city=None)
    assert year.amount is None and "× 12个月" in year.basis


async def test_p08_a_year_after_the_month(bot: Pipeline) -> None:
    *_, month, year, month_again = await chat(
        bot, "灵活就业医保交多少", "在深圳", "6000", "那一年呢", "那一个月呢"
    )
    expected = flexible_yearly_contribution(city=SHENZHEN, base=Decimal(6000)).amount
    monthly = flexible_monthly_contribution(city=SHENZHEN, base=Decimal(6000)).amount
    assert expected is not None and monthly is not None
    assert expected.display == "7200.00–8640.00元"  # the QA report's own figure
    for answer in (month, year, month_again):
        assert answer.intent == "payment"
    first = head(year).splitlines()[0]
    assert expected.display in first and monthly.display.removesuffix("元") in first
    line = next(x for x in figure_lines(year) if x.startswith("· 全年缴费"))
    assert "6000元 × 10%–12% × 12个月" in line
    # Asked about a month again: the month, not the year.
    assert expected.display not in head(month_again)
    assert monthly.display in head(month_again).splitlines()[0]


@pytest.mark.parametrize("asked", ["一个月多少", "每月多少", "月交多少", "每个月多少"])
async def test_p02_a_months_amount_in_other_words(bot: Pipeline, asked: str) -> None:
    *_, answer = await chat(bot, "灵活就业医保怎么交", "每个月几号之前交", f"基数5000的话{asked}")
    expected = flexible_monthly_contribution(city=None, base=Decimal(5000)).amount
    assert expected is not None and expected.display == "500.00–600.00元"
    assert answer.intent == "payment"
    assert expected.display in head(answer).splitlines()[0]


@pytest.mark.parametrize("asked", ["一年交多少", "一年多少钱", "每年交多少"])
async def test_a_years_amount_in_one_message(bot: Pipeline, asked: str) -> None:
    (answer,) = await chat(bot, f"灵活就业医保 基数6000 {asked}")
    expected = flexible_yearly_contribution(city=None, base=Decimal(6000)).amount
    assert expected is not None
    assert expected.display in head(answer).splitlines()[0]


# --- 2. topping up the missing years at retirement ----------------------------------------------


@pytest.mark.parametrize(("short", "base"), [(5, Decimal(6000)), (Decimal("2.5"), Decimal(4000))])
def test_top_up_is_base_times_rate_times_missing_months(short: Decimal, base: Decimal) -> None:
    result = years_top_up(short, city=None, base=base)
    months = Decimal(short) * 12
    assert result.months == months
    assert result.amount is not None
    assert result.amount.low == base * months * Decimal("0.10")
    assert result.amount.high == base * months * Decimal("0.12")
    assert f"{months.normalize():f}个月" in result.basis
    assert all(p.kind == "national" for p in result.provenance)


def test_top_up_without_a_base_gives_no_amount() -> None:
    result = years_top_up(15, city=None)
    assert result.amount is None and result.months == 180
    with pytest.raises(ValueError):
        years_top_up(0, city=None)


async def test_y05_one_off_top_up_and_its_cost(bot: Pipeline) -> None:
    _, can, cost, priced = await chat(
        bot, "我今年58 男 交了10年医保 退休时不够咋办", "能一次性补吗", "要多少钱", "基数6000"
    )
    shortfall = contribution_years_shortfall(10, city=None, sex=Sex.MALE)
    (common,) = shortfall.common_rule
    short, common_short = shortfall.years_short[1], common.short
    for answer in (can, cost, priced):
        assert answer.intent == "contribution_years"
        text = head(answer)
        assert text.startswith("一般可以") and "一次性补足" in text
        assert f"差{short}年" in text and f"差{common_short}年" in text
        assert "以参保地医保部门的规定为准" in text  # the caveat
        assert "断缴" not in text  # not the lapse back-payment answer
    assert cost.asks == "base" and f"{short * 12}个月" in head(cost)
    for years in (short, common_short):
        expected = years_top_up(years, city=None, base=Decimal(6000)).amount
        assert expected is not None
        assert expected.display in head(priced)
        assert any(expected.display in line for line in figure_lines(priced))
    assert any("× 60个月" in line for line in figure_lines(priced))


# --- 3. late fees ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("days", "percent"), [(120, "6%"), (30, "1.5%"), (45, "2.25%")])
def test_late_fee_share_of_the_arrears(days: int, percent: str) -> None:
    share = late_fee_share(days)
    assert share.percent == percent
    assert share.share == Decimal("0.0005") * days


@pytest.mark.parametrize("days", [120, 30, 45])
async def test_t11_days_without_the_arrears_kept_as_a_share(bot: Pipeline, days: int) -> None:
    first, answer = await chat(bot, "医保断了4个月 滞纳金总共多少", f"逾期{days}天")
    assert first.asks == "base"
    text = head(answer)
    assert f"× {days}天 = 欠费的{late_fee_share(days).percent}" in text
    assert "基数" in text  # the base is still what the amount needs


def test_overdue_days_estimate_from_the_months() -> None:
    for months in range(1, 13):
        guess = overdue_days_estimate(months)
        # The average of 30, 60, … months × 30 days overdue.
        assert guess.average_days * months == sum(30 * i for i in range(1, months + 1))
        assert guess.oldest_days == 30 * months


async def test_b08_total_is_arrears_plus_late_fee_with_days_estimated(bot: Pipeline) -> None:
    *_, answer = await chat(bot, "欠费3个月 要交滞纳金吗", "基数按6000", "总共多少")
    arrears = back_payment(3, city=None, base=Decimal(6000)).amount
    assert arrears is not None and arrears.display == "1800.00–2160.00元"
    days = overdue_days_estimate(3).average_days
    fee = arrears.scale(late_fee_share(days).share)
    total = arrears.scale(1 + late_fee_share(days).share)
    text = head(answer)
    assert text.splitlines()[0].startswith(f"补缴加滞纳金合计约{total.display}")
    assert fee.display in text and f"{days}天" in text and "估算" in text
    assert any(line.startswith("· 补缴加滞纳金合计") for line in figure_lines(answer))


async def test_total_with_the_days_given(bot: Pipeline) -> None:
    (answer,) = await chat(bot, "断了3个月 基数6000 逾期30天 补缴加滞纳金一共多少")
    arrears = back_payment(3, city=None, base=Decimal(6000)).amount
    assert arrears is not None
    total = arrears.scale(1 + late_fee_share(30).share)
    assert total.display in head(answer).splitlines()[0]
    assert "估算：最早" not in head(answer)  # the days were given, nothing estimated


async def test_per_day_late_fee_shows_the_arrears_it_computed(bot: Pipeline) -> None:
    *_, answer = await chat(bot, "断了3个月 滞纳金多少 基数6000", "不知道")
    arrears = back_payment(3, city=None, base=Decimal(6000)).amount
    assert arrears is not None
    assert f"补缴大约要{arrears.display}" in head(answer)
    assert any(line.startswith("· 补缴金额") for line in figure_lines(answer))
    assert any(line.startswith("· 每天滞纳金") for line in figure_lines(answer))


# --- 4. paying "next month" ---------------------------------------------------------------------


async def test_t13_next_month_gives_the_resume_dates(bot: Pipeline) -> None:
    *_, answer = await chat(
        bot, "北京医保断了5个月 要补多少 基数7000", "那多久能恢复报销", "我下个月补"
    )
    result = benefit_resumption(Scheme.EMPLOYEE, 5, city=BEIJING, payment_date=date(2026, 12, 1))
    assert result.resume_from is not None and result.resume_by is not None
    text = head(answer)
    assert "2026年12月" in text
    assert f"{result.resume_from.year}年{result.resume_from.month}月" in text
    assert f"{result.resume_by.year}年{result.resume_by.month}月" in text


# --- 5. paying again after a lapse ---------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    ["断交了一年了 之前交的白交了吗 那以后还能接着交吗", "断了半年 以后还能继续交吗",
     "断缴了还能续上吗", "居民医保断了 之前交的白交了吗 明年还能再交吗"],
)  # fmt: skip
def test_paying_again_is_its_own_question_when_said_last(text: str) -> None:
    assert lapse_effects._focus(text) == "continue"


def test_an_earlier_paying_again_does_not_hide_a_later_question() -> None:
    assert lapse_effects._focus("以后还能接着交吗 之前交的白交了吗") == "kept"


async def test_b05_paying_again_after_a_long_lapse(bot: Pipeline) -> None:
    asked = "那以后还能接着交吗"
    _, answer = await chat(bot, "断交了一年了 之前交的白交了吗", asked)
    result = benefit_resumption(Scheme.EMPLOYEE, 12, city=None)
    text = head(answer)
    assert answer.intent == "lapse_effects"
    assert text.startswith("能")
    assert "单位" in text and "灵活就业" in text  # who arranges it
    assert "新参保" in text and f"{result.waiting_months[1]}个月" in text  # what the gap means
    assert text.count("之前交的钱不会白交") == 1


async def test_paying_again_residents(bot: Pipeline) -> None:
    _, answer = await chat(bot, "居民医保断了两年 之前交的白交了吗", "以后还能接着交吗")
    text = head(answer)
    assert text.startswith("能") and "居民医保" in text and "1月1日" in text
