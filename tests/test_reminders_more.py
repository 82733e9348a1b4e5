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


# --- changing the monthly day ------------------------------------------------------------------


async def test_a_new_monthly_day_moves_the_monthly_reminder(bot: Pipeline) -> None:
    await bot.respond("oU2", "居民医保缴费截止前提醒我", today=TODAY)
    await bot.respond("oU2", "每月15号提醒我交医保", today=TODAY)
    answer = await bot.respond("oU2", "每月20号提醒我交医保", today=TODAY)
    assert "2026年12月20日" in answer.text
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


async def test_the_same_reminder_twice_is_kept_once(bot: Pipeline) -> None:
    for _ in range(2):
        await bot.respond("oU3", "居民医保缴费截止前提醒我", today=TODAY)
    assert len(await list_subscriptions(bot.storage, "oU3")) == 1
    assert await fire_days(bot, "oU3") == ["2026-12-24", "2026-12-30"]


async def test_cancel_one_of_several_then_the_rest(bot: Pipeline) -> None:
    await bot.respond("oU4", "居民医保缴费截止前提醒我", today=TODAY)
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


def test_routes_from_settings() -> None:
    from bot.channels.config import GroupSettings
    from bot.reminders.config import ReminderSettings

    settings = Settings(
        groups=GroupSettings(bridge_push_url="https://bridge/push"),
        reminders=ReminderSettings(wecom_robot_key="K"),
    )
    assert Routes.from_settings(settings) == Routes("K", "https://bridge/push")
