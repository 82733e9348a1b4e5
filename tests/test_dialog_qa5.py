"""QA round 5: a follow-up naming a way to pay keeps the last topic, a timing follow-up is
answered by the last topic's own family, and "那医保呢" after a question about another
insurance asks that question about 医保."""

from datetime import date

import pytest

from bot.pipeline import Pipeline

TODAY = date(2026, 11, 25)


async def say(bot: Pipeline, text: str, user: str = "u", today: date = TODAY) -> str:
    return (await bot.respond(user, text, today=today)).text


# -- #1: "支付宝行不行" after a back payment is paying it by 支付宝, not a withdrawal ----------


@pytest.mark.parametrize("follow_up", ["支付宝行不行", "微信可以吗", "网上行不行", "线上可以吗"])
async def test_a_way_to_pay_keeps_the_back_payment(bot: Pipeline, follow_up: str) -> None:
    await say(bot, "医保补缴可以在网上补吗")
    answer = await bot.respond("u", follow_up, today=TODAY)
    assert answer.intent == "back_payment"
    assert "不能" not in answer.text and "零钱" not in answer.text


async def test_a_way_after_a_withdrawal_stays_a_withdrawal(bot: Pipeline) -> None:
    await say(bot, "医保卡的钱能取出来吗")
    assert (await bot.respond("u", "微信可以吗", today=TODAY)).intent == "withdraw"


# -- #2: "要多久到账" after a back payment is when it shows and cover resumes --------------


async def test_how_long_after_a_back_payment_is_not_a_transfer(bot: Pipeline) -> None:
    await say(bot, "医保补交能用微信交吗")
    answer = await bot.respond("u", "要多久到账", today=TODAY)
    assert answer.intent in ("back_payment", "lapse_effects")
    assert "转出地" not in answer.text and "次月" in answer.text


async def test_how_long_after_a_transfer_is_still_its_progress(bot: Pipeline) -> None:
    await say(bot, "从福州转到北京")
    assert (await bot.respond("u", "要多久到账", today=TODAY)).intent == "transfer_progress"


# -- #8: "那医保呢" after a question about another insurance asks it about 医保 -----------


async def test_yibao_after_a_pension_question_asks_it_about_yibao(bot: Pipeline) -> None:
    await say(bot, "养老保险每月能领多少")
    answer = await bot.respond("u", "那医保呢", today=TODAY)
    assert answer.intent == "balance"
    assert "你想问医保的哪方面" not in answer.text


async def test_yibao_alone_without_an_other_insurance_question_is_still_unclear(
    bot: Pipeline,
) -> None:
    await say(bot, "今天天气怎么样")
    answer = await bot.respond("u", "那医保呢", today=TODAY)
    assert answer.intent == "out_of_scope"


async def test_a_how_long_question_beside_a_back_payment_gets_no_transfer_timetable(
    bot: Pipeline,
) -> None:
    answer = await bot.respond(
        "aside", "医保补交能用微信交吗 要多久到账", today=date(2026, 11, 25)
    )
    assert "转出地" not in answer.text and "全流程" not in answer.text
    assert "补缴" in answer.text.split("\n")[0]
