"""Setting up a payment-deadline reminder (and listing existing ones)."""

import dataclasses
from datetime import date, timedelta

from bot.dialog.figures import figure, fmt_date
from bot.dialog.types import Figure, Part, Reply, Turn
from bot.nlu.entities import Entities, extract
from bot.policy import (
    add_working_days,
    next_deadline,
    next_monthly_due,
    resident_collection_period,
)
from bot.reminders import add_subscription, list_subscriptions
from bot.reminders.channels import TargetKind, has_route, parse_target
from bot.reminders.records import MONTHLY_KIND, Subscription
from intents.base import Intent
from region_data.city_policy import CityPolicy, ProvincePolicy

# Default lead times: a week ahead to plan, the day before as a last call.
LEAD_DAYS = (7, 1)
TRANSFER_FOLLOW_UP_WORKING_DAYS = 15
# A one-off day further ahead than this is refused: most likely a misread year, and by then
# the deadline it stands for may well have moved.
MAX_AHEAD_DAYS = 366


async def handle(turn: Turn) -> Reply:
    """Set up a reminder with exact dates, or list the ones already set."""
    if turn.storage is None:
        return Reply(answer=(Part("common/fallback"),))
    if any(w in turn.text for w in ("我的提醒", "哪些提醒", "提醒列表", "查看提醒", "有哪些")):
        return await list_reply(turn)
    s = turn.slots
    city = s.city or ""
    named = _named(turn)
    transfer = any(w in turn.text for w in ("转移", "转出", "转入"))
    refused = None if transfer else _unusable_date(turn, named)
    if refused is not None:
        return refused
    # Table figures: the city's own first, the province's where the city has none.
    policy, province = turn.ctx.city(city), turn.ctx.province(s.province)
    own_day = named.day_of_month  # a monthly day the user chose: no rule behind it
    if transfer:
        applied = s.date if s.date is not None and s.date <= turn.today else turn.today
        result = add_working_days(applied, TRANSFER_FOLLOW_UP_WORKING_DAYS)
        due, title, kind = result.day, render_title("transfer_title", {}), "transfer"
        remind_on = [due]
        figures: tuple[Figure, ...] = ()
    elif named.dates and named.day_of_month is None and not _monthly(turn, named):
        # "提醒我12月20日交医保": the user's own day, on that day; no rule to cite.
        due, kind = named.dates[0], "user_date"
        title, remind_on, figures = render_title("own_date_title", {}), [due], ()
    else:
        if _monthly(turn, named):
            deadline = next_monthly_due(
                turn.today, due_day=own_day, city=policy, province=province
            )
            day = deadline.monthly_day  # the user's day, else the city's or province's
            title = render_title("monthly_title", {"day": day or "月底"})
            if day is None:
                title = title.replace("每月月底日前", "每月月底前")
        elif "开始" in turn.text or "开放" in turn.text:
            return await _collection_start(turn, policy, province, city)
        elif not (city or s.province) and "city" not in turn.asked and await can_push(turn):
            # The yearly deadline is the city's: ask once rather than store a national guess
            # (the menu's 缴费提醒 and topic 7 arrive here with nothing but the request).
            return Reply(answer=(Part("remind_subscribe/ask_city"),), ask="city")
        else:
            deadline = next_deadline(turn.today, city=policy, province=province)
            title = deadline.basis.split("：")[0]
        due, kind = deadline.due, deadline.kind.value
        remind_on = [
            due - timedelta(days=d) for d in LEAD_DAYS if due - timedelta(days=d) >= turn.today
        ]
        figures = (figure("deadline", "截止日", fmt_date(due), deadline),)
        if own_day is not None and kind == MONTHLY_KIND:
            figures = ()  # the user's own day: no source to cite, nothing estimated
    place_text = f"（{city}）" if city else ""
    if not remind_on:
        return Reply(
            answer=(
                Part("remind_subscribe/confirm_none", {"title": title, "due": fmt_date(due)}),
            ),
            figures=figures,
        )
    estimate = any(f.kind == "national" for f in figures)
    if not await can_push(turn):
        if kind == "transfer":
            fact = Part(
                "remind_subscribe/none_transfer",
                {"days": TRANSFER_FOLLOW_UP_WORKING_DAYS, "due": fmt_date(due)},
            )
        else:
            fact = Part(
                "remind_subscribe/none_deadline",
                {"title": title, "place_text": place_text, "due": fmt_date(due)},
            )
        return cannot_push_reply(fact, remind_on, figures, estimate)
    monthly = kind == MONTHLY_KIND
    corrected = await _corrected(turn)
    moved = await _moved_monthly(turn, deadline.monthly_day) if monthly else None
    if monthly and (moved is not None or (corrected and corrected.kind == MONTHLY_KIND)):
        # A new monthly day moves the monthly reminder, said as such, and nothing else goes
        # (the same day again is the same reminder).
        corrected = None
    replaced = corrected or moved
    await add_subscription(
        turn.storage,
        turn.user,
        kind,
        title,
        city,
        due,
        remind_on,
        turn.today,
        # Kept so the scheduler can roll a monthly reminder over to the next month.
        # The table's day too, so the roll-over keeps it without the table at hand.
        due_day=deadline.monthly_day if monthly else None,
        lead_days=LEAD_DAYS if monthly else (),
        replaces=replaced.id if replaced else None,
    )
    dates = "、".join(fmt_date(d) for d in sorted(remind_on))
    chosen = own_day if monthly else None
    fields = {"title": title, "place_text": place_text, "due": fmt_date(due), "dates": dates}
    if monthly:
        fields["day"] = f"{deadline.monthly_day}日" if deadline.monthly_day else "月底"
    return Reply(
        answer=(
            Part(_confirm_block(kind, chosen, corrected, moved), fields),
            delivery_note(turn.user),
        ),
        figures=figures,
        estimate=estimate,
    )


