"""Replies of transfer, progress, back-payment, lapse, reminders and the social intents.

Expected figures are computed here from the policy functions (never copied from a reply), and
every reply must fit one WeChat message.
"""

from datetime import date
from decimal import Decimal

import pytest

from bot.dialog.figures import fmt_date
from bot.dialog.render import MAX_BYTES
from bot.pipeline import Pipeline
from bot.policy import (
    LapseCause,
    Scheme,
    TransferKind,
    add_working_days,
    back_payment,
    benefit_resumption,
    late_fee,
    next_deadline,
    transfer_timeline,
)
from region_data.city_policy import default_city_policies

TODAY = date(2026, 11, 25)
CITIES = default_city_policies()


async def ask(bot: Pipeline, text: str, user: str = "u", today: date = TODAY):
    answer = await bot.respond(user, text, today=today)
    assert len(answer.text.encode("utf-8")) <= MAX_BYTES
    assert "${" not in answer.text
    return answer


async def test_back_payment_amount_for_shenzhen(bot: Pipeline) -> None:
    answer = await ask(bot, "深圳医保断了4个月，补缴要多少钱")
    expected = back_payment(4, city=CITIES.city("深圳市"))
    assert expected.amount is not None and expected.amount.display == "3200.00–3840.00元"
    assert answer.intent == "back_payment"
    assert expected.amount.display in answer.text
    assert expected.basis in answer.text  # the basis: 8000元 × 4个月 × 10%–12%
    figure = next(f for f in answer.figures if f["name"] == "back_payment_amount")
    assert figure["kind"] == "city" and figure["as_of"] == "2024"


async def test_back_payment_with_own_base_is_a_national_estimate(bot: Pipeline) -> None:
    answer = await ask(bot, "灵活就业断了3个月 基数6000 补缴多少钱")
    expected = back_payment(3, city=None, base=Decimal(6000))
    assert expected.amount is not None
    assert expected.amount.display in answer.text
    assert "按全国通行规则估算" in answer.text


async def test_employer_lapse_has_no_personal_late_fee(bot: Pipeline) -> None:
    answer = await ask(bot, "公司漏缴了我两个月医保 滞纳金谁交")
    assert answer.intent == "back_payment"
    assert "单位" in answer.text and "不用交" in answer.text


async def test_late_fee_for_given_arrears_and_days(bot: Pipeline) -> None:
    answer = await ask(bot, "欠了1000块医保费 晚了20天滞纳金多少")
    expected = late_fee(Decimal(1000), 20, LapseCause.UNKNOWN)
    assert expected.display in answer.text  # 10.00元


async def test_lapse_resumption_date_for_nanjing_resident(bot: Pipeline) -> None:
    answer = await ask(bot, "南京居民医保断了4个月，12月1号补缴，什么时候能报销")
    assert answer.intent == "lapse_effects"
    result = benefit_resumption(
        Scheme.RESIDENT, 4, city=CITIES.city("南京市"), payment_date=date(2026, 12, 1)
    )
    assert result.resume_from is not None
    assert fmt_date(result.resume_from) in answer.text
    assert "60天" in answer.text


@pytest.mark.parametrize(
    ("months", "phrase"), [(2, "3个月以内"), (5, "3到6个月"), (9, "超过半年")]
)
async def test_lapse_buckets(bot: Pipeline, months: int, phrase: str) -> None:
    answer = await ask(bot, f"医保断了{months}个月有什么影响", user=f"m{months}")
    assert answer.intent == "lapse_effects"
    assert phrase in answer.text


async def test_cross_province_transfer(bot: Pipeline) -> None:
    answer = await ask(bot, "从福州调到北京工作,医保里的钱能带走吗")
    assert answer.intent == "transfer"
    assert "跨省" in answer.text and "统筹基金" in answer.text
    assert "福州市" in answer.text and "北京市" in answer.text


async def test_guangdong_intra_province_balance_stays_usable(bot: Pipeline) -> None:
    answer = await ask(bot, "广州的医保转到深圳 钱要转吗")
    assert "省内各市都能直接用" in answer.text


async def test_transfer_started_before_national_day_2026(bot: Pipeline) -> None:
    applied = date(2026, 9, 28)
    answer = await ask(bot, "福州转北京的医保要多久到账", today=applied)
    assert answer.intent == "transfer_progress"
    timeline = transfer_timeline(applied, kind=TransferKind.CROSS_PROVINCE, origin=None)
    # 1–7 October are holidays and 10 October a make-up working day: 10 working days → 16 Oct.
    assert timeline.origin_done_by == date(2026, 10, 16)
    assert fmt_date(timeline.origin_done_by) in answer.text
    assert fmt_date(timeline.process_done_by) in answer.text


