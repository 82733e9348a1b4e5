"""Moving the insurance relationship and the personal-account balance to another place."""

from bot.dialog.figures import explain
from bot.dialog.types import Part, Reply, Turn
from bot.policy import Place, Scheme, TransferKind, transfer_kind
from intents.base import Intent


def places(turn: Turn) -> tuple[Place, Place] | None:
    """Origin and destination when the message (or the conversation) gives both."""
    s = turn.slots
    if s.origin and s.destination and s.origin_province and s.destination_province:
        return Place(s.origin, s.origin_province), Place(s.destination, s.destination_province)
    return None


async def handle(turn: Turn) -> Reply:
    """Which kind of transfer this is, what moves, and how to apply."""
    s = turn.slots
    pair = places(turn)
    answer: list[Part] = []
    # Without both places the general rule still answers; ask once for what would refine it.
    ask = "destination" if pair is None and "destination" not in turn.asked else None
    offices = "转出地或转入地"
    if pair is not None:
        origin, destination = pair
        scheme = Scheme.RESIDENT if s.scheme == "resident" else Scheme.EMPLOYEE
        result = transfer_kind(
            origin, destination, province=turn.ctx.province(origin.province), scheme=scheme
        )
        fields = {
            "origin": origin.city or "",
            "destination": destination.city or "",
            "province": (origin.province or "").removesuffix("省"),
        }
        answer.extend(_kind_parts(result.kind, result.explanation_keys, fields))
        offices = f"{origin.city}或{destination.city}"
    elif s.city:
        answer.append(Part("transfer/general"))
        answer.append(Part("transfer/one_place", {"place": s.city}))
    elif s.province == "广东省":
        answer.append(Part("transfer/guangdong"))
    else:
        answer.append(Part("transfer/general"))
    if s.scheme == "resident" or "居民" in turn.text or "新农合" in turn.text:
        answer.append(Part("transfer/resident"))
    if ask:
        answer.append(Part("transfer/ask_places"))
    return Reply(
        answer=tuple(answer),
        steps=(
            Part("transfer/steps_online"),
            Part("transfer/steps_offline", {"offices": offices}),
            Part("transfer/flow"),
        ),
        materials=(Part("transfer/materials"),),
        check=(Part("transfer/check"),),
        estimate=True,
        ask=ask,
    )


def _kind_parts(
    kind: TransferKind, keys: tuple[object, ...], fields: dict[str, str]
) -> list[Part]:
    if kind is TransferKind.SAME_CITY:
        return [Part("transfer/same_city", fields)]
    if kind is TransferKind.CROSS_PROVINCE:
        return [
            Part("transfer/cross_province", fields),
            explain("old_place_stopped_no_arrears"),
        ]
    parts = [Part("transfer/intra_province", fields)]
    parts.extend(explain(key, {"city": fields["origin"]}) for key in keys)
    return parts


INTENT = Intent(
    handler=handle,
    id="transfer",
    extra={"topic": "医保转移"},
    description="医保关系转移接续、个人账户余额随转、变更参保地",
    slots=("origin", "destination"),
    keywords={
        "转移": 2.5,
        "转到": 2.5,
        "转去": 2.5,
        "转入": 2.0,
        "转出": 2.0,
        "转走": 2.5,
        "转过去": 2.5,
        "转过来": 2.5,
        "转回": 2.5,
        "转关系": 3.0,
        "关系转": 2.5,
        "接续": 2.5,
        "转移接续": 3.5,
        "带走": 2.5,
        "带过去": 2.5,
        "跟着走": 2.0,
        "跟着转": 2.5,
        "变更参保地": 4.0,
        "参保地": 2.0,
        "改参保地": 3.5,
        "换参保地": 3.5,
        "划转": 2.5,
        "迁移": 2.0,
        "迁到": 2.0,
        "跨省": 1.5,
        "省内": 1.0,
        "异地": 0.5,
        "换城市": 2.5,
        "换了城市": 2.5,
        "换工作": 1.5,
        "换单位": 1.5,
        "调到": 2.0,
        "调去": 2.0,
        "调动": 2.0,
        "去外地": 1.5,
        "回老家": 1.5,
        "到外地": 1.5,
        "离职": 0.5,
        "参保凭证": 2.5,
        "信息表": 2.0,
        "能转": 2.0,
        "可以转": 2.0,
        "转吗": 1.5,
        "要转吗": 3.0,
        "转移+怎么申请": 2.5,
        "转移+如何申请": 2.5,
        "怎么转": 2.5,
        "转+个人账户": 1.0,
        "转+余额": 1.0,
        "转+统筹": 1.0,
        "转+社保": 0.5,
        "两边": 1.0,
        "同时": 0.3,
        "新单位": 1.0,
        "原单位": 0.5,
        "停保": 0.3,
        "多久": -2.0,
        "几天": -2.0,
        "多少天": -2.0,
        "多长时间": -2.0,
        "多少时间": -2.0,
        "工作日": -2.0,
        "进度": -3.0,
        "到账": -1.5,
        "什么时候": -1.5,
        "成功": -1.5,
        "状态": -2.0,
        "时限": -2.0,
        "支付宝": -2.5,
        "微信": -2.0,
        "银行卡": -2.5,
        "现金": -2.5,
        "接上": 2.0,
        "合并": 2.0,
        "年限+合并": 1.5,
        "两个城市": 1.0,
        "两地": 1.5,
        "转": 2.0,
        "咋转": 3.0,
        "弄过去": 2.5,
        "过去": 1.0,
        "啥时候": -1.5,
        "这么久": -1.5,
        "搬去": 2.0,
        "搬到": 2.0,
        "带回来": 2.5,
        "带回": 2.5,
        "一起带": 2.0,
        "转移+查询": -2.0,
    },
    examples=(
        "从厦门换工作到上海 医保关系怎么转过去",
        "医保关系转移接续怎么申请",
        "我在长沙交的医保可以转到武汉吗",
        "换了城市以后医保要怎么处理",
        "跨省转移医保需要带什么材料",
        "个人账户的余额能不能一起转走",
        "统筹基金那部分钱会跟着转吗",
        "省内换城市医保需要转吗",
        "广东省内调动 医保账户要转吗",
        "在国家医保服务平台上怎么办转移接续",
        "医保转移要先在原单位停保吗",
        "想把医保从老家转到现在工作的城市",
        "参保凭证在哪里开",
        "离职去了外地 之前的医保怎么转",
        "回老家了 医保能转回去吗",
        "医保关系转出去以后原来的卡还能用吗",
        "城乡居民医保可以跨省转吗",
        "医保参保地怎么变更",
        "医保转移接续线上能办吗",
        "新单位在另一个省 医保怎么接上",
        "交了五年医保 换城市后年限能带过去吗",
        "两个城市的缴费年限能合并吗",
        "医保转出的时候需要本人去吗",
        "灵活就业的医保可以转到单位吗",
        "医保转移是转出地办还是转入地办",
        "南宁的医保怎么转去深圳",
        "从江苏调到浙江医保余额会转过去吗",
        "异地工作了想把医保关系也转过来",
        "医保转移需要哪些手续",
        "退休以后去外省住 医保能转吗",
    ),
)
