"""How, where and how much to pay; collection periods and deadlines; enrolment."""

import re
from dataclasses import dataclass
from datetime import date, timedelta

from bot.dialog.figures import fmt_date
from bot.dialog.render import render_part
from bot.dialog.types import Figure, Part, Reply, Turn
from bot.policy import (
    CityPolicy,
    CollectionPeriod,
    DeadlineKind,
    ExplanationKey,
    Provenance,
    ProvincePolicy,
    flexible_monthly_contribution,
    flexible_yearly_contribution,
    fmt_money,
    fmt_number,
    fmt_rate,
    is_estimate,
    newborn_enrolment,
    next_deadline,
    next_monthly_due,
    resident_collection_period,
    resident_payment_status,
)
from bot.policy.deadlines import ResidentPhase
from bot.policy.lapse import ResidentLatePayment, resident_late_payment
from intents.back_payment import join_reply, never_insured
from intents.base import Intent
from intents.figures import figure

_NEWBORN_WORDS = ("新生儿", "宝宝", "刚出生", "出生", "婴儿", "小孩生", "孩子生")
_STUDENT_WORDS = ("学生", "学校", "上学", "读书")
# Residents' scheme under names the entity parser does not map.
_RESIDENT_WORDS = ("农村医保", "农村合作医疗", "城乡医保", "城乡居民")
_IN_TIME_WORDS = ("来得及", "赶得上", "赶得及", "晚不晚", "还能交吗")
_MISSED_WORDS = ("错过", "过了截止", "没赶上", "忘了交", "忘记交", "没来得及")
_WHEN_WORDS = (
    "截止", "什么时候", "几月", "缴费期", "缴费时间", "开始交", "期限", "最后一天", "几号",
    "哪天", "多久交", "还来得及",
)  # fmt: skip
_FEE_WORDS = ("多少钱", "交多少", "缴多少", "标准", "档次", "几档", "涨", "费用", "贵")
# "一个月多少", "那一年呢": the amount for a month or for a year; the later one said wins
# (a follow-up is read after the question it leans on).
_PER_MONTH = re.compile(r"(?:一个月|每个?月|月)(?:要|得|需要)?(?:交|缴)?(?:多少|几多|呢)")
_PER_YEAR = re.compile(
    r"(?:一年|每年|全年|一整年)(?:下来)?(?:要|得|需要|总共|一共|合计)?(?:交|缴)?(?:多少|几多|呢)"
)
_VOLUNTARY_WORDS = ("有必要", "值得", "必须", "强制", "要不要交", "划算", "不交行不行", "不交会")
# A date after today in a birth question is last year's date read forward ("3月5日出生").
_FUTURE_BIRTH_WORDS = ("预产", "快生", "要生", "将出生", "准备生")


@dataclass(frozen=True)
class _Basis:
    """A figure's own basis and sources when it shows only part of a policy result."""

    basis: str
    provenance: tuple[Provenance, ...]


def _has(text: str, words: tuple[str, ...]) -> bool:
    return any(w in text for w in words)


def _birth_date(turn: Turn) -> date | None:
    born = turn.slots.date
    if born and born > turn.today and not _has(turn.text, _FUTURE_BIRTH_WORDS):
        try:
            return born.replace(year=born.year - 1)
        except ValueError:  # 29 February
            return born.replace(year=born.year - 1, day=28)
    return born


