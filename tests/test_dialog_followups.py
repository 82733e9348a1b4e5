"""Follow-ups that correct or complete the last answer, and what a new question inherits."""

from datetime import date
from decimal import Decimal

import pytest

from bot.dialog.render import MAX_BYTES
from bot.pipeline import Pipeline
from bot.policy import back_payment
from region_data.city_policy import default_city_policies

TODAY = date(2026, 11, 25)


async def say(bot: Pipeline, text: str, user: str = "u") -> str:
    return (await bot.respond(user, text, today=TODAY)).text


def amount(city: str, months: int, base: Decimal | None = None) -> str:
    result = back_payment(months, city=default_city_policies().city(city), base=base)
    assert result.amount is not None
    return result.amount.display


# -- 1. a detail sent after an answer computed on a default ----------------------------------


@pytest.mark.parametrize("detail", ["6000", "6000元", "6千", "基数6000", "按6000算"])
async def test_a_base_after_an_answer_on_the_city_default_recomputes_it(
    bot: Pipeline, detail: str
) -> None:
    default = amount("深圳市", 4)  # on the city's average wage (8000)
    assert default in await say(bot, "深圳断缴4个月要补多少")
    answer = await bot.respond("u", detail, today=TODAY)
    assert answer.intent == "back_payment"
    assert amount("深圳市", 4, Decimal("6000")) in answer.text
    assert default not in answer.text


@pytest.mark.parametrize("detail", ["5", "5个月", "五个月"])
async def test_months_after_a_back_payment_or_lapse_answer_are_its_months(
    bot: Pipeline, detail: str
) -> None:
    await say(bot, "深圳断缴4个月要补多少")
    assert amount("深圳市", 5) in await say(bot, detail)
    await say(bot, "深圳断了4个月有什么影响", user="l")
    lapse = await bot.respond("l", detail, today=TODAY)
    assert lapse.intent == "lapse_effects" and "断缴5个月" in lapse.text


async def test_a_date_after_a_timing_answer_is_the_date_it_counts_from(bot: Pipeline) -> None:
    await say(bot, "从福州转到北京要多久")
    answer = await bot.respond("u", "11月1日", today=TODAY)
    assert answer.intent == "transfer_progress" and "2026年11月1日" in answer.text


async def test_a_bare_number_is_read_only_as_what_it_can_plausibly_be(bot: Pipeline) -> None:
    # "15" after a question about years (which invited a base) is years, never a 15元 base.
    await say(bot, "我交了10年医保够吗")
    years = await say(bot, "15")
    assert "交的15年" in years and "15元" not in years
    # "6000" while the months are asked is no lapse of 6000 months: it is the base.
    assert "几个月" in await say(bot, "深圳补缴要多少钱", user="m")
    base = await say(bot, "6000", user="m")
    assert "6000个月" not in base
    await say(bot, "4个月", user="m")
    assert amount("深圳市", 4, Decimal("6000")) in await say(bot, "要多少钱", user="m")


async def test_a_bare_number_after_a_question_without_numbers_is_not_a_detail(
    bot: Pipeline,
) -> None:
    first = await say(bot, "福州转北京")
    again = await bot.respond("u", "6000", today=TODAY)
    assert "6000" not in again.text and not again.figures
    assert again.text != first or again.intent == "transfer"


# -- 2. what a new, self-contained question inherits -----------------------------------------


async def test_the_scheme_of_one_topic_does_not_carry_into_a_new_question(bot: Pipeline) -> None:
    await say(bot, "居民医保断缴了怎么办")
    moved = await bot.respond("u", "福州转北京", today=TODAY)
    assert moved.intent == "transfer"
    assert "居民医保的办法" not in moved.text and "职工医保的关系" in moved.text


async def test_the_scheme_carries_into_follow_ups_and_the_same_topic(bot: Pipeline) -> None:
    await say(bot, "福州居民医保转北京")
    assert "居民医保的办法" in await say(bot, "那上海呢")  # a follow-up inherits
    await say(bot, "居民医保断缴了怎么办", user="r")
    paid = await bot.respond("r", "补缴怎么交", today=TODAY)  # same family: back payment
    assert paid.intent == "back_payment" and "居民" in paid.text


