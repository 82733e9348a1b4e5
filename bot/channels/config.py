"""Group-chat settings (``WECOM_*``, ``BRIDGE_SECRET``, ``GROUP_*``), a part of ``Settings``.

Kept beside the code that reads them; ``Settings.groups`` holds one of these, built by
:meth:`GroupSettings.from_env`. This module imports nothing from ``bot`` so ``bot.settings``
can import it without a cycle.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

__all__ = ["GroupSettings"]

WECOM_WEBHOOK_BASE = "https://qyapi.weixin.qq.com/cgi-bin/webhook/"


def _number(value: str | None, default: float, low: float) -> float:
    # A typo must fall back to the safe default, never disable a limit or refuse everything.
    try:
        number = float(value) if value else default
    except ValueError:
        return default
    return number if math.isfinite(number) and number >= low else default


@dataclass(frozen=True)
class GroupSettings:
    """The group channels are each switched on by their credentials; empty means off."""

    # WeCom group robot with message receiving (群机器人「接收消息配置」): encrypted XML.
    robot_token: str = ""
    robot_aes_key: str = ""
    # The ReceiveId the robot's callbacks are encrypted with; "" unless the console says so.
    robot_receive_id: str = ""
    # WeCom AI bot (智能机器人) in API mode: encrypted JSON, ReceiveId always "".
    aibot_token: str = ""
    aibot_aes_key: str = ""
    # Outbound messages go to <webhook_base>send?key=…; only tests point it elsewhere.
    webhook_base: str = WECOM_WEBHOOK_BASE
    webhook_per_minute: int = 20  # WeCom's limit per robot
    # Shared secret of the JSON bridge (HMAC-SHA256 of each request body).
    bridge_secret: str = ""
    # Where reminders for a bridged chat are pushed (signed like the bridge's own requests).
    bridge_push_url: str = ""
    # A group message is for the bot when it mentions the bot or starts with this ("" = off).
    prefix: str = "医保"
    # Names the bot is mentioned by ("@医保小助手"), stripped from the question.
    bot_names: tuple[str, ...] = ("医保小助手",)
    sender_limit: int = 5  # questions per sender …
    sender_window: float = 60.0  # … per this many seconds
    group_limit: int = 20  # answers per group …
    group_window: float = 60.0  # … per this many seconds
    dedup_window: float = 60.0  # the same question in one group is answered once in this time

    @property
    def enabled(self) -> bool:
        return bool(
            (self.robot_token and self.robot_aes_key)
            or (self.aibot_token and self.aibot_aes_key)
            or self.bridge_secret
        )

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> GroupSettings:
        """Read the variables; malformed values fall back to the defaults."""
        d = cls()
        names = tuple(n.strip() for n in env.get("GROUP_BOT_NAMES", "").split(",") if n.strip())
        return cls(
            robot_token=env.get("WECOM_ROBOT_TOKEN", ""),
            robot_aes_key=env.get("WECOM_ROBOT_AES_KEY", ""),
            robot_receive_id=env.get("WECOM_ROBOT_RECEIVE_ID", ""),
            aibot_token=env.get("WECOM_AIBOT_TOKEN", ""),
            aibot_aes_key=env.get("WECOM_AIBOT_AES_KEY", ""),
            webhook_base=env.get("WECOM_WEBHOOK_BASE", "") or d.webhook_base,
            webhook_per_minute=int(
                _number(env.get("WECOM_WEBHOOK_PER_MINUTE"), d.webhook_per_minute, 1)
            ),
            bridge_secret=env.get("BRIDGE_SECRET", ""),
            bridge_push_url=env.get("BRIDGE_PUSH_URL", ""),
            # Set but empty switches the prefix off; unset keeps the default.
            prefix=env.get("GROUP_PREFIX", d.prefix).strip(),
            bot_names=names or d.bot_names,
            sender_limit=int(_number(env.get("GROUP_SENDER_LIMIT"), d.sender_limit, 1)),
            sender_window=_number(env.get("GROUP_SENDER_WINDOW"), d.sender_window, 1.0),
            group_limit=int(_number(env.get("GROUP_LIMIT"), d.group_limit, 1)),
            group_window=_number(env.get("GROUP_WINDOW"), d.group_window, 1.0),
            dedup_window=_number(env.get("GROUP_DEDUP_WINDOW"), d.dedup_window, 1.0),
        )
