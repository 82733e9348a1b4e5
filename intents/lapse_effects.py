"""Consequences of a lapse: benefits, waiting period, continuous years, money already paid."""

import re
from calendar import monthrange
from datetime import date

from bot.dialog.figures import explain, fmt_date
from bot.dialog.render import render_part
from bot.dialog.types import Figure, Part, Reply, Turn
from bot.policy import (
    CityPolicy,
    ExplanationKey,
    ForUsers,
    LapseBucket,
    LapseCause,
    PolicyResult,
    Resumption,
    Scheme,
    benefit_resumption,
    is_estimate,
    resident_payment_status,
)
from bot.policy.lapse import ResidentLateCase, ResidentLatePayment, resident_late_payment
from intents.base import Intent
from intents.figures import figure

K = ExplanationKey
_SUMMARY = {
    LapseBucket.UP_TO_3: "lapse_effects/summary_short",
    LapseBucket.THREE_TO_6: "lapse_effects/summary_mid",
    LapseBucket.OVER_6: "lapse_effects/summary_long",
}
_CIVIC = ("买房", "购房", "摇号", "落户", "积分", "上学", "入学")

# What a narrow question asks about, checked in this order; the words of the first that occur
# decide. A question with a broad word ("有什么影响") gets the whole picture instead.
_FOCUS_WORDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("kept", ("白交", "白缴", "还在", "作废", "算数", "还算", "还认", "浪费")),
    ("years", ("清零", "连续", "重新算", "重新计算", "累计", "年限")),
    ("account", ("个人账户", "刷卡", "能用", "买药", "进钱")),
    ("resume", ("恢复", "生效", "多久能", "什么时候能", "等待期", "等多久", "要等", "再补")),
    ("cap", ("额度", "封顶", "最高")),
    ("claims", ("报销", "看病", "住院", "门诊", "自费")),
)
# "以后还能接着交吗": paying again after the lapse. Asked after another narrow question (the
# follow-up is read with it), these words win when they are said last.
_CONTINUE_WORDS = (
    "接着交", "接着缴", "继续交", "继续缴", "还能交", "还能缴", "还可以交", "再交", "重新交",
    "续上", "续交", "续保", "重新参保", "还能参保", "能不能交", "接上",
)  # fmt: skip
_BROAD_WORDS = ("影响", "后果", "会怎样", "会怎么样", "有什么问题", "区别", "要紧")
# The explanation keys that answer each narrow question (in the policy result's order).
_RESUME_KEYS = frozenset(
    {
        K.BACK_PAY_MOST_PLACES,
        K.BACK_PAY_THEN_WAIT,
        K.MAY_RE_ENROL_AS_NEW,
        K.RESUME_MONTH_AFTER_PAYMENT,
        K.EMPLOYER_BACK_PAYS,
        K.RETROACTIVE_REIMBURSEMENT,
        K.RESIDENT_WINDOW_WAIT,
        K.RESIDENT_NEXT_PERIOD,
        K.PAYMENT_DATE_NEEDED,
    }
)
_FOCUS_KEYS: dict[str, frozenset[K]] = {
    "kept": frozenset({K.PAID_MONEY_KEPT, K.CONTINUOUS_YEARS_RESET}),
    "years": frozenset({K.CONTINUOUS_YEARS_RESET, K.CAP_MAY_DROP, K.PAID_MONEY_KEPT}),
    "account": frozenset({K.ACCOUNT_USABLE_NO_CREDIT}),
    "resume": _RESUME_KEYS,
    "cap": frozenset({K.CAP_MAY_DROP, K.CONTINUOUS_YEARS_RESET}),
    "claims": _RESUME_KEYS | {K.BENEFITS_STOP_NEXT_MONTH},
    "continue": frozenset(
        {
            K.BACK_PAY_MOST_PLACES,
            K.BACK_PAY_THEN_WAIT,
            K.MAY_RE_ENROL_AS_NEW,
            K.CONTINUOUS_YEARS_RESET,
            K.PAID_MONEY_KEPT,
        }
    ),
}
# What the gap means for paying again: back-pay, or re-enrol as new.
_GAP_KEYS = frozenset({K.BACK_PAY_MOST_PLACES, K.BACK_PAY_THEN_WAIT, K.MAY_RE_ENROL_AS_NEW})
# The sentence that answers each narrow question, said first.
_LEAD_KEYS: dict[str, tuple[K, ...]] = {
    "kept": (K.PAID_MONEY_KEPT,),
    "years": (K.CONTINUOUS_YEARS_RESET, K.PAID_MONEY_KEPT),
    "account": (K.ACCOUNT_USABLE_NO_CREDIT,),
    "resume": (K.RESUME_MONTH_AFTER_PAYMENT, K.BACK_PAY_THEN_WAIT),
    "cap": (K.CAP_MAY_DROP,),
    "claims": (K.BENEFITS_STOP_NEXT_MONTH,),
    "continue": (),  # its own sentence leads (see _continue_lead)
}
# "明年4月再补": a month without a day, which the date parser leaves alone.
_CN_MONTH = {"一": 1, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_CN_MONTH |= {"十": 10, "十一": 11, "十二": 12}
_MONTH_RE = re.compile(
    r"(?P<year>今年|明年|后年|(?P<y>20[0-9]{2})年)?"
    r"(?<![0-9个多几十])(?P<m>1[0-2]|0?[1-9]|十[一二]?|[一二三四五六七八九])月份?"
    r"(?![0-9一二三四五六七八九十]|日|号|底|末)"
)
_NEXT_MONTH = ("下个月", "下月")
_PAY_WORDS = ("补", "交", "缴")


def _scheme(value: str | None) -> Scheme:
    if value == "flexible":
        return Scheme.FLEXIBLE
    if value == "resident":
        return Scheme.RESIDENT
    return Scheme.EMPLOYEE


async def handle(turn: Turn) -> Reply:
    """What a lapse means for this person: by its length, scheme, cause and city.

    A narrow question ("之前交的白交了吗", "补上多久能报") gets its own answer, not the whole
    picture again; residents get the residents' rules (no personal account, the city's dated
    deadline where there is one).
    """
    # 大病保险 / 补充医疗保险 are not this scheme's payments or lapses: say what they are.
    # (Imported here: the module's head belongs to its keyword tables.)
    from intents.reimbursement import extra_cover_reply

    extra = extra_cover_reply(turn)
    if extra is not None:
        return extra
    s = turn.slots
    if _new_enrolment(turn.text):
        return _new_enrolment_reply(turn)
    months = s.months if s.months and s.months > 0 else None
    focus = _focus(turn.text)
    if s.scheme == "resident":
        return _resident(turn, months, focus)
    if months is None:
        return _unknown_length(turn, focus)
    said = months
    if _more_than(turn.text):
        # "断缴超过半年": longer than the number said, so the band above it.
        months = said + 1
    result = benefit_resumption(
        _scheme(s.scheme),
        months,
        city=turn.ctx.city(s.city),
        payment_date=s.date,
        cause=LapseCause(s.cause) if s.cause else LapseCause.UNKNOWN,
    )
    wait = _wait_text(result.waiting_months, result.waiting_days)
    common = {"city": s.city or "当地", "wait": wait, "resume_from": fmt_date(result.resume_from)}
    keys = list(result.explanation_keys)
    if K.BACK_PAY_MOST_PLACES in keys and K.RESUME_MONTH_AFTER_PAYMENT in keys:
        keys.remove(K.RESUME_MONTH_AFTER_PAYMENT)  # the first already says "次月恢复"
    if focus is not None:
        # The narrow answer first, and only what belongs to it.
        keys = [k for k in keys if k in _FOCUS_KEYS[focus]]
        keys = [k for k in _LEAD_KEYS[focus] if k in keys] + keys
        if focus == "kept" and K.CONTINUOUS_YEARS_RESET in keys:
            # "白交了吗": not lost, but continuity is; said as the caveat to that answer.
            keys.remove(K.CONTINUOUS_YEARS_RESET)
        if focus == "cap" and not result.continuous_years_reset:
            keys.append(K.CAP_MAY_DROP)
        answer = [explain(k, common) for k in keys]
        if focus in ("cap", "years") and not result.continuous_years_reset:
            answer.insert(0 if focus == "years" else len(answer), Part("lapse_effects/no_reset"))
        if focus == "kept" and result.continuous_years_reset:
            answer.append(Part("lapse_effects/kept_but_reset", {"months": months}))
        if focus == "continue":
            # Yes and how first; then what the gap means: back-pay or re-enrol, its wait,
            # continuity, and what is kept.
            gap = [k for k in keys if k in _GAP_KEYS]
            answer = [
                _continue_lead(s.scheme),
                *(explain(k, common) for k in gap),
                *(
                    [Part("lapse_effects/continue_wait", common)]
                    if result.bucket is LapseBucket.OVER_6
                    else []
                ),
                *(explain(k, common) for k in keys if k not in _GAP_KEYS),
            ]
        if focus in ("resume", "claims"):
            # The date just given ("12月1日补缴") is answered first, else after the lead.
            at = 0 if turn.entities.dates else 1
            answer[at:at] = _resume_parts(result, s.date, _rough_day(turn))
    else:
        shown = f"超过{said}" if months != said else said
        if max(result.waiting_months) == 0 and not result.waiting_days:
            # No wait: the summary already says "补上后次月恢复", and a payment day would only
            # give "the month after" again.
            keys = [k for k in keys if k not in (K.BACK_PAY_MOST_PLACES, K.PAYMENT_DATE_NEEDED)]
        answer = [Part(_SUMMARY[result.bucket], {"place": s.city or "", "months": shown})]
        answer += _resume_parts(result, s.date, _rough_day(turn))
        answer += [explain(k, common) for k in keys]
    answer = _civic(turn.text) + answer
    shows_wait = focus in (None, "resume", "claims", "continue")
    return Reply(
        answer=unique_parts(answer),
        figures=tuple(_resumption_figures(result, wait, s.date, said)) if shows_wait else (),
        steps=(Part("lapse_effects/steps"),) if shows_wait else (),
        check=(Part("lapse_effects/check"),),
        remember={"months": said},
        estimate=is_estimate(result),
    )


# "交了医保多久能用", "刚入职多久生效": when new cover starts, not a lapse.
_NEW_WORDS = (
    "刚入职", "新入职", "刚参保", "新参保", "第一次交", "第一次参保", "首次参保", "刚交",
    "交了医保多久", "交了多久能", "交完多久", "刚买", "买了多久", "参保后多久", "参保多久",
)  # fmt: skip
_LAPSE_WORDS = ("断", "停", "补", "欠", "漏", "没交", "中断", "续")


def _new_enrolment(text: str) -> bool:
    return any(w in text for w in _NEW_WORDS) and not any(w in text for w in _LAPSE_WORDS)


def _new_enrolment_reply(turn: Turn) -> Reply:
    """When a new enrolment starts to pay: employees from the month after the first
    contribution (some places wait); residents from 1 January of the year paid for."""
    s = turn.slots
    fields = {"city": s.city or "当地"}
    resident = s.scheme == "resident"
    answer = [Part("lapse_effects/new_resident" if resident else "lapse_effects/new_employee")]
    if not resident and s.scheme is None:
        answer.append(Part("lapse_effects/new_resident_short"))
    answer.append(Part("lapse_effects/new_city", fields))
    return Reply(
        answer=tuple(answer),
        check=(Part("lapse_effects/new_check"),),
        estimate=True,
    )


def _unknown_length(turn: Turn, focus: str | None) -> Reply:
    """Answer what can be answered now; the length of the lapse refines it, so ask for it
    once at the end (only where the length changes the answer)."""
    lead = [explain(k) for k in _LEAD_KEYS[focus]] if focus else []
    if focus == "years":
        # Whether continuity restarts depends on the length: the bands, then what is kept.
        lead = [Part("lapse_effects/summary_general"), explain(K.PAID_MONEY_KEPT)]
    if focus in ("kept", "account"):
        # Whether money paid is kept, or the account usable, does not depend on the length.
        return Reply(
            answer=unique_parts(lead), check=(Part("lapse_effects/check"),), estimate=True
        )
    if focus == "resume":
        lead = [explain(K.RESUME_MONTH_AFTER_PAYMENT)]
    if focus == "continue":
        lead = [_continue_lead(turn.slots.scheme)]
    ask = None if "months" in turn.asked else "months"
    answer = [*lead, Part("lapse_effects/summary_general")]
    if focus is None:
        answer += [explain(K.PAID_MONEY_KEPT), explain(K.ACCOUNT_USABLE_NO_CREDIT)]
    answer = _civic(turn.text) + answer
    if ask:
        answer.append(Part("lapse_effects/ask_more"))
    return Reply(
        answer=unique_parts(answer),
        steps=(Part("lapse_effects/steps"),),
        check=(Part("lapse_effects/check"),),
        estimate=True,
        ask=ask,
    )


# --- residents ------------------------------------------------------------------------------


def _resident(turn: Turn, months: int | None, focus: str | None) -> Reply:
    """Residents' scheme: paid by the year, no personal account; the city's dated late-payment
    rule where the region data has one, else the national practice (said to be an estimate)."""
    s = turn.slots
    policy = turn.ctx.city(s.city)
    paid_from, paid_to = _payment_period(turn)
    late = resident_late_payment(turn.today, city=policy, paid_from=paid_from, paid_to=paid_to)
    result = (
        benefit_resumption(Scheme.RESIDENT, months, city=policy, payment_date=s.date)
        if months
        else None
    )
    reset = result is not None and result.continuous_years_reset
    rule = _resident_rule_parts(late, s.city, turn.today)
    kept = [Part("lapse_effects/resident_paid_kept")]
    if reset:
        kept.append(Part("lapse_effects/kept_but_reset", {"months": months}))
    if focus == "kept":
        answer = kept
    elif focus == "years":
        if result is None:
            first = [Part("lapse_effects/continuity_bands")]  # it depends on the length
        else:
            first = [] if reset else [Part("lapse_effects/no_reset")]
        answer = [*first, *kept]
        if reset:
            answer.append(explain(K.CAP_MAY_DROP))
    elif focus == "account":
        answer = [Part("lapse_effects/resident_no_account"), *rule]
    elif focus == "cap":
        answer = [explain(K.CAP_MAY_DROP), *([explain(K.CONTINUOUS_YEARS_RESET)] if reset else [])]
    elif focus == "claims":
        answer = [explain(K.BENEFITS_STOP_NEXT_MONTH), *rule]
    elif focus == "resume":
        answer = rule
    elif focus == "continue":
        answer = [Part("lapse_effects/continue_resident"), *rule, *kept]
    else:
        answer = [*rule, *kept, explain(K.BENEFITS_STOP_NEXT_MONTH)]
        if result is not None and result.bucket is LapseBucket.OVER_6 and not late.city_rule:
            answer.append(explain(K.RESIDENT_NEXT_PERIOD))
        # A reset lapse: "kept_but_reset" already says the cap may drop; not said twice.
    shows_rule = focus not in ("kept", "years", "cap")
    if shows_rule and late.resume_from is None:
        answer.append(explain(K.PAYMENT_DATE_NEEDED))
    answer = _civic(turn.text) + answer
    figures = _resident_figures(late, policy) if shows_rule else []
    national = is_estimate(late) or (result is not None and is_estimate(result))
    return Reply(
        answer=unique_parts(answer),
        figures=tuple(figures),
        steps=(Part("lapse_effects/steps_resident"),) if shows_rule else (),
        check=(Part("lapse_effects/check"),),
        remember={"months": months} if months else {},
        estimate=national if shows_rule else True,
    )


def resident_rule(turn: Turn) -> tuple[list[Part], list[Figure], bool]:
    """The residents' late-payment rule for this turn (the city's, dated, or the national
    practice): its sentences, its figures and whether it is an estimate. Shared with
    back_payment, which answers "居民医保断缴了怎么补" with the same rule."""
    paid_from, paid_to = _payment_period(turn)
    policy = turn.ctx.city(turn.slots.city)
    late = resident_late_payment(turn.today, city=policy, paid_from=paid_from, paid_to=paid_to)
    parts = _resident_rule_parts(late, turn.slots.city, turn.today)
    return parts, _resident_figures(late, policy), is_estimate(late)


def planned_payment(turn: Turn) -> bool:
    """Whether the conversation names a day or month the user pays (or plans to)."""
    return _payment_period(turn)[0] is not None


def _resident_rule_parts(late: ResidentLatePayment, city: str | None, today: date) -> list[Part]:
    """The late-payment rule with its dates, and what a planned payment date means."""
    if late.on_time_cover_year is not None:
        return _planned_payment_parts(late)  # paid on time: no late-payment rule applies
    parts: list[Part] = []
    if late.city_rule and late.cases and late.waiting_days is not None:
        parts = _city_case_parts(late.cases, city or "当地", today, late.waiting_days)
    elif late.example_window and late.waiting_months is not None:
        start, end = late.example_window
        # The window's months, in the year counted from today; open now or still ahead.
        open_now = date(late.cover_year, start.month, start.day) <= today
        fields = {
            "wait": f"{late.waiting_months}个月",
            "source": late.provenance[-1].source,
            "example_year": start.year,
            "start": f"{start.month}月{start.day}日",
            "end": f"{end.month}月{end.day}日",
            "window_year": late.cover_year,
        }
        key = "resident_national_now" if open_now else "resident_national"
        parts.append(Part(f"lapse_effects/{key}", fields))
    planned = _planned_payment_parts(late)
    if late.inputs.paid_from is not None:
        return [*planned, *parts]  # "明年4月再补呢": that answer first, the rule behind it
    return [*parts, *planned]


def _city_case_parts(
    cases: tuple[ResidentLateCase, ...], city: str, today: date, days: int
) -> list[Part]:
    """One cover year: its rule. Two (this year's no-wait day has passed): each cover year as
    its own case, the running one first, so "no wait" and "N days" never blur together."""
    if len(cases) == 1:
        return [Part("lapse_effects/resident_city_rule", _case_fields(cases[0], city, days))]
    head = Part("lapse_effects/resident_city_cases", {"city": city, "today": fmt_date(today)})
    return [head] + [
        Part(
            "lapse_effects/resident_city_case_wait"
            if case.wait_days_now
            else "lapse_effects/resident_city_case_open",
            _case_fields(case, city, days),
        )
        for case in cases
    ]


def _case_fields(case: ResidentLateCase, city: str, days: int) -> dict[str, object]:
    last = _day_before(case.no_wait_before)
    return {
        "city": city,
        "year": case.cover_year,
        "when": "今年" if case.current else "明年",
        "before": fmt_date(case.no_wait_before),
        "last": f"{last.month}月{last.day}日",
        "last_full": fmt_date(last),
        "days": days,
    }


def _planned_payment_parts(late: ResidentLatePayment) -> list[Part]:
    paid_from, paid_to = late.inputs.paid_from, late.inputs.paid_to
    if paid_from is None or paid_to is None or late.resume_from is None:
        return []
    if late.on_time_cover_year is not None:
        # Inside a running collection period: an on-time payment for the coming year.
        cover = late.on_time_cover_year
        return [
            Part(
                "lapse_effects/planned_in_period",
                {
                    "paid": _period_text(paid_from, paid_to),
                    "cover": cover,
                    "previous": cover - 1,
                    "resume": fmt_date(late.resume_from),
                },
            )
        ]
    fields = {
        "cover": paid_from.year,  # a payment counts for the cover year it falls in
        "paid": _period_text(paid_from, paid_to),
        "resume": _resume_text(late.resume_from, late.resume_by),
        "before": fmt_date(late.no_wait_before),
        "days": late.waiting_days or "",
        "wait": f"{late.waiting_months}个月" if late.waiting_months else "",
    }
    if not late.city_rule:
        return [Part("lapse_effects/planned_national", fields)]
    low, high = late.paid_wait_days or (0, 0)
    if high == 0:
        # Measured against the cover year of the payment itself.
        before = date(paid_to.year, late.no_wait_before.month, 1) if late.no_wait_before else None
        return [Part("lapse_effects/planned_no_wait", {**fields, "before": fmt_date(before)})]
    if low == high:
        before = (
            date(paid_from.year, late.no_wait_before.month, 1) if late.no_wait_before else None
        )
        return [Part("lapse_effects/planned_wait", {**fields, "before": fmt_date(before)})]
    return [Part("lapse_effects/planned_straddles", fields)]


def _resident_figures(late: ResidentLatePayment, policy: CityPolicy | None) -> list[Figure]:
    if late.on_time_cover_year is not None and late.inputs.paid_from is not None:
        # Paid on time: the collection period is the basis, not a late-payment rule.
        status = resident_payment_status(late.inputs.paid_from, city=policy)
        return [figure("resume_date", "开始报销", fmt_date(late.resume_from), status)]
    if late.resume_from is not None:
        # A planned payment: its resumption date, whose basis states the rule it rests on.
        resume = _resume_text(late.resume_from, late.resume_by)
        return [figure("resume_date", "恢复报销", resume, late)]
    if late.city_rule:
        # One figure per cover year, each with its own dated basis.
        return [_case_figure(case) for case in late.cases]
    if late.waiting_months is not None:
        return [figure("waiting_period", "补缴后等待期", f"{late.waiting_months}个月", late)]
    return []


def _case_figure(case: ResidentLateCase) -> Figure:
    if case.wait_days_now:
        label = f"{case.cover_year}年度现在补交的等待期"
        return figure("wait_if_paid_now", label, f"{case.wait_days_now}天", case)
    label = f"{case.cover_year}年度免等待期补缴截止"
    return figure("no_wait_deadline", label, fmt_date(_day_before(case.no_wait_before)), case)


def _payment_period(turn: Turn) -> tuple[date | None, date | None]:
    """The day (or month) the user pays or plans to pay, if the conversation says."""
    if turn.slots.date is not None:
        return turn.slots.date, turn.slots.date
    text = turn.text
    if not any(w in text for w in _PAY_WORDS):
        return None, None
    today = turn.today
    if any(w in text for w in _NEXT_MONTH):
        year, month = (today.year + 1, 1) if today.month == 12 else (today.year, today.month + 1)
        return _whole_month(year, month)
    match = None
    for m in _MONTH_RE.finditer(text):
        match = m  # the last month named is the one this message is about
    if match is None:
        return None, None
    raw = match.group("m")
    month = int(raw) if raw.isdigit() else _CN_MONTH[raw]
    said = match.group("year")
    if match.group("y"):
        year = int(match.group("y"))
    elif said:
        year = today.year + {"今年": 0, "明年": 1, "后年": 2}[said]
    else:
        year = today.year if month >= today.month else today.year + 1
    return _whole_month(year, month)


def _whole_month(year: int, month: int) -> tuple[date, date]:
    return date(year, month, 1), date(year, month, monthrange(year, month)[1])


def _day_before(day: date) -> date:
    return date.fromordinal(day.toordinal() - 1)


def _period_text(first: date, last: date) -> str:
    if first == last:
        return fmt_date(first)
    return f"{first.year}年{first.month}月"


def _resume_text(first: date, last: date | None) -> str:
    if last is None or last == first:
        return fmt_date(first)
    return render_part(
        Part("lapse_effects/between", {"first": fmt_date(first), "last": fmt_date(last)})
    )


# --- shared ---------------------------------------------------------------------------------


def _rough_day(turn: Turn) -> bool:
    """Whether the payment day is only roughly known ("下个月补": taken as the 1st)."""
    day = turn.slots.date
    rough = {r.day for r in turn.entities.approx_dates}
    return day is not None and day not in turn.entities.dates and day in rough


def _resume_parts(result: Resumption, paid: date | None, rough: bool = False) -> list[Part]:
    if result.resume_from is None or paid is None:
        return []
    resume_text = fmt_date(result.resume_from)
    if result.resume_by and result.resume_by != result.resume_from:
        resume_text = f"{resume_text}至{fmt_date(result.resume_by)}之间"
    if rough:
        # Only the month is known: say it so, and the dates as approximate.
        month = f"{paid.year}年{paid.month}月"
        fields = {"paid": month, "resume_text": resume_text}
        return [Part("lapse_effects/resume_date_rough", fields)]
    return [
        Part("lapse_effects/resume_date", {"paid": fmt_date(paid), "resume_text": resume_text})
    ]


def _resumption_figures(
    result: Resumption, wait: str, paid: date | None, said: int
) -> list[Figure]:
    shown: PolicyResult = result
    if said != result.inputs.lapse_months:
        # "超过半年": the basis names the length as the user put it.
        basis = result.basis.replace(
            f"断缴{result.inputs.lapse_months}个月", f"断缴超过{said}个月", 1
        )
        shown = ForUsers(basis, result.provenance)
    figures = [figure("waiting_period", "等待期", wait, shown)]
    if result.resume_from is not None and paid is not None:
        resume_text = fmt_date(result.resume_from)
        if result.resume_by and result.resume_by != result.resume_from:
            resume_text = f"{resume_text}至{fmt_date(result.resume_by)}之间"
        figures.append(figure("resume_date", "恢复待遇", resume_text, result))
    return figures


# "超过半年", "半年多", "6个月以上": longer than the number said.
_MORE_THAN = re.compile(
    r"(?:超过|超出|多于|大于|不止|已经过了)(?:了)?(?:半年|[0-9一二三四五六七八九十两]+个?月)"
    r"|(?:半年|[0-9一二三四五六七八九十两]+个?月)(?:以上|多|还多|出头)"
)


def _more_than(text: str) -> bool:
    return _MORE_THAN.search(text) is not None


def _focus(text: str) -> str | None:
    """The one thing a narrow question asks; None for "有什么影响" and the like."""
    if any(w in text for w in _BROAD_WORDS):
        return None
    said = max((text.rfind(w) for w in _CONTINUE_WORDS), default=-1)
    others = max((text.rfind(w) for _, words in _FOCUS_WORDS for w in words), default=-1)
    if said >= 0 and said > others:
        return "continue"
    return next((name for name, words in _FOCUS_WORDS if any(w in text for w in words)), None)


def _continue_lead(scheme: str | None) -> Part:
    """Yes, and who arranges it: the employer for employees, the person for flexible workers."""
    key = "continue_flexible" if scheme == "flexible" else "continue"
    return Part(f"lapse_effects/{key}")


def _civic(text: str) -> list[Part]:
    """ "会影响买房吗": that answer, said first when the question names it."""
    return [Part("lapse_effects/other_effects")] if any(w in text for w in _CIVIC) else []


def unique_parts(parts: list[Part]) -> tuple[Part, ...]:
    """Each sentence once: the same block (or the same words) is never said twice."""
    seen: set[str] = set()
    kept: list[Part] = []
    for part in parts:
        text = render_part(part)
        if text in seen:
            continue
        seen.add(text)
        kept.append(part)
    return tuple(kept)


def _wait_text(months: tuple[int, int], days: tuple[int, int] | None) -> str:
    if days and days[1]:
        return f"{days[0]}天" if days[0] == days[1] else f"{days[0]}–{days[1]}天"
    low, high = months
    if high == 0:
        return "无（补缴后次月恢复）"
    return f"{low}个月" if low == high else f"{low}–{high}个月"


INTENT = Intent(
    handler=handle,
    id="lapse_effects",
    extra={"topic": "医保断缴"},
    description="断缴后果、等待期、连续参保年限、之前的钱是否白交、何时恢复待遇",
    slots=("months", "scheme"),
    keywords={
        "断缴": 2.5,
        "断交": 2.5,
        "断保": 2.5,
        "断了": 1.5,
        "停保": 2.0,
        "停缴": 2.0,
        "中断": 2.0,
        "不交了": 2.0,
        "不想交": 1.5,
        "停交": 2.0,
        "没交": 0.5,
        "后果": 3.5,
        "影响": 3.0,
        "会怎样": 3.5,
        "会怎么样": 3.5,
        "有什么问题": 2.0,
        "白交": 4.0,
        "白缴": 4.0,
        "作废": 3.0,
        "清零": 3.0,
        "还在吗": 3.0,
        "浪费": 2.0,
        "等待期": 4.0,
        "恢复": 3.0,
        "生效": 2.5,
        "重新计算": 3.0,
        "连续": 2.0,
        "累计": 1.0,
        "断缴+报销": 4.0,
        "断交+报销": 4.0,
        "断了+报销": 3.5,
        "停保+报销": 4.0,
        "断缴+看病": 3.0,
        "断了+看病": 3.0,
        "断+住院": 2.0,
        "期间+报销": 2.0,
        "补缴+报销": 3.0,
        "补交+报销": 3.0,
        "补+多久能": 2.0,
        "补+什么时候": 1.5,
        "还能用": 1.5,
        "能用吗": 1.0,
        "买房": 1.0,
        "摇号": 1.0,
        "落户": 1.0,
        "购房": 1.0,
        "积分": 1.5,
        "等多久": 2.0,
        "要等": 1.5,
        "没续上": 3.0,
        "没续": 2.5,
        "补+恢复": 3.0,
        "补+生效": 3.0,
        "补+待遇": 2.5,
        "补+能报": 3.5,
        "补+看病": 2.5,
        "还在不在": 3.0,
        "还在": 1.5,
        "之前交的": 2.0,
        "以前交的": 2.0,
        "没续+报": 3.0,
        "待遇": 1.5,
        "断了+封顶": 3.0,
        "会降": 2.0,
        "重新参保": 2.5,
        "重新参保+报销": 3.0,
        "还算数": 3.0,
        "算数": 2.5,
        "还能用多久": 3.0,
        "离职": 1.0,
        "辞职": 1.0,
        "重新算": 3.0,
        "断": 1.0,
        "停": 1.0,
        "要紧": 2.5,
        "断了+进钱": 2.5,
        "等+天": 2.0,
        "断过": 2.5,
        "断过+额度": 2.0,
        "还认": 2.5,
        "认吗": 2.0,
        "多久才能用": 3.0,
        "刚参保": 2.5,
        "没按时": 2.0,
        "断+刷卡": 3.0,
        "断+门诊": 2.5,
        "停了+看病": 3.0,
        "这期间": 2.5,
        "期间": 1.5,
        "全自费": 2.0,
        "停了": 2.0,
        "算断缴": 3.5,
        # "这个月还没交 会断吗": whether a missed month makes a lapse.
        "会断": 3.0,
        "会不会断": 3.5,
        "就断了": 2.5,
        "算断": 3.0,
        # "断了2个月 还能接着交吗": paying on after a lapse, not paying the arrears.
        "断+接着交": 3.0,
        "断+接着缴": 3.0,
        "断+继续交": 3.0,
        "断+继续缴": 3.0,
        "停+接着交": 3.0,
        "停+继续交": 3.0,
        "算不算断": 3.5,
        "断+买房": 2.5,
        "断+落户": 2.5,
        "断+摇号": 2.5,
        "断+购房": 2.5,
        "断+上学": 2.5,
        "停+买房": 2.5,
        # In arrears or unpaid, can the card / insurance still be used?
        "欠费+刷": 3.0,
        "欠费+能用": 3.0,
        "欠费+用医保": 3.0,
        "欠费+看病": 3.0,
        "欠费+报": 3.0,
        "欠费+住院": 2.0,
        "欠费+结算": 3.0,
        "欠费+买药": 3.0,
        "欠着+用": 3.0,
        "欠着+刷": 3.0,
        "欠着+报": 3.0,
        "欠着+看病": 3.0,
        "没交+刷": 2.5,
        "没交+还能用": 2.5,
        "没交+用医保": 2.5,
        "没交+看病": 2.5,
        "没交+报": 2.0,
        "没缴+报": 2.0,
        "没缴+刷": 2.5,
        # When cover starts after (first) enrolment or payment: the waiting period.
        "多久能用": 3.0,
        "多久可以用": 3.0,
        "参保+多久": 2.5,
        "新交+多久": 2.5,
        "刚交+多久": 2.5,
        "交上+多久": 2.0,
        "新参保": 2.5,
        "新交+生效": 2.0,
        "刚交+生效": 2.0,
        "参保+生效": 2.0,
    },
    examples=(
        "医保停了三个月有什么后果",
        "断交医保以后之前交的会不会作废",
        "医保没续上这段时间住院能报吗",
        "断缴以后个人账户里的钱还能刷吗",
        "医保断了重新交要等多久才能报销",
        "断缴超过半年连续年限会清零吗",
        "断保对以后退休有影响吗",
        "医保中断一个月还能正常用吗",
        "补交了之后多久恢复医保待遇",
        "重新参保有等待期吗",
        "断了医保之前的钱算白交了吗",
        "医保停缴会影响孩子上学吗",
        "灵活就业医保断了几个月会怎么样",
        "居民医保没续 明年看病还能报吗",
        "断缴会不会影响买房资格",
        "医保不交了 以前交的还算数吗",
        "断缴后再交 年限是累计还是重新算",
        "医保断了两个月报销比例会降吗",
        "断缴期间生病了怎么办",
        "中间断了一段 医保的连续参保怎么算",
        "停保之后医保卡还能买药吗",
        "医保新交的什么时候开始生效",
        "断了半年医保 最高能报多少会变吗",
        "辞职后医保不交会有什么影响",
        "断缴三个月和断缴六个月有什么区别",
        "断交一年了之前交的年限还在不在",
        "补缴以后看病的钱能报吗",
    ),
)
