"""Reminder flow as a demanding user meets it: the menu's reminder item, changing the monthly
day, where a reminder can be delivered, and reply sizes. Real SQLite storage throughout."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import asdict
from datetime import date, timedelta
from pathlib import Path

import pytest

from bot import menu
from bot.pipeline import Pipeline
from bot.reminders import list_subscriptions
from bot.reminders.channels import (
    Routes,
    group_webhook_key,
    has_route,
    parse_target,
    robot_key,
)
from bot.reminders.records import KEY_PREFIX, MAX_PER_USER, MONTHLY_KIND, Subscription
from bot.settings import Settings
from bot.storage import Storage, open_storage
from bot.wechat import MAX_REPLY_BYTES

TODAY = date(2026, 11, 25)


@pytest.fixture
async def storage(tmp_path: Path) -> AsyncIterator[Storage]:
    store = open_storage(f"sqlite:///{tmp_path}/bot.sqlite3")
    yield store
    await store.close()


@pytest.fixture
async def bot(storage: Storage) -> AsyncIterator[Pipeline]:
    pipeline = Pipeline(Settings(), storage)
    yield pipeline
    await pipeline.close()


async def fire_days(bot: Pipeline, user: str) -> list[str]:
    async with bot.reminders.jobs() as jobs:
        return sorted(j.fire_on for j in await jobs.jobs(user) if j.state == "pending")


def fits(text: str) -> bool:
    return len(text.encode("utf-8")) <= MAX_REPLY_BYTES and "${" not in text


# --- the menu's reminder item ------------------------------------------------------------------


def test_menu_tap_and_topic_seven_ask_the_same_reminder_question() -> None:
    item = menu.item_for("Q_REMIND")
    assert item is not None
    assert item.question == menu.TOPIC_CHOICES["7"] == menu.REMIND_QUESTION


async def test_menu_reminder_with_a_city_from_the_conversation_uses_it(bot: Pipeline) -> None:
    await bot.respond("oU1", "杭州居民医保怎么交", today=TODAY)
    answer = await bot.respond("oU1", menu.REMIND_QUESTION, today=TODAY)
    assert "杭州" in answer.text and "2026年12月31日" in answer.text and fits(answer.text)
    (sub,) = await list_subscriptions(bot.storage, "oU1")
    assert sub.city == "杭州市" and sub.due == "2026-12-31"


@pytest.mark.parametrize(
    "said",
    [(menu.REMIND_QUESTION,), ("提醒我交医保",), ("你好", "7")],
    ids=["menu", "typed", "topic-7"],
)
async def test_a_reminder_without_a_city_asks_for_it_and_the_answer_sets_it(
    bot: Pipeline, said: tuple[str, ...]
) -> None:
    for text in said:
        asked = await bot.respond("oU6", text, today=TODAY)
    assert asked.intent == "remind_subscribe" and asked.asks == "city" and fits(asked.text)
    assert "你在哪个城市交居民医保" in asked.text and "已记下" not in asked.text
    assert await list_subscriptions(bot.storage, "oU6") == []
    answer = await bot.respond("oU6", "广州", today=TODAY)
    assert "已记下" in answer.text and "广州" in answer.text and "2026年12月31日" in answer.text
    (sub,) = await list_subscriptions(bot.storage, "oU6")
    assert (sub.kind, sub.city, sub.due) == ("collection_end", "广州市", "2026-12-31")
    assert await fire_days(bot, "oU6") == ["2026-12-24", "2026-12-30"]


async def test_the_city_is_asked_once(bot: Pipeline) -> None:
    await bot.respond("oU7", "提醒我交医保", today=TODAY)
    again = await bot.respond("oU7", "提醒我交医保", today=TODAY)  # no city still: set it
    assert "已记下" in again.text and again.asks is None
    assert len(await list_subscriptions(bot.storage, "oU7")) == 1


async def test_the_city_answer_does_not_replace_the_reminder_just_set(bot: Pipeline) -> None:
    """A short follow-up replaces the reminder just set ("每月15号" after "提醒我交医保"), but
    the answer to our question is not one: the monthly reminder stays."""
    await bot.respond("oU8", "每月15号提醒我交医保", today=TODAY)
    asked = await bot.respond("oU8", "居民医保缴费截止前提醒我", today=TODAY)
    assert asked.asks == "city"
    answer = await bot.respond("oU8", "广州", today=TODAY)
    assert "刚才那个提醒已改成" not in answer.text and "已记下" in answer.text
    subs = await list_subscriptions(bot.storage, "oU8")
    assert sorted(s.kind for s in subs) == ["collection_end", MONTHLY_KIND]
    assert await fire_days(bot, "oU8") == [
        "2026-12-08",
        "2026-12-14",
        "2026-12-24",
        "2026-12-30",
    ]


@pytest.mark.parametrize("first", ["每月15号提醒我交医保", "提醒我12月20日交医保"])
async def test_a_residents_request_after_an_own_day_sets_the_yearly_deadline(
    bot: Pipeline, first: str
) -> None:
    """The day of an earlier request is not this one's: "居民医保…提醒我" after a monthly or
    one-off reminder asks for the residents' yearly deadline."""
    await bot.respond("oU9", first, today=TODAY)
    answer = await bot.respond("oU9", "广州居民医保缴费截止前提醒我", today=TODAY)
    assert "2027年度居民医保集中缴费截止" in answer.text and "2026年12月31日" in answer.text
    subs = await list_subscriptions(bot.storage, "oU9")
    assert len(subs) == 2 and "collection_end" in [s.kind for s in subs]


