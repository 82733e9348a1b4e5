"""QA round 4, findings 13–19 (handler side): a limit already passed is never "in time" (#13,
transfers and residents' payments); "交满15年就终身免费了吗" (#15); 大病保险 and 补充医疗保险
(#14); a filing follow-up that keeps the places (#12); replies that stay under ~1800 bytes (#18).
"""

from __future__ import annotations

from datetime import date

import pytest

from bot.pipeline import Pipeline
from tests.conversation import chat, head

LATE = date(2027, 2, 10)
DEC = date(2026, 12, 28)


# --- #13 a limit already passed ------------------------------------------------------------------


@pytest.mark.parametrize(
    "message",
    [
        "我1月20号申请的医保转移 从天津转到石家庄 到现在还没好",
        "我1月20号申请的医保转移 从深圳转到广州 到现在还没好",
        "居民医保 我1月20号申请的转移 从贵阳转到遵义 还没好",
    ],
)
async def test_origin_limit_passed_is_not_in_time(bot: Pipeline, message: str) -> None:
    (answer,) = await chat(bot, message, today=LATE)
    assert "正常办理期内" not in answer.text
    assert "办理期内" not in answer.text
    assert "2027年2月3日）已经过了" in answer.text  # the origin's 10 working days
    assert "2027年2月12日" in answer.text  # the whole process, still ahead


async def test_inside_both_limits_still_in_time(bot: Pipeline) -> None:
    (answer,) = await chat(bot, "我2月8号申请的医保转移 从天津转到石家庄", today=LATE)
    assert "正常办理期内" in answer.text
    assert "已经过了" not in head(answer)


@pytest.mark.parametrize("day", ["1月3号", "1月5号", "下个月"])
async def test_resident_payment_on_a_day_after_the_deadline(bot: Pipeline, day: str) -> None:
    answers = await chat(
        bot, "居民医保今年还没交 还来得及吗", f"{day}交来得及吗", today=DEC, user=day
    )
    assert answers[0].text.startswith("来得及")
    late = answers[1].text
    assert late.startswith("来不及")
    assert "2026年12月31日" in late


async def test_resident_payment_on_a_day_before_the_deadline(bot: Pipeline) -> None:
    answers = await chat(bot, "居民医保今年还没交 还来得及吗", "明天交来得及不", today=DEC)
    assert answers[1].text.startswith("来得及：2026年12月29日交上就行")


@pytest.mark.parametrize("today", [date(2027, 1, 5), LATE])
async def test_resident_payment_after_the_deadline_never_in_time(
    bot: Pipeline, today: date
) -> None:
    (answer,) = await chat(bot, "居民医保现在交还来得及吗", today=today)
    assert not answer.text.startswith("来得及")
    assert "已在2026年12月31日截止" in head(answer)


# --- #15 "15年就终身免费了吗" -------------------------------------------------------------------


@pytest.mark.parametrize(
    "message",
    [
        "医保交满15年就终身免费了吗",
        "交够15年以后是不是就不用交了",
        "在深圳 医保交满15年就终身享受吗",
    ],
)
async def test_fifteen_years_for_life_is_not_necessarily(bot: Pipeline, message: str) -> None:
    (answer,) = await chat(bot, message)
    assert answer.text.startswith("不一定")
    assert "你交的" not in answer.text
    assert "男25年、女20年" in answer.text
    assert "居民医保" in head(answer)  # only employee insurance works that way


async def test_years_the_user_has_paid_still_counted(bot: Pipeline) -> None:
    (answer,) = await chat(bot, "我交了10年医保 还差几年")
    assert not answer.text.startswith("不一定")


# --- #14 大病保险 / 补充医疗保险 --------------------------------------------------------------


@pytest.mark.parametrize(
    "message", ["大病补充保险是啥", "大病保险要单独交吗", "大病保险怎么交", "大病保险怎么报销"]
)
async def test_critical_illness_insurance(bot: Pipeline, message: str) -> None:
    (answer,) = await chat(bot, message)
    assert answer.text.startswith("大病保险是跟着基本医保走的")
    assert "不用另外交钱" in head(answer)
    assert "约100万元" in answer.text


@pytest.mark.parametrize(
    "message",
    [
        "补充医疗保险怎么报",
        "补充医疗保险能报多少",
        "补充医疗保险怎么交",
        "公司的补充医疗保险断了有影响吗",
    ],
)
async def test_supplementary_insurance_is_separate(bot: Pipeline, message: str) -> None:
    (answer,) = await chat(bot, message)
    assert answer.text.startswith("补充医疗保险不属于基本医保")
    assert "你在哪个城市参保" not in answer.text


async def test_cap_with_critical_illness_still_the_caps_answer(bot: Pipeline) -> None:
    answers = await chat(bot, "大病医保封顶线多少", "北京")
    assert "封顶" in answers[1].text


# --- #12 "要备案吗" after the places were said ---------------------------------------------------


async def test_filing_follow_up_names_the_places(bot: Pipeline) -> None:
    answers = await chat(bot, "在外地住院能报吗", "我是长沙的医保 在广州住院", "要备案吗")
    text = answers[2].text
    assert text.startswith("要备案")
    assert "长沙市（湖南省）办跨省异地就医备案" in text
    assert "广州市的联网定点医院" in text


# --- #18 sizes ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "turns",
    [
        ("断缴3个月有啥影响？余额能给我爸用吗",),
        ("给爸妈交居民医保能用我医保卡的钱吗", "在上海"),
    ],
)
async def test_replies_stay_under_1800_bytes(bot: Pipeline, turns: tuple[str, ...]) -> None:
    answers = await chat(bot, *turns)
    for answer in answers:
        assert len(answer.text.encode("utf-8")) <= 1800, answer.text
    assert "家庭共济" in answers[-1].text
    assert "【办理步骤】" in answers[-1].text


async def test_no_wait_lapse_says_resumption_once(bot: Pipeline) -> None:
    (answer,) = await chat(bot, "断缴2个月有啥影响")
    assert "次月就能恢复报销" in head(answer)
    assert "多数地方允许补缴" not in answer.text  # the summary already said it
    assert "告诉我补缴" not in answer.text  # a day would only give "the month after" again
