"""Taking money out of the personal account: when it is allowed and how."""

import dataclasses
import re

from bot.dialog.render import render_part
from bot.dialog.types import Figure, Part, Reply, Turn
from bot.policy import (
    WithdrawalAssessment,
    WithdrawalCase,
    is_estimate,
    withdrawal_eligibility,
)
from bot.policy.national import LONG_TERM_ELSEWHERE_MONTHS
from intents import family_share
from intents import stay as staying
from intents.base import Intent
from intents.figures import figure

# Checked in this order: the first case whose words occur wins. Death and emigration come first
# because their messages often also say "转到银行卡" or "出国" alongside other words.
# Keyword tables read better as lines of words than as one word a line.
# fmt: off
_CASE_WORDS: tuple[tuple[WithdrawalCase, tuple[str, ...]], ...] = (
    (
        WithdrawalCase.DEATH,
        (
            "去世", "过世", "离世", "身故", "死亡", "人走了", "亲走了", "爸走了", "妈走了",
            "继承", "遗产", "家属能领", "家属领",
        ),  # fmt: skip
    ),
    (
        WithdrawalCase.EMIGRATION,
        ("出国定居", "国外定居", "定居国外", "移民", "绿卡", "永久居留", "外籍", "出国", "国外"),
    ),
    (
        WithdrawalCase.NEW_PLACE_REFUSES,
        ("不接收", "不肯接收", "不给接收", "转不过去", "转不进", "不给转"),
    ),
    (
        WithdrawalCase.LONG_TERM_ELSEWHERE,
        ("长期在外地", "长期在外", "常住外地", "异地居住", "异地安置", "长期居住", "在外地住",
         "外地生活", "不在本地", "备案", "长期住", "一直住在", "常住在", "一直在外地"),
    ),
    (
        WithdrawalCase.SERIOUS_ILLNESS,
        ("大病", "重病", "重大疾病", "癌", "肿瘤", "尿毒症", "白血病", "手术费", "看病急用"),
    ),
    (
        WithdrawalCase.QUIT_EMPLOYEE_SCHEME,
        ("不交职工", "不想交职工", "放弃职工", "退保", "停保", "不参加职工", "改交居民",
         "转居民", "转成居民", "不交了"),
    ),
    (
        WithdrawalCase.TO_WALLET,
        ("微信", "支付宝", "零钱", "套现", "变现", "换现金", "刷出来", "刷卡换"),
    ),
)
# fmt: on
# Words that mean turning the account into cash by a back door: these get the legal warning.
_CASHING_WORDS = ("套现", "变现", "换现金", "刷出来", "刷卡换", "代刷", "犯法", "违法")
_WALLET_WORDS = ("微信", "支付宝", "零钱")
# Leaving a job does not release the balance, but it is worth saying the money stays usable.
_JOB_WORDS = ("辞职", "离职", "失业", "没工作", "不上班")


# Words of taking the money out: then a relative named is who would get it, not who uses it.
_TAKE_OUT = ("取", "提", "拿出", "领", "转到", "打到", "现金")

# "住在三亚", "在三亚生活": the city named is where the user lives, not where they are insured.
_LIVE_BEFORE = ("住在", "生活在", "居住在", "定居在", "待在", "呆在", "常住", "住")
_LIVE_AFTER = ("住", "生活", "居住", "定居", "养老", "长期住", "长住", "常住", "长期居住")
# "在北京参保", "北京的医保", "医保是哈尔滨的": the city named is the insured place.
_INSURED_AFTER = ("参保", "交的", "缴的", "交医保", "缴医保", "的医保", "医保", "社保")
_INSURED_BEFORE = ("医保是", "医保在", "参保在", "参保地是", "参保地在", "社保是", "社保在")


def _names(text: str, city: str) -> list[str]:
    return [n for n in dict.fromkeys((city, city.removesuffix("市"))) if n in text]


# "老家是哈尔滨的", "在哈尔滨退休": where a retiree's insurance is, when they moved away.
_HOME_BEFORE = ("老家是", "老家在", "老家", "户口在", "户口是", "原来在", "以前在")
_HOME_AFTER = ("退休", "退的休", "办的退休")
# "跟儿子去深圳住", "搬到深圳生活": the city moved to is where the user lives.
_MOVED_TO = ("去", "到", "来", "搬到", "搬去", "跟着去")


def _says_insured(text: str, city: str) -> bool:
    names = _names(text, city)
    if any(f"不是{n}" in text for n in names):
        return False  # "医保不是三亚的"
    if any(f"{w}{n}" in text for n in names for w in _HOME_BEFORE) or any(
        f"在{n}{w}" in text for n in names for w in _HOME_AFTER
    ):
        return True
    return any(
        f"{n}{w}" in text or f"{n}市{w}" in text for n in names for w in _INSURED_AFTER
    ) or any(f"{w}{n}" in text for n in names for w in _INSURED_BEFORE)


