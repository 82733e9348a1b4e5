"""Paying arrears after a lapse: whether, how, how much, late fees."""

import re
from dataclasses import dataclass

from bot.dialog.figures import explain, fmt_date
from bot.dialog.types import Figure, Part, Reply, Turn
from bot.policy import (
    LapseBucket,
    LapseCause,
    LateFee,
    MoneyRange,
    Provenance,
    ResidentPaymentStatus,
    ResidentPhase,
    back_payment,
    fmt_number,
    fmt_rate,
    is_estimate,
    lapse_bucket,
    late_fee,
    late_fee_share,
    overdue_days_estimate,
    resident_payment_status,
)
from intents.base import Intent
from intents.figures import figure
from intents.lapse_effects import planned_payment, resident_rule, unique_parts

_AMOUNT_WORDS = ("多少钱", "多少", "金额", "怎么算", "算一下", "费用", "补多少")
_FEE_WORDS = ("滞纳金", "罚款", "罚金", "利息")
# "总共多少": the arrears and the late fee together.
_TOTAL_WORDS = ("总共", "一共", "合计", "加起来", "总计", "连本带")


def _office(turn: Turn) -> str:
    s = turn.slots
    if s.city:
        return f"{s.city}医保经办大厅或税务大厅"
    if s.province:
        return f"参保地（{s.province}）的医保经办大厅或税务大厅"
    return "当地医保经办大厅或税务大厅"


def _place(turn: Turn) -> str:
    """The place the amount is for: the city, else the province the user named ("我在吉林")."""
    return turn.slots.city or turn.slots.province or ""


# "还来得及吗", "还能交吗": whether a payment is still in time, not how to pay arrears.
_IN_TIME_WORDS = ("来得及", "赶得上", "赶得及", "还能交", "还可以交", "还能缴", "还能买")
# Never insured: nothing to pay back, the question is how to join.
_NEVER_WORDS = (
    "没交过", "没缴过", "从没交", "从来没交", "从没缴", "没参过保", "没参保过", "从没参保",
    "从来没参保", "没有参过保", "没买过", "从没买", "从来没买", "没上过医保", "没办过医保",
    "第一次交", "第一次参保", "第一次买",
)  # fmt: skip
# "单位的原因", "是公司的问题": the employer caused the gap (the parser reads 单位没交 etc.).
_EMPLOYER_FAULT = re.compile(
    r"(?:用人单位|单位|公司|老板|企业|厂里|雇主)(?:那边|方面)?(?:的|造成的?)?"
    r"(?:原因|问题|责任|过错|疏忽|失误)"
)


def never_insured(turn: Turn) -> bool:
    """Does the message say the person was never insured ("我妈没交过医保")?"""
    return any(w in turn.text for w in _NEVER_WORDS)


def _cause(turn: Turn) -> LapseCause:
    if turn.slots.cause:
        return LapseCause(turn.slots.cause)
    if _EMPLOYER_FAULT.search(turn.text):
        return LapseCause.EMPLOYER
    return LapseCause.UNKNOWN


# "补上能连续吗", "补了算不算断": whether paying back restores continuity.
_CONTINUITY = re.compile(r"连续|连上|接上|续上|连起来|接起来|算(?:不算)?(?:中断|断)|不算断")
# Beyond this many months a personal back payment is often no longer allowed.
_USUAL_BACK_MONTHS = 3


