"""Moving the insurance relationship and the personal-account balance to another place."""

import dataclasses

from bot.dialog.figures import explain, fmt_date
from bot.dialog.types import Part, Reply, Turn
from bot.nlu.entities import place_roles
from bot.nlu.places import PlaceResolver
from bot.policy import (
    BalanceHandling,
    ExplanationKey,
    Place,
    Scheme,
    TransferAssessment,
    TransferKind,
    transfer_kind,
)
from bot.policy.transfer import resident_cover_start
from intents import stay as staying
from intents.base import Intent
from intents.figures import figure


def places(turn: Turn) -> tuple[Place, Place] | None:
    """Origin and destination when the message (or the conversation) gives both."""
    origin, destination = known_places(turn)
    if origin is not None and destination is not None:
        return origin, destination
    return None


def known_places(turn: Turn) -> tuple[Place | None, Place | None]:
    """Origin and destination as far as they are known.

    The slots come first (the dialog keeps the known end when an answer names the other:
    "南京" after "从哪个城市转出？"). Two provinces without a city ("广东转到湖南") are read
    from the message itself.
    """
    s = turn.slots
    origin = Place(s.origin, s.origin_province) if s.origin and s.origin_province else None
    destination = (
        Place(s.destination, s.destination_province)
        if s.destination and s.destination_province
        else None
    )
    if origin is not None and destination is not None:
        return _refined(origin, destination, turn.text)
    if len(set(s.provinces)) < 2 or s.city:
        return _refined(origin, destination, turn.text)
    read_origin, read_destination = _places_in_text(turn.understanding.text)
    if origin is None and read_origin != destination:
        origin = read_origin
    if destination is None and read_destination != origin:
        destination = read_destination
    return _refined(origin, destination, turn.text)


def _province_only(place: Place | None) -> bool:
    return place is not None and place.city in (None, place.province)


def _refined(
    origin: Place | None, destination: Place | None, text: str
) -> tuple[Place | None, Place | None]:
    """A province is never one end of a move to or from one of its own cities: it only
    refines that city ("辽宁鞍山"). A province end becomes the one city of it the message
    names ("转到老家 … 老家湖南衡阳": 衡阳市); one that names the other end's city is dropped,
    leaving that city as the one known end."""
    wide_origin, wide_destination = _province_only(origin), _province_only(destination)
    origin, destination = staying.refine(origin, text), staying.refine(destination, text)
    if origin is None or destination is None:
        return origin, destination
    if wide_origin == wide_destination or origin.province != destination.province:
        return origin, destination
    # A province and a city of its own: the province's namesake city ("在吉林交的…去长春":
    # 吉林市) is the other end; otherwise the province only refines the city.
    wide = origin if wide_origin else destination
    city = staying.same_named_city(wide.province)
    if city is not None and city not in (origin, destination):
        return (city, destination) if wide_origin else (origin, city)
    if city is not None:
        # "吉林转到吉林市": the province's namesake city is already the other end, so the
        # province end is elsewhere in that province: a move inside one province.
        return (Place(None, wide.province), destination) if wide_origin else (origin, wide)
    return (None, destination) if wide_origin else (origin, None)


def _places_in_text(text: str) -> tuple[Place | None, Place | None]:
    mentions = PlaceResolver.default().mentions(text)
    roles = place_roles(text, [(m.start, m.end) for m in mentions])
    origin = destination = None
    others: list[Place] = []
    for m, role in zip(mentions, roles, strict=True):
        place = Place(m.city, m.province)
        if role == "origin" and origin is None:
            origin = place
        elif role == "destination" and destination is None:
            destination = place
        elif place not in others:
            others.append(place)
    if origin is None and destination is None:
        if len(others) < 2:
            return None, None
        return others[0], others[1]
    rest = [p for p in others if p not in (origin, destination)]
    if origin is None and rest:
        origin = rest[0]
    elif destination is None and rest:
        destination = rest[0]
    return origin, destination


def _name(place: Place) -> str:
    return place.city or place.province


