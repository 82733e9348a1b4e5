"""How long a transfer takes, when the balance arrives, and how to follow its progress."""

import re
from datetime import date, timedelta

from bot.dialog.figures import explain, fmt_date
from bot.dialog.types import Figure, Part, Reply, Turn
from bot.nlu.entities import cn_to_number
from bot.policy import (
    BalanceHandling,
    Place,
    TransferKind,
    classify_transfer,
    transfer_kind,
    transfer_timeline,
)
from bot.policy import national as nat
from bot.policy.transfer import (
    TimelineStep,
    TransferStage,
    TransferTimeline,
    applied_on_from_elapsed,
    resident_cover_start,
    transfer_stage,
)
from intents.base import Intent
from intents.figures import figure
from intents.transfer import province_only

# "申请了一个月了", "交了材料两周了", "办了20天了", "一个半月了", "都10个工作日了", "两周前":
# a length of time that has already passed since the application.
_ELAPSED = re.compile(
    r"(?P<n>\d+|[一二两三四五六七八九十]+|半)(?P<ge>个)?(?P<half>半)?多?"
    r"(?P<unit>工作日|月|星期|礼拜|周|天)多?(?P<tail>了|前|以前|之前)?"
)
# The length must be about the application ("申请了", "交了材料", "转出去", "办了"), not
# about something else ("断缴两个月了"), and said as past: "…了", "…前", or "申请了…".
_APPLIED = re.compile(r"申请|提交|递交|交了|交材料|办了|办理|转出|转移|转了|等了")
_WAITING = re.compile(r"还没|没到|没收到|没转过来|没动静|没反应")
_DONE = re.compile(r"(申请|提交|递交|交|办|转|等)了|已经|已")
_CLAUSE_BREAK = re.compile(r"[,.!?;:，。！？；：]")
_MAX_DAYS = 3 * 366  # beyond this it is not a pending transfer
_CHECK_WORDS = ("还没", "没到", "没收到", "一直", "超过", "没动静", "没反应")
# "到哪一步了", "转过去了吗": asking where it stands, which needs the application day.
_PROGRESS_WORDS = ("哪一步", "进度", "办到哪", "了吗", "了没", "好了没", "状态")


def applied_from_text(text: str, today: date) -> date | None:
    """The application day when the message says how long ago it was, else None."""
    for m in _ELAPSED.finditer(text):
        unit, raw, half = m.group("unit"), m.group("n"), m.group("half") is not None
        if unit == "月" and m.group("ge") is None:
            continue  # "3月" is March, not three months
        before = _CLAUSE_BREAK.split(text[max(0, m.start() - 12) : m.start()])[-1]
        after = _CLAUSE_BREAK.split(text[m.end() : m.end() + 8])[0]
        tail = m.group("tail")
        about = (
            _APPLIED.search(before)
            or (tail in ("前", "以前", "之前") and _APPLIED.search(after))
            or (tail == "了" and _WAITING.search(after))  # "一个半月了还没到账"
        )
        if not about or (tail is None and not _DONE.search(before)):
            continue  # "要一个月吗" asks about the future; "断缴两个月了" is another matter
        if raw == "半":
            if half or unit != "月":
                continue
            months, days = 0, 15
        else:
            count = cn_to_number(raw)
            if count is None or count != int(count):
                continue
            months, days = (int(count), 15 if half else 0) if unit == "月" else (0, int(count))
        if unit in ("星期", "礼拜", "周"):
            days *= 7
        if months * 31 + days > _MAX_DAYS:
            continue
        if unit == "工作日":
            return applied_on_from_elapsed(today, working_days=days)
        return applied_on_from_elapsed(today, months=months, days=days)
    return None


def _applied_on(turn: Turn) -> tuple[date, bool]:
    """The application day and whether it is only roughly known.

    This message first: an exact past day ("上个月10号", "前天"), then a rough one read by the
    entity parser ("上周", "三天前"), then a length of time since applying ("申请了一个月了");
    then a day the conversation remembers; else today.
    """
    today = turn.today
    exact = [d for d in turn.entities.dates if d <= today]
    if exact:
        return exact[0], False
    rough = [
        r.day
        for r in turn.entities.approx_dates
        if r.day <= today and _about_application(turn.text, r.span)
    ]
    if rough:
        return rough[0], True
    elapsed = applied_from_text(turn.text, today)
    if elapsed is not None and elapsed <= today:
        return elapsed, True
    planned = _planned(turn)
    if planned is not None:
        return planned
    if turn.slots.date is not None and turn.slots.date <= today + _PLAN_AHEAD:
        return turn.slots.date, False
    return today, False