async def handle(turn: Turn) -> Reply:
    """Whether and how to pay back; the amount and the late fee when they can be computed."""
    s = turn.slots
    cause = _cause(turn)
    # "30天" answering our "逾期多少天?" continues the late-fee question.
    wants_fee = any(w in turn.text for w in _FEE_WORDS) or (
        s.days is not None and "days" in turn.asked
    )
    # Asked about the amount itself (not merely "能补吗" with a number of months in it).
    asks_amount = any(w in turn.text for w in _AMOUNT_WORDS) or "base" in turn.asked
    if wants_fee:
        return _late_fee_reply(turn, cause)
    if cause is LapseCause.EMPLOYER:
        return _employer_reply(turn, asks_amount)
    if never_insured(turn):
        return join_reply(turn)
    in_time = any(w in turn.text for w in _IN_TIME_WORDS)
    if s.scheme == "resident" or (s.scheme is None and s.months is None and in_time):
        # Residents pay a fixed premium by the year: no base, no monthly amount.
        return _resident_reply(turn, in_time)
    if asks_amount and s.months is None and "months" not in turn.asked:
        return Reply(
            answer=(Part("back_payment/formula"), Part("back_payment/ask_months")), ask="months"
        )
    answer: list[Part] = []
    figures: list[Figure] = []
    remember: dict[str, object] = {}
    estimate = False
    ask: str | None = None
    continuity = bool(_CONTINUITY.search(turn.text))
    # A long gap may be beyond what can be paid back: its amount is only "if allowed".
    long_gap = s.months is not None and s.months > _USUAL_BACK_MONTHS
    if asks_amount and s.months is None:
        # Asked once already: not again, but the formula says what the amount needs.
        answer.append(Part("back_payment/formula"))
    if s.months is not None and s.months > 0:
        result = back_payment(s.months, city=turn.ctx.city(s.city), base=s.base)
        fields = {"place": _place(turn), "months": s.months, "rate": fmt_rate(result.rate)}
        if result.amount is None:
            if asks_amount and "base" not in turn.asked:
                ask = "base"
            # Asking for the base below: the formula alone, without a second invitation.
            key = "amount_formula" if ask else "amount_need_base"
            if continuity and long_gap and not ask:
                key = "amount_if_allowed"
            answer.append(Part(f"back_payment/{key}", fields))
        else:
            key = "amount_if_allowed_value" if continuity and long_gap else "amount"
            answer.append(Part(f"back_payment/{key}", {**fields, "amount": result.amount.display}))
            figures.append(
                figure("back_payment_amount", "补缴金额", result.amount.display, result)
            )
        estimate = any(p.kind == "national" for p in result.provenance)
    # "能补吗" is answered by whether and how; "多少钱" by the amount.
    if continuity:
        # "补上能连续吗": yes or when not, first; "能补" alone would not answer it.
        lead = (
            Part("back_payment/continuity_long", {"months": s.months})
            if long_gap
            else Part("back_payment/continuity")
        )
        answer.insert(0, lead)
    else:
        answer.insert(len(answer) if asks_amount else 0, Part("back_payment/general"))
    if "年限" in turn.text or s.years is not None:
        answer.append(Part("back_payment/years_short"))
    if ask == "base":
        answer.append(Part("back_payment/ask_base"))
    return Reply(
        answer=tuple(answer),
        figures=tuple(figures),
        steps=(
            Part("back_payment/steps_online"),
            Part("back_payment/steps_offline", {"office": _office(turn)}),
        ),
        materials=(Part("back_payment/materials_person"),),
        check=(Part("back_payment/check"),),
        remember=remember,
        estimate=estimate,
        ask=ask,
    )


def _employer_reply(turn: Turn, asks_amount: bool) -> Reply:
    """The employer caused the gap: the employer pays, the person owes no late fee, and costs
    during the gap are reimbursed after the back-payment. The amount is the employer's to pay,
    so it is shown only when asked for and never asked for."""
    s = turn.slots
    answer: list[Part] = [Part("back_payment/employer")]
    figures: list[Figure] = []
    if asks_amount and s.months is not None and s.months > 0:
        result = back_payment(s.months, city=turn.ctx.city(s.city), base=s.base)
        if result.amount is not None:
            fields = {"place": _place(turn), "months": s.months, "rate": fmt_rate(result.rate)}
            answer.append(
                Part("back_payment/amount_employer", {**fields, "amount": result.amount.display})
            )
            figures.append(
                figure("back_payment_amount", "补缴金额", result.amount.display, result)
            )
    return Reply(
        answer=tuple(answer),
        figures=tuple(figures),
        steps=(Part("back_payment/steps_employer", {"office": _office(turn)}),),
        materials=(Part("back_payment/materials_employer"),),
        check=(Part("back_payment/check"),),
        remember={"cause": LapseCause.EMPLOYER.value},
        estimate=bool(figures),
    )


def _phase(turn: Turn) -> tuple[ResidentPaymentStatus, Part]:
    """Where today falls in the residents' payment year, as one sentence."""
    s = turn.slots
    status = resident_payment_status(
        turn.today, city=turn.ctx.city(s.city), province=turn.ctx.province(s.province)
    )
    period = status.period
    fields: dict[str, object] = {
        "cover": status.cover_year,
        "closes": fmt_date(period.closes_on),
        "days": status.days_left,
        "opens": fmt_date(period.opens_on),
        "opens_by": fmt_date(period.opens_by),
        "closed_year": status.closed_year,
        "closed_on": fmt_date(status.closed_on),
    }
    if status.phase is ResidentPhase.OPEN:
        return status, Part("back_payment/resident_open", fields)
    key = "resident_closed" if period.opens_on == period.opens_by else "resident_closed_estimate"
    return status, Part(f"back_payment/{key}", fields)