async def handle(turn: Turn) -> Reply:
    """Which kind of transfer this is, what moves, and how to apply (steps that match it).

    Someone staying away from the insured place (posted, retired to a child's city, working
    elsewhere without asking to move) is told about remote-care filing instead."""
    stay = staying.read(turn.text)
    if stay is not None and (
        stay.kind in ("posted", "retired")
        or (stay.insured is not None and not staying.asks_to_move(turn.text))
    ):
        return _stay_reply(turn, stay)
    reply = _move_reply(turn)
    lead = _application_leads(turn)
    if not lead:
        return reply
    # The general "医保可以转" is not the question when the user asks why it failed.
    rest = tuple(p for p in reply.answer if p.key != "transfer/general" or not _failed(lead))
    return dataclasses.replace(reply, answer=(*lead, *rest))


def _failed(lead: list[Part]) -> bool:
    return any(p.key == "transfer/failed" for p in lead)


# Questions about the application itself, each answered before the general rule.
_WRONG_INFO = (
    "填错",
    "写错",
    "信息错",
    "选错",
    "被退回",
    "退回来",
    "驳回",
    "审核不通过",
    "没通过",
)
# "医保转移失败了咋回事": why a transfer fails and what to do, before the general rule.
_FAILED = (
    "失败",
    "转不了",
    "转不过去",
    "转不成",
    "办不了",
    "办不成",
    "不成功",
    "没成功",
    "不予受理",
    "被拒",
    "拒绝",
    "卡住了",
)
_CONSENT = ("单位同意", "公司同意", "单位批准", "公司批准", "单位签字", "单位盖章", "单位允许")


def _application_leads(turn: Turn) -> list[Part]:
    lead: list[Part] = []
    if any(w in turn.text for w in _FAILED):
        lead.append(Part("transfer/failed"))
    elif any(w in turn.text for w in _WRONG_INFO):
        lead.append(Part("transfer/wrong_info"))
    if any(w in turn.text for w in _CONSENT):
        lead.append(Part("transfer/no_employer_consent"))
        if turn.slots.scheme == "flexible" or "灵活就业" in turn.text:
            lead.append(Part("transfer/flexible_self"))
    return lead


_DOING = {"working": "工作", "living": "常住", "treated": "看病"}


def _stay_reply(turn: Turn, stay: staying.Stay) -> Reply:
    """Insured at one place, staying at another: file for remote care at the insured place
    (异地安置 for retirees, whose balance may be paid out across provinces), no transfer."""
    insured = staying.name(stay.insured) if stay.insured else "参保地"
    fields = {
        "insured": insured,
        "insured_at": f"参保地{insured}" if stay.insured else insured,
        "there": staying.name(stay.there) if stay.there else "外地",
        "doing": _DOING.get(stay.kind, "工作"),
    }
    key = stay.kind if stay.kind in ("posted", "retired") else "working"
    answer = [Part(f"transfer/stay_{key}", fields)]
    if stay.kind == "retired" and stay.cross_province is not False:
        answer.append(Part("transfer/stay_retired_balance", fields))
    ask = None
    if stay.insured is None and stay.kind == "retired" and "origin" not in turn.asked:
        answer.append(Part("transfer/stay_ask_insured"))
        ask = "origin"
    remember: dict[str, str] = {}
    if stay.insured is not None and stay.insured.city and stay.there is not None:
        remember = {
            "city": stay.insured.city,
            "province": stay.insured.province,
            "origin": stay.insured.city,
            "origin_province": stay.insured.province,
            "destination": staying.name(stay.there),
            "destination_province": stay.there.province,
        }
    return Reply(
        answer=tuple(answer),
        steps=(Part("transfer/stay_steps_app"), Part("transfer/stay_steps_local", fields)),
        materials=(Part("transfer/stay_materials"),),
        check=(Part("transfer/stay_check"),),
        estimate=True,
        ask=ask,
        remember=remember,
    )


def _move_reply(turn: Turn) -> Reply:
    s = turn.slots
    resident = s.scheme == "resident"
    scheme = Scheme.RESIDENT if resident else Scheme.EMPLOYEE
    origin, destination = known_places(turn)
    if origin is not None and destination is not None:
        result = transfer_kind(
            origin,
            destination,
            province=turn.ctx.province(origin.province),
            scheme=scheme,
            origin_city=turn.ctx.city(origin.city),
        )
        fields = {
            "origin": _name(origin),
            "destination": _name(destination),
            "province": origin.province,
            "note": _city_note(result),
            "offices": f"{_name(origin)}或{_name(destination)}",
        }
        if result.kind is TransferKind.SAME_CITY:
            return Reply(answer=(Part("transfer/same_city", fields),), estimate=True)
        reply = _reply(_kind_parts(result, fields), _steps(result, fields, resident))
    else:
        reply = _reply(*_one_or_no_place(turn, origin, destination, resident))
    return _with_resident_cover(turn, reply, destination) if resident else reply


