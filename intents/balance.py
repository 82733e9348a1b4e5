"""Checking the personal-account balance and how much is credited each month."""

from bot.dialog.types import Figure, Part, Reply, Turn
from bot.policy import (
    ExplanationKey,
    MemberStatus,
    Scheme,
    fmt_number,
    is_estimate,
    monthly_account_credit,
)
from intents.base import Intent
from intents.figures import figure

# "每月返多少 / 划入多少": the user asks about the monthly credit, not how to look it up.
_CREDIT_WORDS = (
    "返", "划", "打入", "打多少", "进账户", "进多少", "入账", "每月", "每个月", "存多少",
    "有钱进", "单位交的",
)  # fmt: skip
# "怎么少了 / 没返": the user sees less money than expected.
_LESS_WORDS = (
    "少了", "变少", "越来越少", "怎么少", "减少", "没返", "不返", "没有返", "没钱进", "没进钱",
    "没到账", "被扣", "为零", "是零", "0元", "没钱了",
)  # fmt: skip
# Only a question asking for an amount is worth a follow-up question for the base.
_AMOUNT_WORDS = ("多少", "怎么算", "算一下")


def _explain(key: ExplanationKey, fields: dict[str, str]) -> Part:
    return Part(f"explain/{key}", fields)


async def handle(turn: Turn) -> Reply:
    """How to check the balance; the monthly credit when asked (2% of the base in service)."""
    city = turn.slots.city
    fields = {"city": city or "当地", "place": city or "当地", "wait": ""}
    scheme = turn.slots.scheme
    steps = (
        Part("balance/steps_app"),
        Part("balance/steps_e_card"),
        Part("balance/steps_local", fields),
        Part("balance/steps_counter"),
    )
    check = (Part("balance/check"),)
    less = any(w in turn.text for w in _LESS_WORDS)
    credit_asked = not less and any(w in turn.text for w in _CREDIT_WORDS)
    if not (less or credit_asked or turn.slots.base is not None or scheme == "resident"):
        key = "balance/check_answer_city" if city else "balance/check_answer"
        return Reply(answer=(Part(key, fields),), steps=steps, check=check)

    status = MemberStatus.RETIRED if scheme == "retired" else MemberStatus.IN_SERVICE
    plan = {"resident": Scheme.RESIDENT, "flexible": Scheme.FLEXIBLE}.get(scheme or "")
    credit = monthly_account_credit(
        status, city=turn.ctx.city(city), base=turn.slots.base, scheme=plan or Scheme.EMPLOYEE
    )
    if (
        credit_asked
        and any(w in turn.text for w in _AMOUNT_WORDS)
        and credit.rule is ExplanationKey.CREDIT_PERCENT_OF_BASE
        and credit.amount is None
        and "base" not in turn.asked
    ):
        # The figure is the point of the question and one number makes it exact: ask once.
        return Reply(answer=(Part("balance/ask_base"),), ask="base")

    answer: list[Part] = [Part("balance/why_less")] if less else []
    figures: tuple[Figure, ...] = ()
    if credit.display is not None:
        amount = {**fields, "amount": credit.display}
        if status is MemberStatus.RETIRED:
            answer.append(Part("balance/credit_retiree_amount", amount))
        else:
            base = fmt_number(turn.slots.base) if turn.slots.base is not None else ""
            answer.append(Part("balance/credit_amount", {**amount, "base": base}))
        figures = (figure("monthly_credit", "每月划入个人账户", credit.display, credit),)
    # The parser reads "自己交的" as flexible work; only a named 灵活就业/个体 gets the caveat.
    named_flexible = any(w in turn.text for w in ("灵活", "个体"))
    if named_flexible and credit.rule is ExplanationKey.CREDIT_PERCENT_OF_BASE:
        answer.append(Part("balance/credit_flexible"))
    if not less or credit.rule is not ExplanationKey.CREDIT_PERCENT_OF_BASE:
        answer.append(_explain(credit.rule, fields))
    answer += [_explain(k, fields) for k in credit.notes]
    if credit.rule is ExplanationKey.RETIREE_SET_BY_PROVINCE:
        answer.append(Part("balance/where_retiree", fields))
    return Reply(
        answer=tuple(answer),
        figures=figures,
        steps=steps,
        check=check,
        estimate=is_estimate(credit),
    )