# --- the user's own day ------------------------------------------------------------------------


async def test_a_monthly_day_the_user_chose_is_not_called_an_estimate(bot: Pipeline) -> None:
    answer = await bot.respond("oU10", "每月15号提醒我交医保", today=TODAY)
    assert answer.text.startswith(
        "好的，已记下你定的日子：每月15日前交医保，下一次是2026年12月15日"
    )
    assert "估算" not in answer.text and "全国通行" not in answer.text
    assert answer.figures == () and fits(answer.text)
    (sub,) = await list_subscriptions(bot.storage, "oU10")
    assert (sub.kind, sub.due_day, sub.due) == (MONTHLY_KIND, 15, "2026-12-15")
    # A day from the rules (none named) keeps its figure and says where it comes from.
    policy = await bot.respond("oU11", "每月提醒我交灵活就业医保", today=TODAY)
    assert [f["name"] for f in policy.figures] == ["deadline"]
    assert "按全国通行规则估算" in policy.text and "你定的日子" not in policy.text


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("提醒我11月20日交医保", "2026年11月20日已经过去了"),
        ("提醒我今天交医保", "2026年11月25日就是今天"),
        ("提醒我2028年3月1日交医保", "2028年3月1日离现在超过一年"),
    ],
)
async def test_a_day_past_today_or_over_a_year_ahead_sets_nothing(
    bot: Pipeline, text: str, said: str
) -> None:
    answer = await bot.respond("oU12", text, today=TODAY)
    assert answer.intent == "remind_subscribe" and said in answer.text and fits(answer.text)
    assert "已记下" not in answer.text and "集中缴费截止" not in answer.text
    assert await list_subscriptions(bot.storage, "oU12") == []
    assert await fire_days(bot, "oU12") == []


async def test_after_a_past_day_the_next_day_named_is_the_reminder(bot: Pipeline) -> None:
    refused = await bot.respond("oU13", "提醒我11月20日交医保", today=TODAY)
    assert refused.asks == "date" and "12月2日" in refused.text  # an example ahead of today
    answer = await bot.respond("oU13", "12月20日", today=TODAY)
    assert "2026年12月20日提醒你交医保" in answer.text
    (sub,) = await list_subscriptions(bot.storage, "oU13")
    assert (sub.kind, sub.due) == ("user_date", "2026-12-20")
    within = await bot.respond("oU14", "提醒我明年3月1日交医保", today=TODAY)
    assert "2027年3月1日提醒你交医保" in within.text  # within a year: set


# --- changing the monthly day ------------------------------------------------------------------


