"""QA round 3 regressions: residents' premiums and collection periods, never-insured people,
lapse bands, employer-caused lapses, resettled retirees, figure labels and reply sizes.

Expected dates come from the policy functions, never copied from a reply.
"""

from __future__ import annotations

from datetime import date

import pytest
from conversation import chat, head

from bot.pipeline import Pipeline
from bot.policy import ResidentPhase, fmt_yuan, public_source, resident_payment_status
from bot.policy.lapse import resident_late_payment
from region_data.city_policy import default_city_policies

TODAY = date(2026, 11, 25)
NANJING = default_city_policies().city("南京市")
# Comfortably inside one WeChat message: room for a place disclaimer or one more sentence.
MARGIN_BYTES = 1900


# --- policy: where today falls in the residents' payment year --------------------------------


@pytest.mark.parametrize(
    ("today", "phase", "cover_year", "days_left", "closed_on"),
    [
        (date(2026, 11, 25), ResidentPhase.OPEN, 2027, 36, None),
        (date(2026, 12, 28), ResidentPhase.OPEN, 2027, 3, None),
        (date(2026, 12, 31), ResidentPhase.OPEN, 2027, 0, None),
        (date(2027, 1, 1), ResidentPhase.CLOSED, 2028, None, date(2026, 12, 31)),
        (date(2027, 2, 10), ResidentPhase.CLOSED, 2028, None, date(2026, 12, 31)),
    ],
)
def test_resident_payment_status(
    today: date,
    phase: ResidentPhase,
    cover_year: int,
    days_left: int | None,
    closed_on: date | None,
) -> None:
    status = resident_payment_status(today, city=None)
    assert (status.phase, status.cover_year, status.days_left) == (phase, cover_year, days_left)
    assert status.closed_on == closed_on
    assert status.provenance and all(p.kind == "national" for p in status.provenance)


@pytest.mark.parametrize("city", [None, NANJING])
def test_a_payment_inside_the_collection_period_is_on_time(city: object) -> None:
    late = resident_late_payment(
        TODAY, city=NANJING if city else None, paid_from=date(2026, 12, 1),
        paid_to=date(2026, 12, 31),
    )  # fmt: skip
    assert late.on_time_cover_year == 2027
    assert late.resume_from == late.resume_by == date(2027, 1, 1)


def test_public_sources_hide_our_notes() -> None:
    assert public_source("policy-facts §10 (002)") == "002"
    assert public_source("000, 004") == "000, 004"
    assert fmt_yuan(__import__("decimal").Decimal("500000")) == "50万元"


# --- #2 residents' back-payment is not priced like an employee's -----------------------------


@pytest.mark.parametrize(
    "turns",
    [
        ("新农合断了两年了，还能补吗", "在湖南邵阳"),
        ("居民医保断了3个月有影响吗", "那能补吗"),
        ("医保断了半年有什么影响", "那还能补吗", "居民医保呢"),
        ("南京居民医保断了能补吗",),
    ],
)
async def test_residents_back_payment_has_no_base_formula(
    bot: Pipeline, turns: tuple[str, ...]
) -> None:
    answers = await chat(bot, *turns)
    last = answers[-1]
    assert "基数" not in head(last).replace("不按缴费基数", "")
    assert "× " not in head(last)
    assert "说明断缴月份" not in last.text
    lines = head(last).splitlines()
    # No sentence trails off in a colon: one ending so introduces the list after it.
    assert all(
        lines[i + 1].startswith("·") for i, line in enumerate(lines) if line.endswith("：")
    ), last.text
    assert "固定金额" in head(last)


async def test_a_long_residents_gap_cannot_be_paid_back(bot: Pipeline) -> None:
    (answer,) = await chat(bot, "新农合断了两年了，还能补吗")
    text = head(answer)
    assert "不能再补交" in text
    assert "2027年度的集中缴费期" in text and "2026年12月31日" in text


# --- #3 paying inside the open collection period is on time ----------------------------------


@pytest.mark.parametrize(
    "turns",
    [
        ("居民医保断缴了有啥影响", "黔东南苗族侗族自治州", "我打算下个月补"),
        ("我是南京的，居民医保今年没交，现在补要等多久", "那我要是下个月补呢"),
    ],
)
async def test_december_payment_counts_for_next_year_without_wait(
    bot: Pipeline, turns: tuple[str, ...]
) -> None:
    answer = (await chat(bot, *turns))[-1]
    first = head(answer).splitlines()[0]
    assert "2027年度" in first and "没有等待期" in first
    assert "2027年1月1日" in first
    assert "等3个月" not in first and "等60天" not in first


async def test_nanjing_no_wait_payment_covers_from_the_payment_day(bot: Pipeline) -> None:
    answer = (await chat(bot, "南京居民医保断缴了有啥影响", "我打算明年1月10号补"))[-1]
    first = head(answer).splitlines()[0]
    assert "没有等待期" in first and "2027年1月10日" in first
    assert "2027年2月1日" not in answer.text


# --- #4 deadline questions after the period closed, or in its last days -----------------------


@pytest.mark.parametrize("text", ["居民医保还能交吗", "居民医保截止了吗"])
async def test_after_the_period_closed_the_reply_says_so(bot: Pipeline, text: str) -> None:
    (answer,) = await chat(bot, text, today=date(2027, 2, 10))
    first = head(answer).splitlines()[0]
    assert "2027年度" in first and "2026年12月31日截止" in first
    assert "2028年的保费" not in answer.text
    assert "补缴期" in head(answer) and "3个月" in head(answer)


