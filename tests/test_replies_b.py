"""Replies of withdraw, family_share, balance, contribution_years, payment and reimbursement.

Driven through the real pipeline as a user would type. Expected figures are computed here from
the policy functions (never copied from a reply), so a change in the rules or the data shows up
as a changed reply, not as a stale test.
"""

from __future__ import annotations

import string
from datetime import date
from decimal import Decimal

import pytest

from bot.dialog.context import Context
from bot.dialog.figures import fmt_date
from bot.dialog.manager import Dialog
from bot.dialog.render import MAX_BYTES, render_part, templates
from bot.dialog.types import Answer, Part
from bot.nlu.understand import NLU
from bot.pipeline import Pipeline
from bot.policy import (
    CityPolicy,
    Condition,
    MemberStatus,
    Scheme,
    Sex,
    WithdrawalCase,
    contribution_years_shortfall,
    fmt_number,
    monthly_account_credit,
    newborn_enrolment,
    next_deadline,
    next_monthly_due,
    reimbursement_cap,
    withdrawal_eligibility,
)
from bot.policy import Material as WithdrawalMaterial
from bot.storage import open_storage
from region_data.city_policy import default_city_policies, parse_city_policies

TODAY = date(2026, 11, 25)
FILES = ("withdraw", "family_share", "balance", "contribution_years", "payment", "reimbursement")
ESTIMATE_NOTE = render_part(Part("common/estimate_note"))


def city(name: str) -> CityPolicy | None:
    return default_city_policies().city(name)


def block(key: str, **fields: object) -> str:
    return render_part(Part(key, fields))


def wan(amount: Decimal) -> str:
    return f"{fmt_number(amount / 10000)}万元"


async def ask(pipeline: Pipeline, user: str, text: str, intent: str | None = None) -> Answer:
    """One message; every reply must fit one WeChat message and have no unfilled field."""
    answer = await pipeline.respond(user, text, today=TODAY)
    assert len(answer.text.encode("utf-8")) <= MAX_BYTES, answer.text
    assert "${" not in answer.text, answer.text
    if intent is not None:
        assert answer.intent == intent, (text, answer.intent)
    return answer


def figure_names(answer: Answer) -> set[str]:
    return {f["name"] for f in answer.figures}


# --- withdraw ---------------------------------------------------------------------------------


async def test_withdraw_death_lists_heirs_materials_and_city(pipeline: Pipeline) -> None:
    answer = await ask(pipeline, "w1", "北京 我爸去世了 医保卡里的钱能取吗", "withdraw")
    result = withdrawal_eligibility(WithdrawalCase.DEATH)
    assert "北京市" in answer.text
    assert block("withdraw/case_death") in answer.text
    # Materials may sit behind the "回复2" follow-up when the reply is long; ask for them.
    text = answer.text
    if "回复" in text:
        text += (await ask(pipeline, "w1", "2")).text
    for material in result.materials:
        assert block(f"withdraw/mat_{material}") in text


async def test_withdraw_long_stay_uses_months(pipeline: Pipeline) -> None:
    answer = await ask(pipeline, "w2", "长期在外地住了8个月 医保余额能提取吗", "withdraw")
    result = withdrawal_eligibility(WithdrawalCase.LONG_TERM_ELSEWHERE, months_elsewhere=8)
    assert result.allowed == "yes"
    assert "months_elsewhere" in figure_names(answer)
    assert ESTIMATE_NOTE in answer.text


async def test_withdraw_to_wallet_points_to_the_e_card(pipeline: Pipeline) -> None:
    answer = await ask(pipeline, "w3", "医保余额能转到微信零钱吗", "withdraw")
    result = withdrawal_eligibility(WithdrawalCase.TO_WALLET)
    assert result.materials == ()
    assert block("withdraw/case_to_wallet") in answer.text
    assert block("withdraw/cond_use_e_card_instead") in answer.text


