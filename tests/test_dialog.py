"""Conversations: asking for what is missing, numbered follow-ups, context, reset, limits."""

from datetime import date
from decimal import Decimal

import pytest

from bot.dialog.render import MAX_BYTES, Rendered, render_part, render_reply, templates
from bot.dialog.types import Part, Reply
from bot.pipeline import Pipeline
from bot.policy import (
    LapseCause,
    Scheme,
    back_payment,
    fmt_number,
    late_fee,
    reimbursement_cap,
)
from region_data.city_policy import default_city_policies

TODAY = date(2026, 11, 25)


async def say(bot: Pipeline, text: str, user: str = "u") -> str:
    return (await bot.respond(user, text, today=TODAY)).text


def shenzhen_amount(months: int, base: Decimal | None = None) -> str:
    result = back_payment(months, city=default_city_policies().city("深圳市"), base=base)
    assert result.amount is not None
    return result.amount.display


async def test_missing_months_is_asked_then_answered(bot: Pipeline) -> None:
    first = await bot.respond("u", "深圳医保补缴要多少钱", today=TODAY)
    assert first.intent == "back_payment"
    assert "几个月" in first.text
    second = await bot.respond("u", "4个月", today=TODAY)
    assert second.intent == "back_payment"
    assert shenzhen_amount(4) in second.text == (second.text)  # 3200.00–3840.00元
    assert "3200.00–3840.00元" in second.text


async def test_missing_city_is_asked_then_bare_city_answers(bot: Pipeline) -> None:
    first = await say(bot, "医保怎么转移")
    assert "哪个城市" in first
    second = await bot.respond("u", "福州转北京", today=TODAY)
    assert second.intent == "transfer"
    assert "福州市" in second.text and "北京市" in second.text and "跨省" in second.text


async def test_question_is_asked_only_once(bot: Pipeline) -> None:
    assert "几个月" in await say(bot, "补缴要多少钱")
    # The user ignores the question and asks about the amount again: answer generally.
    again = await say(bot, "补缴到底要多少钱")
    assert "几个月" not in again.splitlines()[0]


async def test_new_question_abandons_the_pending_one(bot: Pipeline) -> None:
    assert "几个月" in await say(bot, "补缴要多少钱")
    answer = await bot.respond("u", "医保卡的钱能取出来吗", today=TODAY)
    assert answer.intent == "withdraw"


async def test_a_new_question_on_the_same_topic_is_not_read_with_the_pending_one(
    bot: Pipeline,
) -> None:
    assert "哪个城市" in await say(bot, "医保卡超过封顶线了怎么办")
    answer = await bot.respond("u", "办理异地就医备案需要带医保卡吗", today=TODAY)
    assert answer.intent == "reimbursement"
    assert answer.text.startswith("去外地看病")  # the remote-treatment answer leads
    assert "封顶" not in answer.text  # the cap question was not answered instead
    # A bare city still answers the question we asked, read together with it.
    assert "哪个城市" in await say(bot, "医保卡超过封顶线了怎么办", user="v")
    assert "封顶" in await say(bot, "北京", user="v")


async def test_a_follow_up_asks_the_last_question_again_about_its_own_place(
    bot: Pipeline,
) -> None:
    first = await bot.respond("u", "深圳医保一年最多报多少", today=TODAY)
    assert first.intent == "reimbursement"
    beijing = await bot.respond("u", "那北京呢", today=TODAY)
    assert beijing.intent == "reimbursement"
    cap = reimbursement_cap(Scheme.EMPLOYEE, city=default_city_policies().city("北京市"))
    assert cap.amount is not None and cap.provenance[0].kind == "city"
    assert f"{fmt_number(cap.amount / 10000)}万元" in beijing.text  # 北京's own cap
    # A follow-up naming one end of a move keeps the other end and the question (how long).
    await say(bot, "从福州转到北京要多久", user="t")
    again = await bot.respond("t", "那转到上海呢", today=TODAY)
    assert again.intent == "transfer_progress" and "从福州市转出" in again.text
    # Clear words of another topic change it: "那补缴呢" after a lapse question.
    await say(bot, "深圳断了4个月有什么影响", user="l")
    assert (await bot.respond("l", "那补缴呢", today=TODAY)).intent == "back_payment"


async def test_a_short_number_after_a_question_is_a_detail_of_it(bot: Pipeline) -> None:
    await say(bot, "深圳医保一年最多报多少")
    answer = await bot.respond("u", "我刚参保3个月", today=TODAY)  # not a lapse of 3 months
    assert answer.intent == "reimbursement"
    cap = reimbursement_cap(
        Scheme.EMPLOYEE, city=default_city_policies().city("深圳市"), continuous_months=3
    )
    assert cap.amount is not None
    assert f"{fmt_number(cap.amount / 10000)}万元" in answer.text