# A transfer planned further ahead than this is not counted from that day.
_PLAN_AHEAD = timedelta(days=366)


def _planned(turn: Turn) -> tuple[date, bool] | None:
    """An application still ahead ("我下周一申请", "下个月初去办"): the limits count from it."""
    today = turn.today
    if _APPLIED.search(turn.text):
        ahead = [d for d in turn.entities.dates if today < d <= today + _PLAN_AHEAD]
        if ahead:
            return ahead[0], False
    rough = [
        r.day
        for r in turn.entities.approx_dates
        if today < r.day <= today + _PLAN_AHEAD and _about_application(turn.text, r.span)
    ]
    return (rough[0], True) if rough else None


def _about_application(text: str, span: tuple[int, int]) -> bool:
    """ "上周申请的", "申请是三天前": the rough day is when the application was made, not when
    something else happened ("三个月前断缴了")."""
    before = _CLAUSE_BREAK.split(text[max(0, span[0] - 12) : span[0]])[-1]
    after = _CLAUSE_BREAK.split(text[span[1] : span[1] + 8])[0]
    return bool(_APPLIED.search(before) or _APPLIED.search(after))


async def handle(turn: Turn) -> Reply:
    """Time limits, and the dates they mean for this application in real working days; when
    the user applied some time ago, where the application stands today and what to do now."""
    s = turn.slots
    kind = TransferKind.CROSS_PROVINCE
    # Only words saying so make a lone province a move inside it ("广东省内转移要多久").
    province = province_only(turn, guangdong_alone=False)
    if s.origin and s.destination and s.origin_province and s.destination_province:
        kind = classify_transfer(
            Place(s.origin, s.origin_province), Place(s.destination, s.destination_province)
        )
        province = s.origin_province
    elif province is not None:
        kind = TransferKind.INTRA_PROVINCE  # "广东省内转移要多久": two cities of one province
    if kind is TransferKind.SAME_CITY:
        return Reply(answer=(Part("transfer_progress/same_city"),))
    # A lone city that is the destination ("转到南京要多久") is not where the money leaves.
    origin_name = s.origin or (s.city if s.city != s.destination else None)
    origin = turn.ctx.city(origin_name)
    applied, approx = _applied_on(turn)
    timeline = transfer_timeline(applied, kind=kind, origin=origin)
    intra = kind is TransferKind.INTRA_PROVINCE and province is not None
    if s.scheme == "resident":
        return _resident(turn, timeline, applied, approx, intra=intra)
    balance = BalanceHandling.MOVES
    if intra and province is not None:
        # Inside one province the province's rule decides whether the balance moves at all.
        inside = transfer_kind(
            Place(origin_name if origin else None, province),
            Place(s.destination if s.destination_province == province else None, province),
            province=turn.ctx.province(province),
            origin_city=origin,
        )
        balance = inside.balance
    moves = balance is not BalanceHandling.USABLE_ACROSS_CITIES  # any balance to wait for
    fields = {
        "from_text": f"从{origin_name}转出，" if origin_name else "",
        "city": origin_name or "",
        "applied": "今天"
        if applied == turn.today
        else ("约" if approx else "") + fmt_date(applied),
        "origin_done": fmt_date(timeline.origin_done_by),
        "process_done": fmt_date(timeline.process_done_by),
        "balance_by": fmt_date(timeline.balance_by),
        "balance_latest": fmt_date(timeline.balance_latest),
        "follow_up": fmt_date(timeline.follow_up_on),
        "process_days": nat.CROSS_PROVINCE_WORKING_DAYS.value,
        "slow_days": nat.BALANCE_WORKING_DAYS.value[1],
        "note": _city_note(timeline),
        "province": province or "",
    }
    # Only a platform of a city in the conversation is named (Beijing has its own).
    beijing = "北京市" in (s.origin, s.destination, s.city)
    channels: tuple[Part, ...] = (Part("transfer_progress/steps"),)
    if beijing:
        channels += (Part("transfer_progress/steps_beijing"),)
    if applied < turn.today:
        stage = transfer_stage(timeline, turn.today)
        to_bank = origin is not None and origin.balance_to_bank_working_days is not None
        if moves:
            answer, steps = _standing(timeline, stage, fields, today=turn.today, to_bank=to_bank)
        else:
            answer, steps = _standing_no_balance(timeline, turn.today, fields)
        return Reply(
            answer=(*_assumed(turn, applied), *answer, *_calendar(timeline)),
            figures=_figures(timeline, with_process=True, balance=moves),
            steps=steps,
            # The to-do list above already starts in the app: only the other channels here.
            check=(Part("transfer_progress/steps_other"), *channels[1:]),
            estimate=True,
            # Remember the day, so a follow-up ("南京转上海的") counts from it too.
            remember={"date": applied} if approx else {},
        )
    answer = [
        *_assumed(turn, applied),
        Part(f"transfer_progress/{_LIMITS[balance] if intra else 'answer'}", fields),
        Part("transfer_progress/dates", fields),
    ]
    if not moves:
        pass  # the balance stays where it is: no arrival date to give
    elif intra and balance is BalanceHandling.DEPENDS_ON_PROVINCE:
        answer.append(Part("transfer_progress/balance_range_if_moves", fields))
    elif timeline.balance_step.is_range:
        answer.append(Part("transfer_progress/balance_range", fields))
    elif timeline.follow_up_on > timeline.balance_by:
        answer.append(Part("transfer_progress/balance_on", fields))
    else:
        answer.append(Part("transfer_progress/balance_on_check", fields))
    if timeline.city_balance and origin_name:
        answer.append(Part("transfer_progress/city_timing", fields))
    answer.extend(_calendar(timeline))
    if applied == turn.today and any(w in turn.text for w in _CHECK_WORDS):
        # Already waiting, but we do not know since when: say how we count, and ask the day.
        answer.extend((Part("transfer_progress/slow"), Part("transfer_progress/when_applied")))
    return Reply(
        answer=tuple(answer),
        figures=_figures(
            timeline,
            with_process=False,
            balance=moves,
            # Where the province's rule is unknown the balance may not move at all.
            label="余额到账（如划转）"
            if intra and balance is BalanceHandling.DEPENDS_ON_PROVINCE
            else "余额到账",
        ),
        steps=channels,
        estimate=True,
        remember={"date": applied} if applied > turn.today else {},
    )