async def test_transfer_into_2027_says_the_calendar_is_estimated(bot: Pipeline) -> None:
    applied = date(2026, 12, 24)
    answer = await ask(bot, "医保转移申请了要多久", today=applied)
    timeline = transfer_timeline(applied, kind=TransferKind.CROSS_PROVINCE, origin=None)
    assert timeline.calendar_fallback
    assert "2027年的放假安排还没公布" in answer.text


async def test_nanjing_origin_uses_its_own_balance_timing(bot: Pipeline) -> None:
    answer = await ask(bot, "南京医保转到上海要多久")
    assert "30个工作日" in answer.text


async def test_subscribe_confirms_exact_dates_and_lists_them(bot: Pipeline) -> None:
    answer = await ask(bot, "居民医保缴费截止前提醒我")
    assert answer.asks == "city"  # the deadline is the city's: asked once, then set
    answer = await ask(bot, "广州")
    deadline = next_deadline(TODAY, city=None)
    assert fmt_date(deadline.due) in answer.text
    for days in (7, 1):
        assert fmt_date(date.fromordinal(deadline.due.toordinal() - days)) in answer.text
    listing = await ask(bot, "我的提醒")
    assert "1." in listing.text and fmt_date(deadline.due) in listing.text


async def test_monthly_and_transfer_reminders_then_cancel(bot: Pipeline) -> None:
    monthly = await ask(bot, "每月15号提醒我交灵活就业医保")
    assert "2026年12月15日" in monthly.text
    follow = await ask(bot, "转移办完了提醒我查一下")
    assert fmt_date(add_working_days(TODAY, 15).day) in follow.text
    which = await ask(bot, "取消提醒")
    assert "哪一个" in which.text
    done = await ask(bot, "取消1")
    assert "已取消" in done.text and "灵活就业" in done.text
    rest = await ask(bot, "取消全部")
    assert "已取消" in rest.text
    assert "还没有设置提醒" in (await ask(bot, "我的提醒")).text


async def test_unsubscribe_forgets_reminders(bot: Pipeline) -> None:
    assert "已记下" in (await ask(bot, "广州居民医保缴费截止前提醒我")).text
    await bot.forget("u")
    assert "还没有设置提醒" in (await ask(bot, "我的提醒")).text


@pytest.mark.parametrize(
    ("text", "intent", "needle"),
    [
        ("你好", "greeting", "医保小助手"),
        ("谢谢", "greeting", "不客气"),
        ("转人工", "human", "12393"),
        ("公积金怎么提取", "out_of_scope", "住房公积金"),
        ("明天会下雨吗", "out_of_scope", "菜单"),
    ],
)
async def test_social_and_out_of_scope_replies(
    bot: Pipeline, text: str, intent: str, needle: str
) -> None:
    answer = await ask(bot, text)
    assert answer.intent == intent
    assert needle in answer.text


async def test_can_i_pay_back_is_answered_without_a_question_back(bot: Pipeline) -> None:
    answer = await ask(bot, "青岛灵活就业医保漏交一个月能补吗")
    assert answer.text.startswith("能补")
    assert "基数是多少" not in answer.text and "缴费基数（或月工资）是多少" not in answer.text


async def test_late_fee_rule_comes_before_the_question(bot: Pipeline) -> None:
    answer = await ask(bot, "补缴医保要交滞纳金吗")
    lines = answer.text.splitlines()
    assert "万分之五" in lines[0] and "单位" in lines[1]
    assert "几个月" in answer.text
    follow = await ask(bot, "深圳 4个月")
    assert "3200.00–3840.00元" in follow.text and "多少天" in follow.text
    fee = await ask(bot, "30天")
    low = late_fee(Decimal("3200.00"), 30, LapseCause.UNKNOWN).display.removesuffix("元")
    high = late_fee(Decimal("3840.00"), 30, LapseCause.UNKNOWN).display
    assert f"{low}–{high}" in fee.text  # both ends of the arrears, not the low one only


async def test_reminder_for_the_start_of_the_collection_period(bot: Pipeline) -> None:
    from bot.policy import resident_collection_period

    answer = await ask(bot, "成都居民医保缴费开始时通知我")
    period = resident_collection_period(2027, city=CITIES.city("成都市"))
    assert period.opens_on < TODAY  # this autumn's period has opened: the next one counts
    following = resident_collection_period(2028, city=CITIES.city("成都市"))
    assert fmt_date(following.opens_on) in answer.text
    assert "开始" in answer.text and "按全国通行规则估算" in answer.text
    assert "开始缴费" in (await ask(bot, "我的提醒")).text