async def test_personal_numbers_in_a_message_get_a_privacy_note(bot: Pipeline) -> None:
    note = render_part(Part("common/privacy_note"))
    answer = await say(bot, "我身份证号是350102199001011234帮我查下医保余额")
    assert note in answer and "350102199001011234" not in answer
    assert note in await say(bot, "我电话13812345678，医保断了怎么办", user="p")
    assert note not in await say(bot, "医保断了3个月怎么办", user="q")


async def test_late_fee_follow_up_uses_the_same_arrears(bot: Pipeline) -> None:
    await say(bot, "深圳断了4个月 补缴多少钱")
    ask = await bot.respond("u", "滞纳金呢?", today=TODAY)
    assert ask.intent == "back_payment" and "多少天" in ask.text
    answer = await say(bot, "30天")
    # The arrears are a range (the rate is 10%–12%), and so is the fee: both ends, not one.
    low = late_fee(Decimal("3200"), 30, LapseCause.UNKNOWN).display
    high = late_fee(Decimal("3840"), 30, LapseCause.UNKNOWN).display
    assert (low, high) == ("48.00元", "57.60元")
    assert f"{low.removesuffix('元')}–{high}" in answer


async def test_late_fee_without_a_city_base_asks_for_it_then_uses_it(bot: Pipeline) -> None:
    first = await say(bot, "灵活就业断缴3个月，滞纳金怎么算")
    assert "断了几个月" not in first  # the months were given
    assert "缴费基数" in first and first.count("基数") <= 3
    await say(bot, "在广州")
    assert "逾期多少天" in await say(bot, "基数5000")
    answer = await say(bot, "60天")
    low = late_fee(Decimal("1500"), 60, LapseCause.UNKNOWN).display
    high = late_fee(Decimal("1800"), 60, LapseCause.UNKNOWN).display
    assert f"{low.removesuffix('元')}–{high}" in answer  # 45.00–54.00元


async def test_an_invited_detail_is_read_with_the_question_it_completes(bot: Pipeline) -> None:
    # The answer invites the payment date ("告诉我补缴的日期…") without asking outright.
    assert "日期" in await say(bot, "深圳医保断了2个月，住院还能报吗")
    answer = await bot.respond("u", "12月1日补缴", today=TODAY)
    assert answer.intent == "lapse_effects"
    assert "2026年12月1日补缴" in answer.text and "恢复" in answer.text
    # A city given while the bot waits for the base keeps the question open.
    assert "基数" in await say(bot, "我每月医保划入多少", user="b")
    await say(bot, "北京", user="b")
    assert "120.00元" in await say(bot, "6000", user="b")  # 6000 × 2%


async def test_after_a_transfer_answer_how_long_is_progress_for_the_same_places(
    bot: Pipeline,
) -> None:
    await say(bot, "南京的医保转到上海")
    answer = await bot.respond("u", "那要多久?", today=TODAY)
    assert answer.intent == "transfer_progress"
    assert "南京市" in answer.text  # the origin's own timing is used


async def test_reset_clears_the_conversation(bot: Pipeline) -> None:
    assert "几个月" in await say(bot, "补缴要多少钱")
    assert "重新开始" in await say(bot, "重新开始")
    answer = await bot.respond("u", "4个月", today=TODAY)
    assert answer.intent != "back_payment"  # nothing pending any more


async def test_two_users_do_not_share_state(bot: Pipeline) -> None:
    assert "几个月" in await say(bot, "深圳补缴要多少钱", user="a")
    answer = await bot.respond("b", "4个月", today=TODAY)
    assert "3200.00" not in answer.text


def test_long_reply_moves_sections_behind_a_numbered_menu() -> None:
    long_steps = tuple(Part("explain/paid_money_kept") for _ in range(30))
    reply = Reply(
        answer=(Part("explain/balance_moves"),),
        steps=long_steps,
        materials=(Part("transfer/materials"),),
    )
    rendered = render_reply(reply)
    assert len(rendered.text.encode()) <= MAX_BYTES
    assert "回复1查看办理步骤" in rendered.text and "回复2查看所需材料" in rendered.text
    assert set(rendered.followups) == {"1", "2"}
    assert all(len(t.encode()) <= MAX_BYTES for t in rendered.followups.values())


