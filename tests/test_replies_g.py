"""QA round 4, handler side: staying away from the insured place is remote-care filing, not a
transfer (#2); family sharing from the asker's side (#6); withdrawal follow-ups that keep to the
first answer (#7); treatment in another city (#12); questions about the transfer application.
"""

from __future__ import annotations

from datetime import date

import pytest

from bot.dialog.render import MAX_BYTES
from bot.pipeline import Pipeline

TODAY = date(2026, 11, 25)


async def chat(bot: Pipeline, *texts: str, user: str = "g") -> list[str]:
    replies = []
    for text in texts:
        answer = await bot.respond(user, text, today=TODAY)
        assert len(answer.text.encode("utf-8")) <= MAX_BYTES
        assert "${" not in answer.text
        replies.append(answer.text)
    return replies


def first_line(text: str) -> str:
    return text.splitlines()[0]


# --- #2 working, posted or retired elsewhere ----------------------------------------------------

# (message, insured city, city or province stayed in)
# fmt: off
WORKING_AWAY = [
    ("在浙江宁波打工 老家是安徽阜阳", "阜阳市", "宁波市"),
    ("在江苏苏州上班 老家是河南周口", "周口市", "苏州市"),
    ("我在广东东莞打工，老家是四川南充的", "南充市", "东莞市"),
]
# fmt: on


@pytest.mark.parametrize(("text", "insured", "there"), WORKING_AWAY)
async def test_working_away_from_home_files_for_remote_care_at_home(
    bot: Pipeline, text: str, insured: str, there: str
) -> None:
    (reply,) = await chat(bot, text)
    head = first_line(reply)
    assert "异地就医备案" in head and f"在{insured}办理" in head and there in head
    # Neither a move nor a province as one end of it.
    assert "转到" not in reply and "省内转移" not in reply and "跨省转移" not in reply


async def test_working_away_after_a_claim_question_is_not_a_transfer(bot: Pipeline) -> None:
    *_, reply = await chat(
        bot, "你好呀", "我是新农合 在外地打工 生病了咋报", "在浙江宁波打工 老家是安徽阜阳"
    )
    assert "浙江省转到" not in reply and "阜阳市" in first_line(reply)
    assert "异地就医备案" in first_line(reply)


@pytest.mark.parametrize(
    "text",
    ["我们单位要把我派到新疆喀什 医保要转吗", "公司外派我去西藏拉萨两年 医保需要转过去吗"],
)
async def test_a_posted_worker_does_not_transfer(bot: Pipeline, text: str) -> None:
    (reply,) = await chat(bot, text)
    head = first_line(reply)
    assert head.startswith("单位把你外派") and "不用转" in head and "异地就医备案" in head
    assert "转到" not in reply and "参保地参保地" not in reply


async def test_a_retiree_moving_to_a_child_is_resettled_not_transferred(bot: Pipeline) -> None:
    first, second, money = await chat(
        bot, "退休了去海南跟女儿住 医保咋弄", "老家是辽宁鞍山", "卡里的钱能取吗"
    )
    assert "异地安置备案" in first and "海南省" in first and "参保地" in first
    head = first_line(second)
    assert "鞍山市" in head and "海南省" in head and "异地安置备案" in head
    assert "辽宁省转到" not in second and "省内转移" not in second
    assert "个人账户余额打到本人银行卡" in second
    assert money.startswith("可以申请") and "异地安置的退休人员" in first_line(money)
    assert "鞍山市" in first_line(money)


async def test_a_resettled_retiree_asking_for_the_balance_in_one_message(bot: Pipeline) -> None:
    (reply,) = await chat(bot, "退休了 要去海南跟女儿住 老家辽宁鞍山的 医保卡里的钱能取吗")
    head = first_line(reply)
    assert head.startswith("可以申请") and "异地安置的退休人员" in head and "鞍山市" in head
    assert "辽宁省" not in head


@pytest.mark.parametrize(
    ("text", "route"),
    [
        ("医保能转到老家吗 我在深圳打工 老家湖南衡阳的", "深圳市转到衡阳市"),
        ("医保想转回老家 我在杭州上班 老家江西赣州", "杭州市转到赣州市"),
    ],
)
async def test_a_province_before_its_city_refines_the_city(
    bot: Pipeline, text: str, route: str
) -> None:
    (reply,) = await chat(bot, text)
    assert first_line(reply).startswith(route)


@pytest.mark.parametrize("home", ["辽宁鞍山", "湖北襄阳", "山东临沂"])
async def test_a_province_and_its_own_city_are_never_two_ends(bot: Pipeline, home: str) -> None:
    _, reply = await chat(bot, "医保怎么转", f"老家是{home}", user=f"g-{home}")
    assert "省内转移" not in reply and "省转到" not in reply


