"""Replies of the transfer and transfer-progress intents, through the real pipeline.

Expected dates are computed here from the policy functions (never copied from a reply); each
test names the QA report it guards against.
"""

import re
from datetime import date, timedelta

import pytest

from bot.dialog.figures import fmt_date
from bot.dialog.render import MAX_BYTES
from bot.pipeline import Pipeline
from bot.policy import TransferKind, add_months, add_working_days, transfer_timeline
from region_data.city_policy import default_city_policies

TODAY = date(2026, 11, 25)
CITIES = default_city_policies()
CROSS = TransferKind.CROSS_PROVINCE
DATE = r"\d{4}年\d{1,2}月\d{1,2}日"


async def ask(bot: Pipeline, text: str, user: str = "u", today: date = TODAY):
    answer = await bot.respond(user, text, today=today)
    assert len(answer.text.encode("utf-8")) <= MAX_BYTES
    assert "${" not in answer.text
    return answer


async def whole(bot: Pipeline, text: str, user: str = "u") -> str:
    """The reply plus every section a long reply moved behind its numbered menu."""
    answer = await ask(bot, text, user)
    full = answer.text
    for number in ("1", "2", "3"):
        if f"回复{number}" in answer.text:
            full += "\n" + (await ask(bot, number, user)).text
    return full


def parse_date(text: str) -> date:
    y, m, d = (int(x) for x in re.findall(r"\d+", text))
    return date(y, m, d)


# --- qa-070: the application was made some time ago ----------------------------------------


# fmt: off
ELAPSED = [
    # (message, application day as the user put it)
    ("医保转移申请了一个月了还没到账怎么办", add_months(TODAY, -1)),
    ("医保转移交了材料两周了还没好", TODAY - timedelta(days=14)),
    ("医保转移上个月10号申请的 现在到哪一步了", date(2026, 10, 10)),
    ("医保转移办了20天了还没到账", TODAY - timedelta(days=20)),
    ("医保转移申请三个月了 钱一直没到", add_months(TODAY, -3)),
    ("医保转出去一个半月了还没到账", add_months(TODAY, -1) - timedelta(days=15)),
]
# fmt: on


@pytest.mark.parametrize(("text", "applied"), ELAPSED)
async def test_elapsed_application_is_counted_from_its_day(
    bot: Pipeline, text: str, applied: date
) -> None:
    answer = await ask(bot, text)
    assert answer.intent == "transfer_progress"
    timeline = transfer_timeline(applied, kind=CROSS, origin=None)
    from_today = transfer_timeline(TODAY, kind=CROSS, origin=None)
    head = answer.text.split("\n\n")[0]
    assert "今天申请" not in answer.text
    assert fmt_date(applied) in head.splitlines()[0]
    assert fmt_date(timeline.process_done_by) in head
    # Nothing counted from today: its dates all lie after this application's.
    assert fmt_date(from_today.balance_latest) not in answer.text
    figures = {f["name"]: f for f in answer.figures}
    assert figures["process_done_by"]["value"] == fmt_date(timeline.process_done_by)
    assert applied.isoformat() in figures["balance_by"]["basis"]
    if timeline.origin_done_by >= TODAY:
        assert "还在正常办理期内" in head and "已经过了" not in head
    elif timeline.process_done_by >= TODAY:
        # The origin's limit is past, the whole process's not yet: never "正常办理期内".
        first = head.splitlines()[0]
        assert "正常办理期内" not in head and "已经过了" in first and "还没到" in first
    else:
        # Plainly: the processing limit is past; the 30-working-day limit falls on a day that
        # is either ahead (still in time) or passed (overdue: the user must chase it).
        assert "已经过了" in head.splitlines()[0]
        assert fmt_date(timeline.balance_latest) in head
        overdue = timeline.balance_latest < TODAY
        assert ("也已经过了" in head) is overdue
        assert ("还没到" in head) is not overdue
        assert "转移接续查询" in answer.text and "转入地医保经办机构" in answer.text
        assert "12393" in answer.text