def _newborn(
    turn: Turn, policy: CityPolicy | None, fields: dict[str, object]
) -> tuple[list[Part], list[Figure], bool]:
    """Newborn enrolment: the city's deadline and fee where known, else the general rule."""
    born = _birth_date(turn)
    # Without a birth date the rule and its sources still apply; only enrol_by goes unused.
    result = newborn_enrolment(born or turn.today, city=policy)
    answer = [Part("payment/newborn")]
    figures: list[Figure] = []
    days = policy.newborn_enrol_days if policy else None
    if days is not None:
        rule = {**fields, "enrol_days": days.value}
        answer.append(Part("payment/newborn_city_rule", rule))
        if born is not None and result.enrol_by is not None:
            dates = {
                "enrol_by": fmt_date(result.enrol_by),
                "covered_from": fmt_date(result.covered_from),
            }
            answer.append(Part("payment/newborn_enrol_by", dates))
            figures.append(figure("newborn_enrol_by", "最晚参保日期", dates["enrol_by"], result))
        else:
            basis = render_part(Part("payment/basis_newborn_enrol_days", rule))
            value = render_part(Part("payment/value_enrol_days", rule))
            figures.append(
                figure(
                    "newborn_enrol_days",
                    "新生儿参保期限",
                    value,
                    _Basis(basis, (days.provenance,)),
                )
            )
    fee = policy.newborn_fee if policy else None
    if fee is not None:
        amount = fmt_money(fee.value)
        money = {**fields, "fee": amount, "year": fee.provenance.as_of}
        answer.append(Part("payment/newborn_fee", money))
        basis = render_part(Part("payment/basis_newborn_fee", money))
        figures.append(
            figure(
                "newborn_fee",
                "新生儿个人缴费",
                amount,
                _Basis(basis, (fee.provenance,)),
            )
        )
    return answer, figures, is_estimate(result)


def _resident_when(
    turn: Turn,
    policy: CityPolicy | None,
    province: ProvincePolicy | None,
    fields: dict[str, object],
    *,
    in_time: bool = False,
) -> tuple[list[Part], list[Figure], bool]:
    """The next residents' deadline and the collection period it closes; asked whether it is
    still in time ("来得及吗") while a period runs, the answer is yes, until its last day."""
    deadline = next_deadline(turn.today, city=policy, province=province)
    when = {
        **fields,
        "due": fmt_date(deadline.due),
        "days": deadline.days_left,
        "cover_year": deadline.cover_year,
    }
    key = {
        DeadlineKind.COLLECTION_END: "payment/resident_when",
        DeadlineKind.BACK_PAYMENT_END: "payment/resident_when_back_payment",
        DeadlineKind.CITY_LATE_PAYMENT: "payment/resident_when_city_late",
    }[deadline.kind]
    answer = [Part(key, when)]
    value = render_part(Part("payment/value_due", when))
    label = "缴费截止"
    estimate = is_estimate(deadline)
    status = resident_payment_status(turn.today, city=policy, province=province)
    planned = _planned_day(turn) if in_time else None
    if (
        in_time
        and status.phase is ResidentPhase.OPEN
        and deadline.kind is DeadlineKind.COLLECTION_END
    ):
        if planned is not None and planned > deadline.due:
            # "1月3号交来得及吗" on 12-28: that day is past the deadline; never "来得及".
            late_fields = {**when, "planned": fmt_date(planned)}
            answer = [Part("payment/resident_too_late", late_fields)]
            late = resident_late_payment(turn.today, city=policy)
            if late.waiting_months is not None or late.example_window:
                answer.append(_missed_window(late))
        elif planned is not None and planned > turn.today:
            answer = [Part("payment/resident_in_time_on", {**when, "planned": fmt_date(planned)})]
        else:
            answer = [Part("payment/resident_in_time", when)]
    extra: list[Figure] = []
    if status.phase is ResidentPhase.CLOSED:
        # No period runs today: say first that the last one has closed, and what is left.
        closed = {
            **fields,
            "closed_year": status.closed_year,
            "closed_on": fmt_date(status.closed_on),
        }
        answer.insert(0, Part("payment/resident_closed", closed))
        label = {
            DeadlineKind.COLLECTION_END: f"{deadline.cover_year}年度缴费截止",
            DeadlineKind.CITY_LATE_PAYMENT: f"{deadline.cover_year}年度免等待期补交截止",
        }.get(deadline.kind, f"{deadline.cover_year}年度补缴期截止")
        if deadline.kind is DeadlineKind.COLLECTION_END:
            # Nothing of the place's own to pay by before then: the national back-payment
            # practice (a dated example) replaces the far-off deadline as the answer.
            late = resident_late_payment(turn.today, city=policy)
            answer = [answer[0], _missed_window(late)]
            if late.waiting_months is not None:
                wait = f"{late.waiting_months}个月"
                extra.append(figure("waiting_period", "补缴后等待期", wait, late))
            estimate = estimate or is_estimate(late)
    figures = [figure("deadline", label, value, deadline), *extra]
    # The period to describe: the coming one once the last has closed.
    period_year = (
        status.cover_year if status.phase is ResidentPhase.CLOSED else deadline.cover_year
    )
    if period_year is not None:
        period = resident_collection_period(period_year, city=policy, province=province)
        dates = {
            **when,
            "cover_year": period_year,
            "opens": fmt_date(period.opens_on),
            "opens_by": fmt_date(period.opens_by),
            "closes": fmt_date(period.closes_on),
        }
        own = period.opens_on == period.opens_by
        answer.append(
            Part("payment/resident_period_city" if own else "payment/resident_period", dates)
        )
        days = period.late_waiting_days
        wait = render_part(Part("payment/value_days", {"n": days})) if days else ""
        answer += [
            _city_late_rule(period, when)
            if k is ExplanationKey.CITY_RESIDENT_DEADLINE
            else Part(f"explain/{k}", {**fields, "wait": wait})
            for k in period.explanation_keys
            # The city's late rule already leads when it is the deadline given.
            if not (
                k is ExplanationKey.CITY_RESIDENT_DEADLINE
                and deadline.kind is DeadlineKind.CITY_LATE_PAYMENT
            )
        ]
        estimate = estimate or is_estimate(period)
    return answer, figures, estimate