def _says_lives(text: str, city: str) -> bool:
    names = _names(text, city)
    return any(f"{w}{n}" in text for n in names for w in _LIVE_BEFORE) or any(
        f"{v}{n}{w}" in text or f"{v}{n}长期{w}" in text
        for n in names
        for w in _LIVE_AFTER
        for v in ("在", *_MOVED_TO)
    )


def _places(turn: Turn) -> tuple[str | None, str | None]:
    """(insured city, residence) as far as the message tells them apart.

    The insured place (参保地) decides a withdrawal, so a city the user only lives in must not
    be named as the one whose rules apply. A city with no hint either way is taken as the
    insured place (the first named: "从北京调到上海" applies to 北京).
    """
    s = turn.slots
    named = [c for c in dict.fromkeys((s.origin, s.city, s.destination)) if c]
    insured = [c for c in named if _says_insured(turn.text, c)]
    lives = [c for c in named if c not in insured and _says_lives(turn.text, c)]
    residence = lives[0] if lives else None
    if insured:
        return insured[0], residence
    others = [c for c in named if c not in lives]
    return (others[0] if others else None), residence


def _case(text: str) -> WithdrawalCase:
    for case, words in _CASE_WORDS:
        if any(w in text for w in words):
            return case
    return WithdrawalCase.OTHER


def _headline(result: WithdrawalAssessment, text: str) -> str:
    case = result.inputs.case
    if case is WithdrawalCase.LONG_TERM_ELSEWHERE:
        # The verdict for a long stay depends on how many months the user has been away.
        return f"withdraw/case_{case}_{result.allowed}"
    if case is WithdrawalCase.TO_WALLET and not any(w in text for w in _WALLET_WORDS):
        # "能套现吗" names no wallet: answer the cashing-out, not a transfer to WeChat.
        return "withdraw/case_cash_out"
    return f"withdraw/case_{case}"


# "那给我妈用呢": letting a relative use the money is family sharing, not a withdrawal.
_RELATIVE_USE = re.compile(
    r"给(?:我|俺)?(?:的)?(?:妈|爸|父母|爸妈|老人|家人|孩子|儿子|女儿|老婆|老公|爱人|媳妇|"
    r"丈夫|妻子|爷爷|奶奶|外公|外婆|亲属|家里人|子女|父亲|母亲)[^，。？?！!]{0,6}?用"
)


# "户口要注销吗": the emigration case's condition, asked about.
_HUKOU = re.compile(r"户口.{0,4}(?:注销|销掉|销户)|(?:注销|销掉).{0,2}户口")
# "那我怎么用这钱": spending the balance, not taking it out.
_HOW_TO_USE = re.compile(r"(?:怎么|咋|如何|怎样)(?:用|花|使用)|能(?:用来|拿来)(?:干|做|买)|用在哪")
# "去哪办": where to apply, asked on its own.
_WHERE = re.compile(r"(?:去|在|到)(?:哪|哪里|哪儿)(?:办|申请|弄|交)|找谁办|哪个部门")


def _resettled(turn: Turn) -> tuple[str | None, str | None] | None:
    """(insured place, residence) of a retiree resettled in another province: said in the
    message ("退休了去海南跟女儿住，老家辽宁鞍山"), or a retiree whose conversation has the
    insured place in one province and the residence in another."""
    stay = staying.read(turn.text)
    if stay is not None and stay.kind == "retired" and stay.cross_province is not False:
        insured = staying.name(stay.insured) if stay.insured else None
        return insured, staying.name(stay.there) if stay.there else None
    s = turn.slots
    if (
        s.scheme == "retired"
        and s.origin_province
        and s.destination_province
        and s.origin_province != s.destination_province
    ):
        return s.origin, s.destination
    return None


async def handle(turn: Turn) -> Reply:
    """The verdict for the user's situation, its conditions, then how and with what to apply."""
    # A follow-up arrives read with the question before it ("…能取出来吗 那给我妈用呢"):
    # its own words are the last ones.
    own = turn.text.split()[-1] if turn.text.split() else turn.text
    if _RELATIVE_USE.search(own) and not any(w in own for w in _TAKE_OUT):
        return family_share.answer(turn, resident=turn.slots.scheme == "resident")
    if turn.slots.scheme == "resident":
        return _resident()
    if _HOW_TO_USE.search(own) and not any(w in own for w in ("取", "提", "拿出", "现金")):
        return _how_to_use()
    reply = _verdict(turn, own)
    if _WHERE.search(own):
        # "去哪办": where first; the materials were asked (and shown) before.
        where = Part("withdraw/where", {"insured": _places(turn)[0] or "参保地"})
        return dataclasses.replace(reply, answer=(where, *reply.answer), materials=())
    return reply


