"""Asking for a human agent or a hotline."""

from bot.dialog.types import Part, Reply, Turn
from intents.base import Intent


async def handle(turn: Turn) -> Reply:
    """No live agent behind the bot: say so and give the hotlines."""
    parts = [Part("human/hotline")]
    if turn.slots.city:
        parts.append(Part("human/hotline_city", {"city": turn.slots.city}))
    return Reply(answer=tuple(parts))


# Keyword tables read better as lines of words than as one word a line.
# fmt: off
INTENT = Intent(
    handler=handle,
    id="human",
    description="转人工、客服电话、热线",
    social=True,
    priority=1,
    keywords={
        "人工": 6.0, "转人工": 7.0, "人工客服": 7.0, "人工服务": 7.0, "真人": 6.0,
        "客服": 5.0, "工作人员": 5.0, "找人": 3.0, "找个人": 4.0, "活人": 5.0,
        "热线": 4.0, "电话": 2.5, "打电话": 3.5, "联系方式": 4.0, "投诉": 4.5,
        "12393": 3.5, "12333": 3.0, "机器人": 1.5, "听不懂": 3.0, "没用": 2.5,
        "答非所问": 4.0, "不是人": 3.0, "人呢": 3.5, "窗口": 1.0, "咨询电话": 4.0,
        "经办的人": 3.0,
        "找+人问": 3.0,
        "人问问": 2.0,
        # 人呢 ending a word for people (那个人呢, 老人呢, 家人呢) is a follow-up about them.
        "个人呢": 0.0, "老人呢": 0.0, "家人呢": 0.0, "别人呢": 0.0, "病人呢": 0.0,
        "爱人呢": 0.0, "亲人呢": 0.0, "本人呢": 0.0, "大人呢": 0.0, "工人呢": 0.0,
        "家里人呢": 0.0,
    },
    examples=(
        "转人工",
        "我要找真人",
        "有没有人工客服",
        "人工服务",
        "客服电话多少",
        "医保咨询热线是多少",
        "怎么联系工作人员",
        "我想投诉",
        "你听不懂 让人来回答",
        "机器人没用 找个人",
        "能不能打电话问",
        "有活人吗",
        "帮我转接客服",
        "医保局电话多少",
        "答非所问 我要人工",
        "给我一个能打通的电话",
        "在线客服在哪",
        "请工作人员回复",
        "人呢 怎么没人回",
        "联系方式给一个",
        "找医保经办的人问问",
        "客服",
        "人工人工",
        "我要跟真人说话",
        "12393打不通怎么办",
        "投诉医保经办人员",
    ),
)
# fmt: on