async def test_a_new_monthly_day_moves_the_monthly_reminder(bot: Pipeline) -> None:
    await bot.respond("oU2", "杭州居民医保缴费截止前提醒我", today=TODAY)
    await bot.respond("oU2", "每月15号提醒我交医保", today=TODAY)
    answer = await bot.respond("oU2", "每月20号提醒我交医保", today=TODAY)
    assert "已改到20日" in answer.text and "2026年12月20日" in answer.text
    subs = await list_subscriptions(bot.storage, "oU2")
    monthly = [s for s in subs if s.kind == MONTHLY_KIND]
    assert [s.due_day for s in monthly] == [20] and len(subs) == 2  # the yearly one stays
    # The 15th's jobs are gone with its record; the yearly deadline's stay.
    assert await fire_days(bot, "oU2") == [
        "2026-12-13",
        "2026-12-19",
        "2026-12-24",
        "2026-12-30",
    ]


async def test_a_short_new_monthly_day_moves_it_and_keeps_the_yearly_one(bot: Pipeline) -> None:
    """ "每月20号" right after a yearly reminder would correct that one; with a monthly
    reminder on another day already set, it moves the monthly day instead."""
    await bot.respond("oU15", "每月15号提醒我交医保", today=TODAY)
    await bot.respond("oU15", "杭州提醒我交医保", today=TODAY)
    answer = await bot.respond("oU15", "每月20号", today=TODAY)
    assert "已改到20日" in answer.text and "刚才那个提醒" not in answer.text
    subs = await list_subscriptions(bot.storage, "oU15")
    assert sorted((s.kind, s.due) for s in subs) == [
        ("collection_end", "2026-12-31"),
        (MONTHLY_KIND, "2026-12-20"),
    ]


async def test_the_same_reminder_twice_is_kept_once(bot: Pipeline) -> None:
    for _ in range(2):
        await bot.respond("oU3", "居民医保缴费截止前提醒我", today=TODAY)
    assert len(await list_subscriptions(bot.storage, "oU3")) == 1
    assert await fire_days(bot, "oU3") == ["2026-12-24", "2026-12-30"]


async def test_cancel_one_of_several_then_the_rest(bot: Pipeline) -> None:
    await bot.respond("oU4", "杭州居民医保缴费截止前提醒我", today=TODAY)
    await bot.respond("oU4", "每月15号提醒我交医保", today=TODAY)
    which = await bot.respond("oU4", "取消提醒", today=TODAY)
    assert "2个提醒" in which.text and len(await list_subscriptions(bot.storage, "oU4")) == 2
    done = await bot.respond("oU4", "取消2", today=TODAY)
    assert "已取消" in done.text and await fire_days(bot, "oU4") == ["2026-12-24", "2026-12-30"]
    await bot.respond("oU4", "取消全部提醒", today=TODAY)
    assert await list_subscriptions(bot.storage, "oU4") == []
    assert await fire_days(bot, "oU4") == []


async def test_a_full_list_fits_one_message(bot: Pipeline) -> None:
    subs = [
        Subscription(
            id=n,
            kind=f"k{n}",
            title="灵活就业医保按月缴费（每月15日前）",
            city="乌鲁木齐市",
            due=(TODAY + timedelta(days=n)).isoformat(),
            remind_on=((TODAY + timedelta(days=n)).isoformat(),),
            created=TODAY.isoformat(),
        )
        for n in range(1, MAX_PER_USER + 1)
    ]
    await bot.storage.set(KEY_PREFIX + "oU5", [asdict(s) for s in subs])
    listing = await bot.respond("oU5", "我的提醒", today=TODAY)
    assert fits(listing.text) and f"{MAX_PER_USER}. " in listing.text


# --- where a reminder can be delivered ---------------------------------------------------------


async def test_robot_key_from_the_groups_own_robot_else_the_default(storage: Storage) -> None:
    assert await robot_key(storage, "room-a") == ""
    assert await robot_key(storage, "room-a", "DEFAULT") == "DEFAULT"
    await storage.set(group_webhook_key("room-a"), "https://x/cgi-bin/webhook/send?key=K-A")
    await storage.set(group_webhook_key("room-b"), "K-B")
    assert await robot_key(storage, "room-a", "DEFAULT") == "K-A"
    assert await robot_key(storage, "room-b") == "K-B"


