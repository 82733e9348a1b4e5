"""Setting up a payment-deadline reminder (and listing existing ones)."""

import dataclasses
import re
from datetime import date, timedelta

from bot.dialog.figures import figure, fmt_date
from bot.dialog.types import Figure, Part, Reply, Turn
from bot.nlu.entities import Entities, cn_to_number, extract
from bot.policy import (
    add_working_days,
    next_deadline,
    next_monthly_due,
    resident_collection_period,
)
from bot.reminders import add_subscription, list_subscriptions
from bot.reminders.channels import TargetKind, has_route, parse_target
from bot.reminders.records import MONTHLY_KIND, Subscription, update_subscription
from intents.base import Intent
from region_data.city_policy import CityPolicy, ProvincePolicy

# Default lead times: a week ahead to plan, the day before as a last call.
LEAD_DAYS = (7, 1)
TRANSFER_FOLLOW_UP_WORKING_DAYS = 15
# A one-off day further ahead than this is refused: most likely a misread year, and by then
# the deadline it stands for may well have moved.
MAX_AHEAD_DAYS = 366


async def handle(turn: Turn) -> Reply:
    """Set up a reminder with exact dates, change one already set, or list them."""
    if turn.storage is None:
        return Reply(answer=(Part("common/fallback"),))
    # This message's words only: ``turn.text`` also carries the one before ("我的提醒" and
    # then "改成当天提醒" is a change, not another listing).
    said = turn.understanding.text
    if any(w in said for w in ("我的提醒", "哪些提醒", "提醒列表", "查看提醒", "有哪些")):
        return await list_reply(turn)
    changed = await _change(turn)
    if changed is not None:
        return changed
    s = turn.slots
    city = s.city or ""
    named = _named(turn)
    transfer = any(w in turn.text for w in ("转移", "转出", "转入"))
    refused = None if transfer else _unusable_date(turn, named)
    if refused is not None:
        return refused
    # The lead times asked for: in this message, or in the request our question completes.
    asked_leads = _leads(turn.text if turn.asked else turn.understanding.text)
    leads = asked_leads or LEAD_DAYS
    # Table figures: the city's own first, the province's where the city has none.
    policy, province = turn.ctx.city(city), turn.ctx.province(s.province)
    own_day = named.day_of_month  # a monthly day the user chose: no rule behind it
    skipped: date | None = None  # a monthly due day too close for any reminder
    fixed_day = False  # reminded on the day itself: lead times do not apply
    if transfer:
        applied = s.date if s.date is not None and s.date <= turn.today else turn.today
        result = add_working_days(applied, TRANSFER_FOLLOW_UP_WORKING_DAYS)
        due, title, kind = result.day, render_title("transfer_title", {}), "transfer"
        remind_on = [due]
        figures: tuple[Figure, ...] = ()
        fixed_day = True
    elif named.dates and named.day_of_month is None and not _monthly(turn, named):
        # "提醒我12月20日交医保": the user's own day, on that day unless they asked for
        # earlier ("提前3天提醒我"); no rule to cite.
        due, kind = named.dates[0], "user_date"
        title, figures = render_title("own_date_title", {}), ()
        if _too_far(asked_leads, MAX_LEAD_DAYS):
            return _lead_too_far(MAX_LEAD_DAYS)
        remind_on = _fire_days(due, asked_leads or (0,), turn.today)
    else:
        monthly = _monthly(turn, named)
        if monthly:
            if _too_far(asked_leads, MAX_MONTHLY_LEAD_DAYS):
                return _lead_too_far(MAX_MONTHLY_LEAD_DAYS)
            # A due day that is today has been dealt with: the reminder is for next month's.
            deadline = next_monthly_due(
                turn.today + timedelta(days=1), due_day=own_day, city=policy, province=province
            )
            remind_on = _fire_days(deadline.due, leads, turn.today)
            if not remind_on:  # too close to remind: start with next month's
                skipped = deadline.due
                deadline = next_monthly_due(
                    deadline.due + timedelta(days=1),
                    due_day=own_day,
                    city=policy,
                    province=province,
                )
                remind_on = _fire_days(deadline.due, leads, turn.today)
            title = monthly_title(deadline.monthly_day)
        elif "开始" in turn.text or "开放" in turn.text:
            return await _collection_start(turn, policy, province, city, bool(asked_leads))
        elif not (city or s.province) and "city" not in turn.asked and await can_push(turn):
            # The yearly deadline is the city's: ask once rather than store a national guess
            # (the menu's 缴费提醒 and topic 7 arrive here with nothing but the request).
            if asked_leads:  # kept for the answer: it completes this request
                ask = Part("remind_subscribe/ask_city_lead", {"when": lead_text(asked_leads)})
                return Reply(answer=(ask,), ask="city")
            return Reply(answer=(Part("remind_subscribe/ask_city"),), ask="city")
        else:
            if _too_far(asked_leads, MAX_LEAD_DAYS):
                return _lead_too_far(MAX_LEAD_DAYS)
            deadline = next_deadline(turn.today, city=policy, province=province)
            title = deadline.basis.split("：")[0]
            remind_on = _fire_days(deadline.due, leads, turn.today)
        due, kind = deadline.due, deadline.kind.value
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
    stored_leads = () if fixed_day else (leads if kind != "user_date" else asked_leads)
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
        lead_days=stored_leads,
        replaces=replaced.id if replaced else None,
    )
    dates = "、".join(fmt_date(d) for d in sorted(remind_on))
    chosen = own_day if monthly else None
    fields = {"title": title, "place_text": place_text, "due": fmt_date(due), "dates": dates}
    if monthly:
        fields["day"] = day_text(deadline.monthly_day)
    block = _confirm_block(kind, chosen, corrected, moved)
    if kind == "user_date" and asked_leads and block == "remind_subscribe/confirm_own":
        block = "remind_subscribe/confirm_own_lead"
    answer = [Part(block, fields)]
    if skipped is not None:
        answer.append(Part("remind_subscribe/skipped_month", {"skipped": fmt_date(skipped)}))
    if fixed_day and asked_leads:
        answer.append(Part("remind_subscribe/lead_fixed_note"))
    answer.append(delivery_note(turn.user))
    return Reply(answer=tuple(answer), figures=figures, estimate=estimate)


