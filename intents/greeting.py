"""Hello, menu, help, what the bot can do."""

from bot.dialog.types import Part, Reply, Turn
from bot.menu import TOPIC_CHOICES
from intents.base import Intent

_THANKS = ("谢谢", "感谢", "多谢", "再见", "拜拜")
# "好的", "收到", "嗯嗯", "ok": the user took the answer in; nothing to thank them for.
_ACKNOWLEDGED = (
    "好的", "好滴", "好嘞", "明白", "知道了", "懂了", "了解", "收到", "嗯", "ok", "okay",
)  # fmt: skip


async def handle(turn: Turn) -> Reply:
    """A menu of what the bot answers; thanks, goodbyes and acknowledgements get a short word
    instead."""
    if any(word in turn.text for word in _THANKS):
        return Reply(answer=(Part("greeting/thanks"),))
    if any(word in turn.text for word in _ACKNOWLEDGED):
        return Reply(answer=(Part("greeting/ack"),))
    return Reply(answer=(Part("greeting/menu"),), choices=TOPIC_CHOICES)


INTENT = Intent(
    handler=handle,
    id="greeting",
    description="问候、菜单、帮助、你能做什么",
    social=True,
    keywords={
        "你好": 4.0,
        "您好": 4.0,
        "在吗": 4.0,
        "在不在": 4.0,
        "在么": 4.0,
        "有人吗": 4.0,
        "有人在吗": 4.5,
        "hi": 3.5,
        "hello": 3.5,
        "嗨": 3.5,
        "哈喽": 3.5,
        "哈啰": 3.5,
        "早上好": 4.0,
        "下午好": 4.0,
        "晚上好": 4.0,
        "早安": 3.5,
        "菜单": 4.5,
        "帮助": 4.0,
        "help": 4.0,
        "功能": 3.0,
        "你是谁": 4.5,
        "你是": 1.0,
        "机器人吗": 3.0,
        "你能做什么": 4.5,
        "能做什么": 4.0,
        "能干什么": 4.0,
        "能干嘛": 4.0,
        "会什么": 3.5,
        "怎么用": 4.0,
        "怎么使用": 4.0,
        "使用说明": 4.5,
        "谢谢": 3.5,
        "感谢": 3.5,
        "多谢": 3.5,
        "好的": 2.5,
        "明白了": 3.0,
        "知道了": 3.0,
        # Acknowledgements: "嗯嗯", "收到", "ok", "好嘞", "懂了".
        "嗯": 2.5,
        "嗯嗯": 3.5,
        "收到": 3.0,
        "没收到": -3.0,
        "收到了吗": -3.0,
        "ok": 3.0,
        "okay": 3.0,
        "好嘞": 3.0,
        "好滴": 3.0,
        "懂了": 3.0,
        "了解了": 3.0,
        "再见": 3.5,
        "拜拜": 3.5,
        "开始": 2.5,
        "咨询": 1.0,
        "请问": 0.5,
        "问个问题": 3.0,
        "问一下": 1.0,
        "能问": 2.0,
        "?": 0.5,
        "做什么": 3.5,
        "会些什么": 4.0,
        "能查什么": 4.0,
        "查什么": 2.5,
        "怎么问": 4.0,
        "咨询个问题": 3.0,
        "想咨询": 3.0,
        "查啥": 2.5,
        "你能": 2.0,
    },
    examples=(
        "你好啊",
        "在不在呀",
        "哈喽 小助手",
        "hello",
        "早上好",
        "请问有人在吗",
        "你能帮我做什么",
        "这个公众号能查什么",
        "菜单",
        "帮助",
        "你是机器人吗",
        "怎么使用这个助手",
        "我想咨询个问题",
        "谢谢你",
        "好的 明白了",
        "再见",
        "你都会些什么",
        "有什么功能",
        "小助手你好",
        "我该怎么问",
        "能问医保的问题吗",
        "在么在么",
        "hi",
        "晚上好 打扰了",
        "多谢帮忙",
        "开始",
        "嗯嗯 好",
        "收到 谢谢",
        "ok 明白",
        "好嘞",
    ),
)