def _resident_reply(turn: Turn, in_time: bool) -> Reply:
    """Residents: a fixed premium per person and year, so no base and no monthly amount; a
    long gap cannot be paid back; today's collection period (or the back-payment rule when
    none runs) says what can still be done."""
    s = turn.slots
    status, phase = _phase(turn)
    rule, rule_figures, rule_estimate = resident_rule(turn)
    open_now = status.phase is ResidentPhase.OPEN
    answer: list[Part] = []
    if planned_payment(turn):
        # "我打算下个月补": what that payment means comes first (the rule follows it).
        answer = rule
    elif in_time and open_now:
        # "来得及吗": yes, until the period closes (a long gap stays unpaid).
        answer = [Part("back_payment/resident_in_time", phase.fields)]
        if s.months is not None and lapse_bucket(s.months) is LapseBucket.OVER_6:
            answer.append(Part("back_payment/resident_long_gap", {"months": s.months}))
    else:
        answer = [Part("back_payment/resident")]
        if s.months is not None and s.months > 0:
            long_gap = lapse_bucket(s.months) is LapseBucket.OVER_6
            key = "resident_long_gap" if long_gap else "resident_short_gap"
            answer.append(Part(f"back_payment/{key}", {"months": s.months}))
        # The rule for the year lapsed first, then what paying now (on time) does.
        answer += [*rule, phase]
    # On time, the late-payment rule's figures say nothing to this user.
    figures = [] if answer[0].key == "back_payment/resident_in_time" else list(rule_figures)
    if open_now and not planned_payment(turn):
        figures.insert(0, _deadline_figure(status))
    return _with_resident_sections(turn, answer, figures, rule_estimate or is_estimate(status))


def _deadline_figure(status: ResidentPaymentStatus) -> Figure:
    due = f"{fmt_date(status.period.closes_on)}（还有{status.days_left}天）"
    return figure("deadline", f"{status.cover_year}年度缴费截止", due, status)


def join_reply(turn: Turn) -> Reply:
    """Never insured: nothing to pay back. Without an employer, the residents' scheme (no age
    limit), paid in the collection period; with one, the employer enrols them."""
    status, phase = _phase(turn)
    answer = [Part("back_payment/never_insured"), phase]
    figures: list[Figure] = []
    if status.phase is ResidentPhase.OPEN:
        figures.append(_deadline_figure(status))
    else:
        rule, rule_figures, _ = resident_rule(turn)
        answer.extend(rule)
        figures.extend(rule_figures)
    return _with_resident_sections(turn, answer, figures, estimate=True)


def _with_resident_sections(
    turn: Turn, answer: list[Part], figures: list[Figure], estimate: bool
) -> Reply:
    """A residents' reply: how and where residents pay, with what, and where to check."""
    return Reply(
        answer=unique_parts(answer),
        figures=tuple(figures),
        steps=(Part("payment/steps_resident", {"place": turn.slots.city or "当地"}),),
        materials=(Part("payment/materials_resident"),),
        check=(Part("back_payment/check_resident"),),
        remember={"scheme": "resident"},
        estimate=estimate,
    )


@dataclass(frozen=True)
class _Computed:
    """A figure's basis and sources when it is computed here from a policy result."""

    basis: str
    provenance: tuple[Provenance, ...]


