"""The one entry point every channel calls: text in, answer out.

Channels (the WeChat webhook, the chat page, the CLI, group chats) never look inside; they call
``Pipeline.respond`` with a user key and the message and send back ``Answer.text``.
"""

from __future__ import annotations

from datetime import date, datetime

from bot.dialog.context import Context
from bot.dialog.manager import Dialog
from bot.dialog.render import templates
from bot.dialog.state import clear_state
from bot.dialog.types import Answer
from bot.nlu.understand import NLU
from bot.reminders import forget_subscriptions
from bot.reminders.channels import Routes
from bot.reminders.service import REMINDER_INTENTS, Reminders
from bot.settings import TZ, Settings
from bot.storage.base import Storage

__all__ = ["COMPACT_CHANNELS", "Answer", "Pipeline"]

# Channels whose answers are read by a whole group: short, and nothing personal repeated.
COMPACT_CHANNELS = frozenset({"group"})


class Pipeline:
    """Understands a message in the context of the user's conversation and answers it."""

    def __init__(self, settings: Settings, storage: Storage) -> None:
        self.settings = settings
        self.storage = storage
        self._dialog: Dialog | None = None
        self.reminders = Reminders(settings, storage)  # reminder jobs, kept in step below

    def warmup(self) -> None:
        """Load dictionaries, region and policy data now (blocking, well under 1 s after the
        first run) so the first user does not wait and a bad data file fails the boot."""
        self.dialog  # noqa: B018 - building it is the point
        templates()

    @property
    def dialog(self) -> Dialog:
        if self._dialog is None:
            self._dialog = Dialog(
                NLU.default(),
                Context.default(),
                self.storage,
                self.settings.conversation_ttl,
                Routes.from_settings(self.settings),  # a reminder is set only where it can go
            )
        return self._dialog

    async def respond(
        self, user: str, text: str, *, today: date | None = None, channel: str = "wechat"
    ) -> Answer:
        """Answer one message from ``user`` (a stable key such as an openid)."""
        today = today or datetime.now(TZ).date()
        answer = await self.dialog.respond(user, text, today, compact=channel in COMPACT_CHANNELS)
        if answer.intent in REMINDER_INTENTS:
            await self.reminders.sync(user, today)  # jobs follow the records just changed
        return answer

    async def close(self) -> None:
        """Release what the pipeline opened itself (the reminder jobs' connection)."""
        await self.reminders.close()

    async def forget(self, user: str) -> None:
        """Delete everything stored about ``user`` (unsubscribe): conversation and reminders."""
        await clear_state(self.storage, user)
        await forget_subscriptions(self.storage, user)
        await self.reminders.forget(user)
