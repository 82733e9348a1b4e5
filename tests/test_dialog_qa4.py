"""QA round 4: a follow-up's topic, numbers and dates it gives, second questions, and detail
follow-ups that would repeat the whole last reply."""

from datetime import date
from decimal import Decimal

import pytest

from bot.pipeline import Pipeline
from bot.policy import back_payment
from region_data.city_policy import default_city_policies

TODAY = date(2026, 11, 25)


async def say(bot: Pipeline, text: str, user: str = "u", today: date = TODAY) -> str:
    return (await bot.respond(user, text, today=today)).text


def amount(city: str, months: int, base: Decimal | None = None) -> str:
    result = back_payment(months, city=default_city_policies().city(city), base=base)
    assert result.amount is not None
    return result.amount.display


# -- #4: a short follow-up read as another topic's question is a facet of the last topic ------


@pytest.mark.parametrize(
    ("first", "follow_up", "topic"),
    [
        ("自己垫付了怎么报", "要多久到账", "reimbursement"),
        ("我今年58 男 交了10年医保 退休时不够咋办", "能一次性补吗", "contribution_years"),
        ("我要从武汉转去长沙上班 医保咋弄", "余额会不会丢", "transfer"),
        ("灵活就业医保怎么交", "基数5000的话一个月多少", "payment"),
    ],
)
async def test_a_follow_up_asks_about_the_last_topic(
    bot: Pipeline, first: str, follow_up: str, topic: str
) -> None:
    await say(bot, first)
    assert (await bot.respond("u", follow_up, today=TODAY)).intent == topic


async def test_how_long_after_a_manual_claim_is_the_claim_not_a_transfer(bot: Pipeline) -> None:
    await say(bot, "自己垫付了怎么报")
    answer = await say(bot, "要多久到账")
    assert "15个工作日" in answer and "转出地" not in answer


async def test_a_follow_up_naming_another_topic_still_changes_it(bot: Pipeline) -> None:
    await say(bot, "从福州转到北京")
    assert (await bot.respond("u", "那补缴呢", today=TODAY)).intent == "back_payment"


async def test_how_much_after_the_years_short_stays_with_the_years(bot: Pipeline) -> None:
    await say(bot, "我今年58 男 交了10年医保 退休时不够咋办")
    await say(bot, "能一次性补吗")
    assert (await bot.respond("u", "要多少钱", today=TODAY)).intent == "contribution_years"


async def test_the_balance_after_a_move_then_how_long_is_the_moves_progress(
    bot: Pipeline,
) -> None:
    await say(bot, "我要从武汉转去长沙上班 医保咋弄")
    await say(bot, "余额会不会丢")
    assert (await bot.respond("u", "要多久", today=TODAY)).intent == "transfer_progress"


async def test_a_short_question_of_another_topic_keeps_the_persons_scheme(
    bot: Pipeline,
) -> None:
    today = date(2026, 12, 28)
    await say(bot, "灵活就业的这个月还没交 会断吗", today=today)
    answer = await say(bot, "几号截止", today=today)
    assert "灵活就业" in answer and "居民医保" not in answer


# -- #9: the number or day the user just gave is used ----------------------------------------


async def test_a_corrected_base_restates_the_amount(bot: Pipeline) -> None:
    await say(bot, "断了3个月补多少 滞纳金多少 在深圳")
    answer = await say(bot, "基数改成1万")
    assert f"补缴大约要{amount('深圳市', 3, Decimal(10000))}" in answer


async def test_a_rough_day_answers_the_question_when_it_will_be_paid(bot: Pipeline) -> None:
    await say(bot, "北京医保断了5个月 要补多少 基数7000")
    await say(bot, "那多久能恢复报销")
    answer = await bot.respond("u", "我下个月初补", today=TODAY)
    assert answer.intent == "lapse_effects" and "2027年2月1日" in answer.text


# -- #10: every question of a message is answered ----------------------------------------------


async def test_a_second_question_after_a_space_is_answered(bot: Pipeline) -> None:
    answer = await say(bot, "我在上海交的职工医保 要去北京了 医保咋转 顺便问下能给我妈用吗")
    assert "跨省" in answer and "家庭共济" in answer


async def test_a_question_of_the_same_topic_needing_no_detail_is_answered_now(
    bot: Pipeline,
) -> None:
    answer = await bot.respond("u", "医保余额怎么查？每个月打多少进去", today=TODAY)
    assert answer.asks == "base" and "医保电子凭证" in answer.text


async def test_a_corrected_route_answers_every_question_again(bot: Pipeline) -> None:
    await say(bot, "从苏州转到南京要多久？余额能转吗？")
    answer = await say(bot, "不对 是从苏州转到杭州")
    assert "杭州市" in answer and "跨省" in answer and "2026年12月9日" in answer


# -- #3: the day a transfer was applied for is kept for the transfer ---------------------------


async def test_the_application_day_is_kept_for_the_next_question(bot: Pipeline) -> None:
    await say(bot, "我上上周申请的转移 从昆明转到贵阳")
    answer = await bot.respond("u", "到现在都没动静", today=TODAY)
    assert answer.intent == "transfer_progress" and "2026-11-11" in answer.text