def _late_fee_reply(turn: Turn, cause: LapseCause) -> Reply:
    s = turn.slots
    if cause is LapseCause.EMPLOYER:
        return Reply(answer=(Part("back_payment/late_fee_employer"),))
    total_asked = any(w in turn.text for w in _TOTAL_WORDS)
    # The arrears: as the user stated them, else the back payment we compute (a range: the
    # contribution rate is a range), never one end of it.
    arrears = MoneyRange(s.arrears, s.arrears) if s.arrears is not None else None
    shown: tuple[Part, ...] = ()  # the arrears we computed, said before the late fee
    figures: tuple[Figure, ...] = ()
    arrears_sources: tuple[Provenance, ...] = ()
    if arrears is None and s.months is not None:
        bp = back_payment(s.months, city=turn.ctx.city(s.city), base=s.base)
        fields = {"place": _place(turn), "months": s.months, "rate": fmt_rate(bp.rate)}
        if bp.amount is not None:
            arrears, arrears_sources = bp.amount, bp.provenance
            shown = (Part("back_payment/amount", {**fields, "amount": bp.amount.display}),)
            figures = (figure("back_payment_amount", "补缴金额", bp.amount.display, bp),)
        else:
            shown = (Part("back_payment/amount_need_base", fields),)
    if arrears is None:
        rule = (explain("late_fee_personal"), explain("no_late_fee_employer"))
        if s.days is not None:
            # "逾期120天" before the base: the days kept, as a share of the arrears.
            share = late_fee_share(s.days)
            said = Part("back_payment/late_fee_share", {"days": s.days, "percent": share.percent})
            return Reply(
                answer=(said, *shown, rule[1]),
                figures=(figure("late_fee_share", "滞纳金", f"欠费的{share.percent}", share),),
                estimate=True,
            )
        if s.months is None and "months" not in turn.asked:
            return Reply(
                answer=(*rule, Part("back_payment/ask_months_fee")), ask="months", estimate=True
            )
        if s.months is not None and "base" not in turn.asked:
            # The months are known, the base is not (no city default): one number makes it exact.
            formula = Part("back_payment/amount_formula", shown[0].fields) if shown else None
            return Reply(
                answer=(*rule, *((formula,) if formula else ()), Part("back_payment/ask_base")),
                ask="base",
                estimate=True,
            )
        return Reply(answer=(*rule, *shown), estimate=True)
    days = s.days
    estimated: tuple[Part, ...] = ()
    estimate_figures: tuple[Figure, ...] = ()
    guess_sources: tuple[Provenance, ...] = ()
    if days is None and total_asked and s.months is not None and s.months > 0:
        # "总共多少" without the days: the lapse's months give an estimate, said to be one.
        guess = overdue_days_estimate(s.months)
        days, guess_sources = guess.average_days, guess.provenance
        guess_fields = {"months": s.months, "days": days, "oldest": guess.oldest_days}
        estimated = (Part("back_payment/days_estimated", guess_fields),)
        estimate_figures = (figure("overdue_days", "逾期天数（估算）", f"约{days}天", guess),)
    if days is None:
        if "days" not in turn.asked:
            return Reply(
                answer=(*shown, Part("back_payment/ask_days")),
                figures=figures,
                ask="days",
                estimate=bool(figures),
            )
        per_day = late_fee(arrears.low, 1, cause)
        daily = arrears.scale(per_day.daily_rate)
        return Reply(
            answer=(
                *shown,
                Part(
                    "back_payment/late_fee_per_day",
                    {"arrears": _range(arrears), "per_day": _range(daily)},
                ),
            ),
            figures=(
                *figures,
                figure(
                    "late_fee_per_day",
                    "每天滞纳金",
                    daily.display,
                    _fee_basis(per_day, arrears, 1),
                ),
            ),
            estimate=True,
        )
    fee = late_fee(arrears.low, days, cause)  # the rule, notes and sources (owed: see above)
    total = arrears.scale(fee.daily_rate * days)
    notes = tuple(explain(k, {"city": s.city or "当地"}) for k in fee.notes)
    answer: list[Part] = [
        *shown,
        *estimated,
        Part(
            "back_payment/late_fee",
            {"fee_text": f"{_range(arrears)}元欠费逾期{days}天约{total.display}"},
        ),
    ]
    more: list[Figure] = []
    if total_asked:
        together = MoneyRange(arrears.low + total.low, arrears.high + total.high)
        answer.insert(
            0,
            Part(
                "back_payment/late_fee_total",
                {"total": together.display, "arrears": arrears.display, "fee": total.display},
            ),
        )
        sources = (*arrears_sources, *fee.provenance, *guess_sources)
        basis = _Computed(f"补缴{arrears.display} + 滞纳金{total.display}", sources)
        more.append(figure("arrears_and_late_fee", "补缴加滞纳金合计", together.display, basis))
    return Reply(
        answer=(*answer, *notes),
        figures=(
            *figures,
            *estimate_figures,
            figure("late_fee", "滞纳金", total.display, _fee_basis(fee, arrears, days)),
            *more,
        ),
        estimate=True,
    )


def _fee_basis(fee: LateFee, arrears: MoneyRange, days: int) -> _Computed:
    pct = fmt_number(fee.daily_rate * 100)
    return _Computed(f"{_range(arrears)}元 × {pct}%/天 × {days}天", fee.provenance)