# --- #6 family sharing from the asker's side ----------------------------------------------------


async def test_the_employee_shares_with_a_resident_spouse(bot: Pipeline) -> None:
    _, reply = await chat(bot, "我的医保钱能给我老婆用吗", "她交的是居民医保")
    head = first_line(reply)
    assert head.startswith("可以") and "把她绑定为共济亲属" in head
    assert "没有钱可以共济" not in reply


@pytest.mark.parametrize(
    ("text", "kin"),
    [
        ("我老公的职工医保能给我用吗 我是居民医保", "你老公"),
        ("我妈的职工医保能给我用吗 我是居民医保", "你妈"),
    ],
)
async def test_a_resident_uses_a_relatives_employee_account(
    bot: Pipeline, text: str, kin: str
) -> None:
    (reply,) = await chat(bot, text)
    head = first_line(reply)
    assert head.startswith("可以") and f"让{kin}把你绑定为共济亲属" in head
    assert not head.startswith("居民医保一般没有个人账户")


# --- #7 withdrawal follow-ups -------------------------------------------------------------------


async def test_asking_whether_hukou_must_be_cancelled_keeps_to_emigration(bot: Pipeline) -> None:
    first, reply = await chat(bot, "我要移民加拿大了 医保的钱能提吗", "户口要注销吗")
    assert first.startswith("可以申请")
    assert reply.startswith("要。") and "注销" in first_line(reply) and "永久居留" in reply
    assert "一般不能" not in reply


async def test_where_to_apply_after_materials_says_where(bot: Pipeline) -> None:
    *_, reply = await chat(bot, "我爸去世了 医保卡里还有2万 能取出来吗", "要啥材料", "去哪办")
    # The follow-up's own words pick the part shown: where to apply, not the materials again.
    shown = reply.split("回复1查看")[0]
    assert "医保经办大厅窗口" in shown and len(shown.splitlines()) <= 4
    assert "【所需材料】" not in shown


async def test_how_to_use_the_money_opens_with_how(bot: Pipeline) -> None:
    *_, reply = await chat(bot, "医保卡的钱能转到微信吗", "那支付宝呢", "那我怎么用这钱")
    assert not reply.startswith("不能")
    assert first_line(reply).startswith("激活医保电子凭证") and "家庭共济" in first_line(reply)


# --- #12 treatment in another city --------------------------------------------------------------


async def test_insured_in_one_city_treated_in_another_leads_with_filing(bot: Pipeline) -> None:
    _, reply = await chat(bot, "在外地住院能报吗", "我是长沙的医保 在广州住院")
    head = first_line(reply)
    assert head.startswith("长沙市参保、人在广州市")
    assert "在长沙市（湖南省）办跨省异地就医备案" in head and "直接结算" in head
    assert "起付线、报销比例和封顶线按长沙市" in head


async def test_working_away_and_in_hospital_is_remote_care_at_home(bot: Pipeline) -> None:
    (reply,) = await chat(bot, "我在宁波打工 新农合是安徽阜阳的 生病住院咋报")
    head = first_line(reply)
    assert head.startswith("阜阳市参保") and "异地就医备案" in head and "宁波市" in head
    assert "没有宁波市起付线" not in reply


@pytest.mark.parametrize("text", ["回老家看病没带医保卡能报吗", "去医院忘带社保卡了还能报销吗"])
async def test_no_card_with_you_is_the_e_voucher(bot: Pipeline, text: str) -> None:
    (reply,) = await chat(bot, text)
    head = first_line(reply)
    assert "医保电子凭证" in head and "刷脸" in head and "手工报销" in head


async def test_cap_figures_are_said_once(bot: Pipeline) -> None:
    *_, reply = await chat(bot, "在外地住院能报吗", "我是长沙的医保 在广州住院", "报多少")
    assert reply.count("各地常见") + reply.count("各地封顶线不一样") <= 1
    assert reply.count("职工医保年度最高支付限额") <= 1


# --- transfer application questions -------------------------------------------------------------


async def test_wrong_origin_entered_is_resubmitted(bot: Pipeline) -> None:
    (reply,) = await chat(bot, "医保转移 转出地填错了咋办")
    head = first_line(reply)
    assert "退回" in head and "原因" in head and "重新提交" in head


async def test_no_employer_consent_and_flexible_workers_apply_themselves(bot: Pipeline) -> None:
    first, second = await chat(bot, "医保关系转移需要单位同意吗", "我是自己交的 灵活就业")
    assert first.startswith("不需要")
    assert second.startswith("不需要") and "灵活就业" in second.splitlines()[1]
