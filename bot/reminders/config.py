"""Reminder delivery settings (``REMINDER_*``), a part of :class:`bot.settings.Settings`.

Kept apart from ``bot/settings.py`` so the reminder knobs live with the code that reads them;
``Settings.reminders`` holds one of these, built by :meth:`ReminderSettings.from_env`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

__all__ = ["CHANNEL_NAMES", "ReminderSettings"]

# Official-account channels, tried in the configured order; group and bridge targets have
# their own channel whatever the order says.
CHANNEL_NAMES = ("custom", "subscribe", "template")


def _number(value: str | None, default: float, low: float) -> float:
    try:
        number = float(value) if value else default
    except ValueError:
        return default
    return number if math.isfinite(number) and number >= low else default


def _bool(value: str | None, default: bool) -> bool:
    if not value:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


@dataclass(frozen=True)
class ReminderSettings:
    """How reminders are stored, scheduled and delivered."""

    # Jobs database; empty = the storage's own database (the SQLite file or PostgreSQL).
    database_url: str = ""
    # Run the scheduler inside ``serve`` (each worker; claims are atomic, so that is safe).
    in_serve: bool = True
    # Official-account channels in the order tried; one without its template id is skipped.
    channels: tuple[str, ...] = CHANNEL_NAMES
    template_id: str = ""  # 模板消息 (message/template/send)
    subscribe_template_id: str = ""  # 订阅通知 (message/subscribe/bizsend)
    # Template keywords for (title, deadline, note); the account's template decides them.
    template_fields: tuple[str, str, str] = ("thing1", "time2", "thing3")
    # WeCom group robots: where webhooks live, and the robot for groups without their own.
    wecom_webhook_base: str = "https://qyapi.weixin.qq.com/cgi-bin/webhook/"
    wecom_robot_key: str = ""
    send_hour: int = 9  # reminders go out from this hour (Asia/Shanghai) on their day
    rate: float = 20.0  # sends per second across all scheduler processes
    concurrency: int = 8  # sends in flight per process
    batch: int = 100  # jobs claimed at once
    lease: float = 60.0  # seconds a claim lasts; a dead worker's jobs return after this
    poll: float = 5.0  # seconds between looks at the table when nothing is due
    max_attempts: int = 8  # transient failures before a job is given up
    retry_base: float = 60.0  # back-off after the first transient failure, doubling
    retry_cap: float = 3600.0

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> ReminderSettings:
        """Read ``REMINDER_*`` variables; malformed values fall back to the defaults."""
        d = cls()
        channels = tuple(
            c.strip() for c in env.get("REMINDER_CHANNELS", "").split(",") if c.strip()
        )
        fields = tuple(
            f.strip() for f in env.get("REMINDER_TEMPLATE_FIELDS", "").split(",") if f.strip()
        )
        hour = int(_number(env.get("REMINDER_SEND_HOUR"), d.send_hour, 0))
        return cls(
            database_url=env.get("REMINDERS_DATABASE_URL", ""),
            in_serve=_bool(env.get("REMINDERS_IN_SERVE"), d.in_serve),
            channels=tuple(c for c in channels if c in CHANNEL_NAMES) or d.channels,
            template_id=env.get("REMINDER_TEMPLATE_ID", ""),
            subscribe_template_id=env.get("REMINDER_SUBSCRIBE_TEMPLATE_ID", ""),
            template_fields=(fields[0], fields[1], fields[2])
            if len(fields) == 3
            else d.template_fields,
            # The same variable the group-chat channels read: one base for all robot sends.
            wecom_webhook_base=env.get("WECOM_WEBHOOK_BASE", "") or d.wecom_webhook_base,
            wecom_robot_key=env.get("REMINDER_WECOM_ROBOT_KEY", ""),
            send_hour=hour if hour <= 23 else d.send_hour,
            rate=_number(env.get("REMINDER_RATE"), d.rate, 0.01),
            concurrency=int(_number(env.get("REMINDER_CONCURRENCY"), d.concurrency, 1)),
            batch=int(_number(env.get("REMINDER_BATCH"), d.batch, 1)),
            lease=_number(env.get("REMINDER_LEASE"), d.lease, 1.0),
            poll=_number(env.get("REMINDER_POLL"), d.poll, 0.01),
            max_attempts=int(_number(env.get("REMINDER_MAX_ATTEMPTS"), d.max_attempts, 1)),
            retry_base=_number(env.get("REMINDER_RETRY_BASE"), d.retry_base, 0.0),
            retry_cap=_number(env.get("REMINDER_RETRY_CAP"), d.retry_cap, 0.0),
        )
