"""Stopping reminders."""

from bot.dialog.types import Part, Reply, Turn
from bot.reminders import Subscription, cancel_subscriptions, list_subscriptions
from bot.reminders.records import MONTHLY_KIND
from intents.base import Intent

_ALL = ("全部", "所有", "都取消", "全取消", "统统", "都不要", "都删")


async def handle(turn: Turn) -> Reply:
    """Cancel one reminder by its number, or all of them."""
    if turn.storage is None:
        return Reply(answer=(Part("common/fallback"),))
    subs = await list_subscriptions(turn.storage, turn.user)
    if not subs:
        return Reply(answer=(Part("remind_cancel/none"),))
    number = _number(turn)
    if number is None and len(subs) > 1:
        number = _monthly_number(turn, subs)
    said = turn.understanding.text
    if number is None and (len(subs) == 1 or any(w in said for w in _ALL)):
        gone = await cancel_subscriptions(turn.storage, turn.user, None)
        if len(gone) == 1:
            return Reply(answer=(Part("remind_cancel/cancelled", {"titles": gone[0].title}),))
        return Reply(answer=(Part("remind_cancel/cancelled_all", {"count": len(gone)}),))
    if number is None:
        return Reply(answer=(Part("remind_cancel/which", {"count": len(subs)}),))
    gone = await cancel_subscriptions(turn.storage, turn.user, number)
    if not gone:
        return Reply(answer=(Part("remind_cancel/not_found", {"n": number}),))
    return Reply(answer=(Part("remind_cancel/cancelled", {"titles": gone[0].title}),))


_ORDINALS = {
    "一": 1,
    "二": 2,
    "两": 2,
    "三": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "七": 7,
    "八": 8,
    "九": 9,
    "十": 10,
}


def _number(turn: Turn) -> int | None:
    """ "取消2", "取消第二个", "第3个不要了"; not the day in "取消每月20号的提醒"."""
    if turn.entities.number_choice is not None:
        return turn.entities.number_choice
    text = turn.understanding.text  # this message's own words, not the one it follows
    for i, ch in enumerate(text):
        if ch.isdigit():
            j = i
            while j < len(text) and text[j].isdigit():
                j += 1
            if text[j : j + 1] in _DATE_UNITS:
                return None  # a day or a date names the reminder, not its number
            return int(text[i:j])
        if ch == "第" and i + 1 < len(text) and text[i + 1] in _ORDINALS:
            return _ORDINALS[text[i + 1]]
    return None


_DATE_UNITS = frozenset("号日天月年")
_MONTHLY_WORDS = ("每月", "每个月", "按月", "灵活就业")


def _monthly_number(turn: Turn, subs: list[Subscription]) -> int | None:
    """The listed number of the monthly reminder when the message names it ("取消每月的提醒",
    "取消每月20号的提醒"); the records keep one monthly reminder per user."""
    said = turn.understanding.text
    if not any(w in said for w in _MONTHLY_WORDS):
        return None
    return next((n for n, s in enumerate(subs, start=1) if s.kind == MONTHLY_KIND), None)


INTENT = Intent(
    handler=handle,
    id="remind_cancel",
    extra={"topic": "取消提醒"},
    description="取消缴费提醒、退订通知",
    slots=("which",),
    priority=2,
    keywords={
        "取消提醒": 8.0,
        "取消订阅": 8.0,
        "退订": 8.0,
        "不要提醒": 8.0,
        "别提醒": 8.0,
        "不用提醒": 8.0,
        "不需要提醒": 8.0,
        "关闭提醒": 8.0,
        "停止提醒": 8.0,
        "删除提醒": 8.0,
        "删掉提醒": 8.0,
        "取消+提醒": 6.0,
        "取消+通知": 6.0,
        "关闭+通知": 6.0,
        "关闭+提醒": 6.0,
        "关掉+提醒": 6.0,
        "提醒关了": 6.0,
        "提醒关掉": 6.0,
        "提醒都关": 6.0,
        "提醒给关": 6.0,
        "重新": -6.0,
        "再设": -6.0,
        "打开": -6.0,
        "关掉+通知": 6.0,
        "删+提醒": 5.0,
        "别再发": 6.0,
        "不要再发": 6.0,
        "别发了": 6.0,
        "不要发": 5.0,
        "别再提醒": 8.0,
        "不想收到": 6.0,
        "不想再收": 6.0,
        "烦": 1.5,
        "取消": 2.0,
        "关闭": 1.5,
        "停掉": 2.0,
        "退掉": 2.0,
        "不要了": 1.5,
        "不要+通知": 7.0,
        "别+通知": 6.0,
        "不要+提醒": 7.0,
        "别+推送": 6.0,
        "不要+推送": 6.0,
        "别发": 5.0,
        "不用+提醒": 7.0,
        "别+提醒": 7.0,
        "停止+推送": 6.0,
        "停止+通知": 6.0,
        "停止": 2.5,
        "不用再": 2.0,
    },
    examples=(
        "把医保提醒取消掉",
        "不要再给我发缴费提醒了",
        "退订医保通知",
        "关掉所有提醒",
        "取消第一个提醒",
        "我不需要提醒了",
        "停止推送缴费通知",
        "删除我的医保提醒",
        "别再提醒我交费了",
        "取消每月的医保提醒",
        "不想收到提醒消息",
        "把提醒全部删掉",
        "缴费提醒怎么关闭",
        "退订所有消息",
        "取消订阅",
        "以后别发提醒了",
        "提醒太多了 都取消吧",
        "关闭居民医保缴费提醒",
        "我已经交了 不用再提醒",
        "取消第二个",
        "不要通知我了",
        "提醒关掉吧",
        "停掉医保缴费通知",
        "删掉灵活就业的那个提醒",
        "取消全部订阅",
        "别再推送了",
    ),
)