# The time limits inside one province, by what its rule does with the balance (never "跨省").
_LIMITS = {
    BalanceHandling.MOVES: "answer_intra_moves",
    BalanceHandling.TO_BANK_ACCOUNT: "answer_intra_bank",
    BalanceHandling.USABLE_ACROSS_CITIES: "answer_intra_usable",
    BalanceHandling.DEPENDS_ON_PROVINCE: "answer_intra",
}


def _standing_no_balance(
    timeline: TransferTimeline, today: date, fields: dict[str, object]
) -> tuple[list[Part], tuple[Part, ...]]:
    """Where an application stands when no balance moves (广东省内): only the relationship."""
    if today <= timeline.process_done_by:
        return [
            _in_time(timeline, today, fields),
            Part("transfer_progress/standing_no_balance", fields),
        ], (Part("transfer_progress/todo_wait", fields),)
    return [
        Part("transfer_progress/standing_process_past", fields),
        Part("transfer_progress/standing_no_balance_past", fields),
    ], (Part("transfer_progress/todo_now_no_balance", fields),)


def _in_time(timeline: TransferTimeline, today: date, fields: dict[str, object]) -> Part:
    """Inside the whole-process limit; once the origin's own limit has passed, say so rather
    than "正常办理期内" (a limit already passed is never "in time")."""
    if today > timeline.origin_done_by:
        return Part("transfer_progress/standing_origin_past", fields)
    return Part("transfer_progress/standing_in_time", fields)


def _assumed(turn: Turn, applied: date) -> tuple[Part, ...]:
    """ "12月1号申请的" said in November: last year's 12-01 is assumed; say so, so a user who
    meant a plan corrects it at once."""
    if applied not in turn.entities.assumed_last_year:
        return ()
    said = f"{applied.month}月{applied.day}日"
    return (
        Part("transfer_progress/assumed_last_year", {"said": said, "applied": fmt_date(applied)}),
    )