async def test_places_still_carry_into_a_new_question(bot: Pipeline) -> None:
    await say(bot, "深圳断缴4个月要补多少")
    answer = await bot.respond("u", "医保一年最多报多少", today=TODAY)
    assert answer.intent == "reimbursement" and "深圳" in answer.text


# -- 3. "那…呢" about a person is a follow-up, not a request for a human -----------------------


@pytest.mark.parametrize("follow", ["那个人呢", "个人呢", "那我老婆呢", "那我爸呢"])
async def test_a_follow_up_about_a_person_re_asks_the_last_question(
    bot: Pipeline, follow: str
) -> None:
    await say(bot, "单位补缴怎么办")
    answer = await bot.respond("u", follow, today=TODAY)
    assert answer.intent == "back_payment"


@pytest.mark.parametrize("asking", ["转人工", "找客服", "人工服务", "那人工呢", "那客服电话呢"])
async def test_an_explicit_request_for_a_human_after_a_question_is_human(
    bot: Pipeline, asking: str
) -> None:
    await say(bot, "单位补缴怎么办")
    assert (await bot.respond("u", asking, today=TODAY)).intent == "human"


# -- 4. a city question answered with a name that is also a province --------------------------


async def test_a_province_name_answering_a_city_question_is_its_city_and_named(
    bot: Pipeline,
) -> None:
    assert "从哪个城市转出" in await say(bot, "医保转到北京")
    answer = await bot.respond("u", "吉林", today=TODAY)
    assert answer.intent == "transfer" and list(answer.cities) == ["吉林市"]
    assert "吉林市转到北京市" in answer.text  # the destination asked before is kept
    assert "“吉林”按吉林市理解" in answer.text  # said, so the user can correct it
    assert "哪个城市" in await say(bot, "医保封顶线多少", user="c")
    cap = await say(bot, "吉林", user="c")
    assert "“吉林”按吉林市理解" in cap


async def test_an_unambiguous_city_answer_gets_no_note(bot: Pipeline) -> None:
    await say(bot, "医保转到北京")
    assert "理解" not in await say(bot, "福州")
    await say(bot, "吉林医保怎么转到北京", user="p")  # no city question: the province stays
    assert "吉林市" not in await say(bot, "那上海呢", user="p")


# -- 5. two questions of one topic in one message ---------------------------------------------


@pytest.mark.parametrize(
    ("text", "first", "second"),
    [
        ("断缴了怎么补？补缴后多久能报销？", "能补", "恢复待遇"),
        ("福州转北京能转吗？要多久？", "跨省转移", "工作日"),
    ],
)
async def test_two_questions_of_one_topic_are_both_answered(
    bot: Pipeline, text: str, first: str, second: str
) -> None:
    answer = await say(bot, text)
    assert first in answer and second in answer
    assert answer.index(first) < answer.index(second)  # in the order asked
    assert len(answer.encode()) <= MAX_BYTES


async def test_a_question_back_in_a_two_question_reply_comes_last_and_is_answered(
    bot: Pipeline,
) -> None:
    answer = await bot.respond("u", "断缴了怎么补？补缴后多久能报销？", today=TODAY)
    assert answer.asks == "months"
    assert answer.text.index("能补") < answer.text.index("断了几个月")
    follow = await bot.respond("u", "5个月", today=TODAY)
    assert follow.intent == "lapse_effects" and "3到6个月" in follow.text
    # The question back belongs to the transfer answer, not to the timing one before it.
    both = await bot.respond("t", "能转吗？要多久？", today=TODAY)
    assert "工作日" in both.text and "医保可以转" in both.text and both.asks
    moved = await bot.respond("t", "福州转北京", today=TODAY)
    assert moved.intent == "transfer" and "福州市转到北京市" in moved.text


async def test_questions_of_different_topics_get_short_answers_in_order(bot: Pipeline) -> None:
    # QA3 #9: a question of another topic adds its short answer (no second set of sections).
    answer = await say(bot, "福州转北京要多久？断缴了怎么补？")
    assert answer.index("工作日") < answer.index("能补")
    assert len(answer.encode()) <= MAX_BYTES