async def _collection_start(
    turn: Turn, policy: CityPolicy | None, province: ProvincePolicy | None, city: str
) -> Reply:
    """Remind when the next residents' collection period opens (on the day it usually opens;
    with a national estimate, at both ends of the usual opening range)."""
    assert turn.storage is not None
    cover_year = turn.today.year + 1
    period = resident_collection_period(cover_year, city=policy, province=province)
    if period.opens_by < turn.today:  # this autumn's period is open already: the next one
        cover_year += 1
        period = resident_collection_period(cover_year, city=policy, province=province)
    remind_on = sorted({d for d in (period.opens_on, period.opens_by) if d >= turn.today})
    title = render_title("start_title", {"year": cover_year})
    when = fmt_date(period.opens_on)
    if period.opens_by != period.opens_on:
        when = f"{when}至{fmt_date(period.opens_by)}之间"
    fields = {"title": title, "place_text": f"（{city}）" if city else "", "when": when}
    figures = (figure("collection_start", "开始缴费", when, period),)
    estimate = any(p.kind == "national" for p in period.provenance)
    if not await can_push(turn):
        fact = Part("remind_subscribe/none_start", fields)
        return cannot_push_reply(fact, remind_on, figures, estimate)
    await add_subscription(
        turn.storage,
        turn.user,
        "collection_start",
        title,
        city,
        period.opens_on,
        remind_on,
        turn.today,
    )
    dates = "、".join(fmt_date(d) for d in remind_on)
    return Reply(
        answer=(
            Part("remind_subscribe/confirm_start", {**fields, "dates": dates}),
            delivery_note(turn.user),
        ),
        figures=figures,
        estimate=estimate,
    )


def _named(turn: Turn) -> Entities:
    """The days and scheme this request names: in the message itself, else in the question
    it completes ("广州" after "哪个城市？"; ``turn.text`` then carries both). A day or scheme
    remembered from an earlier, separate request does not count: "居民医保截止前提醒我" after
    "每月15号提醒我" asks for the yearly deadline, not the 15th again."""
    own = turn.entities
    if turn.text == turn.understanding.text:
        return own
    said = extract(turn.text, turn.today)
    return dataclasses.replace(
        said,
        dates=own.dates or said.dates,
        day_of_month=own.day_of_month if own.day_of_month is not None else said.day_of_month,
        scheme=own.scheme or said.scheme,
    )


def _monthly(turn: Turn, named: Entities) -> bool:
    """A monthly reminder: a day of the month, "每月", or the flexible workers' scheme; not
    when the message itself names the residents' scheme and nothing monthly ("居民医保呢"
    after "每月15号提醒我": the yearly deadline this time)."""
    own = turn.entities
    said = turn.understanding.text
    if own.scheme == "resident" and own.day_of_month is None:
        return any(w in said for w in _MONTHLY_WORDS)
    if named.day_of_month is not None or named.scheme == "flexible":
        return True
    return any(w in turn.text for w in _MONTHLY_WORDS)