def _how_to_use() -> Reply:
    """Spending the balance: the e-voucher at designated places, and family sharing."""
    return Reply(
        answer=(Part("withdraw/how_to_use"),),
        steps=(Part("withdraw/steps_e_card"),),
        check=(Part("withdraw/check"),),
    )


def _verdict(turn: Turn, own: str) -> Reply:
    insured, residence = _places(turn)
    case = _case(turn.text)
    hukou = bool(_HUKOU.search(own))
    if hukou:
        case = WithdrawalCase.EMIGRATION
    resettled = (
        _resettled(turn) if case in (WithdrawalCase.OTHER, case.LONG_TERM_ELSEWHERE) else None
    )
    if resettled is not None:
        case = WithdrawalCase.LONG_TERM_ELSEWHERE
        insured = resettled[0] or insured
        residence = resettled[1] or residence
    if case is WithdrawalCase.OTHER and residence is not None:
        # "医保是哈尔滨的，我在三亚住了8个月": living away from the insured place is the
        # long-stay case, whether or not the user uses the words "长期在外地".
        case = WithdrawalCase.LONG_TERM_ELSEWHERE
    months = turn.slots.months
    result = withdrawal_eligibility(case, months_elsewhere=months)
    need = LONG_TERM_ELSEWHERE_MONTHS.value
    fields = {
        "city": insured or "参保地",
        "insured": insured or "参保地",
        "residence": residence or "",
        "need": need,
        "months": months or "",
        "short": need - months if months is not None and months < need else "",
    }
    answer = [Part(_headline(result, turn.text), fields)]
    if hukou:
        answer = [Part("withdraw/ask_hukou")]
    elif resettled is not None:
        # A retiree resettled in another province has a route of their own, without the
        # long-stay months.
        answer = [Part("withdraw/case_retiree_resettled", fields)]
    elif case is WithdrawalCase.LONG_TERM_ELSEWHERE and turn.slots.scheme == "retired":
        # A resettled retiree has a route of their own: said right after the verdict.
        answer.append(Part("withdraw/retiree_resettled"))
    if result.conditions and resettled is None:
        if case not in (WithdrawalCase.TO_WALLET, WithdrawalCase.OTHER):
            answer.append(Part("withdraw/conditions_head"))
        answer += [Part(f"withdraw/cond_{c}", fields) for c in result.conditions]
    if result.consequences:
        # What follows a withdrawal is not something to satisfy: its own short list.
        answer.append(Part("withdraw/after_head"))
        answer += [Part(f"withdraw/after_{c}", fields) for c in result.consequences]
    if any(w in turn.text for w in _CASHING_WORDS):
        answer.append(Part("withdraw/warn_cashing"))
    if case is WithdrawalCase.OTHER and any(w in turn.text for w in _JOB_WORDS):
        answer.append(Part("withdraw/tip_quit_job"))
    if case in (WithdrawalCase.TO_WALLET, WithdrawalCase.OTHER):
        answer.append(Part("withdraw/tip_family_share"))
    answer += _place_note(result, insured, residence, fields)

    figures: tuple[Figure, ...] = ()
    if case is WithdrawalCase.LONG_TERM_ELSEWHERE and turn.slots.months is not None:
        value = render_part(Part("withdraw/value_need", fields))
        figures = (figure("months_elsewhere", "可申请提取的异地时长", value, result),)

    steps: tuple[Part, ...]
    materials: tuple[Part, ...] = ()
    if result.materials:
        steps = (Part("withdraw/steps_counter"), Part("withdraw/steps_online"))
        # The money is paid to a bank account, so every real application needs one.
        materials = tuple(Part(f"withdraw/mat_{m}") for m in result.materials)
        materials += (Part("withdraw/mat_bank_card"),)
    else:
        steps = (Part("withdraw/steps_e_card"),)
    return Reply(
        answer=tuple(answer),
        figures=figures,
        steps=steps,
        materials=materials,
        check=(Part("withdraw/check"),),
        estimate=is_estimate(result),
    )


def _resident() -> Reply:
    """Residents' insurance has no personal account: there is nothing to take out, so none of
    the withdrawal routes, e-card spending or family sharing of "the balance" applies."""
    return Reply(
        answer=(Part("withdraw/case_resident"),),
        check=(Part("withdraw/check_resident"),),
        estimate=True,
    )


def _place_note(
    result: WithdrawalAssessment,
    insured: str | None,
    residence: str | None,
    fields: dict[str, object],
) -> list[Part]:
    """Whose rules apply: the insured city when known, else the insured place, never the
    city the user only lives in."""
    if insured:
        return [
            Part("withdraw/city_note" if result.materials else "withdraw/city_general", fields)
        ]
    if residence:
        note = (
            "withdraw/city_note_residence"
            if result.materials
            else "withdraw/city_general_residence"
        )
        return [Part(note, fields)]
    if result.materials:
        return [Part("withdraw/insured_place_note")]
    return []