def _resident(
    turn: Turn, timeline: TransferTimeline, applied: date, approx: bool, *, intra: bool
) -> Reply:
    """Residents' insurance has no personal account: nothing "arrives". What matters is the
    old place stopping the insurance, the new place enrolling the person, and the day cover
    starts there; the transfer-out limits still apply to the paperwork."""
    s = turn.slots
    destination = s.destination or (s.city if s.city != s.origin else None)
    cover = resident_cover_start(
        turn.today,
        city=turn.ctx.city(destination),
        province=turn.ctx.province(s.destination_province),
    )
    place = destination or "新参保地"
    fields: dict[str, object] = {
        "place": place,
        "cover_year": cover.cover_year,
        "pay_by": fmt_date(cover.pay_by),
        "covered_from": fmt_date(cover.covered_from),
        "opens": fmt_date(cover.opens_on),
        "applied": ("约" if approx else "") + fmt_date(applied),
        "origin_done": fmt_date(timeline.origin_done_by),
        "process_done": fmt_date(timeline.process_done_by),
        "process_days": nat.CROSS_PROVINCE_WORKING_DAYS.value,
    }
    answer = [*_assumed(turn, applied), Part("transfer_progress/resident_answer", fields)]
    steps: tuple[Part, ...] = ()
    if applied < turn.today:
        late = turn.today > timeline.process_done_by
        key = "overdue" if late else "in_time"
        if not late and turn.today > timeline.origin_done_by:
            key = "origin_past"
        answer.append(Part(f"transfer_progress/resident_{key}", fields))
        steps = (Part("transfer_progress/resident_todo", fields),) if late else ()
    else:
        limits = "resident_limits_intra" if intra else "resident_limits"
        answer.append(Part(f"transfer_progress/{limits}", fields))
    opens_later = cover.opens_on > turn.today
    answer.append(
        Part(f"transfer_progress/resident_cover{'_opens' if opens_later else ''}", fields)
    )
    if applied == turn.today and any(w in turn.text for w in _CHECK_WORDS + _PROGRESS_WORDS):
        answer.append(Part("transfer_progress/resident_when_applied"))
    figures = (
        figure("origin_done_by", "转出地办结", _span(timeline.origin_step), timeline.origin_step),
        figure(
            "process_done_by", "全流程办结", _span(timeline.process_step), timeline.process_step
        ),
        figure("resident_covered_from", "新参保地待遇开始", fmt_date(cover.covered_from), cover),
    )
    return Reply(
        answer=tuple(answer),
        figures=figures,
        steps=(*steps, Part("transfer_progress/resident_steps", fields)),
        check=(Part("transfer_progress/steps"),),
        estimate=True,
        remember={"date": applied} if approx else {},
    )


def _standing(
    timeline: TransferTimeline,
    stage: TransferStage,
    fields: dict[str, object],
    *,
    today: date,
    to_bank: bool,
) -> tuple[list[Part], tuple[Part, ...]]:
    """Where an application made some time ago stands, and what to do about it now."""

    city = timeline.city_balance
    if stage is TransferStage.PROCESSING:
        answer = [_in_time(timeline, today, fields)]
        if timeline.balance_step.is_range:
            answer.append(Part("transfer_progress/standing_balance_range", fields))
        else:
            answer.append(Part("transfer_progress/standing_balance_on", fields))
        if city:
            answer.append(Part("transfer_progress/city_timing", fields))
        return answer, (Part("transfer_progress/todo_wait", fields),)
    answer = [Part("transfer_progress/standing_process_past", fields)]
    if stage is TransferStage.PROCESS_OVERDUE:
        key = "standing_city_due" if city else "standing_limit_ahead"
        todo = "todo_before_limit"
    else:
        key = "standing_city_past" if city else "standing_limit_past"
        todo = "todo_overdue"
    answer.append(Part(f"transfer_progress/{key}", fields))
    # Where the origin pays the balance to the person's bank (南京), the new place never gets it.
    now = "todo_now_bank" if to_bank else "todo_now"
    return answer, (
        Part(f"transfer_progress/{now}", fields),
        Part(f"transfer_progress/{todo}", fields),
    )


def _calendar(timeline: TransferTimeline) -> list[Part]:
    if not timeline.calendar_fallback:
        return []
    years = "、".join(f"{y}年" for y in timeline.fallback_years)
    return [explain("calendar_fallback", {"wait": years})]


def _city_note(timeline: TransferTimeline) -> str:
    if not timeline.city_balance:
        return ""
    return next(p.note for p in timeline.balance_step.provenance if p.kind == "city")


def _span(step: TimelineStep) -> str:
    """One date, or a range when its ends differ."""
    if not step.is_range:
        return fmt_date(step.first)
    return f"{fmt_date(step.first)}–{fmt_date(step.last)}"