@pytest.mark.parametrize(
    ("user", "routes", "robot", "expected"),
    [
        ("oOfficial", Routes(), False, True),
        ("web:page-1", Routes("DEFAULT", "https://bridge/push"), True, False),
        ("wecom_robot:bob", Routes("DEFAULT", "https://bridge/push"), True, False),
        ("grp:wecom_robot:room-a:bob", Routes(), False, False),  # no robot key anywhere
        ("grp:wecom_robot:room-a:bob", Routes(), True, True),  # the group's own robot
        ("grp:wecom_aibot:room-a:bob", Routes("DEFAULT"), False, True),  # the default robot
        ("bridge:bob", Routes(), False, False),  # no BRIDGE_PUSH_URL: no route back
        ("bridge:bob", Routes(bridge_push_url="https://bridge/push"), False, True),
        ("grp:bridge:room-a:bob", Routes(), False, False),
        ("grp:bridge:room-a:bob", Routes(bridge_push_url="https://bridge/push"), False, True),
    ],
)
async def test_has_route_with_and_without_a_way_back(
    storage: Storage, user: str, routes: Routes, robot: bool, expected: bool
) -> None:
    if robot:
        await storage.set(group_webhook_key("room-a"), "ROBOT-KEY")
    assert await has_route(parse_target(user), storage, routes) is expected


@pytest.mark.parametrize("user", ["bridge:bob", "grp:bridge:room-b:bob"])
async def test_a_bridged_chat_gets_reminders_only_with_a_push_url(
    storage: Storage, user: str
) -> None:
    """Without BRIDGE_PUSH_URL a bridged chat's reminder could only fail with "no route":
    it gets the date and the ways to be reminded elsewhere, and nothing is stored."""
    from bot.channels.config import GroupSettings

    bot = Pipeline(Settings(), storage)
    answer = await bot.respond(user, "广州居民医保缴费截止前提醒我", today=TODAY)
    assert "2026年12月31日" in answer.text and "收不到主动推送" in answer.text
    assert "已记下" not in answer.text and fits(answer.text)
    assert await list_subscriptions(storage, user) == []
    listing = await bot.respond(user, "我的提醒", today=TODAY)
    assert "收不到主动推送" in listing.text and "还没有设置提醒" not in listing.text
    await bot.close()
    routed = Settings(groups=GroupSettings(bridge_push_url="https://bridge.invalid/push"))
    bot = Pipeline(routed, storage)
    answer = await bot.respond(user, "广州居民医保缴费截止前提醒我", today=TODAY)
    assert "已记下" in answer.text and "这个对话里" in answer.text
    assert len(await list_subscriptions(storage, user)) == 1
    await bot.close()


def test_routes_from_settings() -> None:
    from bot.channels.config import GroupSettings
    from bot.reminders.config import ReminderSettings

    settings = Settings(
        groups=GroupSettings(bridge_push_url="https://bridge/push"),
        reminders=ReminderSettings(wecom_robot_key="K"),
    )
    assert Routes.from_settings(settings) == Routes("K", "https://bridge/push")


# --- changing a reminder already set (QA round 4, finding 5) ----------------------------------


async def test_changing_the_day_moves_the_monthly_reminder_and_says_so(bot: Pipeline) -> None:
    await bot.respond("oC1", "提醒我交医保", today=TODAY)
    await bot.respond("oC1", "灵活就业 每月20号", today=TODAY)
    answer = await bot.respond("oC1", "改成25号", today=TODAY)
    assert answer.intent == "remind_subscribe" and fits(answer.text)
    assert "每月25日前" in answer.text and "2026年12月25日" in answer.text
    assert "2026年12月18日、2026年12月24日" in answer.text and "20日" not in answer.text
    (sub,) = await list_subscriptions(bot.storage, "oC1")
    assert (sub.kind, sub.due_day, sub.due) == (MONTHLY_KIND, 25, "2026-12-25")
    assert await fire_days(bot, "oC1") == ["2026-12-18", "2026-12-24"]
    listing = await bot.respond("oC1", "我设置了哪些提醒", today=TODAY)
    assert "每月25日前" in listing.text and "20日" not in listing.text
    assert "下次提醒2026年12月18日" in listing.text
    done = await bot.respond("oC1", "取消提醒", today=TODAY)
    assert "已取消：灵活就业医保按月缴费（每月25日前）" in done.text
    assert await list_subscriptions(bot.storage, "oC1") == []
    assert await fire_days(bot, "oC1") == []


