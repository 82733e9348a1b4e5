"""Setting up a payment-deadline reminder (and listing existing ones)."""

from datetime import date, timedelta

from bot.dialog.figures import figure, fmt_date
from bot.dialog.types import Figure, Part, Reply, Turn
from bot.policy import (
    add_working_days,
    next_deadline,
    next_monthly_due,
    resident_collection_period,
)
from bot.reminders import add_subscription, list_subscriptions
from bot.reminders.channels import TargetKind, parse_target
from bot.reminders.records import MONTHLY_KIND, Subscription
from intents.base import Intent
from region_data.city_policy import CityPolicy, ProvincePolicy

# Default lead times: a week ahead to plan, the day before as a last call.
LEAD_DAYS = (7, 1)
TRANSFER_FOLLOW_UP_WORKING_DAYS = 15


async def handle(turn: Turn) -> Reply:
    """Set up a reminder with exact dates, or list the ones already set."""
    if turn.storage is None:
        return Reply(answer=(Part("common/fallback"),))
    if any(w in turn.text for w in ("我的提醒", "哪些提醒", "提醒列表", "查看提醒", "有哪些")):
        return await list_reply(turn)
    s = turn.slots
    city = s.city or ""
    # Table figures: the city's own first, the province's where the city has none.
    policy, province = turn.ctx.city(city), turn.ctx.province(s.province)
    if "转移" in turn.text or "转出" in turn.text or "转入" in turn.text:
        applied = s.date if s.date is not None and s.date <= turn.today else turn.today
        result = add_working_days(applied, TRANSFER_FOLLOW_UP_WORKING_DAYS)
        due, title, kind = result.day, render_title("transfer_title", {}), "transfer"
        remind_on = [due]
        figures: tuple[Figure, ...] = ()
    elif _own_date(turn) is not None:
        # "提醒我12月20日交医保": the user's own day, on that day; no rule to cite.
        due, kind = _own_date(turn) or turn.today, "user_date"
        title, remind_on, figures = render_title("own_date_title", {}), [due], ()
    else:
        if (
            s.day_of_month is not None
            or "每月" in turn.text
            or "每个月" in turn.text
            or s.scheme == "flexible"
        ):
            deadline = next_monthly_due(
                turn.today, due_day=s.day_of_month, city=policy, province=province
            )
            day = deadline.monthly_day  # the user's day, else the city's or province's
            title = render_title("monthly_title", {"day": day or "月底"})
            if day is None:
                title = title.replace("每月月底日前", "每月月底前")
        elif "开始" in turn.text or "开放" in turn.text:
            return await _collection_start(turn, policy, province, city)
        else:
            deadline = next_deadline(turn.today, city=policy, province=province)
            title = deadline.basis.split("：")[0]
        due, kind = deadline.due, deadline.kind.value
        remind_on = [
            due - timedelta(days=d) for d in LEAD_DAYS if due - timedelta(days=d) >= turn.today
        ]
        figures = (figure("deadline", "截止日", fmt_date(due), deadline),)
    place_text = f"（{city}）" if city else ""
    if not remind_on:
        return Reply(
            answer=(
                Part("remind_subscribe/confirm_none", {"title": title, "due": fmt_date(due)}),
            ),
            figures=figures,
        )
    estimate = any(f.kind == "national" for f in figures)
    if not can_push(turn.user):
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
        replaces=corrected.id if corrected else None,
    )
    dates = "、".join(fmt_date(d) for d in sorted(remind_on))
    return Reply(
        answer=(
            Part(
                "remind_subscribe/confirm_changed"
                if corrected
                else "remind_subscribe/confirm_own"
                if kind == "user_date"
                else "remind_subscribe/confirm",
                {"title": title, "place_text": place_text, "due": fmt_date(due), "dates": dates},
            ),
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
    if not can_push(turn.user):
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


def _own_date(turn: Turn) -> date | None:
    """A future day the user named for a one-off reminder (not a monthly day)."""
    s = turn.slots
    if s.date is None or s.date <= turn.today or s.day_of_month is not None:
        return None
    if any(w in turn.text for w in ("每月", "每个月")):
        return None
    return s.date


# Words that ask for another reminder besides the last one, not a correction of it.
_ANOTHER = ("也", "再", "另外", "还要", "加一个", "多一个", "还有")


async def _corrected(turn: Turn) -> Subscription | None:
    """The reminder this message corrects: "每月15号" right after "提醒我交医保" set a yearly
    one means the monthly one instead, not both. Only a short message with no word asking
    for another one, and only the user's newest reminder, set today."""
    said = turn.understanding.text
    if turn.storage is None or len(said) > 12 or any(w in said for w in _ANOTHER):
        return None
    if "提醒" in said:  # a request of its own ("每月15号提醒我"), not a correction
        return None
    subs = await list_subscriptions(turn.storage, turn.user)
    newest = max(subs, key=lambda s: s.id, default=None)
    return newest if newest is not None and newest.created == turn.today.isoformat() else None


def can_push(user: str) -> bool:
    """Whether a reminder can ever reach this chat: not the chat page or a WeCom 1:1 chat
    (:attr:`TargetKind.NONE`), where a stored reminder would only fail with "no route"."""
    return parse_target(user).kind is not TargetKind.NONE


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
    pushable = can_push(turn.user)
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