async def test_numbered_follow_up_is_served_next_message(bot: Pipeline) -> None:
    from bot.dialog.state import load_state, save_state

    state = await load_state(bot.storage, "u")
    state.followups = {"1": "【办理步骤】\n第一步", "2": "【所需材料】\n身份证"}
    state.last_intent = "transfer"
    await save_state(bot.storage, "u", state, 60)
    assert (await say(bot, "2")).startswith("【所需材料】")
    assert (await say(bot, "1")).startswith("【办理步骤】")


async def test_real_long_answer_offers_its_sections(bot: Pipeline) -> None:
    """Whatever answer is long enough to be split must make its numbers work."""
    for question in (
        "南京医保转到上海要多久",
        "深圳断了4个月 补缴多少钱",
        "医保怎么转移 福州转北京",
    ):
        answer = await say(bot, question, user=question)
        assert len(answer.encode()) <= MAX_BYTES
        if "回复1" in answer:
            follow = await say(bot, "1", user=question)
            assert follow.startswith("【")


def test_every_template_block_is_valid_and_renders() -> None:
    """Every block parses, and filled with its own field names renders without leftovers."""
    for key, template in templates().items():
        assert template.is_valid(), key
        sample = {name: f"<{name}>" for name in template.get_identifiers()}
        text = template.substitute(sample)
        assert "${" not in text and "$" not in text.replace("<", "").replace(">", ""), key
        assert text.strip(), key
        assert len(text.encode()) <= MAX_BYTES, key


def test_rendered_type() -> None:
    assert isinstance(render_reply(Reply(answer=(Part("common/reset"),))), Rendered)


async def test_asked_for_section_comes_right_after_the_answer(bot: Pipeline) -> None:
    answer = await say(bot, "无锡医保关系转出需要什么材料")
    lines = answer.splitlines()
    materials_at = next(i for i, line in enumerate(lines) if line.startswith("【所需材料】"))
    assert materials_at < next(i for i, line in enumerate(lines) if "以上为一般规定" in line)


async def test_lapse_question_is_answered_before_asking_for_months(bot: Pipeline) -> None:
    answer = await bot.respond("u", "断缴期间看病能报销吗", today=TODAY)
    assert answer.intent == "lapse_effects"
    assert answer.text.startswith("断缴的次月起暂停报销待遇")
    assert "断了几个月" in answer.text
    follow = await bot.respond("u", "5个月", today=TODAY)
    assert follow.intent == "lapse_effects" and "3到6个月" in follow.text


async def test_a_failing_handler_costs_one_answer_not_the_conversation(
    bot: Pipeline, monkeypatch
) -> None:
    import dataclasses

    import intents

    async def broken(turn):
        raise RuntimeError("bug")

    original = intents.BY_ID["withdraw"]
    monkeypatch.setitem(intents.BY_ID, "withdraw", dataclasses.replace(original, handler=broken))
    answer = await bot.respond("u", "医保卡的钱能取出来吗", today=TODAY)
    assert "12393" in answer.text  # the fallback, not a traceback
    assert (await bot.respond("u", "你好", today=TODAY)).intent == "greeting"


async def test_a_number_picks_from_the_menu(bot: Pipeline) -> None:
    assert "医保小助手" in await say(bot, "你好")
    picked = await bot.respond("u", "3", today=TODAY)
    assert picked.intent == "back_payment"
    # The menu is used once: a later bare number is not read as a menu pick.
    assert "3个月" not in (await say(bot, "谢谢"))


def test_state_json_round_trips_every_field() -> None:
    import dataclasses

    from bot.dialog.state import ConversationState

    full = ConversationState(
        last_intent="transfer",
        slots={"city": "福州市"},
        pending_intent="transfer",
        pending_slot="destination",
        pending_text="医保怎么转",
        asked=["destination"],
        followups={"1": "x"},
        choices={"1": "y"},
        last_text="从福州转到北京要多久",
    )
    data = full.to_json()
    assert set(data) == {f.name for f in dataclasses.fields(ConversationState)}
    assert ConversationState.from_json(data) == full


@pytest.mark.parametrize(
    ("text", "block"),
    [("???", "out_of_scope/unreadable"), ("   ", "out_of_scope/unreadable"),
     ("what is the deadline", "out_of_scope/not_chinese")],
)  # fmt: skip
async def test_unreadable_input_is_asked_again_not_refused(
    bot: Pipeline, text: str, block: str
) -> None:
    answer = await say(bot, text)
    assert answer.startswith(render_part(Part(block)).splitlines()[0])
    assert render_part(Part("out_of_scope/unknown")).splitlines()[0] not in answer


