"""QA round 3: follow-ups that pick a facet, keep a thread, correct a detail or add a place."""

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


def amount(city: str | None, months: int, base: Decimal | None = None) -> str:
    policy = default_city_policies().city(city) if city else None
    result = back_payment(months, city=policy, base=base)
    assert result.amount is not None
    return result.amount.display


# -- #1: a facet word too weak to stand alone picks its sibling of the same family ------------


@pytest.mark.parametrize("follow_up", ["要多久", "那要多久", "要几天"])
async def test_how_long_after_a_transfer_answer_is_its_progress(
    bot: Pipeline, follow_up: str
) -> None:
    await say(bot, "我从福州调到北京工作，医保怎么转")
    answer = await bot.respond("u", follow_up, today=TODAY)
    assert answer.intent == "transfer_progress"
    assert "从福州市转出" in answer.text and "2026年12月9日" in answer.text


async def test_a_detail_follow_up_asks_the_same_question_again(bot: Pipeline) -> None:
    await say(bot, "深圳断了4个月补多少")
    answer = await bot.respond("u", "那如果是6个月呢", today=TODAY)
    assert answer.intent == "back_payment" and amount("深圳市", 6) in answer.text


# -- #6: a place in a follow-up keeps the progress thread -------------------------------------


async def test_a_route_after_a_progress_answer_keeps_its_date_and_facet(bot: Pipeline) -> None:
    await say(bot, "我上周申请的医保转移，什么时候能好")
    answer = await bot.respond("u", "从郑州转到杭州", today=TODAY)
    assert answer.intent == "transfer_progress"
    assert "2026-11-18" in answer.text and "郑州" in answer.text


async def test_a_follow_up_naming_one_end_of_the_move_keeps_the_move(bot: Pipeline) -> None:
    await say(bot, "从南京转到合肥，余额啥时候到")
    answer = await say(bot, "那南京的规定呢")
    assert "同一个城市" not in answer and "30个工作日" in answer


# -- #7: corrections keep what was known ------------------------------------------------------


async def test_a_corrected_destination_keeps_the_origin(bot: Pipeline) -> None:
    await say(bot, "我想把医保从苏州转到无锡，余额会转吗")
    answer = await say(bot, "不对，是转到上海")
    assert "苏州市转到上海市" in answer and "跨省" in answer


@pytest.mark.parametrize("correction", ["基数改成10000", "不对，基数是10000", "改成10000"])
async def test_a_corrected_base_is_used(bot: Pipeline, correction: str) -> None:
    await say(bot, "深圳断了4个月补多少")
    await say(bot, "那如果是6个月呢")
    assert amount("深圳市", 6, Decimal("10000")) in await say(bot, correction)


# -- #8: a province at one end of a move is kept and named ------------------------------------


async def test_a_province_answering_where_is_kept_as_an_end(bot: Pipeline) -> None:
    await say(bot, "医保怎么转")
    assert "四川省" in await say(bot, "四川")
    answer = await say(bot, "转到重庆")
    assert "四川省转到重庆市" in answer and "跨省" in answer


async def test_a_province_named_as_the_origin_is_kept(bot: Pipeline) -> None:
    answer = await say(bot, "我在吉林交的医保，现在去长春工作了，怎么转")
    # 吉林 beside 长春 is the city 吉林市: a province is never an end of a move into its own city.
    assert "吉林市转到长春市" in answer and "省内" in answer


async def test_a_bare_province_after_an_answer_about_a_place_is_read_as_its_city(
    bot: Pipeline,
) -> None:
    await say(bot, "住院报销比例多少")
    assert "吉林市" in await say(bot, "吉林")


# -- #9: several questions in one message -----------------------------------------------------


async def test_comma_joined_questions_get_both_answers(bot: Pipeline) -> None:
    answer = await say(bot, "深圳断了4个月补多少，补了多久能报销")
    assert amount("深圳市", 4) in answer and "等待" in answer
    assert len(answer.encode()) <= MAX_BYTES


async def test_a_question_of_another_topic_gets_its_short_answer(bot: Pipeline) -> None:
    answer = await say(bot, "医保转移要多久？能取现吗？")
    assert "工作日" in answer and "一般不能" in answer
    assert len(answer.encode()) <= MAX_BYTES


async def test_a_question_about_another_place_gets_its_answer(bot: Pipeline) -> None:
    answer = await say(bot, "深圳断了4个月要补多少？北京呢")
    assert amount("深圳市", 4) in answer and "北京市" in answer
    assert len(answer.encode()) <= MAX_BYTES


# -- #10: a bare number after a lapse answer --------------------------------------------------


async def test_a_base_after_a_lapse_answer_prices_the_back_payment(bot: Pipeline) -> None:
    await say(bot, "深圳断了4个月，补了多久能报销")
    answer = await bot.respond("u", "6000", today=TODAY)
    assert answer.intent == "back_payment"
    assert amount("深圳市", 4, Decimal("6000")) in answer.text


# -- #20: a detail follow-up gets that part of the answer -------------------------------------


@pytest.mark.parametrize(
    ("first", "detail", "title", "left_out"),
    [
        ("我要出国定居了，医保卡里的钱能取吗", "需要什么材料", "【所需材料】", "永久居留权"),
        ("我爸妈的医保能用我的医保卡吗", "怎么绑定", "【办理步骤】", "谁能用"),
    ],
)
async def test_a_detail_follow_up_gets_only_that_section(
    bot: Pipeline, first: str, detail: str, title: str, left_out: str
) -> None:
    await say(bot, first)
    answer = await say(bot, detail)
    assert answer.startswith(title) and left_out not in answer
    assert "回复1查看完整答复" in answer
    assert left_out in await say(bot, "1")


# -- #22: a city given instead of the asked months keeps the question -------------------------


async def test_a_city_instead_of_the_months_is_used_and_the_months_asked_again(
    bot: Pipeline,
) -> None:
    await say(bot, "医保断缴了要补多少钱")
    answer = await bot.respond("u", "深圳", today=TODAY)
    assert answer.asks == "months" and "深圳市" in answer.text
    assert amount("深圳市", 5) in await say(bot, "5个月")