def _planned_day(turn: Turn) -> date | None:
    """The day the user means to pay on ("明天交", "1月3号交", "下个月交"), if one is said."""
    exact = [d for d in turn.entities.dates if d >= turn.today]
    if exact:
        return exact[0]
    rough = [r.day for r in turn.entities.approx_dates if r.day >= turn.today]
    return rough[0] if rough else None


def _missed_window(late: ResidentLatePayment) -> Part:
    """Early-year back-payment windows, from a dated example (never stated as this year's)."""
    window = late.example_window
    fields: dict[str, object] = {
        "wait": f"{late.waiting_months}个月" if late.waiting_months else "一段时间",
        "source": late.provenance[-1].source,
        "example_year": window[0].year if window else "",
        "start": f"{window[0].month}月{window[0].day}日" if window else "",
        "end": f"{window[1].month}月{window[1].day}日" if window else "",
    }
    return Part("payment/resident_missed_window", fields)


def _city_late_rule(period: CollectionPeriod, when: dict[str, object]) -> Part:
    """A city's "pay before day X or wait" rule, dated for the cover year being paid (an
    undated "规定日期" would leave the user guessing which year's day it is)."""
    before = period.late_payment_before
    last = before - timedelta(days=1) if before else None
    fields = {**when, "last": fmt_date(last), "days": period.late_waiting_days or ""}
    return Part("payment/resident_city_late_rule", fields)


def _last_end(pattern: re.Pattern[str], text: str) -> int:
    return max((m.end() for m in pattern.finditer(text)), default=-1)


def _asks_year(text: str) -> bool:
    """Whether the amount asked for is a year's ("那一年呢", "一年交多少"), said after any
    question about a month's ("一个月多少")."""
    return _last_end(_PER_YEAR, text) > _last_end(_PER_MONTH, text)


def _asks_amount(text: str) -> bool:
    return _has(text, _FEE_WORDS) or bool(_PER_MONTH.search(text) or _PER_YEAR.search(text))


def _flexible_fee(
    turn: Turn, policy: CityPolicy | None, fields: dict[str, object]
) -> tuple[list[Part], list[Figure], str | None]:
    """A flexible worker's monthly contribution: base × rate (the worker pays the employer's
    part too); asked about a year, twelve of them. The user's base first, else the city's
    average wage; without either, the formula and one question for the base."""
    base = turn.slots.base
    yearly = _asks_year(turn.text)
    result = flexible_monthly_contribution(city=policy, base=base)
    values = {**fields, "rate": fmt_rate(result.rate)}
    if result.amount is None:
        ask = None if "base" in turn.asked else "base"
        key = "payment/flexible_fee_year_formula" if yearly else "payment/flexible_fee_formula"
        return [Part(key, values)], [], ask
    amount = result.amount.display
    values |= {"base": fmt_number(result.base or base or 0), "amount": amount}
    key = "flexible_fee_amount" if base is not None else "flexible_fee_city_wage"
    figures = [figure("flexible_monthly", "每月缴费", amount, result)]
    if yearly:
        year = flexible_yearly_contribution(city=policy, base=base)
        assert year.amount is not None  # the same base as the month's
        values["year_amount"] = year.amount.display
        key = key.replace("fee", "fee_year")
        figures.append(figure("flexible_yearly", "全年缴费", year.amount.display, year))
    parts = [Part(f"payment/{key}", values), Part("payment/flexible_fee_range", fields)]
    return parts, figures, None


