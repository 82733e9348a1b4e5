"""Letting close relatives use the employee personal-account balance (家庭共济)."""

import re

from bot.dialog.types import Part, Reply, Turn
from intents.base import Intent

# The user's own scheme, not a relative's: "给老公交居民医保" names the husband's scheme.
_SELF_RESIDENT = re.compile(r"我(?:是|的|交的是?|参加的是?|买的是?|只有)?(?:城乡)?(?:居民|新农合)")

# "用我的余额给老公交居民医保": the user wants the account to pay a relative's premium.
_PREMIUM_WORDS = ("交居民", "交医保", "代缴", "缴费", "交费", "交保费", "交新农合", "账户交")
# Relatives insured somewhere else: whether sharing reaches them depends on both places.
_ELSEWHERE_WORDS = ("老家", "外地", "两个城市", "不同城市", "异地", "外省", "跨省", "两地")
_UNBIND_WORDS = ("解除", "解绑", "取消绑定", "删除")
# Handing over one's own card is not sharing: it is using someone else's card, which is banned.
_LEND_WORDS = ("刷我的", "刷大人的", "借给", "违法", "犯法", "用我的医保卡", "拿我的医保卡")


# A relative named by a pronoun or a kin word, whose scheme the message gives.
_KIN = (
    r"(?P<kin>她|他|老婆|老公|妻子|丈夫|爱人|媳妇|对象|我妈|我爸|妈妈|爸爸|父亲|母亲|孩子|儿子|女儿"
    r"|孙子|孙女|外孙|外孙女|公公|婆婆|岳父|岳母|爷爷|奶奶|外公|外婆|姥姥|姥爷)"
)
_KIN_RESIDENT = re.compile(
    _KIN + r"(?:的|是|交的是?|参加的是?|买的是?|只有|有)?(?:城乡)?(?:居民|新农合|农合)"
)
_KIN_EMPLOYEE = re.compile(_KIN + r"(?:的|是|交的是?|参加的是?|有)?(?:城镇)?职工医保")


def _kin(match: re.Match[str]) -> str:
    """How to name the relative back to the user: "她" stays "她", "老公" is "你老公"."""
    kin = match.group("kin")
    if kin in ("她", "他") or kin.startswith("我"):
        return kin.replace("我", "你", 1)
    return f"你{kin}"


def _own_scheme_resident(text: str) -> bool:
    """The user's own scheme is the residents' one: said ("我是居民医保"), or the scheme the
    question is about ("居民医保能给家人用吗") when it names no premium paid for a relative
    ("给孩子交居民医保" names the child's scheme) and no employee scheme of the user's."""
    if _SELF_RESIDENT.search(text):
        return True
    if not any(w in text for w in ("居民", "新农合", "农合")) or "职工" in text:
        return False
    return not any(w in text for w in _PREMIUM_WORDS)


async def handle(turn: Turn) -> Reply:
    """Yes (for 职工医保), who and what it covers, then how to bind."""
    return answer(turn, resident=_own_scheme_resident(turn.text))


def answer(turn: Turn, *, resident: bool) -> Reply:
    """The family-sharing answer; ``resident``: the user's own scheme is the residents' one,
    which has no account to share (another intent may know it from the conversation)."""
    city = turn.slots.city
    fields = {"city": city or "当地", "place": city or "当地"}
    kin_employee = _KIN_EMPLOYEE.search(turn.text)
    kin_resident = _KIN_RESIDENT.search(turn.text)
    if resident and kin_employee:
        # "我老公的职工医保能给我用吗 我是居民医保": yes, from the relative's account.
        parts = [Part("family_share/answer_from_relative", {"kin": _kin(kin_employee)})]
    elif resident and not _SELF_RESIDENT.search(turn.text) and kin_resident:
        # "她交的是居民医保": the relative's scheme, not the user's; the user shares to them.
        parts = [Part("family_share/answer_to_resident", {"kin": _kin(kin_resident)})]
        resident = False
    elif resident:
        # A resident has nothing to share; say so first, then how the family can help instead.
        parts = [Part("family_share/answer_resident")]
    elif kin_resident:
        parts = [Part("family_share/answer_to_resident", {"kin": _kin(kin_resident)})]
    else:
        parts = [Part("family_share/answer_city" if city else "family_share/answer", fields)]
    if any(w in turn.text for w in _LEND_WORDS):
        # "违法吗" is answered by the compliance point itself; otherwise the yes comes first
        # and the warning right after it.
        asks_legal = any(w in turn.text for w in ("违法", "犯法", "违规", "合法", "可以借"))
        parts.insert(0 if asks_legal else 1, Part("family_share/lend_card"))
    premium = any(w in turn.text for w in _PREMIUM_WORDS)
    # The premium line below says it at length: the short "what" leaves it out.
    parts += [
        Part("family_share/who"),
        Part(f"family_share/what{'_no_premium' if premium else ''}"),
    ]
    if not resident:
        parts.append(Part("family_share/only_employee"))  # the resident answer says it
    if premium:
        parts.append(Part("family_share/premium", fields))
    if any(w in turn.text for w in _ELSEWHERE_WORDS):
        parts.append(Part("family_share/elsewhere", fields))
    if any(w in turn.text for w in _UNBIND_WORDS):
        parts.append(Part("family_share/unbind"))
    # The rule is national: say where it comes from, and that places differ in the details.
    parts.append(Part("family_share/basis", fields))
    return Reply(
        answer=tuple(parts),
        steps=(
            Part("family_share/steps_app"),
            Part("family_share/steps_alipay"),
            Part("family_share/steps_local", fields),
            Part("family_share/steps_counter"),
        ),
        materials=(Part("family_share/materials"),),
        check=(Part("family_share/check"),),
    )


