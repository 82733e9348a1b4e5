"""Group chats: WeCom group robot, WeCom AI bot, a JSON bridge, and the outbound webhook.

* :mod:`.group` — when to answer, rate limits, dedup, per-(group, sender) conversation keys.
* :mod:`.wecom` / :mod:`.wecom_callback` — the two WeCom robot callbacks (crypto, formats).
* :mod:`.bridge` — ``POST /bridge/message`` for personal-account bridges (HMAC-signed).
* :mod:`.webhook` — sending to a group through its robot webhook, 20 a minute per robot.
* :mod:`.config` — ``GroupSettings`` (``Settings.groups``).

Every channel shares the one pipeline; answers in groups are rendered compactly by the dialogue
layer (``channel="group"``). Submodules are imported inside :func:`setup` only, so
``bot.settings`` can import :mod:`.config` without importing (and cycling back to) the rest.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from aiohttp import web

    from bot.channels.group import Responder
    from bot.metrics import Metrics
    from bot.settings import Settings
    from bot.storage.base import Storage

__all__ = ["setup"]


def setup(
    app: web.Application,
    settings: Settings,
    responder: Responder,
    storage: Storage,
    metrics: Metrics | None = None,
) -> None:
    """Register the routes of every group channel whose credentials are configured.

    The app's :class:`~bot.channels.webhook.WebhookSender` is stored under
    ``bot.channels.webhook.WEBHOOK_SENDER_KEY`` for other features that post to groups: it
    carries the per-robot limit shared by all workers.
    """
    from bot.channels.bridge import Bridge
    from bot.channels.common import Tasks
    from bot.channels.group import GroupChat
    from bot.channels.webhook import WEBHOOK_SENDER_KEY, WebhookSender
    from bot.channels.wecom import WeComCrypto
    from bot.channels.wecom_callback import AIBotCallback, RobotCallback
    from bot.reminders.channels import Routes

    config = settings.groups
    if not config.enabled:
        return
    chat = GroupChat(config, responder, storage, metrics, routes=Routes.from_settings(settings))
    sender = WebhookSender(config.webhook_base, storage, config.webhook_per_minute)
    tasks = Tasks()
    app[WEBHOOK_SENDER_KEY] = sender
    if config.robot_token and config.robot_aes_key:
        crypto = WeComCrypto(config.robot_token, config.robot_aes_key, config.robot_receive_id)
        robot = RobotCallback(settings, crypto, chat, storage, tasks, sender, metrics)
        app.router.add_get("/wecom/robot", robot.verify)
        app.router.add_post("/wecom/robot", robot.receive)
    if config.aibot_token and config.aibot_aes_key:
        # The AI bot's ReceiveId is always "" (doc 101033).
        crypto = WeComCrypto(config.aibot_token, config.aibot_aes_key, "")
        aibot = AIBotCallback(settings, crypto, chat, storage, tasks, metrics)
        app.router.add_get("/wecom/aibot", aibot.verify)
        app.router.add_post("/wecom/aibot", aibot.receive)
    if config.bridge_secret:
        bridge = Bridge(settings, chat, storage, metrics)
        app.router.add_post("/bridge/message", bridge.message)

    async def lifecycle(app: web.Application) -> AsyncIterator[None]:
        yield
        # Late answers still being computed or sent get the same grace as the webhook's.
        await tasks.close(settings.shutdown_timeout)
        await sender.close()

    app.cleanup_ctx.append(lifecycle)