@pytest.mark.parametrize("said", ["提醒改到每月25号", "换成每月25号", "每月25号提醒我交医保"])
async def test_a_monthly_day_that_is_today_means_next_month(bot: Pipeline, said: str) -> None:
    """On the 25th, "每月25号" is next month's 25th, not a deadline too close to remind."""
    await bot.respond("oC2", "提醒我每月20号交灵活就业医保", today=TODAY)
    answer = await bot.respond("oC2", said, today=TODAY)
    assert "没有可提醒的日子" not in answer.text and fits(answer.text)
    assert "2026年12月25日" in answer.text and "2026年12月18日、2026年12月24日" in answer.text
    (sub,) = await list_subscriptions(bot.storage, "oC2")
    assert (sub.due_day, sub.due, sub.title) == (
        25,
        "2026-12-25",
        "灵活就业医保按月缴费（每月25日前）",
    )
    assert await fire_days(bot, "oC2") == ["2026-12-18", "2026-12-24"]
    listing = await bot.respond("oC2", "我的提醒", today=TODAY)
    assert "每月25日前" in listing.text and "每月20日" not in listing.text


async def test_a_monthly_day_already_past_this_month_is_next_months(bot: Pipeline) -> None:
    answer = await bot.respond("oC3", "每月10号提醒我交医保", today=TODAY)
    assert "下一次是2026年12月10日" in answer.text
    assert await fire_days(bot, "oC3") == ["2026-12-03", "2026-12-09"]


async def test_a_monthly_day_too_close_to_remind_starts_next_month_and_says_so(
    bot: Pipeline,
) -> None:
    answer = await bot.respond("oC4", "每月27号提醒我交医保 提前3天", today=TODAY)
    assert "下一次是2026年12月27日" in answer.text and "2026年11月27日这一次" in answer.text
    (sub,) = await list_subscriptions(bot.storage, "oC4")
    assert (sub.due, sub.lead_days) == ("2026-12-27", (3,))
    assert await fire_days(bot, "oC4") == ["2026-12-24"]


async def test_a_lead_time_change_is_honoured_and_stored(bot: Pipeline) -> None:
    await bot.respond("oC5", "广州居民医保截止前提醒我", today=TODAY)
    answer = await bot.respond("oC5", "改成提前3天提醒", today=TODAY)
    assert "截止前3天" in answer.text and "2026年12月28日" in answer.text
    assert "2026年12月24日" not in answer.text and fits(answer.text)
    (sub,) = await list_subscriptions(bot.storage, "oC5")
    assert (sub.due, sub.remind_on, sub.lead_days) == ("2026-12-31", ("2026-12-28",), (3,))
    assert await fire_days(bot, "oC5") == ["2026-12-28"]
    listing = await bot.respond("oC5", "我的提醒", today=TODAY)
    assert "下次提醒2026年12月28日" in listing.text
    # Right after the listing: a change, not another listing.
    same_day = await bot.respond("oC5", "改成当天提醒", today=TODAY)
    assert "截止当天" in same_day.text and "我会在2026年12月31日提醒你" in same_day.text
    assert await fire_days(bot, "oC5") == ["2026-12-31"]
    both = await bot.respond("oC5", "提醒改成提前一周和前一天", today=TODAY)
    assert "2026年12月24日、2026年12月30日" in both.text
    assert await fire_days(bot, "oC5") == ["2026-12-24", "2026-12-30"]


async def test_a_monthly_lead_time_change_moves_its_days_and_keeps_the_day(bot: Pipeline) -> None:
    await bot.respond("oC6", "提醒我每月20号交灵活就业医保", today=TODAY)
    answer = await bot.respond("oC6", "改成提前3天提醒", today=TODAY)
    assert "每月20日前" in answer.text and "截止前3天" in answer.text
    assert "我会在2026年12月17日提醒你" in answer.text
    (sub,) = await list_subscriptions(bot.storage, "oC6")
    assert (sub.due_day, sub.remind_on, sub.lead_days) == (20, ("2026-12-17",), (3,))
    assert await fire_days(bot, "oC6") == ["2026-12-17"]
    moved = await bot.respond("oC6", "换成每月10号", today=TODAY)  # the lead time stays
    assert "每月10日前" in moved.text and "2026年12月7日" in moved.text
    assert await fire_days(bot, "oC6") == ["2026-12-07"]