async def test_one_month_ago_says_where_it_stands_and_what_to_do(bot: Pipeline) -> None:
    """The QA case itself: 15 working days are past, the 30-working-day limit is ahead."""
    applied = add_months(TODAY, -1)
    answer = await ask(bot, "医保转移申请了一个月了还没到账怎么办", user="qa-070")
    limit = add_working_days(applied, 30).day
    process = add_working_days(applied, 15).day
    assert process < TODAY <= limit
    first = answer.text.splitlines()[0]
    assert f"办理时限（{fmt_date(process)}）已经过了" in first
    assert f"最后期限约在{fmt_date(limit)}" in answer.text
    steps = answer.text.split("【办理步骤】")[1]
    assert "转移接续查询" in steps and "转入地医保经办机构" in steps and "12393" in steps
    assert f"如果到{fmt_date(limit)}还没到账" in steps


async def test_elapsed_day_is_kept_for_a_follow_up_with_places(bot: Pipeline) -> None:
    applied = add_months(TODAY, -1)
    await ask(bot, "医保转移申请了一个月了还没到账怎么办")
    answer = await ask(bot, "南京转上海的 什么时候到账")
    assert answer.intent == "transfer_progress"
    nanjing = transfer_timeline(applied, kind=CROSS, origin=CITIES.city("南京市"))
    assert fmt_date(nanjing.balance_by) in answer.text
    assert "今天申请" not in answer.text


@pytest.mark.parametrize(
    "text", ["医保转移要一个月吗", "医保转移3月份能办完吗", "断缴两个月了，医保转移要多久"]
)
async def test_a_duration_asked_about_is_not_an_elapsed_one(bot: Pipeline, text: str) -> None:
    answer = await ask(bot, text)
    assert answer.intent == "transfer_progress"
    assert "今天申请" in answer.text


async def test_waiting_without_a_day_counts_from_today_and_asks_the_day(bot: Pipeline) -> None:
    answer = await ask(bot, "医保转移申请了还没到账怎么办")
    assert "今天申请" in answer.text and "哪天申请" in answer.text


# --- qa-022: 南京 → 上海 timing -------------------------------------------------------------


async def test_nanjing_to_shanghai_dates_are_single_and_in_order(bot: Pipeline) -> None:
    answer = await ask(bot, "南京的医保转到上海要多久", user="qa-022")
    assert answer.intent == "transfer_progress"
    timeline = transfer_timeline(TODAY, kind=CROSS, origin=CITIES.city("南京市"))
    arrival = fmt_date(timeline.balance_by)
    assert timeline.balance_by == timeline.balance_latest
    # A range with equal ends is one date.
    assert f"{arrival}–{arrival}" not in answer.text
    assert f"最晚约{arrival}" not in answer.text
    figures = {f["name"]: f for f in answer.figures}
    assert figures["balance_by"]["value"] == arrival
    # The follow-up check never comes before the expected arrival.
    for match in re.finditer(rf"({DATE})左右查", answer.text):
        assert parse_date(match.group(1)) >= timeline.balance_by
    assert fmt_date(add_months(TODAY, 1)) not in answer.text
    # Each figure carries only the provenance it used: transfer-out is a national default.
    out = figures["origin_done_by"]
    assert out["value"] == fmt_date(timeline.origin_done_by)
    assert out["kind"] == "national" and out["source"] == ""
    assert "南京" not in out["basis"] and "市民卡" not in out["basis"]
    balance = figures["balance_by"]
    assert balance["kind"] == "city" and "000" in balance["source"]
    assert balance["rest"]  # counted from the national transfer-out time
    # Only a platform of a city in the conversation is named.
    assert "北京医保公共服务平台" not in answer.text


async def test_beijing_platform_only_when_beijing_is_in_the_conversation(bot: Pipeline) -> None:
    answer = await ask(bot, "福州转北京的医保要多久到账")
    assert "北京医保公共服务平台" in answer.text


# --- qa-067: residents ------------------------------------------------------------------------


async def test_residents_rule_leads_for_a_resident(bot: Pipeline) -> None:
    text = await whole(bot, "我是居民医保，户口从安徽阜阳迁到杭州了", user="qa-067")
    first = text.splitlines()[0]
    assert "居民医保" in first and "杭州市" in first and "下一年度" in first
    assert "职工医保" not in text
    assert "个人账户余额都能转过去" not in text
    assert "划转余额" not in text and "记入余额" not in text


# --- qa-045: ask only for what is missing ----------------------------------------------------