# Keyword tables read better as lines of words than as one word a line.
# fmt: off
INTENT = Intent(
    handler=handle,
    id="withdraw",
    extra={"topic": "医保余额取出"},
    description="个人账户余额提取/提现的条件、去世继承、出国定居",
    slots=("situation",),
    keywords={
        "取出": 3.5, "取出来": 3.5, "提现": 4.0, "取现": 4.0, "提取": 2.5, "套现": 4.0,
        "取钱": 3.5, "拿出来": 3.5, "变现": 4.0, "兑现": 3.0, "退钱": 2.5, "退回": 2.0,
        "退还": 2.0, "领出来": 3.5, "一次性领": 3.0, "领取": 1.5, "提出来": 3.5,
        "转到银行卡": 3.0, "转到微信": 3.5, "转到支付宝": 3.5, "转进银行卡": 3.0,
        "打到银行卡": 3.0, "打到卡上": 2.5, "到银行卡": 2.0, "转到卡": 2.0, "微信零钱": 3.0,
        "去世": 3.5, "过世": 3.5, "身故": 3.5, "人走了": 3.0, "死亡": 3.0, "继承": 3.5,
        "遗产": 3.0, "移民": 3.5, "出国": 2.5, "定居": 2.0, "绿卡": 3.0, "注销": 1.5,
        "销户": 2.0, "清户": 3.0, "退保": 2.5, "不想要了": 1.5, "余额+取": 1.5,
        "用不完": 2.0, "花不完": 2.0,
        "现金": 3.0,
        "交重了": -4.0,
        "缴重了": -4.0,
        "交重复": -4.0,
        "缴重复": -4.0,
        "重复交": -4.0,
        "重复缴": -4.0,
        "换现金": 4.0,
        "刷出来": 3.0,
        "退到": 2.0,
        "退给": 2.5,
        "能退": 2.5,
        "退吗": 2.5,
        "领吗": 2.5,
        "能领": 2.0,
        "能取": 3.5,
        "取吗": 3.0,
        "钱+取": 2.0,
        "钱+退": 2.0,
        "钱+领": 2.0,
        "钱+怎么办": 1.5,
        "钱+怎么处理": 2.0,
        "走了": 1.5,
        "去国外": 2.5,
        "国外": 2.0,
        "外国": 2.0,
        "银行卡": 1.5,
        "家属+领": 3.0,
        "不接收": 2.0,
        "取": 1.5,
        "套出来": 4.0,
        "套": 1.5,
        # 提 as a verb of its own (jieba decides: not in 提醒, 提前, 提交): 支付宝能提医保余额吗.
        "提": 2.5,
        "提到微信": 3.5,
        "提到支付宝": 3.5,
        "提到银行卡": 3.5,
        "提到卡": 3.0,
        "提余额": 3.5,
        "取余额": 3.5,
        # 提 in a word that asks nothing of the account (also spares asking jieba about it).
        "提个": 0.0,
        "提意见": 0.0,
        "提建议": 0.0,
        "提交": 0.0,
        "提出": 0.0,
        "提供": 0.0,
        "提示": 0.0,
        "提高": 0.0,
        "提问": 0.0,
    },
    examples=(
        "医保个人账户的钱能不能拿出来",
        "医保卡里的余额可以转到微信零钱吗",
        "医保卡的钱怎么提现到银行卡",
        "家里老人去世了 医保卡里的钱怎么取",
        "出国定居了医保账户里的钱能退吗",
        "医保个人账户余额能一次性领出来吗",
        "医保卡余额用不完可以取现吗",
        "辞职了医保里的钱可以取出来吗",
        "什么情况下能提取医保个人账户",
        "医保卡的钱可以转到支付宝吗",
        "药店说可以把医保卡的钱刷出来换现金 合法吗",
        "父亲走了 医保余额家属能领吗",
        "医保个人账户注销后钱退到哪",
        "不在本地生活了 医保账户能清户吗",
        "医保卡里攒了几万块能取吗",
        "退休了能把医保卡里的钱取出来吗",
        "医保余额能直接打到银行卡上吗",
        "去国外生活医保卡的钱怎么处理",
        "医保个人账户余额可以继承吗",
        "大病可以提取医保账户的钱吗",
        "不想交职工医保了 账户里的钱能退吗",
        "怎么把医保卡的钱变成现金",
        "医保账户的钱能转到自己银行卡吗",
        "新单位不接收医保余额 钱能退给我吗",
        "长期在外地住 医保账户的钱能取吗",
        "医保卡里的钱取现犯法吗",
    ),
)
# fmt: on