async def test_a_lead_time_asked_with_the_request_is_honoured(bot: Pipeline) -> None:
    answer = await bot.respond("oC7", "广州医保截止前三天提醒我", today=TODAY)
    assert "我会在2026年12月28日提醒你" in answer.text
    assert await fire_days(bot, "oC7") == ["2026-12-28"]
    # Asked before the city: kept for the answer that completes the request.
    await bot.respond("oC8", "订阅缴费提醒", today=TODAY)
    asked = await bot.respond("oC8", "改成提前3天提醒", today=TODAY)
    assert asked.asks == "city" and "截止前3天" in asked.text and "好的" not in asked.text
    assert await list_subscriptions(bot.storage, "oC8") == []
    answer = await bot.respond("oC8", "广州", today=TODAY)
    assert "我会在2026年12月28日提醒你" in answer.text
    assert await fire_days(bot, "oC8") == ["2026-12-28"]


async def test_a_lead_time_that_cannot_be_honoured_changes_nothing_and_says_so(
    bot: Pipeline,
) -> None:
    late = date(2026, 12, 28)
    await bot.respond("oC9", "广州居民医保截止前提醒我", today=late)
    before = await list_subscriptions(bot.storage, "oC9")
    answer = await bot.respond("oC9", "改成提前7天提醒", today=late)
    assert "来不及" in answer.text and "没有改" in answer.text and "好的" not in answer.text
    assert await list_subscriptions(bot.storage, "oC9") == before
    assert await fire_days(bot, "oC9") == ["2026-12-30"]
    too_far = await bot.respond("oC9", "改成提前70天提醒", today=late)
    assert "最多只能提前" in too_far.text and "好的" not in too_far.text
    assert await list_subscriptions(bot.storage, "oC9") == before
    # A reminder on a day of its own has no lead time to change.
    await bot.respond("oC10", "转移办完了提醒我查一下", today=TODAY)
    fixed = await bot.respond("oC10", "改成提前3天提醒", today=TODAY)
    assert "没有提前几天的说法" in fixed.text and "好的" not in fixed.text


async def test_a_bare_day_without_a_monthly_reminder_changes_nothing(bot: Pipeline) -> None:
    await bot.respond("oC11", "广州居民医保截止前提醒我", today=TODAY)
    before = await list_subscriptions(bot.storage, "oC11")
    answer = await bot.respond("oC11", "改成25号", today=TODAY)
    assert "没有按月的提醒" in answer.text and "好的" not in answer.text
    assert await list_subscriptions(bot.storage, "oC11") == before


async def test_a_change_keeps_the_reminders_place_in_the_list(bot: Pipeline) -> None:
    await bot.respond("oC12", "每月15号提醒我交医保", today=TODAY)
    await bot.respond("oC12", "广州居民医保截止前提醒我", today=TODAY)
    await bot.respond("oC12", "每月提醒改成28号", today=TODAY)
    subs = await list_subscriptions(bot.storage, "oC12")
    assert [(s.kind, s.due, s.remind_on) for s in subs][0] == (
        MONTHLY_KIND,
        "2026-11-28",
        ("2026-11-27",),  # the 21st is past: only the day before this time
    )
    assert [(s.kind, s.due) for s in subs] == [
        (MONTHLY_KIND, "2026-11-28"),
        ("collection_end", "2026-12-31"),
    ]
    done = await bot.respond("oC12", "取消1", today=TODAY)
    assert "每月28日前" in done.text
    assert await fire_days(bot, "oC12") == ["2026-12-24", "2026-12-30"]


async def test_cancelling_the_monthly_reminder_by_its_day(bot: Pipeline) -> None:
    """The 20 in "取消每月20号的提醒" is the reminder's day, not its number in the list."""
    await bot.respond("oC13", "提醒我每月20号交灵活就业医保", today=TODAY)
    await bot.respond("oC13", "广州居民医保截止前提醒我", today=TODAY)
    done = await bot.respond("oC13", "取消每月20号的提醒", today=TODAY)
    assert "已取消：灵活就业医保按月缴费（每月20日前）" in done.text
    (left,) = await list_subscriptions(bot.storage, "oC13")
    assert left.kind == "collection_end"
    assert await fire_days(bot, "oC13") == ["2026-12-24", "2026-12-30"]