async def _collection_start(
    turn: Turn,
    policy: CityPolicy | None,
    province: ProvincePolicy | None,
    city: str,
    lead_asked: bool = False,
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
    answer = [Part("remind_subscribe/confirm_start", {**fields, "dates": dates})]
    if lead_asked:
        answer.append(Part("remind_subscribe/lead_fixed_note"))
    answer.append(delivery_note(turn.user))
    return Reply(answer=tuple(answer), figures=figures, estimate=estimate)


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


# --- changing a reminder already set -----------------------------------------------------------

# Lead times beyond these are refused. A monthly one stays under the shortest gap between two
# due days (28), so next month's first reminder always falls after this month's last, the one
# that rolls the record over; a yearly one within two months of its deadline.
MAX_MONTHLY_LEAD_DAYS = 27
MAX_LEAD_DAYS = 60
_MONTH_END = 0  # "改到月底": the month's last day (``due_day`` None in the records)
# Kinds reminded on a day of their own, not some days before a deadline.
_FIXED_DAY_KINDS = frozenset({"transfer", "collection_start"})
_CHANGE_WORDS = ("改成", "改为", "改到", "改在", "换成", "换到", "换为", "调成", "调到", "挪到")
_NUM = "[0-9]{1,2}|[一二两三四五六七八九十]{1,3}"
_UNIT = "天|周|个?星期|个?礼拜"
_SEND = "提醒|通知|告诉|叫|喊|推送|发"
_LEAD_PATTERNS = (
    re.compile(rf"提前\s*({_NUM})\s*({_UNIT}|日)"),
    re.compile(rf"(?<!提)前\s*({_NUM})\s*({_UNIT})"),
    re.compile(rf"({_NUM})\s*({_UNIT})\s*前\s*(?:再|就)?\s*(?={_SEND})"),
)
_LEAD_MONTH = re.compile(r"提前\s*一\s*个?\s*月")
_SAME_DAY = re.compile(
    rf"(?:当天|当日|那天|那一天|截止日|到期日|最后一天)\s*(?:再|就|也)?\s*(?:{_SEND})"
)
_BARE_DAY = re.compile(rf"(?:{_NUM}|二十[一二三四五六七八九]|三十一?)\s*[号日]")


def _leads(text: str) -> tuple[int, ...]:
    """The lead times a message asks for, in days, longest first: "提前3天" → (3,),
    "提前一周和前一天" → (7, 1), "截止当天提醒我" → (0,); () when it names none."""
    found: set[int] = set()
    for pattern in _LEAD_PATTERNS:
        for m in pattern.finditer(text):
            n = _small_number(m.group(1))
            if n is not None:
                found.add(n * (1 if m.group(2) in ("天", "日") else 7))
    if _LEAD_MONTH.search(text):
        found.add(30)
    if _SAME_DAY.search(text):
        found.add(0)
    return tuple(sorted(found, reverse=True))


def _small_number(s: str) -> int | None:
    if s.isdigit():
        return int(s)
    value = cn_to_number(s)
    return int(value) if value is not None and value == int(value) else None


def _new_day(said: str, own: Entities) -> int | None:
    """The monthly day a change names: "每月25号", a bare "25号" (no month said), "月底"
    (:data:`_MONTH_END`); None when it names no day."""
    if "月底" in said:
        return _MONTH_END
    if own.day_of_month is not None:
        return own.day_of_month
    monthless = said.replace("每个月", "").replace("每月", "")
    if own.dates and "月" not in monthless and _BARE_DAY.search(monthless):
        return own.dates[0].day
    return None


def _too_far(leads: tuple[int, ...], limit: int) -> bool:
    return bool(leads) and max(leads) > limit


def _lead_too_far(limit: int) -> Reply:
    return Reply(answer=(Part("remind_subscribe/lead_too_far", {"max": limit}),))


def _fire_days(
    due: date, leads: tuple[int, ...], today: date, old: Subscription | None = None
) -> list[date]:
    """The reminder days ``leads`` before ``due`` that are still ahead. Today counts, except
    when the old record of the same deadline had it: that reminder went out already, and its
    job (keyed by deadline and day) is never sent twice."""
    sent = set(old.remind_on) if old is not None and old.due == due.isoformat() else set()
    days = {due - timedelta(days=n) for n in leads}
    return sorted(d for d in days if d > today or (d == today and d.isoformat() not in sent))


def lead_text(leads: tuple[int, ...]) -> str:
    """ "截止前7天和前1天", "截止当天"."""
    return "截止" + "和".join("当天" if n == 0 else f"前{n}天" for n in leads)


def day_text(day: int | None) -> str:
    return f"{day}日" if day else "月底"


def monthly_title(day: int | None) -> str:
    title = render_title("monthly_title", {"day": day or "月底"})
    return title.replace("每月月底日前", "每月月底前")


async def _change(turn: Turn) -> Reply | None:
    """A change to a reminder already set ("改成25号", "提醒改到每月25号", "改成提前3天提醒",
    "截止当天提醒我就行"), made and said as made; None when the message is no change (a new
    request, the answer to our question, or nothing set yet to change)."""
    assert turn.storage is not None
    if turn.asked:
        return None
    said, own = turn.understanding.text, turn.entities
    leads, day = _leads(said), _new_day(said, own)
    if day is None and not leads:
        return None
    if not any(w in said for w in _CHANGE_WORDS) and (day is not None or _new_request(turn)):
        return None  # "每月20号提醒我", "广州居民医保截止前3天提醒我": a request of its own
    subs = await list_subscriptions(turn.storage, turn.user)
    if not subs:
        return None  # nothing to change: set one as asked
    monthly = next((x for x in subs if x.kind == MONTHLY_KIND), None)
    if day is not None:
        if monthly is not None:
            return await _change_monthly(turn, monthly, day, leads)
        if own.day_of_month is not None or day == _MONTH_END:
            return None  # a monthly reminder of its own (or the correction of the one just set)
        return Reply(answer=(Part("remind_subscribe/change_no_monthly", {"day": day}),))
    if monthly is not None and (len(subs) == 1 or any(w in said for w in _MONTHLY_HINTS)):
        return await _change_monthly(turn, monthly, None, leads)
    target = max(subs, key=lambda x: x.id)  # the newest: its title in the reply says which
    return await _change_lead(turn, target, leads)


_MONTHLY_HINTS = ("每月", "每个月", "灵活", "按月")


def _new_request(turn: Turn) -> bool:
    """Whether the message names a reminder of its own (a scheme, place, date or topic)."""
    own = turn.entities
    return bool(
        own.scheme
        or own.dates
        or turn.understanding.cities
        or turn.understanding.provinces
        or any(w in turn.understanding.text for w in ("转移", "转出", "转入", "开始", "开放"))
    )


async def _change_monthly(
    turn: Turn, sub: Subscription, day: int | None, leads: tuple[int, ...]
) -> Reply:
    """Move the monthly reminder to another day and/or lead time, in place."""
    assert turn.storage is not None
    due_day = sub.due_day if day is None else (None if day == _MONTH_END else day)
    leads = leads or sub.lead_days or LEAD_DAYS
    if max(leads) > MAX_MONTHLY_LEAD_DAYS:
        return _lead_too_far(MAX_MONTHLY_LEAD_DAYS)
    today = turn.today
    # A due day that is today has been dealt with: the next one is next month's.
    due = next_monthly_due(today + timedelta(days=1), due_day=due_day).due
    remind_on = _fire_days(due, leads, today, sub)
    skipped = None
    if not remind_on:
        skipped, due = due, next_monthly_due(due + timedelta(days=1), due_day=due_day).due
        remind_on = _fire_days(due, leads, today, sub)
    new = dataclasses.replace(
        sub,
        title=monthly_title(due_day),
        due=due.isoformat(),
        remind_on=tuple(d.isoformat() for d in remind_on),
        due_day=due_day,
        lead_days=leads,
    )
    fields = {
        "day": day_text(due_day),
        "place_text": f"（{sub.city}）" if sub.city else "",
        "when": lead_text(leads),
        "due": fmt_date(due),
        "dates": "、".join(fmt_date(d) for d in remind_on),
    }
    if new == sub:
        return Reply(answer=(Part("remind_subscribe/change_same_monthly", fields),))
    await update_subscription(turn.storage, turn.user, new)
    answer = [Part("remind_subscribe/changed_monthly", fields)]
    if skipped is not None:
        answer.append(Part("remind_subscribe/skipped_month", {"skipped": fmt_date(skipped)}))
    return Reply(answer=tuple(answer))


async def _change_lead(turn: Turn, sub: Subscription, leads: tuple[int, ...]) -> Reply:
    """Remind so many days before a deadline already set, in place; or say why not."""
    assert turn.storage is not None
    due = date.fromisoformat(sub.due)
    fields: dict[str, object] = {
        "title": sub.title,
        "place_text": f"（{sub.city}）" if sub.city else "",
        "due": fmt_date(due),
        "when": lead_text(leads),
        "old": "、".join(fmt_date(date.fromisoformat(d)) for d in sub.remind_on) or "无",
    }
    if sub.kind in _FIXED_DAY_KINDS:
        return Reply(answer=(Part("remind_subscribe/lead_fixed", fields),))
    if max(leads) > MAX_LEAD_DAYS:
        return _lead_too_far(MAX_LEAD_DAYS)
    remind_on = _fire_days(due, leads, turn.today, sub)
    if not remind_on:
        return Reply(answer=(Part("remind_subscribe/lead_too_late", fields),))
    new = dataclasses.replace(
        sub, remind_on=tuple(d.isoformat() for d in remind_on), lead_days=leads
    )
    done = tuple(n for n in leads if due - timedelta(days=n) in remind_on)
    missed = tuple(n for n in leads if n not in done)
    fields["when"] = lead_text(done)
    fields["dates"] = "、".join(fmt_date(d) for d in remind_on)
    if new.remind_on == sub.remind_on:
        return Reply(answer=(Part("remind_subscribe/change_same_lead", fields),))
    await update_subscription(turn.storage, turn.user, new)
    answer = [Part("remind_subscribe/changed_lead", fields)]
    if missed:
        answer.append(Part("remind_subscribe/lead_partly", {"missed": lead_text(missed)}))
    return Reply(answer=tuple(answer))


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
        # 提前 alone asks to pay ahead ("提前交明年的"); only a request to be told is a reminder.
        "提前+提醒": 1.5,
        "提前+通知": 1.5,
        "提前+告诉": 1.5,
        "提前交": -2.5,
        "提前缴": -2.5,
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