def _with_resident_cover(turn: Turn, reply: Reply, destination: Place | None) -> Reply:
    """Residents have no balance to wait for; what they need is when cover starts at the new
    place, counted from today (said before any question back)."""
    place = turn.ctx.city(destination.city) if destination else None
    province = turn.ctx.province(destination.province) if destination else None
    cover = resident_cover_start(turn.today, city=place, province=province)
    fields = {
        "place": _name(destination) if destination else "新参保地",
        "cover_year": cover.cover_year,
        "opens": fmt_date(cover.opens_on),
        "pay_by": fmt_date(cover.pay_by),
        "covered_from": fmt_date(cover.covered_from),
    }
    key = "resident_cover_opens" if cover.opens_on > turn.today else "resident_cover"
    answer = list(reply.answer)
    at = len(answer) - 1 if reply.ask else len(answer)
    answer.insert(at, Part(f"transfer/{key}", fields))
    covered_from = fmt_date(cover.covered_from)
    cover_figure = figure("resident_covered_from", "新参保地待遇开始", covered_from, cover)
    return dataclasses.replace(reply, answer=tuple(answer), figures=(*reply.figures, cover_figure))


def _reply(
    answer: list[Part], steps: tuple[Part, ...], ask: str | None = None, ask_part: str = ""
) -> Reply:
    if ask_part:
        answer.append(Part(ask_part))
    return Reply(
        answer=tuple(answer),
        steps=steps,
        materials=(Part("transfer/materials"),),
        check=(Part("transfer/check"),),
        estimate=True,
        ask=ask,
    )


_LEAVING_WORDS = ("转走", "转出", "带走", "迁出", "离开")


def _one_or_no_place(
    turn: Turn, origin: Place | None, destination: Place | None, resident: bool
) -> tuple[list[Part], tuple[Part, ...], str | None, str]:
    """The general rule (residents' when the scheme is residents'), what the one known place
    adds, and the one question that would refine it: only the place still missing."""
    s = turn.slots
    fields = {"origin": "转出地", "destination": "新参保城市", "province": "本省", "note": ""}
    within = province_only(turn)
    guangdong = within == "广东省"
    intra = None if resident or within is None else _intra_province_rule(turn, within)
    answer: list[Part] = []
    if resident:
        answer.append(Part("transfer/resident_general"))
    elif guangdong:
        answer.append(Part("transfer/guangdong"))
    elif intra is not None:
        # "黑龙江省内换城市": the intra-province rule of that province, at once.
        fields["province"] = intra.inputs.origin.province
        answer.append(Part("transfer/province_intra", fields))
        answer += [explain(k, {"city": "原参保地"}) for k in intra.explanation_keys]
    else:
        answer.append(Part("transfer/general"))
    flow = "flow_resident" if resident else "flow_usable" if guangdong else "flow"
    if intra is not None:
        flow = _FLOWS[intra.balance]
    if destination is not None:
        answer.append(Part("transfer/to_place", {"place": _name(destination)}))
        missing, ask_part = "origin", "transfer/ask_origin"
        fields["destination"] = _name(destination)
    elif origin is not None:
        answer.append(Part("transfer/from_place", {"place": _name(origin)}))
        missing, ask_part = "destination", "transfer/ask_destination"
        fields["origin"] = _name(origin)
    else:
        if s.city:
            answer.append(Part("transfer/one_place", {"place": s.city}))
        # Both unknown, one city comes back: "把医保转走" leaves a place, so that is the origin.
        leaving = any(w in turn.text for w in _LEAVING_WORDS)
        missing, ask_part = ("origin" if leaving else "destination"), "transfer/ask_places"
    # A city that pays the balance to the person's bank (南京) says so, and the flow follows;
    # a lone city of unknown role may be the origin.
    maybe_origin = origin.city if origin else None if destination else s.city
    city = turn.ctx.city(maybe_origin)
    to_bank = city.balance_to_bank_working_days if city and not resident else None
    if to_bank is not None and city is not None:
        fields.update(origin=city.name, note=to_bank.provenance.note)
        answer.append(Part("transfer/to_bank" if origin else "transfer/to_bank_if_origin", fields))
        flow = "flow_to_bank" if origin else flow
    if within is not None and not resident:
        online = Part("transfer/steps_online_intra", {"province": within})
    else:
        online = Part("transfer/steps_online")
    offline = "steps_offline_resident" if resident else "steps_offline"
    steps = (
        online,
        Part(f"transfer/{offline}", {"offices": "转出地或转入地"}),
        Part(f"transfer/{flow}", fields),
    )
    if missing in turn.asked:
        return answer, steps, None, ""
    return answer, steps, missing, ask_part