_MONTHLY_WORDS = ("每月", "每个月")


def _unusable_date(turn: Turn, named: Entities) -> Reply | None:
    """A one-off day that is today, past or over a year ahead: say so rather than set the
    yearly deadline without a word (past) or a reminder nobody will expect (years ahead).
    The reply waits for another day ("12月20日"), once."""
    if not named.dates or named.day_of_month is not None or _monthly(turn, named):
        return None
    day = named.dates[0]
    if day < turn.today:
        block = "past_date"
    elif day == turn.today:
        block = "today_date"
    elif (day - turn.today).days > MAX_AHEAD_DAYS:
        block = "too_far"
    else:
        return None
    example = turn.today + timedelta(days=7)
    fields = {"date": fmt_date(day), "example": f"{example.month}月{example.day}日"}
    ask = None if "date" in turn.asked or block == "today_date" else "date"
    return Reply(answer=(Part(f"remind_subscribe/{block}", fields),), ask=ask)


# Words that ask for another reminder besides the last one, not a correction of it.
_ANOTHER = ("也", "再", "另外", "还要", "加一个", "多一个", "还有")


async def _corrected(turn: Turn) -> Subscription | None:
    """The reminder this message corrects: "每月15号" right after "提醒我交医保" set a yearly
    one means the monthly one instead, not both. Only a short message with no word asking
    for another one, and only the user's newest reminder, set today."""
    said = turn.understanding.text
    if turn.asked:  # the answer to our question ("广州" after "哪个城市？"), not a correction
        return None
    if turn.storage is None or len(said) > 12 or any(w in said for w in _ANOTHER):
        return None
    if "提醒" in said:  # a request of its own ("每月15号提醒我"), not a correction
        return None
    subs = await list_subscriptions(turn.storage, turn.user)
    newest = max(subs, key=lambda s: s.id, default=None)
    return newest if newest is not None and newest.created == turn.today.isoformat() else None


async def _moved_monthly(turn: Turn, day: int | None) -> Subscription | None:
    """The user's monthly reminder on another day, which a new monthly one replaces (the
    records keep one monthly reminder per user)."""
    if turn.storage is None:
        return None
    subs = await list_subscriptions(turn.storage, turn.user)
    old = next((x for x in subs if x.kind == MONTHLY_KIND), None)
    return old if old is not None and old.due_day != day else None


def _confirm_block(
    kind: str, chosen: int | None, corrected: Subscription | None, moved: Subscription | None
) -> str:
    """The confirmation: a moved monthly day, a corrected reminder, the user's own day (a
    monthly day or a one-off date), or a deadline from policy."""
    if moved is not None:
        return "remind_subscribe/confirm_moved_monthly"
    if corrected is not None:
        own = "_own_monthly" if chosen is not None else ""
        return f"remind_subscribe/confirm_changed{own}"
    if chosen is not None:
        return "remind_subscribe/confirm_own_monthly"
    if kind == "user_date":
        return "remind_subscribe/confirm_own"
    return "remind_subscribe/confirm"


async def can_push(turn: Turn) -> bool:
    """Whether a reminder can reach this chat: never the chat page or a WeCom 1:1 chat, and a
    group or bridged chat only with a robot key or the bridge's push URL (:func:`has_route`,
    asked as the channels ask when they send); elsewhere a stored reminder could only fail
    with "no route". Without the deployment's routes at hand, the user key alone decides."""
    target = parse_target(turn.user)
    if turn.routes is None or turn.storage is None:
        return target.kind is not TargetKind.NONE
    return await has_route(target, turn.storage, turn.routes)


def cannot_push_reply(
    fact: Part, remind_on: list[date], figures: tuple[Figure, ...], estimate: bool
) -> Reply:
    """For a chat that cannot be pushed to: the date asked about, nothing stored, and how to
    get a reminder elsewhere (the official account, or the phone's calendar on the days the
    reminder would have come)."""
    dates = "、".join(fmt_date(d) for d in sorted(remind_on))
    return Reply(
        answer=(fact, Part("remind_subscribe/none_note")),
        figures=figures,
        steps=(
            Part("remind_subscribe/none_step_account"),
            Part("remind_subscribe/none_step_calendar", {"dates": dates}),
        ),
        estimate=estimate,
    )