async def test_in_time_follow_up_in_the_last_days(bot: Pipeline) -> None:
    _, answer = await chat(bot, "居民医保还能交吗", "来得及吗", today=date(2026, 12, 28))
    first = head(answer).splitlines()[0]
    assert first.startswith("来得及") and "2026年12月31日" in first and "还有3天" in first
    assert "断缴" not in head(answer)


# --- #12 residents and family sharing ---------------------------------------------------------


async def test_residents_cannot_share_an_account(bot: Pipeline) -> None:
    (answer,) = await chat(bot, "居民医保能给家人用吗")
    assert head(answer).startswith("居民医保一般没有个人账户")
    assert not head(answer).startswith("可以")


async def test_residents_follow_up_about_a_relative_is_family_sharing(bot: Pipeline) -> None:
    first, answer = await chat(bot, "居民医保里的钱能取出来吗", "那给我妈用呢")
    assert answer.text != first.text
    assert "共济" in head(answer) and "职工医保" in head(answer)


async def test_employee_paying_a_childs_residents_premium_is_still_yes(bot: Pipeline) -> None:
    (answer,) = await chat(bot, "我是职工医保，给我孩子交居民医保可以用我的余额吗")
    assert head(answer).startswith("可以")


# --- #13 never insured, and when new cover starts ---------------------------------------------


async def test_never_insured_is_told_to_join_not_to_pay_back(bot: Pipeline) -> None:
    answers = await chat(bot, "我妈60岁了没交过医保，现在还能交吗", "她在农村老家，湖北黄冈")
    first = head(answers[0])
    assert "不限年龄" in first and "2026年12月31日" in first and "2027年1月1日" in first
    assert "能补。" not in first
    assert "能补。" not in head(answers[1])


async def test_when_new_cover_starts_is_not_a_lapse(bot: Pipeline) -> None:
    for answer in await chat(bot, "交了医保多久能用", "在广州，刚入职"):
        assert "次月" in head(answer)
        assert "断缴" not in head(answer)


# --- #14 "超过半年" is the over-6-months band --------------------------------------------------


@pytest.mark.parametrize("text", ["断缴超过半年怎么办", "医保断了半年多了有影响吗"])
async def test_more_than_half_a_year_is_the_long_band(bot: Pipeline, text: str) -> None:
    (answer,) = await chat(bot, text)
    assert "3到6个月" not in answer.text
    assert "重新参保" in head(answer)
    assert "1–6个月" not in answer.text


# --- #15 employer-caused lapse -----------------------------------------------------------------


async def test_employer_cause_in_words_gets_the_employer_answer(bot: Pipeline) -> None:
    first, claim = await chat(bot, "医保断交了3个月，单位的原因", "那我看病的钱能报吗")
    text = head(first)
    assert text.startswith("单位原因断缴的，由单位补缴")
    assert "滞纳金" in text and "追溯报销" in text
    assert "告诉我基数" not in first.text and "缴费基数" not in first.text
    assert "追溯报销" in head(claim).splitlines()[0]


# --- #16 resettled retiree ----------------------------------------------------------------------


async def test_resettled_retiree_withdrawal_and_claims(bot: Pipeline) -> None:
    withdraw, claim = await chat(
        bot, "我退休了跟儿子去深圳住，老家是哈尔滨的，医保卡里的钱能取出来吗", "那看病怎么报销"
    )
    assert "异地安置的退休人员" in head(withdraw)
    assert "哈尔滨" in head(withdraw) and not head(withdraw).startswith("一般不能")
    first = head(claim).splitlines()[0]
    assert "哈尔滨市" in first and "异地就医备案" in first and "深圳市" in first
    assert "没有深圳市起付线" not in claim.text


# --- #19 figure labels -------------------------------------------------------------------------


async def test_a_base_the_user_gave_is_labelled_as_theirs(bot: Pipeline) -> None:
    _, answer = await chat(bot, "深圳断了4个月，补缴要多少钱", "6000")
    line = next(x for x in answer.text.splitlines() if x.startswith("· 补缴金额"))
    assert "基数是你给的" in line


@pytest.mark.parametrize("turns", [("住院能报销多少", "北京"), ("上海住院能报多少",)])
async def test_no_internal_source_ids_and_one_money_format(
    bot: Pipeline, turns: tuple[str, ...]
) -> None:
    answer = (await chat(bot, *turns))[-1]
    assert "policy-facts" not in answer.text and "§" not in answer.text
    assert "资料未注明年份" not in answer.text
    assert "500000元" not in answer.text and "350000元" not in answer.text


# --- #24 size margins ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "turns",
    [
        ("断缴超过半年怎么办", "居民医保呢", "那南京呢"),
        ("我爸妈的医保能用我的医保卡吗",),
        ("新农合断了两年了，还能补吗",),
        ("居民医保能给家人用吗",),
    ],
)
async def test_replies_keep_a_size_margin(bot: Pipeline, turns: tuple[str, ...]) -> None:
    for answer in await chat(bot, *turns):
        assert len(answer.text.encode("utf-8")) <= MARGIN_BYTES, answer.text


async def test_lending_warning_follows_the_answer(bot: Pipeline) -> None:
    (answer,) = await chat(bot, "我爸妈的医保能用我的医保卡吗")
    assert head(answer).startswith("可以")