async def test_withdraw_cashing_out_is_warned_against(pipeline: Pipeline) -> None:
    answer = await ask(pipeline, "w4", "医保卡里的钱刷出来换现金可以吗", "withdraw")
    assert block("withdraw/case_cash_out") in answer.text
    assert block("withdraw/warn_cashing") in answer.text


# --- family_share -----------------------------------------------------------------------------


async def test_family_share_names_city_and_binding(pipeline: Pipeline) -> None:
    answer = await ask(pipeline, "f1", "广州 我的医保卡可以给我妈买药吗", "family_share")
    assert "广州市" in answer.text
    assert "家庭共济" in answer.text
    assert "国家医保服务平台App" in answer.text


# --- balance ----------------------------------------------------------------------------------


async def test_balance_monthly_credit_from_wage(pipeline: Pipeline) -> None:
    answer = await ask(pipeline, "b1", "杭州 工资5000 医保每月返多少", "balance")
    credit = monthly_account_credit(
        MemberStatus.IN_SERVICE, city=city("杭州市"), base=Decimal(5000)
    )
    assert credit.display is not None
    assert credit.display in answer.text
    assert "杭州市" in answer.text
    assert "monthly_credit" in figure_names(answer)
    assert ESTIMATE_NOTE in answer.text  # the 2% is a national default


async def test_balance_asks_for_base_once_then_computes(pipeline: Pipeline) -> None:
    first = await ask(pipeline, "b2", "医保每个月往卡里打多少钱", "balance")
    assert first.text == block("balance/ask_base")
    second = await ask(pipeline, "b2", "基数6000", "balance")
    credit = monthly_account_credit(MemberStatus.IN_SERVICE, city=None, base=Decimal(6000))
    assert credit.display is not None and credit.display in second.text


async def test_balance_residents_have_no_account(pipeline: Pipeline) -> None:
    answer = await ask(pipeline, "b3", "居民医保每个月返钱吗", "balance")
    assert block("explain/no_personal_account") in answer.text


# --- contribution_years -----------------------------------------------------------------------


async def test_contribution_years_shortfall_and_cost(pipeline: Pipeline) -> None:
    answer = await ask(
        pipeline, "c1", "深圳 基数8000 交了10年 医保年限够不够", "contribution_years"
    )
    result = contribution_years_shortfall(10, city=city("深圳市"), base=Decimal(8000))
    assert result.cost is not None
    assert result.cost.display in answer.text
    assert f"{fmt_number(result.years_short[1])}年" in answer.text
    assert "深圳市" in answer.text


async def test_contribution_years_asks_for_years_once(pipeline: Pipeline) -> None:
    first = await ask(pipeline, "c2", "我的医保年限够不够", "contribution_years")
    assert first.text == block("contribution_years/ask_years")
    second = await ask(pipeline, "c2", "交了16年", "contribution_years")
    result = contribution_years_shortfall(16, city=None)
    assert result.years_short == (Decimal(0), Decimal(0))
    assert "years_short" in figure_names(second)


async def test_contribution_years_asks_gender_only_where_it_matters() -> None:
    """A city with 男25/女20 makes sex decide the answer: the bot asks, then computes."""
    raw = {
        "schema": 1,
        "provinces": {},
        "cities": {
            "福州市": {
                "province": "福建省",
                "required_years": {
                    "value": {"male": 25, "female": 20, "min_actual": 10},
                    "source": "policy-facts §8",
                    "description": "测试用：男25年、女20年，实际缴费不少于10年",
                    "as_of": 2025,
                },
            }
        },
    }
    table = parse_city_policies(raw)
    storage = open_storage("memory://")
    dialog = Dialog(NLU.default(), Context(policy=table), storage)
    try:
        first = await dialog.respond("g1", "福州 交了18年 医保年限够不够", TODAY)
        assert first.intent == "contribution_years"
        assert "福州市" in first.text and "男25年" in first.text
        second = await dialog.respond("g1", "女", TODAY)
        result = contribution_years_shortfall(18, city=table.city("福州市"), sex=Sex.FEMALE)
        assert result.years_short == (Decimal(2), Decimal(2))
        assert "还差2年" in second.text
        assert len(second.text.encode("utf-8")) <= MAX_BYTES
    finally:
        await storage.close()