# A move inside the one province named ("黑龙江省内换城市", "在本省换个城市").
_INTRA_WORDS = ("省内", "本省", "同省", "同一个省", "一个省内", "省里")


def province_only(turn: Turn, *, guangdong_alone: bool = True) -> str | None:
    """The province of a move within it, when only that province is named: any with words
    saying the move stays inside it, and (``guangdong_alone``) Guangdong named alone, whose
    rule is the question when one asks how to transfer there."""
    s = turn.slots
    if not s.province or s.city or len(set(s.provinces)) > 1:
        return None
    if any(w in turn.text for w in _INTRA_WORDS):
        return s.province
    return s.province if guangdong_alone and s.province == "广东省" else None


def _intra_province_rule(turn: Turn, province: str) -> TransferAssessment:
    """The province's rule for a move between two of its cities (neither city known)."""
    inside = Place(None, province)
    return transfer_kind(inside, inside, province=turn.ctx.province(province))


def _city_note(result: TransferAssessment) -> str:
    if result.balance is not BalanceHandling.TO_BANK_ACCOUNT:
        return ""
    return next(p.note for p in result.provenance if p.kind == "city")


def _kind_parts(result: TransferAssessment, fields: dict[str, str]) -> list[Part]:
    """The kind of move and what happens to the balance, by the rule that applies."""
    cross = result.kind is TransferKind.CROSS_PROVINCE
    balance = result.balance
    if balance is BalanceHandling.NO_PERSONAL_ACCOUNT:
        key = "resident_cross" if cross else "resident_intra"
        return [Part(f"transfer/{key}", fields), explain("old_place_stopped_no_arrears")]
    if balance is BalanceHandling.TO_BANK_ACCOUNT:
        head = "cross_province_to_bank" if cross else "intra_province"
        parts = [Part(f"transfer/{head}", fields), Part("transfer/to_bank", fields)]
        if cross:
            return [*parts, explain("old_place_stopped_no_arrears")]
        rest = (k for k in result.explanation_keys if k is not ExplanationKey.CITY_BALANCE_TIMING)
        return [*parts, *(explain(k, {"city": fields["origin"]}) for k in rest)]
    if cross:
        return [Part("transfer/cross_province", fields), explain("old_place_stopped_no_arrears")]
    parts = [Part("transfer/intra_province", fields)]
    parts.extend(explain(key, {"city": fields["origin"]}) for key in result.explanation_keys)
    return parts


_FLOWS = {
    BalanceHandling.MOVES: "flow",
    BalanceHandling.TO_BANK_ACCOUNT: "flow_to_bank",
    BalanceHandling.USABLE_ACROSS_CITIES: "flow_usable",
    BalanceHandling.DEPENDS_ON_PROVINCE: "flow_varies",
    BalanceHandling.NO_PERSONAL_ACCOUNT: "flow_resident",
}


def _steps(result: TransferAssessment, fields: dict[str, str], resident: bool) -> tuple[Part, ...]:
    """Steps for this kind of move: the cross-province application only across provinces, and
    the balance only where it really moves."""
    if result.kind is TransferKind.CROSS_PROVINCE:
        online = Part("transfer/steps_online")
    else:
        online = Part("transfer/steps_online_intra", {"province": result.inputs.origin.province})
    offline = "steps_offline_resident" if resident else "steps_offline"
    return (
        online,
        Part(f"transfer/{offline}", fields),
        Part(f"transfer/{_FLOWS[result.balance]}", fields),
    )


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
        # Whether it went through is transfer_progress (能转过去吗 asks whether it can: ours).
        "转过去了吗": -1.0,
        "转过去了没": -1.0,
        "转过去没": -1.0,
        "转过来了没": -1.0,
        "转出去了吗": -1.0,
        "转出去了没": -1.0,
        "转走了吗": -1.0,
        "转走了没": -1.0,
        "转成功了吗": -1.0,
        "转成功了没": -1.0,
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