async def test_a_transfer_said_to_be_applied_for_asks_its_progress(bot: Pipeline) -> None:
    await say(bot, "医保转移")
    answer = await bot.respond("u", "我11月初申请的 从合肥转到武汉", today=TODAY)
    assert answer.intent == "transfer_progress" and "2026-11-01" in answer.text


# -- #11: a detail follow-up gets the part it asks about, not everything again ---------------


async def test_a_detail_the_last_answer_gave_is_picked_out(bot: Pipeline) -> None:
    full = await say(bot, "家庭共济怎么开通")
    answer = await say(bot, "能给孙子用吗")
    assert "孙子女" in answer and "回复1查看完整答复" in answer
    assert len(answer) < len(full) / 2


@pytest.mark.parametrize(
    ("first", "follow_up", "title"),
    [
        ("家庭共济怎么开通", "在支付宝能弄吗", "【办理步骤】"),
        ("从广州调去佛山，医保余额咋办", "那关系要转吗", "【办理步骤】"),
    ],
)
async def test_a_detail_in_a_section_gets_that_section(
    bot: Pipeline, first: str, follow_up: str, title: str
) -> None:
    await say(bot, first)
    assert (await say(bot, follow_up)).startswith(title)


async def test_a_section_the_last_topic_lacks_comes_from_the_topic_that_has_it(
    bot: Pipeline,
) -> None:
    await say(bot, "公司没给我交医保 断了3个月 能报销吗")
    answer = await say(bot, "公司的锅 需要带什么")
    assert "劳动合同" in answer


# --- qa4 #2: a province named with one of its own cities is not the other end of a move ------


@pytest.mark.parametrize(
    ("text", "origin", "destination"),
    [
        ("我在浙江宁波上班，医保怎么转到杭州", "宁波市", "杭州市"),
        ("辽宁鞍山的医保转到海口怎么办", "鞍山市", "海口市"),
    ],
)
async def test_a_province_refining_its_city_is_no_end_of_the_move(
    bot: Pipeline, text: str, origin: str, destination: str
) -> None:
    answer = await bot.respond("u", text, today=date(2026, 11, 25))
    assert f"{origin}转到{destination}" in answer.text or origin in answer.text
    assert "省转到" not in answer.text


# --- qa5: follow-ups that stay with the last topic; acknowledgements ------------------------


@pytest.mark.parametrize(
    ("first", "follow_up", "topic"),
    [
        # Pricing the years short with a base is the years' question (a number is one detail).
        ("退休了医保年限不够", "一次补齐要多少钱 按基数6000算", "contribution_years"),
        ("医保交了10年 退休够吗", "补齐差的年数要多少钱 基数5000", "contribution_years"),
        # Paying on after a lapse answer is the lapse's own question.
        ("医保断缴3个月了", "还能继续交吗", "lapse_effects"),
        ("灵活就业医保停了两个月有啥影响", "以后还能接着交吗", "lapse_effects"),
        # A delay after a transfer's progress is its progress.
        ("转移申请了十天了还没好", "会不会是国庆耽搁了", "transfer_progress"),
        ("从上海转到杭州三周了还没到账", "是不是过年耽误了", "transfer_progress"),
    ],
)
async def test_qa5_a_follow_up_stays_with_the_last_topic(
    bot: Pipeline, first: str, follow_up: str, topic: str
) -> None:
    await say(bot, first)
    assert (await bot.respond("u", follow_up, today=TODAY)).intent == topic


async def test_qa5_years_after_a_lapse_still_change_the_topic(bot: Pipeline) -> None:
    await say(bot, "医保断缴3个月了")
    answer = await bot.respond("u", "那要交多少年才能终身享受", today=TODAY)
    assert answer.intent == "contribution_years"


@pytest.mark.parametrize("text", ["嗯嗯", "收到", "ok", "好的", "明白了", "👌"])
async def test_qa5_an_acknowledgement_gets_a_short_friendly_word(bot: Pipeline, text: str) -> None:
    answer = await bot.respond("u", text, today=TODAY)
    assert answer.intent == "greeting"
    assert answer.text.startswith("好的") and "抱歉" not in answer.text and len(answer.text) < 30


async def test_qa5_thanks_still_get_you_are_welcome(bot: Pipeline) -> None:
    assert (await say(bot, "谢谢")).startswith("不客气")


# --- qa5 #3: a number wrapped as a follow-up ("那8000呢") is the same detail as a bare one -----


@pytest.mark.parametrize(
    ("first", "then", "expected"),
    [
        ("我月工资6000 每月个账打多少", "那8000呢", "按缴费基数8000元算"),
        ("深圳断缴4个月要补多少", "如果是6个月的话", "深圳市断缴6个月"),
        ("深圳断缴4个月要补多少", "那5个月呢", "深圳市断缴5个月"),
    ],
)
async def test_a_number_in_a_follow_up_replaces_the_last_one(
    bot: Pipeline, first: str, then: str, expected: str
) -> None:
    await bot.respond("n", first, today=date(2026, 11, 25))
    answer = await bot.respond("n", then, today=date(2026, 11, 25))
    assert answer.text.startswith(expected), answer.text[:80]
