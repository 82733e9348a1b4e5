"""Group answers from the dialogue layer: compact, ending with the invitation, nothing private."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import date
from decimal import Decimal

import pytest

from bot.dialog.compact import COMPACT_LIMIT, render_compact
from bot.dialog.render import render_part
from bot.dialog.types import Figure, Part, Reply
from bot.pipeline import Pipeline
from bot.settings import Settings
from bot.storage import MemoryStorage

TODAY = date(2026, 11, 25)
INVITE = render_part(Part("group/invite"))
ID_NUMBER = "110101199003074477"
PHONE = "13812345678"


@pytest.fixture
async def pipeline() -> AsyncIterator[Pipeline]:
    storage = MemoryStorage()
    yield Pipeline(Settings(), storage)
    await storage.close()


async def group(pipeline: Pipeline, user: str, text: str) -> str:
    answer = await pipeline.respond(user, text, today=TODAY, channel="group")
    assert len(answer.text) <= COMPACT_LIMIT, answer.text
    assert answer.figures == ()  # their bases would carry the asker's own numbers
    return answer.text


def numbers(text: str) -> set[Decimal]:
    return {Decimal(n.replace(",", "")) for n in re.findall(r"\d+(?:,\d{3})*(?:\.\d+)?", text)}


async def test_long_answer_becomes_conclusion_figure_and_invitation(pipeline: Pipeline) -> None:
    full = (await pipeline.respond("p", "深圳断了4个月 补缴多少钱", today=TODAY)).text
    text = await group(pipeline, "g", "深圳断了4个月 补缴多少钱")
    assert len(full) > COMPACT_LIMIT  # the private answer has steps, materials, sources…
    assert "【办理步骤】" not in text
    assert text.endswith(INVITE)
    # Not derived from anybody's own amount, so the general figure is shown as it is.
    assert "3200.00–3840.00元" in text


async def test_own_base_and_everything_computed_from_it_stay_out(pipeline: Pipeline) -> None:
    text = await group(pipeline, "g", "武汉基数6000断缴3个月补缴多少钱")
    private = (await pipeline.respond("p", "武汉基数6000断缴3个月补缴多少钱", today=TODAY)).text
    assert "1800.00–2160.00元" in private  # what the private chat says: 6000 × 3 × 10%–12%
    assert not numbers(text) & {Decimal(6000), Decimal(1800), Decimal(2160)}
    assert "缴费基数 × 3个月 × 10%–12%" in text  # the rule, not the person's figure
    assert text.endswith(INVITE)


async def test_typed_arrears_id_and_phone_never_echoed(pipeline: Pipeline) -> None:
    first = await group(
        pipeline, "g", f"我身份证{ID_NUMBER} 手机{PHONE} 断缴3个月 欠了2300元滞纳金多少"
    )
    second = await group(pipeline, "g", "30天")
    for text in (first, second):
        assert ID_NUMBER not in text and PHONE not in text
        assert not numbers(text) & {Decimal(2300), Decimal("34.50")}
    assert "欠费金额 × 0.05%/天 × 30天" in second


async def test_remembered_base_stays_private_in_later_answers(pipeline: Pipeline) -> None:
    assert "几个月" in await group(pipeline, "g", "补缴要多少钱")
    assert "私聊" in await group(pipeline, "g", "4个月")  # asks for the base in private, not here
    text = await group(pipeline, "g", "基数8000")
    assert not numbers(text) & {Decimal(8000), Decimal(3200), Decimal(3840)}
    assert "缴费基数 × 4个月" in text


async def test_question_back_asks_for_a_mention_and_no_invitation(pipeline: Pipeline) -> None:
    answer = await pipeline.respond("g", "补缴要多少钱", today=TODAY, channel="group")
    assert answer.asks == "months"
    assert "@我" in answer.text and INVITE not in answer.text


async def test_reminders_point_to_the_private_chat(pipeline: Pipeline) -> None:
    text = await group(pipeline, "g", "提醒我按时交医保")
    assert "私聊" in text
    assert await pipeline.storage.get("sub:g") is None  # nothing recorded for a group member


async def test_focus_section_leads_when_asked_for(pipeline: Pipeline) -> None:
    text = await group(pipeline, "g", "补缴医保需要带哪些材料")
    assert text.startswith("【所需材料】")


def test_personal_figure_shows_its_formula_not_its_value() -> None:
    figure = Figure("monthly_credit", "每月划入", "240.00元", "12000元 × 2%", "national")
    reply = Reply(answer=(Part("common/fallback"),), figures=(figure,))
    text = render_compact(reply, {Decimal(12000): "缴费基数"}).text
    assert "240.00" not in text and "12000" not in text
    assert "· 每月划入 = 缴费基数 × 2%（估算）" in text


def test_parts_mentioning_a_derived_value_are_left_out() -> None:
    figure = Figure("late_fee", "滞纳金", "34.50元", "2300元 × 0.05%/天 × 30天", "national")
    reply = Reply(
        answer=(Part("back_payment/late_fee", {"fee_text": "2300.00元欠费逾期30天约34.50元"}),),
        figures=(figure,),
    )
    text = render_compact(reply, {Decimal(2300): "欠费金额"}).text
    assert "34.50" not in text and "2300" not in text
    assert "欠费金额 × 0.05%/天 × 30天" in text


def test_never_exceeds_the_limit_with_long_parts() -> None:
    figure = Figure("x", "标签" * 80, "1元", "说明", "city")
    text = render_compact(Reply(answer=(Part("group/hello"),) * 20, figures=(figure,))).text
    assert len(text) <= COMPACT_LIMIT
    assert text.endswith(INVITE)