def _figures(
    timeline: TransferTimeline,
    *,
    with_process: bool,
    balance: bool = True,
    label: str = "余额到账",
) -> tuple[Figure, ...]:
    """Each date with only the rules it was computed from (a city's balance timing never
    lends its source to the national transfer-out limit); no balance date where none moves."""
    steps = [("origin_done_by", "转出地办结", timeline.origin_step)]
    if with_process:
        steps.append(("process_done_by", "全流程办结", timeline.process_step))
    if balance:
        steps.append(("balance_by", label, timeline.balance_step))
    return tuple(figure(name, label, _span(step), step) for name, label, step in steps)


INTENT = Intent(
    handler=handle,
    id="transfer_progress",
    extra={"topic": "医保转移"},
    description="转移接续办理时限、余额到账时间、进度查询",
    slots=("origin", "destination"),
    keywords={
        "进度": 3.5,
        "办到哪": 4.0,
        "哪一步": 3.5,
        "到哪一步": 4.0,
        "查进度": 4.5,
        "转+多久": 4.0,
        "转+多长时间": 4.0,
        "转+几天": 4.0,
        "转+多少天": 4.0,
        "转+工作日": 4.0,
        "转+到账": 3.0,
        "转+什么时候": 3.5,
        "转+还没": 2.5,
        "接续+多久": 4.0,
        "接续+几天": 4.0,
        "接续+时间": 2.0,
        "迁移+多久": 4.0,
        "转+时限": 3.0,
        "转+审核": 2.0,
        "转+查询": 1.5,
        "转+一直": 2.0,
        "转+时间": 1.5,
        "工作日": 1.5,
        "到账": 1.0,
        "多久": 0.5,
        "审核中": 2.0,
        "转+办结": 2.5,
        "转+完成": 1.5,
        "转+好了没": 2.5,
        "转+没到": 3.0,
        "转+没收到": 3.0,
        "转+成功": 3.0,
        "状态": 3.0,
        "提交了": 2.0,
        "慢": 1.5,
        "国庆": 1.5,
        "春节": 1.5,
        # "是不是过年耽误了": a holiday holding the transfer up.
        "过年": 1.5,
        "放假": 1.5,
        "耽误": 2.0,
        "耽搁": 2.0,
        "转+多少时间": 4.0,
        "时限": 2.5,
        "办好": 1.5,
        "办完": 1.5,
        "转+什么时候到": 2.0,
        "转+啥时候": 3.0,
        "这么久": 2.0,
        "节后": 1.5,
        "能到吗": 2.0,
        "转+到吗": 2.0,
        "入口": 1.5,
        "转移+查询": 2.0,
        "转+了没": 2.0,
        "确认": 1.5,
        "还没转": 3.5,
        "没转过来": 3.5,
        "转过来了吗": 4.5,
        "转过来没": 4.5,
        "转+到了吗": 3.0,
        "转+了吗": 2.0,
        "会不会+慢": 2.0,
        # Did it go through: 转过去了吗, 转走了没 (not 能转过去吗, which asks whether it can).
        "转过去了吗": 4.5,
        "转过去了没": 4.5,
        "转过去没": 4.5,
        "转过来了没": 4.5,
        "转出去了吗": 4.5,
        "转出去了没": 4.5,
        "转走了吗": 4.0,
        "转走了没": 4.0,
        "转好了吗": 4.0,
        "转好了没": 4.0,
        "转完了吗": 4.0,
        "转完了没": 4.0,
        "转成功了吗": 4.5,
        "转成功了没": 4.5,
        "转了没": 3.0,
    },
    examples=(
        "医保转移一般要多长时间",
        "转出地审核要几个工作日",
        "医保关系转过去大概多久能办好",
        "个人账户余额转移多久到新账户",
        "申请了医保转移怎么查办理进度",
        "跨省转移接续整个流程要多少天",
        "医保转出去半个月了还没到账怎么办",
        "转移申请一直显示审核中正常吗",
        "怎么知道医保转移有没有成功",
        "医保转入要等几天才能用",
        "余额什么时候能转到新的医保卡上",
        "转移接续办结一般多少个工作日",
        "在app上怎么查医保转移到哪一步了",
        "医保转移提交了怎么看状态",
        "南京医保余额转出多久到银行卡",
        "郑州医保余额转到省医保要多久",
        "转移接续国庆期间会不会更慢",
        "医保关系转入地多长时间办完",
        "医保转了一个月了还没转过来",
        "转出之后多久能在新地方报销",
        "医保转移进度查询电话是多少",
        "转移医保要几天 着急用",
        "医保转移手续多久能完成",
        "办了转移接续 钱一直没收到",
        "医保余额划转需要多少时间",
        "转移接续的时限有规定吗",
        "线上申请的转移多久有结果",
    ),
)
