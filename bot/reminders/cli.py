"""``python -m bot reminders run|status``: the scheduler as its own process, and job counts.

``bot/cli.py`` calls :func:`register`. ``run`` works until SIGTERM/SIGINT (finishing the batch
in hand); ``--once`` makes one pass over what is due (for cron), ``--drain`` runs until nothing
is pending or leased. Both print one JSON line of counts when they end.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import sys
from typing import Any, TextIO

from bot.logs import setup_logging
from bot.settings import Settings

__all__ = ["register"]


def register(subparsers: Any) -> None:
    """Add ``reminders`` (with ``run`` and ``status``) to an argparse subparsers object."""
    parser = subparsers.add_parser("reminders", help="reminder scheduler: run it, show jobs")
    sub = parser.add_subparsers(dest="reminders_command", required=True)
    run = sub.add_parser("run", help="claim and send due reminders (a separate process)")
    mode = run.add_mutually_exclusive_group()
    mode.add_argument("--once", action="store_true", help="one pass over due jobs, then exit")
    mode.add_argument(
        "--drain", action="store_true", help="exit when nothing is pending or leased"
    )
    run.set_defaults(handler=cmd_run)
    status = sub.add_parser("status", help="print jobs per state as JSON")
    status.set_defaults(handler=cmd_status)


def cmd_run(args: argparse.Namespace, _stdin: TextIO, stdout: TextIO) -> int:
    settings = Settings.from_env()
    setup_logging(settings.log_level)
    try:
        stats = asyncio.run(_run(settings, once=args.once, drain=args.drain))
    except ValueError as exc:
        sys.stderr.write(f"error: {exc}\n")
        return 2
    stdout.write(json.dumps(stats, sort_keys=True) + "\n")
    stdout.flush()
    return 0


async def _run(settings: Settings, *, once: bool, drain: bool) -> dict[str, Any]:
    from bot.reminders.channels import channels_from_settings
    from bot.reminders.scheduler import Scheduler
    from bot.reminders.service import Reminders
    from bot.storage import open_storage
    from bot.wechat_api import WeChatAPI

    storage = open_storage(settings.storage_url)
    hub = Reminders(settings, storage)
    if hub.url.startswith("memory:"):
        await storage.close()
        raise ValueError("a separate scheduler needs a database (DATABASE_URL), not memory://")
    api = (
        WeChatAPI(settings, storage)
        if settings.wechat_app_id and settings.wechat_app_secret
        else None
    )
    jobs, _ = hub.open()
    channels = channels_from_settings(settings, api, storage)
    scheduler = Scheduler(settings, jobs, storage, channels)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        await scheduler.run(stop, once=once, drain=drain)
    finally:
        await channels.close()
        await jobs.close()
        if api is not None:
            await api.close()
        await storage.close()
    return {"owner": scheduler.owner, **scheduler.stats}


def cmd_status(_args: argparse.Namespace, _stdin: TextIO, stdout: TextIO) -> int:
    settings = Settings.from_env()
    counts = asyncio.run(_status(settings))
    stdout.write(json.dumps(counts, sort_keys=True) + "\n")
    return 0


async def _status(settings: Settings) -> dict[str, int]:
    from bot.reminders.service import Reminders
    from bot.storage import open_storage

    storage = open_storage(settings.storage_url)
    try:
        async with Reminders(settings, storage).jobs() as jobs:
            return await jobs.counts()
    finally:
        await storage.close()