def delivery_note(user: str) -> Part:
    """Where the reminder will arrive: this official account or this bridged chat (chats
    that cannot be pushed to get :func:`cannot_push_reply` and no reminder at all)."""
    if parse_target(user).kind is TargetKind.OFFICIAL:
        return Part("remind_subscribe/delivery_note")
    return Part("remind_subscribe/delivery_note_chat")


def render_title(block: str, fields: dict[str, object]) -> str:
    from bot.dialog.render import render_part

    return render_part(Part(f"remind_subscribe/{block}", fields))


async def list_reply(turn: Turn) -> Reply:
    assert turn.storage is not None
    subs = await list_subscriptions(turn.storage, turn.user)
    pushable = await can_push(turn)
    if not subs:
        key = "list_empty" if pushable else "list_empty_none"
        return Reply(answer=(Part(f"remind_subscribe/{key}"),))
    items = [Part("remind_subscribe/list_header")]
    for n, sub in enumerate(subs, start=1):
        nxt = sub.next_date(turn.today)
        items.append(
            Part(
                "remind_subscribe/list_item",
                {
                    "n": n,
                    "title": sub.title,
                    "place_text": f"（{sub.city}）" if sub.city else "",
                    "due": fmt_date(date.fromisoformat(sub.due)),
                    "next": fmt_date(nxt) if nxt else "无（已过）",
                },
            )
        )
    if not pushable:  # recorded before such chats stopped getting reminders: they never arrive
        items.append(Part("remind_subscribe/list_note_none"))
    return Reply(answer=tuple(items))


INTENT = Intent(
    handler=handle,
    id="remind_subscribe",
    extra={"topic": "医保缴费提醒"},
    description="订阅缴费截止提醒、查看我的提醒",
    slots=("kind", "city"),
    priority=1,
    keywords={
        "提醒": 4.0,
        "提醒我": 5.0,
        "通知我": 5.0,
        "叫我": 2.5,
        "订阅": 4.5,
        "记得": 2.0,
        "到时候": 2.0,
        "别忘了": 2.5,
        "别让我忘": 3.5,
        "开启": 2.0,
        "设置": 1.5,
        "设个": 2.0,
        "定时": 2.5,
        "推送": 2.5,
        "提前": 1.5,
        "我的提醒": 5.0,
        "提醒+哪些": 2.0,
        "喊我": 3.0,
        "到期": 1.5,
        "闹钟": 3.0,
        "告诉我": 3.0,
        "告诉我一声": 5.5,
        "推送给我": 6.0,
        "时候+告诉我": 3.0,
        "时+告诉我": 2.0,
        "时候+通知我": 3.0,
        "时+推送": 2.0,
        "取消": -3.0,
        "别": -1.0,
        "不要": -1.5,
        "不用": -1.5,
        "停止": -2.0,
        "关闭": -2.0,
        "关掉": -2.0,
        "关了": -2.0,
        "再设置": 4.0,
        "重新设置": 4.0,
        "重新打开": 4.0,
    },
    examples=(
        "居民医保开始缴费的时候通知我一下",
        "每月10号提醒我交灵活就业医保",
        "帮我订阅医保缴费提醒",
        "医保截止前三天提醒我",
        "到时候记得叫我交医保",
        "缴费期开始了告诉我一声",
        "设置一个医保缴费提醒",
        "医保快到期的时候提醒一下",
        "别让我忘了交明年的医保",
        "转移办完了提醒我去查一下",
        "补缴期限到之前提醒我",
        "能不能每个月提醒我交医保",
        "订阅居民医保缴费通知",
        "开启缴费截止提醒",
        "提前一周提醒我交新农合",
        "我的提醒有哪些",
        "查看我订阅的提醒",
        "医保缴费提醒怎么设置",
        "交费前一天提醒我",
        "居民医保集中缴费期开始时推送给我",
        "每个月15号喊我交一下医保",
        "帮我定个医保交费的闹钟",
        "等可以补缴的时候通知我",
        "提醒我月底前交医保",
        "明年医保开始交的时候告诉我",
        "北京居民医保缴费提醒我一下",
    ),
)
