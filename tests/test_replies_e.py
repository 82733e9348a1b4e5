"""QA round 3, handler side: flexible workers' monthly amount, a sex the user gave, moves
inside one province, one answer per fact (no repeated sentences or cap lines), reply sizes and
one count of days for one deadline.

Expected amounts and dates come from the policy functions, never copied from a reply.
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

import pytest
from conversation import chat, figure_lines, head

from bot.pipeline import Pipeline
from bot.policy import (
    ExplanationKey,
    Sex,
    contribution_years_shortfall,
    flexible_monthly_contribution,
    next_deadline,
)
from bot.policy.lapse import resident_late_payment
from bot.policy.payment import COMMON_CITY_REQUIRED_YEARS
from region_data.city_policy import (
    CityPolicy,
    Provenance,
    RateRange,
    Sourced,
    default_city_policies,
)

TODAY = date(2026, 11, 25)
CITIES = default_city_policies()
SHENZHEN = CITIES.city("深圳市")
NANJING = CITIES.city("南京市")
# Common replies keep this much room under the 2048-byte limit.
MARGIN_BYTES = 1800


# --- #10 a flexible worker's monthly contribution: base × rate -------------------------------


def test_flexible_contribution_is_base_times_the_rate_range() -> None:
    result = flexible_monthly_contribution(city=None, base=Decimal(6000))
    assert result.amount is not None
    assert result.amount.display == "600.00–720.00元"
    assert "基数是你给的" in result.basis
    assert [p.kind for p in result.provenance] == ["national"]


def test_flexible_contribution_uses_the_citys_wage_and_says_so() -> None:
    assert SHENZHEN is not None and SHENZHEN.average_monthly_wage is not None
    result = flexible_monthly_contribution(city=SHENZHEN)
    wage = SHENZHEN.average_monthly_wage.value
    assert result.amount is not None
    assert result.amount.rounded == (wage * Decimal("0.10"), wage * Decimal("0.12"))
    assert ExplanationKey.BASE_FROM_CITY_WAGE in result.notes
    assert SHENZHEN.average_monthly_wage.provenance in result.provenance


def test_flexible_contribution_uses_the_citys_own_rate() -> None:
    rate = Sourced(
        RateRange(Decimal("0.08"), Decimal("0.08")),
        Provenance(kind="city", source="000", as_of=2025, note="示例费率"),
    )
    city = CityPolicy(name="示例市", province="示例省", contribution_rate=rate)
    result = flexible_monthly_contribution(city=city, base=Decimal(5000))
    assert result.amount is not None and result.amount.display == "400.00元"
    assert rate.provenance in result.provenance


def test_flexible_contribution_without_a_base_needs_one() -> None:
    result = flexible_monthly_contribution(city=None)
    assert result.amount is None and ExplanationKey.NEED_BASE in result.notes


async def test_flexible_cost_question_leads_with_the_cost_and_asks_the_base(
    bot: Pipeline,
) -> None:
    first, second, third = await chat(bot, "灵活就业医保每个月交多少钱", "6000", "在杭州")
    assert "10%–12%" in head(first).splitlines()[0]  # the cost first, the due day after it
    assert first.asks == "base"
    expected = flexible_monthly_contribution(city=None, base=Decimal(6000)).amount
    assert expected is not None
    for answer in (second, third):
        assert answer.intent == "payment"
        assert expected.display in head(answer).splitlines()[0]
        assert any(line.startswith("· 每月缴费") for line in figure_lines(answer))
    assert "杭州" in third.text


async def test_flexible_cost_with_the_base_in_words(bot: Pipeline) -> None:
    _, answer = await chat(bot, "灵活就业医保每个月交多少钱", "基数6000")
    expected = flexible_monthly_contribution(city=None, base=Decimal(6000)).amount
    assert expected is not None and expected.display in head(answer)


async def test_flexible_cost_in_a_city_with_a_wage_figure(bot: Pipeline) -> None:
    (answer,) = await chat(bot, "深圳灵活就业医保每个月交多少")
    expected = flexible_monthly_contribution(city=SHENZHEN).amount
    assert expected is not None
    assert expected.display in head(answer).splitlines()[0]
    line = next(x for x in figure_lines(answer) if x.startswith("· 每月缴费"))
    assert "深圳" in line and "2024" in line  # the city's wage, with its year
    assert answer.asks is None


# --- #17 a sex the user gave is used when the years are unknown ------------------------------


@pytest.mark.parametrize(("said", "sex"), [("女的", Sex.FEMALE), ("男的", Sex.MALE)])
async def test_sex_given_without_years_picks_the_reference(
    bot: Pipeline, said: str, sex: Sex
) -> None:
    _, answer = await chat(bot, "医保交多少年退休后就不用交了", f"我在上海，{said}")
    probe = contribution_years_shortfall(0, city=None, sex=sex)
    (common,) = probe.common_rule
    word = "女性" if sex is Sex.FEMALE else "男性"
    other = COMMON_CITY_REQUIRED_YEARS.value.male if sex is Sex.FEMALE else None
    text = head(answer)
    assert f"按你是{word}算" in text
    assert f"{common.required}年" in text and f"{probe.required_years[0]}年" in text
    if other is not None:
        assert f"男{other}年" not in text  # only the rule for the sex given


# --- #8/#11 moves inside one province --------------------------------------------------------


async def test_a_province_named_alone_gets_its_intra_province_answer(bot: Pipeline) -> None:
    (answer,) = await chat(bot, "黑龙江省内换城市医保余额转不转")
    first = head(answer).splitlines()[0]
    assert "黑龙江省" in first and "省内" in first
    assert "余额随人转" not in answer.text and "跨省" not in head(answer)
    assert "省内换城市时余额是否划转" in head(answer)


@pytest.mark.parametrize(
    "text", ["从深圳转到东莞，余额能转吗？要多久？", "广东省内转移医保要多久", "广州转深圳要多久"]
)
async def test_guangdong_intra_province_has_no_balance_to_wait_for(
    bot: Pipeline, text: str
) -> None:
    (answer,) = await chat(bot, text)
    assert "跨省" not in answer.text
    assert "余额约" not in answer.text and "余额到账：" not in answer.text
    assert not any(f["name"] == "balance_by" for f in answer.figures)


async def test_guangdong_intra_province_progress_of_an_old_application(bot: Pipeline) -> None:
    (answer,) = await chat(bot, "我上个月10号申请的广州转深圳，办好了没")
    assert "跨省" not in answer.text and "余额约" not in answer.text
    assert "不涉及余额到账" in head(answer)
    assert not any(f["name"] == "balance_by" for f in answer.figures)


async def test_intra_province_progress_never_says_cross_province(bot: Pipeline) -> None:
    (answer,) = await chat(bot, "从哈尔滨转到大庆医保要多久")
    assert "跨省" not in answer.text
    balance = next(f for f in answer.figures if f["name"] == "balance_by")
    assert "如划转" in balance["label"]  # the province's rule is unknown
    (resident,) = await chat(bot, "居民医保从哈尔滨转到大庆要多久", user="r")
    assert "跨省" not in resident.text


# --- #10/#8 back-payment names the province the user gave -----------------------------------


async def test_back_payment_names_the_province_given_without_a_city(bot: Pipeline) -> None:
    first, second = await chat(bot, "吉林省医保断了4个月要补多少", "5000")
    assert head(first).startswith("吉林省断缴4个月")
    assert head(second).startswith("吉林省断缴4个月")
    assert "吉林省" in second.text.split("【办理步骤】")[1]


# --- #21 one answer per fact ------------------------------------------------------------------


async def test_national_caps_are_said_once(bot: Pipeline) -> None:
    (answer,) = await chat(bot, "上海住院能报多少")
    assert head(answer).count("各地常见") + head(answer).count("各地封顶线不一样") == 1
    lines = figure_lines(answer)
    assert sum("100万元" in line for line in lines) == 1
    assert len(answer.figures) == 3  # 职工, 居民, with critical-illness cover
    assert "约约" not in answer.text


async def test_a_city_cap_and_a_national_example_in_one_reply(bot: Pipeline) -> None:
    (answer,) = await chat(bot, "北京住院能报多少")
    assert "50万元" in head(answer).splitlines()[0]
    assert "居民医保" in head(answer).splitlines()[1]
    assert sum("100万元" in line for line in figure_lines(answer)) == 1


async def test_asking_for_the_base_is_said_once(bot: Pipeline) -> None:
    (answer,) = await chat(bot, "断缴3个月补缴多少钱")
    assert answer.asks == "base"
    assert "告诉我基数" not in answer.text  # the question back asks for it once


@pytest.mark.parametrize(
    "turns",
    [
        ("上海住院能报多少", "那北京呢", "居民医保呢"),
        ("住院能报销多少", "吉林"),
        ("从深圳转到东莞，余额能转吗？要多久？", "东莞"),
        ("断缴3个月补缴多少钱？顺便问下断缴影响报销吗", "广州"),
        ("灵活就业医保每个月交多少钱", "6000"),
    ],
)
async def test_no_line_is_said_twice(bot: Pipeline, turns: tuple[str, ...]) -> None:
    for answer in await chat(bot, *turns):
        lines = [line for line in answer.text.splitlines() if line.strip()]
        assert len(lines) == len(set(lines)), answer.text


# --- #24 size margins -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "turns",
    [
        ("住院能报销多少", "吉林"),
        ("住院能报销多少", "克孜勒苏柯尔克孜自治州"),
        ("上海住院能报多少",),
        ("我爸妈的医保能用我的医保卡吗",),
        ("我3号申请的转移，从南京转到合肥，余额啥时候到", "那南京的规定呢"),
        ("断缴超过半年怎么办", "居民医保呢", "那南京呢"),
    ],
)
async def test_common_replies_stay_well_under_the_limit(
    bot: Pipeline, turns: tuple[str, ...]
) -> None:
    for answer in await chat(bot, *turns):
        assert len(answer.text.encode("utf-8")) <= MARGIN_BYTES, answer.text


# --- days left: one deadline, one count -------------------------------------------------------


def test_late_payment_cases_count_to_the_same_last_day() -> None:
    today = date(2027, 2, 10)
    assert NANJING is not None
    deadline = next_deadline(today, city=NANJING)  # 南京's no-wait day of the 2027 cover year
    late = resident_late_payment(today, city=NANJING)
    (case,) = [c for c in late.cases if c.cover_year == deadline.cover_year]
    assert f"还有{deadline.days_left}天" in case.basis


async def test_days_left_agree_between_turns(bot: Pipeline) -> None:
    today = date(2027, 2, 10)
    assert NANJING is not None
    deadline = next_deadline(today, city=NANJING)
    answers = await chat(bot, "居民医保还能交吗", "南京", "那要等多久才能报", today=today)
    said = {int(n) for a in answers[1:] for n in re.findall(r"还有(\d+)天", a.text)}
    assert said == {deadline.days_left}


async def test_an_old_applications_channels_name_the_app_path_once(bot: Pipeline) -> None:
    (answer,) = await chat(bot, "医保转移申请了一个月了还没到账怎么办")
    assert answer.text.count("转移接续查询") == 1  # in the to-do list, not again below it
    assert "12393" in answer.text