# --- payment ----------------------------------------------------------------------------------


async def test_payment_resident_deadline_for_nanjing(pipeline: Pipeline) -> None:
    answer = await ask(pipeline, "p1", "南京居民医保什么时候交", "payment")
    deadline = next_deadline(TODAY, city=city("南京市"))
    assert fmt_date(deadline.due) in answer.text
    assert f"{deadline.days_left}天" in answer.text
    assert "南京市" in answer.text


async def test_payment_flexible_monthly_due(pipeline: Pipeline) -> None:
    answer = await ask(pipeline, "p2", "灵活就业医保每月几号前交", "payment")
    due = next_monthly_due(TODAY)
    assert fmt_date(due.due) in answer.text
    assert "monthly_due" in figure_names(answer)


async def test_payment_newborn_in_chengdu(pipeline: Pipeline) -> None:
    answer = await ask(pipeline, "p3", "孩子10月8号出生的 成都怎么上医保", "payment")
    enrolment = newborn_enrolment(date(2026, 10, 8), city=city("成都市"))
    assert enrolment.enrol_by is not None and enrolment.fee is not None
    assert fmt_date(enrolment.enrol_by) in answer.text
    assert fmt_number(enrolment.fee) in answer.text
    assert "成都市" in answer.text


async def test_payment_newborn_asks_city_then_answers(pipeline: Pipeline) -> None:
    first = await ask(pipeline, "p4", "宝宝刚出生怎么办医保", "payment")
    assert first.text == block("payment/ask_city_newborn")
    second = await ask(pipeline, "p4", "成都", "payment")
    assert "90天" in second.text and "成都市" in second.text


async def test_payment_asks_scheme_then_answers(pipeline: Pipeline) -> None:
    first = await ask(pipeline, "p5", "医保在支付宝上怎么交", "payment")
    assert first.text == block("payment/ask_scheme")
    second = await ask(pipeline, "p5", "灵活就业", "payment")
    assert fmt_date(next_monthly_due(TODAY).due) in second.text


# --- reimbursement ----------------------------------------------------------------------------


async def test_reimbursement_beijing_employee_cap(pipeline: Pipeline) -> None:
    answer = await ask(pipeline, "r1", "北京职工医保报销封顶是多少", "reimbursement")
    cap = reimbursement_cap(Scheme.EMPLOYEE, city=city("北京市"))
    assert cap.amount is not None
    assert wan(cap.amount) in answer.text
    assert "北京市" in answer.text
    assert {f["kind"] for f in answer.figures} == {"city"}


async def test_reimbursement_shenzhen_lists_tiers(pipeline: Pipeline) -> None:
    answer = await ask(pipeline, "r2", "深圳医保报销封顶线多少", "reimbursement")
    cap = reimbursement_cap(Scheme.EMPLOYEE, city=city("深圳市"))
    assert cap.amount is None and len(cap.tiers) >= 2
    for tier in cap.tiers:
        assert wan(tier.amount.value) in answer.text
    assert "深圳市" in answer.text


async def test_reimbursement_asks_city_then_uses_it(pipeline: Pipeline) -> None:
    first = await ask(pipeline, "r3", "住院能报多少", "reimbursement")
    assert first.text == block("reimbursement/ask_city")
    second = await ask(pipeline, "r3", "北京", "reimbursement")
    cap = reimbursement_cap(Scheme.EMPLOYEE, city=city("北京市"))
    assert cap.amount is not None and wan(cap.amount) in second.text