# Keyword tables read better as lines of words than as one word a line.
# fmt: off
INTENT = Intent(
    handler=handle,
    id="family_share",
    extra={"topic": "家庭共济"},
    description="家庭共济：个人账户给配偶、父母、子女等近亲属使用及绑定方法",
    slots=(),
    keywords={
        "家庭共济": 5.0, "共济": 4.0, "亲情账户": 5.0, "亲情付": 3.0, "绑定": 2.0,
        "家人": 2.5, "家属": 2.0, "亲属": 2.0, "亲人": 2.0, "父母": 2.0, "爸妈": 2.0,
        "爸爸": 1.5, "妈妈": 1.5, "老人": 1.0, "孩子": 1.5, "小孩": 1.5, "子女": 2.0,
        "儿子": 1.5, "女儿": 1.5, "配偶": 2.5, "老婆": 2.0, "老公": 2.0, "爱人": 2.0,
        "媳妇": 2.0, "丈夫": 2.0, "妻子": 2.0, "爷爷": 1.5, "奶奶": 1.5, "外公": 1.5,
        "外婆": 1.5, "兄弟": 1.0, "姐妹": 1.0, "公婆": 1.5, "岳父": 1.5, "岳母": 1.5,
        "给+用": 2.0, "帮+交": 1.0, "我的医保卡": 1.5, "我的+账户": 1.0, "一起用": 2.5,
        "共用": 3.0, "通用": 1.0, "代缴": 1.5, "去世": -3.0, "过世": -3.0, "继承": -3.0,
        "领": -2.0,
        "家属+领": -3.0,
        "能用我": 2.5,
        "用我的": 2.0,
        "用我在": 2.0,
        "个账+交": 2.0,
        "账户+交+给": 2.0,
        "个账+给": 2.0,
        "个人账户+给": 2.0,
        # "给我妈用", "给父母用": whom the balance is for (a follow-up's own topic).
        **{
            f"给{who}用": 2.0
            for who in (
                "我妈", "我爸", "俺娘", "俺爹", "父母", "爸妈", "老人", "家人", "家里人",
                "孩子", "小孩", "儿子", "女儿", "老婆", "老公", "爱人", "媳妇", "对象",
                "我母亲", "我父亲", "爷爷", "奶奶", "外公", "外婆", "公婆", "岳父", "岳母",
            )
        },
    },
    examples=(
        "我的医保卡可以给我妈买药吗",
        "职工医保个人账户怎么给家人用",
        "家庭共济在哪里绑定",
        "亲情账户怎么添加家人",
        "用我的医保余额给老公交居民医保可以吗",
        "孩子的居民医保能用我的个人账户交吗",
        "老婆看病能刷我的医保卡吗",
        "家庭共济可以绑定几个人",
        "医保账户余额能给爷爷奶奶用吗",
        "在支付宝上怎么开通医保家庭共济",
        "父母在老家 能用我这边的医保余额吗",
        "医保个人账户共济给兄弟姐妹可以吗",
        "家庭共济要本人去办吗",
        "我爸的医保卡余额能给我用吗",
        "家人住院能用我的医保账户付自费部分吗",
        "两个城市的家人能共济吗",
        "医保共济怎么解除绑定",
        "爱人没有工作 能用我的职工医保吗",
        "小孩看门诊能刷大人的医保卡吗",
        "退休老人的医保卡可以给子女用吗",
        "医保服务平台上亲情账户在哪里",
        "岳父岳母能用我的医保余额买药吗",
        "怎么让家里人共用医保卡里的钱",
        "医保卡给家里人用违法吗",
        "家庭共济需要什么条件",
        "在外地的父母能绑我的家庭共济吗",
    ),
)
# fmt: on
