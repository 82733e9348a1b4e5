"""Reimbursement rates, deductibles, caps, claim timing and remote treatment."""

import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

from bot.dialog.render import render_part
from bot.dialog.types import Figure, Part, Reply, Turn
from bot.policy import (
    CapEstimate,
    CityPolicy,
    Provenance,
    Scheme,
    fmt_number,
    is_estimate,
    reimbursement_cap,
)
from bot.policy import national as nat
from intents import stay as staying
from intents.base import Intent
from intents.figures import figure
from region_data.city_policy import CapTier

# Only a question about the amount makes the cap (a local figure) the point of the answer;
# "能报吗" asks whether something is covered at all.
_CAP_WORDS = (
    "封顶", "最高", "最多", "上限", "限额", "报多少", "能报多少", "报销多少", "一年能报",
    "百分之多少",
)  # fmt: skip
_MONTHLY_WORDS = ("每月", "每个月", "一个月")
_RATIO_WORDS = ("比例", "起付", "门槛", "百分之", "几成", "自付", "自费", "甲类", "乙类", "目录")
_TIMING_WORDS = ("多久", "几天", "到账", "什么时候到", "多长时间", "多少天", "几个月")
_MANUAL_WORDS = (
    "手工", "零星", "垫付", "先垫", "自己垫", "回来报", "发票", "票据", "回去报", "没有直接结算",
    "没直接结算", "不能直接结算",
)  # fmt: skip
_REMOTE_WORDS = ("异地", "外地", "备案", "跨省", "转诊", "外省")
_ECARD_WORDS = ("电子凭证", "电子医保卡", "医保码", "卡丢", "没带卡", "丢了", "电子卡")
# The card left at home: the e-voucher (or face scan) settles instead.
_NO_CARD = re.compile(r"(?:没|忘|忘了|没有)带.{0,3}卡|卡(?:没带|忘带|忘了带|不在身上)")
# The card itself (社保卡 / 医保卡): lost, password, applying or activating, damaged. Each
# needs the card office, not the claim rules; the e-voucher covers the time without a card.
# fmt: off
_CARD_TOPICS = (
    ("lost", ("丢", "挂失", "补办", "补卡", "被偷", "找不到", "不见了")),
    ("password", ("密码",)),
    ("broken", ("消磁", "坏了", "读不出", "换卡")),
    ("apply", ("激活", "办卡", "领卡", "制卡", "申领", "新办", "办一张", "办张", "办社保卡",
               "办医保卡", "卡怎么办理", "卡在哪办", "卡去哪办", "卡在哪里办")),
)
# fmt: on
# A claim, a settlement, an invoice, a bank card or the e-voucher: then the card is not the
# question ("刷了卡，发票丢了能报吗", "银行卡丢了", "电子医保卡怎么激活").
_NOT_CARD_SERVICE = (
    "报",
    "结算",
    "发票",
    "票据",
    "银行卡",
    "电子",
    "凭证",
    "医保码",
    "医院",
    "药店",
)
# How far a card word may sit from the word saying what happened to it (医保卡|丢了, 卡|密码,
# 激活|医保卡, 社保卡|在哪办).
_CARD_NEAR = 4
# Continuous-cover months only count when the message is about how long one has been insured.
_CONTINUITY_WORDS = ("连续", "参保", "交了", "缴了")
_SCHEME_NAMES = {Scheme.EMPLOYEE: "职工医保", Scheme.RESIDENT: "居民医保"}


def _has(text: str, words: tuple[str, ...]) -> bool:
    return any(w in text for w in words)


def _card_topic(text: str) -> str | None:
    """Which card service a message asks about, if it is about the card and not a claim."""
    if "卡" not in text or _has(text, _NOT_CARD_SERVICE):
        return None
    cards = [i for i, ch in enumerate(text) if ch == "卡"]
    for topic, words in _CARD_TOPICS:
        for word in words:
            at = text.find(word)
            while at >= 0:
                end = at + len(word)
                if any(at - _CARD_NEAR <= c < end + _CARD_NEAR for c in cards):
                    return topic
                at = text.find(word, at + 1)
    return None