async def test_a_short_clear_question_of_another_topic_is_not_taken_as_the_answer(
    bot: Pipeline,
) -> None:
    assert "哪个城市" in await say(bot, "医保封顶线多少")
    moved = await bot.respond("u", "从福州转到北京", today=TODAY)  # names a city, asks a move
    assert moved.intent == "transfer" and "福州市转到北京市" in moved.text
    assert "几个月" in await say(bot, "补缴要多少钱", user="v")
    effects = await bot.respond("v", "断了4个月有什么影响", today=TODAY)
    assert effects.intent == "lapse_effects"
    # The same family still answers: "12月1日补缴" is the date the lapse answer invited.
    await say(bot, "深圳医保断了2个月，住院还能报吗", user="w")
    assert (await bot.respond("w", "12月1日补缴", today=TODAY)).intent == "lapse_effects"


async def test_personal_numbers_are_never_slots_and_keep_the_question(bot: Pipeline) -> None:
    assert "几个月" in await say(bot, "补缴要多少钱")
    phone = await say(bot, "13812345678")
    assert phone == render_part(Part("common/privacy_note"))
    assert "13812345678" not in phone
    answer = await say(bot, "4个月")  # the months question was still open
    assert "4个月" in answer and "13812345678" not in answer
    card = await say(bot, "北京补缴3个月要多少钱，卡号6222021234567890123", user="c")
    assert "6222021234567890123" not in card and "1866606" not in card


@pytest.mark.parametrize(
    ("text", "block"),
    [("👋", "greeting/menu"), ("😊😊", "greeting/menu"), ("🙏", "greeting/thanks"),
     ("🌹🌹", "greeting/thanks")],
)  # fmt: skip
async def test_emoji_that_greet_or_thank_get_the_greeting_reply(
    bot: Pipeline, text: str, block: str
) -> None:
    answer = await bot.respond("u", text, today=TODAY)
    assert answer.intent == "greeting"
    assert answer.text.startswith(render_part(Part(block)).splitlines()[0])


@pytest.mark.parametrize("text", ["😭😭", "🐶🐱", "？？？"])
async def test_other_emoji_and_punctuation_stay_unreadable(bot: Pipeline, text: str) -> None:
    assert (await say(bot, text)).startswith(render_part(Part("out_of_scope/unreadable"))[:8])


@pytest.mark.parametrize("follow_up", ["那给我爸用呢", "给老婆用可以吗", "那给家里人用呢"])
async def test_giving_the_balance_to_family_after_a_withdrawal_is_family_sharing(
    bot: Pipeline, follow_up: str
) -> None:
    await say(bot, "医保个人账户的钱能取出来吗")
    assert (await bot.respond("u", follow_up, today=TODAY)).intent == "family_share"


async def test_unreadable_input_keeps_the_pending_question(bot: Pipeline) -> None:
    assert "从哪个城市转出" in await say(bot, "医保转到北京")
    assert (await say(bot, "???")).startswith("没看明白")
    answer = await say(bot, "福州")
    assert "福州市转到北京市" in answer


async def test_a_weak_place_name_after_na_is_the_follow_up_place(bot: Pipeline) -> None:
    await say(bot, "北京住院能报多少")
    answer = await bot.respond("u", "那开封呢", today=TODAY)
    assert answer.intent == "reimbursement" and list(answer.cities) == ["开封市"]
    assert "北京市" not in answer.text


async def test_a_follow_up_keeps_its_topic_when_the_last_text_names_another(
    bot: Pipeline,
) -> None:
    await say(bot, "南京居民医保断了半年")
    await say(bot, "12月1日补缴")  # answers the lapse question's invitation
    answer = await bot.respond("u", "那北京呢", today=TODAY)
    assert answer.intent == "lapse_effects"  # not back_payment, though 补缴 was said


async def test_greetings_and_off_topic_turns_pass_without_changing_the_topic(
    bot: Pipeline,
) -> None:
    await say(bot, "从福州转到北京")
    await say(bot, "你好")
    answer = await bot.respond("u", "那上海呢", today=TODAY)  # a move again, 福州 → 上海
    assert answer.intent == "transfer" and "福州市转到上海市" in answer.text
    await say(bot, "北京补缴3个月要多少钱", user="w")
    await say(bot, "今天天气怎么样", user="w")
    assert "上海市断缴3个月" in await say(bot, "那上海呢", user="w")
    await say(bot, "谢谢", user="w")
    base = Decimal("6000")
    amount = back_payment(3, city=default_city_policies().city("上海市"), base=base).amount
    assert amount is not None and amount.display in await say(bot, "6000", user="w")


async def test_a_place_alone_with_no_conversation_is_asked_about(bot: Pipeline) -> None:
    answer = await say(bot, "那北京呢")
    assert answer.startswith("你想问北京市医保的哪方面")
    assert "超出了我的范围" in await say(bot, "北京明天天气怎么样", user="w")