async def test_reimbursement_national_example_is_labelled(pipeline: Pipeline) -> None:
    answer = await ask(pipeline, "r4", "杭州居民医保一年最高能报多少钱", "reimbursement")
    cap = reimbursement_cap(Scheme.RESIDENT, city=city("杭州市"))
    assert cap.amount is not None
    assert wan(cap.amount) in answer.text
    assert ESTIMATE_NOTE in answer.text
    assert "杭州市" in answer.text


async def test_reimbursement_remote_care_gives_filing_steps(pipeline: Pipeline) -> None:
    answer = await ask(pipeline, "r5", "去外地住院怎么备案 回来手工报销要多久", "reimbursement")
    text = answer.text
    if "回复" in text:
        text += (await ask(pipeline, "r5", "1")).text
    assert "异地就医备案" in text
    assert "15个工作日" in text


# --- templates --------------------------------------------------------------------------------


def _blocks() -> list[str]:
    return sorted(k for k in templates() if k.split("/")[0] in FILES)


def test_every_file_has_blocks() -> None:
    assert {k.split("/")[0] for k in _blocks()} == set(FILES)


@pytest.mark.parametrize("key", _blocks())
def test_every_block_renders(key: str) -> None:
    fields = {name: "样例" for name in templates()[key].get_identifiers()}
    text = render_part(Part(key, fields))
    assert text.strip()
    assert "${" not in text and "$" not in text
    assert len(text.encode("utf-8")) <= MAX_BYTES


@pytest.mark.parametrize(
    "key",
    [f"withdraw/cond_{c}" for c in Condition]
    + [f"withdraw/mat_{m}" for m in WithdrawalMaterial]
    + [f"withdraw/case_{c}" for c in WithdrawalCase if c is not WithdrawalCase.LONG_TERM_ELSEWHERE]
    + [f"withdraw/case_long_term_elsewhere_{e}" for e in ("yes", "no", "if_conditions")],
)
def test_every_withdrawal_value_has_a_block(key: str) -> None:
    assert key in templates()


def test_templates_have_no_unknown_placeholders() -> None:
    """A "$" that is not a valid placeholder would raise at render time for a user."""
    for key in _blocks():
        template = templates()[key]
        assert template.is_valid(), key
        assert isinstance(template, string.Template)


# --- the card itself (reimbursement: card and e-voucher) ------------------------------------


@pytest.mark.parametrize(
    ("text", "topic"),
    [
        ("医保卡丢了怎么补办", "lost"),
        ("社保卡被偷了去哪挂失", "lost"),
        ("医保卡密码忘了", "password"),
        ("社保卡消磁了刷不出来", "broken"),
        ("新办的医保卡怎么激活", "apply"),
        ("孩子的社保卡在哪办", "apply"),
    ],
)
async def test_card_service_questions_get_the_card_answer(
    pipeline: Pipeline, text: str, topic: str
) -> None:
    answer = await ask(pipeline, f"card-{topic}-{len(text)}", text, "reimbursement")
    assert answer.text.startswith(block(f"reimbursement/card_{topic}")), answer.text
    assert block("reimbursement/check_card") in answer.text


@pytest.mark.parametrize(
    "text",
    [
        "医保卡丢了还能报销吗",
        "医保卡超过封顶线了怎么办",
        "医保卡在药店能用吗",
        "看病刷了卡，发票丢了能报吗",  # the invoice was lost, not the card
        "刷卡后发票找不到了还能报吗",
        "异地就医刷卡找不到定点医院怎么办",
        "没带卡，手机也找不到电子凭证怎么结算",
        "电子医保卡怎么激活",  # the e-voucher, not the plastic card
        "医保电子卡怎么申领",
        "医保卡激活后住院能报多少",  # a ratio question
    ],
)
async def test_claim_questions_mentioning_the_card_are_not_card_service(
    pipeline: Pipeline, text: str
) -> None:
    answer = await ask(pipeline, f"claim-{len(text)}", text, "reimbursement")
    assert not any(
        block(f"reimbursement/card_{t}") in answer.text
        for t in ("lost", "password", "broken", "apply")
    )