async def test_known_destination_asks_only_for_the_origin(bot: Pipeline) -> None:
    answer = await ask(bot, "医保转移 到北京", user="qa-045")
    assert answer.intent == "transfer" and answer.asks == "origin"
    assert "从哪个城市转出" in answer.text
    assert "转到哪个城市" not in answer.text
    follow = await ask(bot, "南京", user="qa-045")
    assert follow.intent == "transfer" and follow.asks is None
    first = follow.text.splitlines()[0]
    assert "南京市" in first and "北京市" in first and "跨省" in first


async def test_known_origin_asks_only_for_the_destination(bot: Pipeline) -> None:
    answer = await ask(bot, "医保从福州转出去怎么办")
    assert answer.asks == "destination"
    assert "要转到哪个城市" in answer.text and "从哪个城市转出" not in answer.text


# --- qa-027: 南京's balance goes to the bank account, everywhere ---------------------------


async def test_nanjing_balance_rule_is_the_same_in_answer_and_steps(bot: Pipeline) -> None:
    text = await whole(bot, "南京的医保转到郑州", user="qa-027")
    note = CITIES.city("南京市").balance_to_bank_working_days
    assert note is not None
    assert "市民卡" in text.split("【")[0]  # in the answer itself
    assert "个人账户余额都能转过去" not in text and "余额随人转" not in text
    steps = text.split("【办理步骤】")[1]
    assert "银行账户" in steps
    assert "划转余额" not in steps and "记入余额" not in steps
    progress = await ask(bot, "南京的医保转到郑州 余额多久到账", user="qa-027b")
    assert "市民卡" in progress.text


# --- qa-024: steps match the kind of transfer ----------------------------------------------


async def test_guangdong_steps_are_intra_province_without_balance(bot: Pipeline) -> None:
    text = await whole(bot, "广州的医保转到深圳", user="qa-024")
    assert "省内各市都能直接用" in text
    steps = text.split("【办理步骤】")[1]
    assert "跨省转移接续申请" not in steps
    assert "划转余额" not in steps and "记入余额" not in steps
    assert "不划转" in steps and "广东省" in steps


async def test_cross_province_steps_still_move_the_balance(bot: Pipeline) -> None:
    steps = (await whole(bot, "福州的医保转到北京")).split("【办理步骤】")[1]
    assert "跨省转移接续申请" in steps and "划转余额" in steps


async def test_two_provinces_without_cities_are_a_cross_province_move(bot: Pipeline) -> None:
    answer = await ask(bot, "医保从广东转到湖南怎么办")
    first = answer.text.splitlines()[0]
    assert "跨省" in first and "广东省内" not in answer.text


async def test_a_city_answering_after_leaving_words_is_the_origin(bot: Pipeline) -> None:
    await ask(bot, "我想把医保转走", user="leave")
    answer = await ask(bot, "福州", user="leave")
    assert "从福州市转出" in answer.text and "转到福州市" not in answer.text


# --- qa3 #5: an application still ahead, or a date read as last year's ---------------------


async def test_a_planned_application_day_is_where_the_count_starts(bot: Pipeline) -> None:
    monday = TODAY + timedelta(days=(7 - TODAY.weekday()) % 7 or 7)  # 下周一
    answer = await ask(bot, "我下周一申请医保转移，福州转北京，多久能办完")
    timeline = transfer_timeline(monday, kind=CROSS, origin=CITIES.city("福州市"))
    assert f"{fmt_date(monday)}申请" in answer.text
    assert f"全流程约{fmt_date(timeline.process_done_by)}前办完" in answer.text
    assert "按今天申请" not in answer.text


async def test_a_past_tense_date_still_ahead_this_year_is_named_as_last_years(
    bot: Pipeline,
) -> None:
    answer = await ask(bot, "我12月1号申请的医保转移，从南京转到合肥，到哪一步了")
    last_year = date(TODAY.year - 1, 12, 1)
    assert answer.text.startswith("（12月1日今年还没到")
    assert f"按{fmt_date(last_year)}申请算" in answer.text


async def test_a_day_this_month_is_not_named_as_assumed(bot: Pipeline) -> None:
    answer = await ask(bot, "我3号申请的转移，从南京转到合肥，怎么还没到")
    assert "今年还没到" not in answer.text
    assert f"按{fmt_date(date(2026, 11, 3))}申请算" in answer.text
