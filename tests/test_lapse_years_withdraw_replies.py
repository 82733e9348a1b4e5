"""QA regressions in lapse_effects, contribution_years and withdraw, through the real pipeline.

Each test is named after the QA finding it guards (qa-056, qa-034, ...). Expected figures and
dates are computed from the policy functions (never copied from a reply), so a change in the
rules or the region data shows up as a changed reply, not as a stale test.
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

import pytest

from bot.dialog.figures import fmt_date
from bot.dialog.render import MAX_BYTES, render_part
from bot.dialog.types import Answer, Part
from bot.pipeline import Pipeline
from bot.policy import (
    CityPolicy,
    Scheme,
    Sex,
    WithdrawalCase,
    benefit_resumption,
    contribution_years_shortfall,
    fmt_number,
    withdrawal_eligibility,
)
from bot.policy.lapse import resident_late_payment
from region_data.city_policy import default_city_policies

TODAY = date(2026, 11, 25)
ESTIMATE_NOTE = render_part(Part("common/estimate_note"))


def city(name: str) -> CityPolicy | None:
    return default_city_policies().city(name)


def block(key: str, **fields: object) -> str:
    return render_part(Part(key, fields))


def explain_block(key: str, **fields: object) -> str:
    defaults: dict[str, object] = {"city": "当地", "wait": "一段时间", "resume_from": ""}
    return block(f"explain/{key}", **{**defaults, **fields})


def sentences(text: str) -> list[str]:
    """Sentences of a text (lines split at 。；), without bullets and blanks."""
    parts = re.split(r"[\n。；]", text)
    return [p.strip(" ·") for p in parts if len(p.strip(" ·")) > 4]


async def ask(pipeline: Pipeline, user: str, text: str, intent: str | None = None) -> Answer:
    """One message; every reply fits one WeChat message, has no unfilled field and never says
    the same sentence twice."""
    answer = await pipeline.respond(user, text, today=TODAY)
    assert len(answer.text.encode("utf-8")) <= MAX_BYTES, answer.text
    assert "${" not in answer.text, answer.text
    said = sentences(answer.text.split("\n\n")[0])  # the answer, before figures and sections
    assert len(said) == len(set(said)), answer.text
    lines = [line for line in answer.text.split("\n") if line.strip()]
    assert len(lines) == len(set(lines)), answer.text
    if intent is not None:
        assert answer.intent == intent, (text, answer.intent)
    return answer


def figure(answer: Answer, name: str) -> dict[str, str]:
    return next(f for f in answer.figures if f["name"] == name)


# --- contribution_years: qa-056 -------------------------------------------------------------


async def test_qa056_woman_in_a_city_without_a_rule_gets_both_references(
    pipeline: Pipeline,
) -> None:
    await ask(
        pipeline, "q56", "我是女的，在广州，医保要交满多少年才能终身享受", "contribution_years"
    )
    answer = await ask(pipeline, "q56", "我交了18年了", "contribution_years")
    guangzhou = city("广州市")
    assert guangzhou is None or guangzhou.required_years is None  # no rule of its own
    result = contribution_years_shortfall(18, city=guangzhou, sex=Sex.FEMALE)
    assert result.years_short == (Decimal(0), Decimal(0))  # the 15-year reference: enough
    (female,) = result.common_rule
    assert female.sex is Sex.FEMALE and female.short > 0  # 女20年: not enough
    reference = block(
        "contribution_years/enough_reference",
        required=fmt_number(result.required_years[0]),
        paid="18",
    )
    stricter = block(
        "contribution_years/common_one_short",
        sex="女性",
        required=female.required,
        short=fmt_number(female.short),
    )
    assert answer.text.startswith(reference)
    assert stricter in answer.text
    assert block("contribution_years/check_city_rule", place="广州市") in answer.text
    assert figure(answer, "years_short_common")["value"] == f"{fmt_number(female.short)}年"
    assert "男性" not in answer.text.split("【")[0]  # she said she is a woman
    assert ESTIMATE_NOTE in answer.text


async def test_qa056_sex_unknown_gives_men_and_women(pipeline: Pipeline) -> None:
    answer = await ask(pipeline, "q56b", "医保交了18年够不够", "contribution_years")
    result = contribution_years_shortfall(18, city=None)
    by_sex = {c.sex: c for c in result.common_rule}
    assert set(by_sex) == {Sex.MALE, Sex.FEMALE}
    for sex, word in ((Sex.MALE, "男性"), (Sex.FEMALE, "女性")):
        assert f"{word}还差{fmt_number(by_sex[sex].short)}年" in answer.text
    assert block("contribution_years/check_rule_unknown_place") in answer.text
    assert "ask_gender" not in (answer.asks or "")  # answered, not asked


async def test_qa056_enough_under_both_references(pipeline: Pipeline) -> None:
    answer = await ask(pipeline, "q56c", "医保交了30年够不够", "contribution_years")
    result = contribution_years_shortfall(30, city=None)
    assert all(c.short == 0 for c in result.common_rule)
    assert "还差" not in answer.text.split("\n\n")[0]
    assert "也都够了" in answer.text


# --- lapse_effects: residents (qa-034, qa-037) ----------------------------------------------


async def test_qa034_nanjing_resident_gets_the_dated_city_rule_then_the_wait(
    pipeline: Pipeline,
) -> None:
    nanjing = city("南京市")
    assert nanjing is not None and nanjing.resident_late_payment is not None
    rule = resident_late_payment(TODAY, city=nanjing)
    assert rule.no_wait_before is not None and rule.waiting_days
    assert rule.no_wait_before.year == TODAY.year + 1  # "次年3月前" for the coming year

    first = await ask(pipeline, "q34", "南京居民医保今年忘交了，有等待期吗", "lapse_effects")
    assert first.text.startswith("南京市居民医保")
    assert fmt_date(rule.no_wait_before) in first.text
    assert f"等{rule.waiting_days}天" in first.text
    # The residents' scheme has no personal account: never offer to swipe it.
    assert explain_block("account_usable_no_credit") not in first.text
    assert "刷" not in first.text
    deadline = figure(first, "no_wait_deadline")
    source = nanjing.resident_late_payment.provenance
    assert deadline["kind"] == "city" and deadline["as_of"] == str(source.as_of)
    assert source.source in deadline["source"]

    follow = await ask(pipeline, "q34", "那明年4月再补呢")
    assert follow.intent in ("lapse_effects", "back_payment")  # either answers the plan
    planned = resident_late_payment(
        TODAY, city=nanjing, paid_from=date(2027, 4, 1), paid_to=date(2027, 4, 30)
    )
    assert planned.paid_wait_days == (rule.waiting_days, rule.waiting_days)
    assert planned.resume_from is not None and planned.resume_by is not None
    head = follow.text.split("\n")[0]
    assert f"要等{rule.waiting_days}天" in head
    assert fmt_date(planned.resume_from) in head and fmt_date(planned.resume_by) in head


async def test_qa034_paying_before_the_day_has_no_wait(pipeline: Pipeline) -> None:
    answer = await ask(pipeline, "q34b", "南京居民医保断了 明年2月补上有等待期吗", "lapse_effects")
    planned = resident_late_payment(
        TODAY, city=city("南京市"), paid_from=date(2027, 2, 1), paid_to=date(2027, 2, 28)
    )
    assert planned.paid_wait_days == (0, 0) and planned.resume_from is not None
    assert "没有等待期" in answer.text.split("\n")[0]
    assert fmt_date(planned.resume_from) in answer.text


async def test_qa037_nanjing_line_names_the_date_source_and_year(pipeline: Pipeline) -> None:
    answer = await ask(pipeline, "q37", "南京居民医保断了2个月，有等待期吗", "lapse_effects")
    rule = resident_late_payment(TODAY, city=city("南京市"))
    assert rule.no_wait_before is not None
    assert fmt_date(rule.no_wait_before) in answer.text
    # The undated line ("在规定日期前补缴…") is gone.
    assert "规定日期" not in answer.text
    deadline = figure(answer, "no_wait_deadline")
    assert deadline["kind"] == "city" and deadline["source"] and deadline["as_of"]
    assert f"依据：{deadline['source']}，{deadline['as_of']}年" in answer.text


async def test_qa037_a_dated_payment_matches_benefit_resumption(pipeline: Pipeline) -> None:
    # 12月1日 falls in the collection period for next year: paid on time, no waiting period.
    answer = await ask(
        pipeline, "q37b", "南京居民医保断了4个月，12月1号补缴，什么时候能报销", "lapse_effects"
    )
    result = benefit_resumption(
        Scheme.RESIDENT, 4, city=city("南京市"), payment_date=date(2026, 12, 1)
    )
    assert result.resume_from == date(2027, 1, 1) and result.waiting_months == (0, 0)
    head = answer.text.split("\n")[0]
    assert fmt_date(result.resume_from) in head
    assert "没有等待期" in head and "60天" not in head


@pytest.mark.parametrize(
    "text",
    [
        "南京居民医保今年忘交了，有等待期吗",
        "南京居民医保断缴了",
        "居民医保断了有什么影响",
        "居民医保断了8个月 个人账户还能用吗",
        "居民医保断了3个月 之前交的白交了吗",
        "居民医保没续 明年看病还能报吗",
    ],
)
async def test_residents_never_hear_of_a_personal_account_balance(
    pipeline: Pipeline, text: str
) -> None:
    answer = await ask(pipeline, f"res-{len(text)}-{text[:4]}", text, "lapse_effects")
    assert explain_block("account_usable_no_credit") not in answer.text
    assert explain_block("paid_money_kept") not in answer.text  # it names the account too
    assert "余额还在" not in answer.text and "药店刷" not in answer.text


async def test_qa035_residents_without_a_city_rule_get_the_window_and_wait(
    pipeline: Pipeline,
) -> None:
    answer = await ask(pipeline, "q35", "居民医保断了有什么影响", "lapse_effects")
    rule = resident_late_payment(TODAY, city=None)
    assert rule.example_window is not None and rule.waiting_months
    start, end = rule.example_window
    # The published window is cited as a dated source, the next one is counted from today.
    assert f"{start.year}年的做法：{start.month}月{start.day}日至{end.month}月{end.day}日" in (
        answer.text
    )
    assert f"{TODAY.year + 1}年初" in answer.text
    assert f"等{rule.waiting_months}个月" in answer.text
    assert ESTIMATE_NOTE in answer.text  # a national practice, said to be an estimate
    assert figure(answer, "waiting_period")["kind"] == "national"


# --- lapse_effects: narrow follow-ups (qa-010) ----------------------------------------------


async def test_qa010_narrow_follow_ups_get_narrow_answers(pipeline: Pipeline) -> None:
    first = await ask(pipeline, "q10", "医保断交了半年有什么影响", "lapse_effects")
    kept = explain_block("paid_money_kept")
    assert kept in first.text  # the whole picture once

    second = await ask(pipeline, "q10", "之前交的钱白交了吗", "lapse_effects")
    assert second.text.startswith(kept)
    assert second.text.count("不会白交") == 1
    assert explain_block("account_usable_no_credit") not in second.text
    assert "【办理步骤】" not in second.text
    assert len(second.text) < len(first.text) / 2

    third = await ask(pipeline, "q10", "补上以后多久能报销", "lapse_effects")
    result = benefit_resumption(Scheme.EMPLOYEE, 6, city=None)
    low, high = result.waiting_months
    assert third.text.startswith(explain_block("back_pay_then_wait", wait=f"{low}–{high}个月"))
    assert kept not in third.text
    assert explain_block("account_usable_no_credit") not in third.text
    assert figure(third, "waiting_period")["value"] == f"{low}–{high}个月"
    assert len({first.text, second.text, third.text}) == 3


async def test_a_broad_question_naming_money_says_it_once(pipeline: Pipeline) -> None:
    answer = await ask(pipeline, "q10b", "断了4个月有什么影响，之前交的会作废吗", "lapse_effects")
    assert answer.text.count(explain_block("paid_money_kept")) == 1
    assert "3到6个月" in answer.text


async def test_cap_question_without_reset_says_so(pipeline: Pipeline) -> None:
    answer = await ask(pipeline, "cap", "断了两个月 最高能报多少会变吗", "lapse_effects")
    assert not benefit_resumption(Scheme.EMPLOYEE, 2, city=None).continuous_years_reset
    assert block("lapse_effects/no_reset") in answer.text


# --- withdraw: qa-068, qa-013, conditions vs consequences ------------------------------------


@pytest.mark.parametrize(
    ("text", "insured", "lives"),
    [
        ("我在北京参保，现在长期住在三亚，医保卡里的钱能取出来吗", "北京市", "三亚市"),
        (
            "我退休了住在海口，医保是哈尔滨的，长期在外地，医保卡的钱能取出来吗",
            "哈尔滨市",
            "海口市",
        ),
    ],
)
async def test_qa068_the_insured_city_decides_not_where_one_lives(
    pipeline: Pipeline, text: str, insured: str, lives: str
) -> None:
    answer = await ask(pipeline, f"q68-{insured}", text, "withdraw")
    assert block("withdraw/city_note", insured=insured) in answer.text
    assert f"以{lives}医保部门" not in answer.text and f"{lives}的具体做法" not in answer.text


async def test_withdraw_city_without_a_hint_stays_the_insured_city(pipeline: Pipeline) -> None:
    answer = await ask(pipeline, "q68-hz", "老人在杭州去世了，医保卡的钱怎么取", "withdraw")
    assert block("withdraw/city_note", insured="杭州市") in answer.text


async def test_qa068_insured_elsewhere_unnamed_says_insured_place(pipeline: Pipeline) -> None:
    answer = await ask(
        pipeline,
        "q68b",
        "我医保在外地交的，现在长期在三亚住，办了异地备案8个月了，医保卡的钱能取吗",
        "withdraw",
    )
    result = withdrawal_eligibility(WithdrawalCase.LONG_TERM_ELSEWHERE, months_elsewhere=8)
    assert block("withdraw/case_long_term_elsewhere_yes", months=8, need=6) in answer.text
    assert result.materials  # a real application: whose rules apply is said
    assert block("withdraw/city_note_residence", residence="三亚市") in answer.text
    assert "以三亚市医保部门" not in answer.text


async def test_qa013_wallet_answer_agrees_with_the_listed_cases(pipeline: Pipeline) -> None:
    first = await ask(pipeline, "q13", "医保卡里的钱能取出来吗", "withdraw")
    assert "银行账户" in first.text
    second = await ask(pipeline, "q13", "能转到微信吗", "withdraw")
    head = second.text.split("\n")[0]
    assert "微信零钱" in head and "银行账户" in head
    # Never "not even to a bank card", which the allowed cases contradict.
    assert "银行卡里" not in second.text and "或者银行卡" not in second.text
    assert "继承人" in head


@pytest.mark.parametrize(
    ("text", "case"),
    [
        ("北京 我爸去世了 医保卡里的钱能取吗", WithdrawalCase.DEATH),
        ("出国定居了医保账户里的钱能退吗", WithdrawalCase.EMIGRATION),
        ("长期在外地住 医保账户的钱能取吗", WithdrawalCase.LONG_TERM_ELSEWHERE),
        ("新单位不接收医保余额 钱能退给我吗", WithdrawalCase.NEW_PLACE_REFUSES),
    ],
)
async def test_conditions_and_consequences_are_listed_apart(
    pipeline: Pipeline, text: str, case: WithdrawalCase
) -> None:
    answer = await ask(pipeline, f"wc-{case}", text, "withdraw")
    result = withdrawal_eligibility(case)
    assert result.consequences and result.conditions
    lines = answer.text.split("\n")
    head = lines.index(block("withdraw/conditions_head"))
    after = lines.index(block("withdraw/after_head"))
    conditions = lines[head + 1 : after]
    assert conditions == [block(f"withdraw/cond_{c}", need=6) for c in result.conditions]
    for consequence in result.consequences:
        line = block(f"withdraw/after_{consequence}")
        assert line not in conditions and lines[after + 1] == line


@pytest.mark.parametrize("months", [2, 5])
async def test_continuity_question_gets_the_continuity_answer(
    pipeline: Pipeline, months: int
) -> None:
    answer = await ask(
        pipeline, f"years-{months}", f"断了{months}个月 连续参保年限会清零吗", "lapse_effects"
    )
    result = benefit_resumption(Scheme.EMPLOYEE, months, city=None)
    first = (
        explain_block("continuous_years_reset")
        if result.continuous_years_reset
        else block("lapse_effects/no_reset")
    )
    assert answer.text.startswith(first)
    assert explain_block("account_usable_no_credit") not in answer.text
    assert "【办理步骤】" not in answer.text


# --- back_payment for residents: the same dated rule --------------------------------------


async def test_residents_back_payment_gives_the_city_rule_with_its_dates(
    pipeline: Pipeline,
) -> None:
    answer = await ask(pipeline, "rb1", "南京居民医保断了怎么补交", "back_payment")
    late = resident_late_payment(TODAY, city=city("南京市"))
    assert late.city_rule and late.no_wait_before is not None
    assert fmt_date(late.no_wait_before) in answer.text  # the dated no-wait deadline
    assert f"{late.waiting_days}天" in answer.text
    assert "no_wait_deadline" in {f["name"] for f in answer.figures}


async def test_residents_back_payment_without_a_city_rule_gives_the_national_window(
    pipeline: Pipeline,
) -> None:
    answer = await ask(pipeline, "rb2", "居民医保断缴了怎么补", "back_payment")
    late = resident_late_payment(TODAY, city=None)
    assert late.example_window is not None and late.waiting_months is not None
    start, end = late.example_window
    assert f"{start.month}月{start.day}日至{end.month}月{end.day}日" in answer.text
    assert f"{late.waiting_months}个月" in answer.text