async def handle(turn: Turn) -> Reply:
    """The user's case (newborn, student, resident, flexible, employee), then where to pay."""
    # 大病保险 / 补充医疗保险 are not this scheme's payments or lapses: say what they are.
    # (Imported here: the module's head belongs to its keyword tables.)
    from intents.reimbursement import extra_cover_reply

    extra = extra_cover_reply(turn)
    if extra is not None:
        return extra
    city = turn.slots.city
    policy = turn.ctx.city(city)
    # The province's figures stand in where the city has none (city → province → national).
    province = turn.ctx.province(turn.slots.province)
    fields: dict[str, object] = {"city": city or "当地", "place": city or "当地", "wait": ""}
    text = turn.text
    scheme = turn.slots.scheme
    newborn = _has(text, _NEWBORN_WORDS)
    student = not newborn and _has(text, _STUDENT_WORDS)
    when = _has(text, _WHEN_WORDS)
    fee = _asks_amount(text)
    voluntary = _has(text, _VOLUNTARY_WORDS)
    missed = _has(text, _MISSED_WORDS)
    if "city" in turn.asked and not (student or when or fee or voluntary or missed):
        # A bare "成都" answers the city question, which is only asked about newborns.
        newborn = True
    if scheme is None and _has(text, _RESIDENT_WORDS):
        scheme = "resident"
    if newborn or student or ((when or missed) and scheme is None):
        # Newborns and students join the residents' scheme; an undated deadline question is
        # about the residents' annual period (flexible workers pay monthly).
        scheme = "resident"

    if scheme is None and not newborn and never_insured(turn):
        # "我妈60岁了没交过医保": joining (no age limit), never a question about the scheme.
        return join_reply(turn)
    if newborn and city is None and "city" not in turn.asked:
        return Reply(answer=(Part("payment/ask_city_newborn"),), ask="city")
    if scheme is None and not (fee or voluntary) and "scheme" not in turn.asked:
        return Reply(answer=(Part("payment/ask_scheme"),), ask="scheme")

    answer: list[Part] = []
    figures: list[Figure] = []
    estimate = False
    steps: list[Part] = []
    materials: list[Part] = []
    if newborn:
        parts, figs, estimate = _newborn(turn, policy, fields)
        answer += parts
        figures += figs
        steps.append(Part("payment/steps_newborn", fields))
        materials.append(Part("payment/materials_newborn"))
    if student:
        answer.append(Part("payment/student"))
    if voluntary and not student and scheme in (None, "resident"):
        answer.append(Part("payment/voluntary"))

    ask: str | None = None
    if scheme == "flexible":
        if fee:
            # "每个月交多少钱": the amount comes first, the monthly due day after it.
            parts, figs, ask = _flexible_fee(turn, policy, fields)
            answer += parts
            figures += figs
            estimate = estimate or any(f.kind == "national" or f.mixed for f in figs)
        due = next_monthly_due(
            turn.today, due_day=turn.slots.day_of_month, city=policy, province=province
        )
        when_fields = {
            "due": fmt_date(due.due),
            "days": due.days_left,
            "day": due.monthly_day,
            "place": fields["place"],
        }
        key = "flexible_when"
        if turn.slots.day_of_month:
            key = "flexible_when_day"
        elif due.monthly_day is not None:
            key = "flexible_when_local"  # the city's or province's own day
        if fee:
            key = key.replace("when", "due")  # the amount above already named the scheme
        answer.append(Part(f"payment/{key}", when_fields))
        value = render_part(Part("payment/value_due", when_fields))
        figures.append(figure("monthly_due", "本期缴费截止", value, due))
        estimate = estimate or is_estimate(due)
        if ask:
            answer.append(Part("payment/ask_base"))  # the one question back comes last
        steps.append(Part("payment/steps_flexible", fields))
        materials.append(Part("payment/materials_flexible"))
    elif scheme in ("employee", "retired"):
        answer.append(Part("payment/employee" if scheme == "employee" else "payment/retired"))
        steps.append(Part("payment/steps_employee"))
    else:
        if scheme is None:
            answer.append(Part("payment/general"))
        if fee and not when:
            # "一年交多少钱": the amount question comes first, the deadline after it.
            answer.append(Part("payment/resident_fee", fields))
        if not newborn or when:
            in_time = _has(text, _IN_TIME_WORDS)
            parts, figs, is_est = _resident_when(turn, policy, province, fields, in_time=in_time)
            answer += parts
            figures += figs
            estimate = estimate or is_est
        if missed:
            answer.append(Part("payment/resident_missed"))
        if fee and when:
            answer.append(Part("payment/resident_fee", fields))
        if not newborn:
            steps.append(Part("payment/steps_resident", fields))
        if not materials:
            materials.append(Part("payment/materials_resident"))
    if city and (fee or when) and not (scheme == "flexible" and fee):
        # (A flexible worker's amount already says where the local base and rate are shown.)
        answer.append(Part("payment/city_note", fields))
    return Reply(
        answer=tuple(answer),
        figures=tuple(figures),
        steps=tuple(steps),
        materials=tuple(materials),
        check=(Part("payment/check", fields),),
        estimate=estimate,
        # A follow-up ("来得及吗") is about the same scheme, even when it was inferred here.
        remember={"scheme": scheme} if scheme else {},
        ask=ask,
    )


