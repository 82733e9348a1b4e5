"""The custom menu (自定义菜单) and the fixed texts of the WeChat channel.

Each CLICK key stands for a canned question that goes through the same pipeline as typed text,
so a menu tap and the question typed by hand get the same answer. The chat page shows the same
items as quick-reply buttons (``quick_replies``), so there is one list to maintain.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = [
    "BUSY_TEXT",
    "HELP_TEXT",
    "KEY_HELP",
    "KEY_RESET",
    "MENU",
    "PROMPT_TEXT",
    "REMIND_QUESTION",
    "RESET_TEXT",
    "TOPIC_CHOICES",
    "UNSUPPORTED_TEXT",
    "WELCOME_TEXT",
    "MenuItem",
    "item_for",
    "menu_json",
    "quick_replies",
]

# The reminder request behind both the custom menu's 缴费提醒 and topic 7: one wording, so a
# tap and the typed number set up the same reminder (the residents' yearly deadline, whose
# date depends on the city; the reminder handler asks for it when the chat has none).
REMIND_QUESTION = "居民医保缴费截止前提醒我"

# What each number of the topic menu (bot/templates/greeting.txt) asks when a user replies
# with that number.
TOPIC_CHOICES = {
    "1": "医保怎么转移到外地",
    "2": "医保转移要多久到账",
    "3": "医保断缴了怎么补缴",
    "4": "医保断缴有什么影响",
    "5": "医保卡的钱能取出来吗",
    "6": "居民医保什么时候交",
    "7": REMIND_QUESTION,
}

KEY_HELP = "HELP"
KEY_RESET = "RESET"


@dataclass(frozen=True, slots=True)
class MenuItem:
    """One menu entry: ``question`` is sent to the bot; empty for the built-in actions."""

    key: str
    label: str
    question: str = ""


# WeChat allows 3 top-level buttons of at most 16 bytes and 5 entries of at most 60 bytes each.
MENU: tuple[tuple[str, tuple[MenuItem, ...]], ...] = (
    (
        "缴费",
        (
            MenuItem("Q_PAYMENT", "怎么缴费", "居民医保怎么交费？交多少钱？"),
            MenuItem("Q_BACK_PAYMENT", "断缴补缴", "医保断缴了怎么补缴？"),
            MenuItem("Q_YEARS", "缴费年限", "医保要交满多少年退休后才能终身享受？"),
            MenuItem("Q_REMIND", "缴费提醒", REMIND_QUESTION),
        ),
    ),
    (
        "报销",
        (
            MenuItem("Q_REIMBURSE", "报销比例", "住院报销比例是多少？起付线和封顶线是多少？"),
            MenuItem("Q_REMOTE", "异地就医", "异地就医怎么备案？怎么报销？"),
            MenuItem("Q_BALANCE", "余额查询", "医保个人账户余额怎么查？"),
            MenuItem("Q_FAMILY", "家庭共济", "医保个人账户的钱能给家人用吗？"),
        ),
    ),
    (
        "更多",
        (
            MenuItem("Q_TRANSFER", "转移接续", "换城市工作了，医保怎么转移接续？"),
            MenuItem("Q_WITHDRAW", "取出余额", "医保个人账户的钱能取出来吗？"),
            MenuItem(KEY_HELP, "使用帮助"),
            MenuItem(KEY_RESET, "重新开始"),
        ),
    ),
)

_BY_KEY: dict[str, MenuItem] = {item.key: item for _, items in MENU for item in items}

WELCOME_TEXT = (
    "您好，我是医保小助手，可以解答基本医疗保险的常见问题：\n"
    "· 缴费标准、缴费渠道和截止时间\n"
    "· 断缴的影响和补缴办法\n"
    "· 报销比例、起付线、异地就医\n"
    "· 医保关系转移接续、个人账户余额和家庭共济\n"
    "直接发文字提问即可，例如：“从福州调到北京，医保怎么转？”。也可以点下方菜单。\n"
    "提示：请不要发送身份证号、银行卡号等个人信息。"
)
HELP_TEXT = (
    "直接用文字描述您的问题，最好带上城市，例如：“杭州居民医保今年交多少钱？”。\n"
    "点菜单可查看常见问题；发送“重新开始”可清除之前的对话。\n"
    "答复仅供参考，具体以当地医保部门规定为准。"
)
RESET_TEXT = "好的，之前的对话已清除，请重新提问。"
PROMPT_TEXT = "抱歉，没有听清您的语音，请用文字再问一次。"
UNSUPPORTED_TEXT = "抱歉，我目前只能看懂文字和语音消息，请用文字描述您的医保问题。"
BUSY_TEXT = "抱歉，系统繁忙，请稍后再试。"


def item_for(key: str) -> MenuItem | None:
    """The menu entry of a CLICK key, or None for a key we never published."""
    return _BY_KEY.get(key)


def menu_json() -> dict[str, Any]:
    """The body of ``menu/create``."""
    return {
        "button": [
            {
                "name": name,
                "sub_button": [
                    {"type": "click", "name": item.label, "key": item.key} for item in items
                ],
            }
            for name, items in MENU
        ]
    }


def quick_replies() -> list[dict[str, str]]:
    """The chat page's quick-reply buttons, in menu order."""
    return [{"key": item.key, "label": item.label} for _, items in MENU for item in items]