def _card_reply(topic: str) -> Reply:
    return Reply(
        answer=(Part(f"reimbursement/card_{topic}"),),
        steps=(Part("reimbursement/steps_e_card"),),
        check=(Part("reimbursement/check_card"),),
    )


@dataclass(frozen=True)
class _Basis:
    """A figure's own basis and sources when it shows only part of a policy result."""

    basis: str
    provenance: tuple[Provenance, ...]


def _render(block: str, fields: Mapping[str, object]) -> str:
    return render_part(Part(f"reimbursement/{block}", fields))


def _wan(value: Decimal, approximate: bool) -> str:
    """Caps are round sums: '50万元', or '约100万元' when the source says about."""
    about = "about_" if approximate else ""
    return _render(f"value_{about}wan", {"wan": fmt_number(value / 10000)})


def _span(months: int) -> str:
    if months % 12 == 0:
        return _render("value_years", {"n": months // 12})
    return _render("value_months", {"n": months})


def _tier_label(tier: CapTier) -> str:
    bounds = {
        "from": _span(tier.min_months),
        "below": _span(tier.below_months) if tier.below_months else "",
    }
    if tier.below_months is None:
        key = "tier_from" if tier.min_months else "tier_any"
    else:
        key = "tier_between" if tier.min_months else "tier_below"
    return _render(key, bounds)


def _schemes(scheme: str | None) -> tuple[Scheme, ...]:
    # Flexible workers and retirees are members of 职工医保, whose caps apply to them.
    if scheme == "resident":
        return (Scheme.RESIDENT,)
    if scheme in ("employee", "flexible", "retired"):
        return (Scheme.EMPLOYEE,)
    return (Scheme.EMPLOYEE, Scheme.RESIDENT)


def _caps(
    turn: Turn, policy: CityPolicy | None, fields: dict[str, object]
) -> tuple[list[Part], list[Figure], bool]:
    """The annual cap per scheme: the city's figure, its tiers, or the national example."""
    months = turn.slots.months if _has(turn.text, _CONTINUITY_WORDS) else None
    answer: list[Part] = []
    figures: list[Figure] = []
    seen: set[tuple[object, ...]] = set()
    examples: list[tuple[str, CapEstimate]] = []  # schemes the city has no cap of its own for
    estimate = False
    for scheme in _schemes(turn.slots.scheme):
        cap = reimbursement_cap(scheme, city=policy, continuous_months=months)
        # A city whose tiers name no scheme gives the same answer twice: show it once.
        key = (cap.amount, cap.tiers, cap.critical_illness_example, cap.provenance)
        if key in seen:
            continue
        seen.add(key)
        estimate = estimate or is_estimate(cap)
        name = _SCHEME_NAMES[scheme]
        if not cap.tiers:
            examples.append((name, cap))
            continue
        parts, figs = _cap_parts(cap, name, months, fields)
        answer += parts
        figures += figs
    if examples:
        parts, figs = _national_caps(examples, fields, after_city=bool(answer))
        answer += parts
        figures += figs
    return answer, figures, estimate


def _named_place(fields: dict[str, object]) -> bool:
    """Did the user name a place (the fields say "当地" otherwise)?"""
    return fields.get("city") not in (None, "", "当地")


def _national_caps(
    examples: list[tuple[str, CapEstimate]], fields: dict[str, object], *, after_city: bool
) -> tuple[list[Part], list[Figure]]:
    """The national examples of the schemes without a city cap, in one sentence: each
    scheme's common cap, and the cap with critical-illness cover once (it is the same).
    ``after_city``: the city's own cap for another scheme was said just before."""
    caps = [(name, cap, _wan(cap.amount or Decimal(0), True)) for name, cap in examples]
    criticals = {cap.critical_illness_example for _, cap, _ in caps}
    critical_cap = caps[-1][1]
    critical = _wan(critical_cap.critical_illness_example or Decimal(0), True)
    amounts = "，".join(
        # One scheme after the city's cap of another is named at the start of the sentence.
        amount
        if after_city and len(caps) == 1
        else _render("scheme_amount", {"scheme": name, "amount": amount})
        for name, _, amount in caps
    )
    schemes = "、".join(name for name, _, _ in caps)
    values = {**fields, "amounts": amounts, "critical": critical, "schemes": schemes}
    key = "caps_national"
    if after_city:
        key = "caps_national_other_schemes"
    elif _named_place(fields):
        key = "caps_national_city"
    figures = [
        figure(
            "cap" if len(caps) == 1 else f"cap_{cap.inputs.scheme.value}",
            _render("label_cap_national", {"scheme": name}),
            amount,
            _Basis(_render("basis_cap_national", {}), cap.provenance[:1]),
        )
        for name, cap, amount in caps
    ]
    if len(criticals) == 1:
        figures.append(
            figure(
                "cap_critical",
                _render("label_critical", {}),
                critical,
                _Basis(_render("basis_critical", {}), critical_cap.provenance[-1:]),
            )
        )
    return [Part(f"reimbursement/{key}", values)], figures


def _cap_parts(
    cap: CapEstimate, name: str, months: int | None, fields: dict[str, object]
) -> tuple[list[Part], list[Figure]]:
    if cap.amount is not None and cap.tiers:  # the city's one cap for this case
        amount = _wan(cap.amount, cap.approximate)
        scheme = name if cap.tiers[0].scheme else ""
        values = {**fields, "scheme": scheme, "amount": amount}
        label = _render("label_cap", {"scheme": scheme or "医保"})
        return [Part("reimbursement/cap_city", values)], [figure("cap", label, amount, cap)]
    # The city's bands by continuous cover, each with its own source (national examples are
    # said together, by _national_caps).
    parts = [Part("reimbursement/cap_tiers", fields)]
    if months is not None:
        parts.append(Part("reimbursement/cap_tiers_months", {**fields, "months": _span(months)}))
    figures = [
        figure(
            "cap_tier",
            _tier_label(t),
            _wan(t.amount.value, t.approximate),
            _Basis(cap.basis, (t.amount.provenance,)),
        )
        for t in cap.tiers
    ]
    return parts, figures


# 大病保险 rides on basic insurance; 补充医疗 (employer's or commercial) is a scheme of its own.
_CRITICAL = re.compile(r"大病保险|大病医保|大病补充|城乡居民大病|大病险")
_SUPPLEMENT = re.compile(
    r"补充医疗|补充保险|补充医保|企业补充|商业(?:医疗)?(?:保险|险)|惠民保|百万医疗"
)


def _extra_cover(text: str) -> str | None:
    """ "critical" for 大病保险 (also "大病补充保险"), "supplement" for 补充医疗/商业保险."""
    if _CRITICAL.search(text):
        return "critical"
    if _SUPPLEMENT.search(text):
        return "supplement"
    return None


def _extra_cover_reply(kind: str, text: str, fields: dict[str, object]) -> Reply:
    """What 大病保险 or 补充医疗保险 is and how it pays: not the basic scheme's claim rules."""
    check = (Part("reimbursement/check", fields),)
    if kind == "supplement":
        return Reply(
            answer=(Part("reimbursement/supplement"),),
            steps=(Part("reimbursement/steps_supplement"),),
            check=check,
        )
    cap = nat.CRITICAL_ILLNESS_CAP_EXAMPLE
    answer = [Part("reimbursement/critical_illness")]
    if "补充" in text or _SUPPLEMENT.search(text):
        answer.append(Part("reimbursement/critical_not_supplement"))
    critical = figure(
        "cap_critical",
        _render("label_critical", {}),
        _wan(cap.value, True),
        _Basis(_render("basis_critical", {}), (cap.provenance,)),
    )
    return Reply(
        answer=tuple(answer),
        figures=(critical,),
        steps=(Part("reimbursement/steps_direct"),),
        check=check,
        estimate=True,
    )


def extra_cover_reply(turn: Turn) -> Reply | None:
    """For other handlers ("大病保险怎么交", "补充医疗断了有影响吗"): the answer about 大病保险
    or 补充医疗保险 when the message is about one, else None."""
    kind = _extra_cover(turn.text)
    if kind is None:
        return None
    place = turn.slots.city or "当地"
    return _extra_cover_reply(kind, turn.text, {"city": place, "place": place})


def _insured_elsewhere(turn: Turn) -> tuple[str, str] | None:
    """(insured city, city lived in) when the conversation says the user is insured in one
    city and lives in another ("退休了跟儿子去深圳住，老家是哈尔滨的"): treatment there is
    remote treatment under the insured city's rules, never the place lived in's."""
    stay = staying.read(turn.text)
    if stay is not None and stay.insured is not None and stay.there is not None:
        return staying.name(stay.insured), staying.name(stay.there)
    s = turn.slots
    if s.origin and s.destination and s.origin != s.destination and s.city == s.destination:
        return s.origin, s.destination
    if (
        s.origin
        and s.destination
        and s.origin != s.destination
        and s.city in (s.origin, None)
        and _has(turn.text, _REMOTE_WORDS)
    ):
        # "要备案吗" after "我是长沙的医保 在广州住院": the places the conversation knows.
        return s.origin, s.destination
    return None


# "备案完要多久生效", "备案几天能用": when the filing takes effect, not when a claim is paid.
_FILING_EFFECT = re.compile(
    r"备案.{0,8}(?:生效|多久|几天|多长时间|什么时候|啥时候|能用|可以用|管用|办好|批下来)"
    r"|(?:生效|多久|几天|多长时间|什么时候|啥时候).{0,6}备案"
)
_CLAIM_TIMING = ("到账", "报销", "打到", "回款", "钱")


def _asks_filing_effect(text: str) -> bool:
    """Whether the message asks when a remote-treatment filing takes effect."""
    return bool(_FILING_EFFECT.search(text)) and not _has(text, _CLAIM_TIMING)


_ASKS_FILING = re.compile(r"(?:要|需要|用|得|要不要|用不用|需不需要)(?:先)?(?:办)?备案")

_FILING = {
    "posted": "类型选“异地工作”",
    "retired": "退休后跟子女长住的选“异地安置”",
    "working": "在外地打工、工作的选“异地长期居住”或“异地工作”",
    "living": "选“异地长期居住”",
    "treated": "临时去看病的选“临时外出就医”",
    "any": "临时去看病选“临时外出就医”，长住、工作选“异地长期居住”或“异地工作”",
}


def _remote_part(turn: Turn, away: tuple[str, str]) -> Part:
    """Remote treatment in the user's own places: where to file, who settles, whose rules."""
    stay = staying.read(turn.text)
    s = turn.slots
    if (stay is None or stay.insured is None or stay.there is None) and (
        (s.origin, s.destination) == away and s.origin_province and s.destination_province
    ):
        # A follow-up without the places: those of the conversation, the kind unknown.
        cross = s.origin_province != s.destination_province
        return Part(
            "reimbursement/remote_insured",
            {
                "insured": away[0],
                "there": away[1],
                "scope": "跨省" if cross else "",
                "province": f"（{s.origin_province}）" if cross else "",
                "filing": _FILING["any"],
            },
        )
    if stay is None or stay.insured is None or stay.there is None:
        return Part("reimbursement/insured_elsewhere", {"insured": away[0], "living": away[1]})
    fields = {
        "insured": away[0],
        "there": away[1],
        "scope": "跨省" if stay.cross_province else "",
        "province": f"（{stay.insured.province}）" if stay.cross_province else "",
        "filing": _FILING[stay.kind],
    }
    return Part("reimbursement/remote_insured", fields)


async def handle(turn: Turn) -> Reply:
    """The sub-question asked (cap, ratio, timing, manual claim, remote, e-card), then how."""
    city = turn.slots.city
    text = turn.text
    card = _card_topic(text)
    if card is not None:
        return _card_reply(card)
    away = _insured_elsewhere(turn)
    if away is not None:
        city = away[0]  # the insured city's rules decide the claim
    policy = turn.ctx.city(city)
    fields: dict[str, object] = {"city": city or "当地", "place": city or "当地"}
    ratio = _has(text, _RATIO_WORDS)
    filing_effect = _asks_filing_effect(text)
    timing = _has(text, _TIMING_WORDS) and not filing_effect
    manual = _has(text, _MANUAL_WORDS)
    remote = _has(text, _REMOTE_WORDS)
    no_card = bool(_NO_CARD.search(text))
    ecard = _has(text, _ECARD_WORDS) or no_card
    monthly = _has(text, _MONTHLY_WORDS)  # "每个月有上限吗": the answer is the rule, not a cap
    cap = _has(text, _CAP_WORDS) and not monthly
    specific = cap or ratio or timing or manual or remote or ecard or filing_effect
    extra = _extra_cover(text)
    if extra == "supplement" or (extra == "critical" and not cap):
        # "补充医疗保险怎么报", "大病保险是啥": not the basic scheme's claim rules. (The cap
        # with 大病保险 included, "大病医保封顶线多少", is the caps answer below.)
        return _extra_cover_reply(extra, text, fields)
    if not specific and "city" in turn.asked:
        # A bare "北京" answers the city question, which was only asked about the cap.
        cap = specific = True
    if cap and city is None and "city" not in turn.asked:
        # The cap is a local figure: one word from the user turns an example into the answer.
        return Reply(answer=(Part("reimbursement/ask_city"),), ask="city")

    answer: list[Part] = []
    figures: list[Figure] = []
    estimate = False
    steps = [Part("reimbursement/steps_direct")]
    materials: list[Part] = []
    if cap:
        answer, figures, estimate = _caps(turn, policy, fields)
    if away is not None:
        # Remote treatment: filing it first decides whether the bill is settled directly.
        answer.insert(0, _remote_part(turn, away))
        if _ASKS_FILING.search(text):
            answer.insert(0, Part("reimbursement/filing_needed"))
        steps.append(Part("reimbursement/steps_remote", fields))
        remote = False  # said above, in the user's own places
        specific = True
    if (
        turn.slots.cause == "employer"
        and _has(text, ("断", "那段", "期间", "这期间", "那时"))
        or (turn.slots.cause == "employer" and not specific)
    ):
        # After an employer's lapse: the gap's bills are claimed once the employer has paid.
        answer.insert(0, Part("reimbursement/after_employer_gap"))
    if not specific:
        # "看牙能报吗": whether something is covered at all, before any amount.
        answer.append(Part("reimbursement/coverage"))
    if cap or ratio or monthly or not specific:
        rule = [Part("reimbursement/how_it_works"), Part("reimbursement/ratio", fields)]
        # Asked about the ratio itself: that answer leads, the arithmetic follows.
        answer += rule[::-1] if ratio and not cap else rule
    if filing_effect:
        # "备案完要多久生效": when the filing works leads; claim payout times are not asked.
        answer.insert(0, Part("reimbursement/filing_effective"))
        if remote and away is None:
            steps.append(Part("reimbursement/steps_remote", fields))
        remote = False
    if timing:
        answer.append(Part("reimbursement/timing"))
    if manual:
        answer.append(Part("reimbursement/manual"))
    if remote:
        answer.append(Part("reimbursement/remote"))
        steps.append(Part("reimbursement/steps_remote", fields))
    if no_card:
        # "没带医保卡能报吗": the e-voucher settles instead, said first.
        answer.insert(0, Part("reimbursement/no_card", fields))
        steps.append(Part("reimbursement/steps_e_card"))
        manual = True
    elif ecard:
        answer.append(Part("reimbursement/e_card"))
        steps.append(Part("reimbursement/steps_e_card"))
    if manual or timing or remote:
        steps.append(Part("reimbursement/steps_manual", fields))
        materials.append(Part("reimbursement/materials_manual"))
    return Reply(
        answer=tuple(answer),
        figures=tuple(figures),
        steps=tuple(steps),
        materials=tuple(materials),
        check=(Part("reimbursement/check", fields),),
        estimate=estimate,
    )


# Keyword tables read better as lines of words than as one word a line.
# fmt: off
INTENT = Intent(
    handler=handle,
    id="reimbursement",
    extra={"topic": "医保报销"},
    description="报销比例、起付线、封顶线、报销到账时间、手工报销、异地就医",
    slots=("scheme",),
    keywords={
        "报销": 3.0, "报销比例": 4.5, "比例": 1.5, "报多少": 3.5, "能报": 2.5, "报下来": 3.5,
        "报了": 1.5, "封顶": 4.5, "封顶线": 4.5, "最高支付": 4.0, "最多报": 4.0,
        "最高报": 4.0, "起付线": 4.5, "起付": 3.5, "门槛费": 4.0, "手工报销": 4.5,
        "零星报销": 4.5, "垫付": 3.0, "异地就医": 4.0, "异地看病": 3.5, "异地住院": 3.5,
        "外地看病": 3.5, "外地住院": 3.5, "备案": 3.5, "住院": 2.0, "门诊": 2.0,
        "看病": 1.5, "慢性病": 2.5, "慢特病": 3.0, "特殊病": 2.5, "大病": 2.0, "买药": 2.0,
        "药店": 2.0, "药费": 2.0, "结算": 3.0, "直接结算": 3.5, "自费": 2.5, "自付": 2.5,
        "目录": 2.5, "甲类": 3.0, "乙类": 3.0, "二次报销": 4.0, "医院": 1.5, "生孩子": 2.5,
        "生育": 2.0, "体检": 2.0, "牙": 1.5, "电子医保卡": 2.0, "医保电子凭证": 2.0,
        "挂失": 5.0, "补卡": 4.5, "补办+卡": 4.0, "卡+密码": 4.5, "密码": 2.0, "激活": 2.5,
        "办卡": 3.5, "领卡": 3.5, "换卡": 3.5, "制卡": 3.5, "申领": 2.5, "消磁": 4.5,
        "卡+坏了": 3.5, "卡丢": 4.0, "卡+丢": 3.0, "医保卡+办": 2.0, "社保卡+办": 2.5,
        "刷医保": 2.0, "刷卡": 1.5, "医药费": 2.5, "医疗费": 2.5, "发票": 2.5,
        "报+多久": 1.5, "报+到账": 1.5, "在地能用": 3.5, "在地也能用": 3.5, "去地能用": 3.0,
        "在地+看病": 1.5, "哪里看病": 2.5, "看病+能用": 2.0, "全国+能用": 2.5, "全国通用": 3.0,
        "外地+能用": 3.0, "外省+能用": 3.0,
        "银行卡": -3.0,
        "断缴": -2.0,
        "断交": -2.0,
        "断了": -1.5,
        "没续": -2.0,
        "停保": -2.0,
        "电子凭证": 2.5,
        "丢了": 1.0,
        "补缴": -1.5,
        "补交": -1.5,
        "重新参保": -2.0,
        "报": 1.5,
        "直接报": 3.0,
        "重新报": 3.0,
        "额度": 2.0,
        "断过": -1.5,
        "停了": -1.5,
        "这期间": -1.5,
        "补报": 4.0,
        "没带医保卡": 3.0,
        "事后": 1.5,
        # Arrears or a new enrolment: whether and when cover applies (lapse_effects).
        "欠费": -1.5,
        "欠着": -1.5,
        "刚参保": -2.0,
        "新参保": -2.0,
        "参保+多久": -2.0,
        "刚交+多久": -2.0,
        "新交+多久": -2.0,
    },
    examples=(
        "社保卡丢了去哪挂失",
        "医保卡密码忘记了怎么重置",
        "刚出生的孩子怎么申领社保卡",
        "社保卡消磁了刷不出来怎么换",
        "新领的社保卡要去银行激活吗",
        "职工医保住院能报销百分之多少",
        "居民医保门诊看病能报吗",
        "医保一年最高能报多少钱",
        "起付线是什么意思",
        "异地就医怎么备案",
        "在外地住院回来怎么报销",
        "手工报销需要带哪些单据",
        "报销的钱多久能打到卡上",
        "去药店买药能用医保吗",
        "慢性病门诊报销比例是多少",
        "医保电子凭证看病能直接结算吗",
        "自费药医保能报吗",
        "生孩子医保能报多少",
        "在外省看病没备案还能报吗",
        "医保报销有没有每个月的上限",
        "大病医保封顶线多少",
        "住院花了五万医保能报多少",
        "医保卡丢了看病能用电子凭证吗",
        "看牙医保能报吗",
        "医保报销需要本人去吗",
        "医院没有直接结算怎么报销",
        "北京职工医保报销封顶是多少",
        "医保目录里的乙类药怎么报",
        "门诊特殊病怎么申请",
        "报销比例跟医院等级有关系吗",
        "医保报销后还能用商业保险再报吗",
        "体检费用医保能报销吗",
    ),
)
# fmt: on
