"""QA round 5, findings 4, 6, 9 and 10 (handler side): when a remote-treatment filing takes
effect (#4); a failed transfer and paying back for continuity answered first (#9); 郑州's
"余额转移至省医保约需3个月" only for a move inside 河南 (#6); a province and its namesake city
as the two ends of a move inside one province (#10).
"""

from __future__ import annotations

import pytest

from bot.pipeline import Pipeline
from tests.conversation import chat, head

# --- #4 when a filing takes effect -------------------------------------------------------------


@pytest.mark.parametrize(
    "turns",
    [
        ("异地就医要备案吗", "备案完要多久生效"),
        ("异地备案几天能用",),
        ("异地就医备案什么时候生效",),
    ],
)
async def test_filing_takes_effect(bot: Pipeline, turns: tuple[str, ...]) -> None:
    answer = (await chat(bot, *turns))[-1]
    first = head(answer)
    assert first.startswith("异地就医备案多久生效")
    assert "当天" in first
    assert "1到2个工作日" in first
    assert "约15个工作日" not in answer.text  # claim payout times were not asked


async def test_claim_timing_still_answered(bot: Pipeline) -> None:
    (answer,) = await chat(bot, "异地报销的钱多久到账")
    assert "报销多久到账" in answer.text


# --- #9 answer first -------------------------------------------------------------------------


@pytest.mark.parametrize("message", ["医保转移失败了咋回事", "医保转不了是什么原因"])
async def test_failed_transfer_leads_with_reasons(bot: Pipeline, message: str) -> None:
    (answer,) = await chat(bot, message)
    first = answer.text.splitlines()[0]
    assert not first.startswith("医保可以转")
    for reason in ("填错", "停保", "欠费", "没正常参保"):
        assert reason in first


async def test_paying_back_restores_continuity_long_gap(bot: Pipeline) -> None:
    answers = await chat(bot, "交了10年医保断了一年 之前的白交了吗", "补上能连续吗")
    text = answers[1].text
    first = text.splitlines()[0]
    assert "允许补缴的期限内" in first and "不算中断" in first
    assert "重新参保" in first
    assert not first.startswith("能补")
    # The amount for 12 months is only "if allowed", never stated as a plain fact.
    assert "如果当地允许补这12个月" in text


async def test_paying_back_restores_continuity_short_gap(bot: Pipeline) -> None:
    (answer,) = await chat(bot, "断了2个月 补上能连续吗")
    assert answer.text.startswith("能连上")
    assert "如果当地允许" not in answer.text


# --- #6 a city's own timing only for the case it describes ----------------------------------


async def test_zhengzhou_three_months_not_for_cross_province(bot: Pipeline) -> None:
    answers = await chat(bot, "我从郑洲调到苏州昆山上班 医保咋转", "要多久")
    text = answers[1].text
    assert "3个月" not in text
    assert "省医保" not in text
    assert "2026年12月16日" in text  # the national 15 working days


async def test_zhengzhou_three_months_inside_henan(bot: Pipeline) -> None:
    (answer,) = await chat(bot, "郑州转到洛阳 医保余额多久到账")
    assert "3个月" in answer.text


# --- #10 a province and its namesake city ---------------------------------------------------


async def test_province_to_its_namesake_city_is_intra_province(bot: Pipeline) -> None:
    answers = await chat(bot, "吉林转到吉林市要咋弄", "要多久")
    first = answers[0].text
    assert "省内转移" in head(answers[0])
    assert "跨省转移接续申请" not in first
    assert "余额随人转" not in first
    assert "从哪个城市转出" not in first
    assert "省内转移" in answers[1].text