def _range(amount: MoneyRange) -> str:
    """'3200.00–3840.00' or '3200.00' (yuan, without the unit), rounded once, here."""
    return amount.display.removesuffix("元")


INTENT = Intent(
    handler=handle,
    id="back_payment",
    extra={"topic": "医保补缴"},
    description="断缴后补缴：能否补、怎么补、补多少钱、滞纳金",
    slots=("months", "base"),
    keywords={
        "补缴": 3.5,
        "补交": 3.5,
        "补上": 3.0,
        "补齐": 3.0,
        "补足": 3.0,
        "补费": 3.0,
        "怎么补": 3.5,
        "能补": 3.0,
        "可以补": 3.0,
        "补吗": 2.5,
        "去补": 2.5,
        "补回": 3.0,
        "补办": -1.0,
        "补卡": -3.0,
        "一次性补": 3.5,
        "欠费": 2.5,
        "欠缴": 2.5,
        "欠了": 1.5,
        "滞纳金": 4.0,
        "罚款": 2.0,
        "利息": 1.0,
        "漏缴": 2.5,
        "漏交": 2.5,
        "没给交": 2.5,
        "没给缴": 2.5,
        "没交的": 1.5,
        "补缴+多少钱": 1.5,
        "补+钱": 1.0,
        "补+月": 1.0,
        "补缴+材料": 1.0,
        "补缴+哪里": 1.0,
        "补+差": 1.5,
        "断+补": 1.0,
        "恢复": -2.0,
        "生效": -2.0,
        "待遇": -1.0,
        "能报": -1.5,
        "看病": -1.0,
        "报销": -1.0,
        "通知我": -2.0,
        "提醒": -2.0,
        "咋补": 3.5,
        "怎样补": 3.5,
        "如何补": 3.5,
        # Paying on after a lapse ("还能接着交吗") asks what the lapse leaves (lapse_effects).
        "接着交": -1.5,
        "接着缴": -1.5,
        "继续交": -1.5,
        "继续缴": -1.5,
        "怎么弄": 0.5,
        "补": 1.5,
        # Too late to pay arrears? 来得及 alone asks about this year's deadline (payment).
        "补+来得及": 3.0,
        "断+来得及": 4.0,
        "欠+来得及": 4.0,
        "漏+来得及": 4.0,
        "补+赶得上": 3.0,
        "断+赶得上": 4.0,
        "欠+赶得上": 4.0,
        # Using the insurance while in arrears asks what the lapse does (lapse_effects).
        "欠+刷": -1.5,
        "欠+能用": -1.5,
        "欠+还能用": -1.0,
        # Arrears: whether any are owed, how many months.
        "有没有欠": 3.5,
        "有无欠费": 3.5,
        "欠没欠": 3.5,
        "欠不欠": 3.0,
        "欠了+月": 1.5,
        "欠+多少": 1.5,
        "欠费+查": 1.0,
        # 补 inside another word asks nothing about arrears: 补充医疗, 补助, 补贴, 弥补.
        "补充": -2.5,
        "补助": -2.5,
        "补贴": -2.5,
        "弥补": -2.5,
        "补偿": -2.5,
        "补习": -2.5,
    },
    examples=(
        "医保断了两个月还能补交吗",
        "灵活就业医保漏交了怎么补上",
        "单位漏缴了我的医保 怎么让单位补",
        "补缴医保的钱怎么算的",
        "断缴四个月补缴大概多少钱",
        "补交医保可以在手机上办吗",
        "补缴医保滞纳金怎么算",
        "公司欠缴医保 我个人要交滞纳金吗",
        "医保欠费了去哪里补",
        "补缴医保需要带哪些材料",
        "自己断交的医保能一次性补齐吗",
        "居民医保过了缴费期还能补吗",
        "补缴超过三个月的医保可以吗",
        "失业期间的医保能补上吗",
        "换工作中间空了一个月医保要补吗",
        "医保补缴按照什么基数",
        "去年没交的新农合能补吗",
        "离退休还差几年医保能一次补足吗",
        "补交医保去社保局还是税务局",
        "医保漏交一个月要交多少罚款",
        "老板没给交医保 能补回来吗",
        "基数8000补缴半年医保多少钱",
        "断缴后补缴要额外交钱吗",
        "补缴的医保费能分期吗",
        "医保补缴在支付宝上能操作吗",
        "欠了两千多医保费滞纳金多少",
        "补缴医保要不要先去单位开证明",
    ),
)