# Keyword tables read better as lines of words than as one word a line.
# fmt: off
INTENT = Intent(
    handler=handle,
    id="payment",
    extra={"topic": "医保缴费"},
    description="怎么交、在哪交、交多少、缴费期和截止时间、新生儿和学生参保",
    slots=("scheme", "base"),
    keywords={
        "缴费": 2.0, "交费": 2.0, "交钱": 1.5, "怎么交": 3.5, "如何交": 3.5, "在哪交": 3.5,
        "哪里交": 3.5, "去哪交": 3.5, "怎么缴": 3.5, "在哪缴": 3.5, "哪里缴": 3.5,
        "交多少": 3.0, "缴多少": 3.0, "多少钱一年": 3.5, "一年多少钱": 3.5, "一年交多少": 3.5,
        "一个月交多少": 3.5, "每月交多少": 3.5, "每个月交多少": 3.5, "费用": 1.5,
        "标准": 2.0, "缴费标准": 3.5, "缴费基数": 2.5, "档次": 2.5, "几档": 2.5,
        "网上交": 3.5, "手机上交": 3.0, "手机交": 3.0, "微信交": 3.0, "支付宝交": 3.0,
        "线上交": 3.0, "自助交": 2.5, "代扣": 2.5, "扣费": 2.5, "自动扣": 2.5,
        "新农合": 2.0, "城乡居民": 1.5, "居民医保": 1.5, "新生儿": 4.0, "宝宝": 2.5,
        "出生": 2.5, "刚出生": 3.0, "学生": 2.5, "大学生": 2.5, "学校": 1.5,
        "截止": 3.5, "截止日期": 4.0, "缴费时间": 4.0, "缴费期": 3.5, "什么时候交": 4.0,
        "几月份交": 4.0, "几月交": 4.0, "开始交": 3.0, "期限": 2.0, "最后一天": 3.0,
        "有必要交": 3.5, "值得交": 3.0, "必须交": 3.0, "强制": 2.0, "要不要交": 3.5,
        "划算": 2.5, "不交行不行": 3.0, "买医保": 3.5, "办医保": 3.0, "参保": 1.5,
        "怎么参保": 3.5, "交医保": 1.5, "交社保": 1.5, "灵活就业": 1.0, "个体": 1.0,
        "怎么买": 2.5, "在哪买": 2.5, "涨价": 3.0, "涨了": 2.0, "又涨": 3.0,
        "交重了": 6.0, "缴重了": 6.0, "交重复": 6.0, "缴重复": 6.0, "重复交": 6.0, "重复缴": 6.0,
        "多交了": 3.0, "交多了": 3.0,
        "一起交": 3.0,
        "涨": 2.0,
        "外地户口": 2.0,
        "本地交": 2.5,
        "税务局": 2.5,
        "税务": 2.0,
        "多少钱一个人": 3.5,
        "一个人多少钱": 3.5,
        "参保登记": 3.5,
        "办理参保": 3.0,
        "给+交": 1.5,
        "交新农合": 3.0,
        "交居民医保": 3.0,
        "告诉我": -1.0,
        "通知": -1.0,
        "提醒": -2.0,
        "登记": 2.0,
        "一次交": 2.5,
        "交一年": 2.5,
        "交成功": 3.0,
        "有没有交": 2.5,
        "统一收": 2.0,
        "自己交": 1.5,
        "咋交": 3.5,
        "交": 1.0,
        "最晚": 3.0,
        "哪天交": 3.0,
        "柜台交": 3.0,
        "按年交": 3.0,
        "交哪里": 3.0,
        "交哪": 2.5,
        "怎么办理": 1.0,
        "扣多少": 3.0,
        "从工资里扣": 3.0,
        "得多少钱": 3.0,
        "弄个医保": 3.0,
        "多少钱": 1.0,
        "开始收": 3.5,
        "啥时候开始": 2.5,
        "什么时候开始": 2.5,
        "什么时候收": 3.5,
        "啥时候收": 3.5,
        # Paying ahead for next year.
        "提前交": 3.5,
        "提前缴": 3.5,
        "预交": 3.0,
        "预缴": 3.0,
        "先交": 1.5,
        "明年的+交": 1.0,
        "下一年+交": 1.5,
        "下年+交": 1.0,
        # Too late to pay this year? (补 or a lapse makes it arrears: back_payment.)
        # (Kept under a follow-up's topic-changing evidence: "来得及吗" after an arrears
        # question asks about the arrears.)
        "来得及": 2.0,
        "赶得上": 2.0,
        "赶得及": 2.0,
        "晚不晚": 2.0,
        # Has this year's collection opened?
        "能交了吗": 2.5,
        "可以交了吗": 2.5,
        # Someone never insured joining: enrolment, not arrears.
        "没交过": 3.0,
        "没缴过": 3.0,
        "没参保过": 3.5,
        "没参加过": 2.5,
        "没上过医保": 3.5,
        "没买过医保": 3.5,
        "没办过医保": 3.5,
        "从没交": 3.0,
        "从来没交": 3.0,
        "从来没参保": 3.5,
        "从来没有参保": 3.5,
        "一直没参保": 3.0,
        "没有参保过": 3.5,
    },
    examples=(
        "城乡居民医保在手机上怎么交",
        "今年居民医保一年交多少钱",
        "灵活就业人员医保每个月交多少",
        "宝宝刚出生怎么办医保",
        "大学生在学校交了医保 回家还用交吗",
        "新农合在微信上怎么缴费",
        "居民医保缴费什么时候截止",
        "2027年的居民医保几月份开始交",
        "医保缴费基数怎么选",
        "灵活就业医保有几个档次",
        "个体户怎么交医保",
        "没有工作怎么买医保",
        "医保在支付宝上怎么交",
        "居民医保必须交吗 不交行不行",
        "老人没有工作 医保交哪种划算",
        "医保费用为什么每年都涨",
        "小孩的医保在哪里交",
        "医保可以让银行每月自动扣吗",
        "外地户口能在本地交居民医保吗",
        "职工医保单位和个人各交多少",
        "怎么给父母交新农合",
        "交医保在税务局的app上怎么操作",
        "错过了集中缴费期怎么办",
        "农村医保今年多少钱一个人",
        "医保在哪里办理参保登记",
        "灵活就业医保每月几号前要交",
        "居民医保怎么在网上交费",
        "下一年的新农合可以提前交吗",
        "居民医保今天交还来得及吗",
        "老人从来没交过医保 现在还能参保吗",
    ),
)
# fmt: on