# Keyword tables read better as lines of words than as one word a line.
# fmt: off
INTENT = Intent(
    handler=handle,
    id="balance",
    extra={"topic": "医保余额"},
    description="余额查询、每月划入个人账户多少（在职/退休）",
    slots=("base",),
    keywords={
        "余额": 2.0, "查余额": 4.0, "余额+查": 3.0, "余额+看": 2.5, "还剩多少": 3.5,
        "还有多少钱": 3.5, "有多少钱": 2.5, "剩多少": 3.0, "每月返": 4.0, "返多少": 4.0,
        "返钱": 3.5, "返还": 1.5, "划入": 3.5, "划拨": 2.5, "打入": 3.0, "打多少": 3.5,
        "进账户": 3.0, "进多少": 3.5, "入账": 3.0, "每月+账户": 2.5, "每个月+账户": 2.5,
        "每月+打": 2.0, "每个月+打": 2.0, "每月+进": 2.0, "每个月+进": 2.0,
        "每月+返": 2.0, "每个月+返": 2.0, "每月+多少": 1.0, "个人账户+多少": 1.5,
        "怎么查": 2.5, "查询": 2.0, "查看": 2.0, "查一下": 2.0, "看账户": 2.5,
        "消费记录": 3.0, "明细": 2.5, "流水": 2.0, "怎么少了": 2.5, "没返": 3.0,
        "不返": 3.0, "减少": 1.5, "变少": 2.5, "到账": 0.5, "账户+看": 1.5,
        "越来越少": 3.0,
        "少了": 2.0,
        "有钱进": 3.0,
        "每月+有钱": 2.0,
        "有个人账户": 2.5,
        "每月划": 3.5,
        "划多少": 3.5,
        "能存多少": 3.0,
        "存多少": 3.0,
        "单位交的还是": 2.0,
        "医保卡+到账": 1.5,
        "这个月": 1.5,
        "查": 1.0,
        "进钱": 2.0,
        "没钱": 2.0,
        "卡里+没钱": 1.5,
        "扣": -1.5,
        # Taking the balance out is withdraw; arrears are back_payment: 余额 is their object.
        "提": -1.5,
        "取": -1.5,
        "提现": -2.0,
        "取现": -2.0,
        "套现": -2.0,
        "提取": -1.5,
        "取出": -2.0,
        "提出来": -2.0,
        "欠费": -2.0,
        "欠缴": -2.0,
        "欠了": -1.5,
    },
    examples=(
        "医保卡里还有多少钱怎么看",
        "手机上能查医保个人账户余额吗",
        "医保每个月往卡里打多少钱",
        "退休以后医保账户每个月返多少",
        "个人账户每月划入的钱是怎么算的",
        "在职职工医保卡每月进多少钱",
        "微信上怎么查医保余额",
        "为什么我医保卡里的钱越来越少了",
        "医保账户这个月怎么没返钱",
        "工资八千医保卡每月能到多少",
        "医保卡消费记录在哪看",
        "支付宝能查医保账户明细吗",
        "医保个人账户里有多少钱在哪查",
        "灵活就业的医保卡每月有钱进吗",
        "居民医保有个人账户吗",
        "医保卡每月到账多少算正常",
        "新规后医保个人账户返的钱变少了",
        "退休人员医保每月划多少钱",
        "医保余额查询电话",
        "去哪里打印医保账户的流水",
        "医保卡里的钱是单位交的还是自己交的",
        "医保账户余额显示为零是怎么回事",
        "医保电子凭证能看到余额吗",
        "缴费基数六千每月划入账户多少",
        "社保卡里医保的钱怎么查",
        "一年下来医保账户能存多少钱",
    ),
)
# fmt: on
