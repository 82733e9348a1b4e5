"""Glue: keep jobs in step with the chat's records, and run the scheduler inside ``serve``.

:class:`Reminders` belongs to the pipeline: after a reminder intent it rewrites the user's
pending jobs from their records (:meth:`Reminders.sync`), and on unsubscribe deletes them.
It opens the jobs database once, on the first reminder message, and keeps it until ``close``
(the app's shutdown, the end of a CLI call); the in-memory store is always kept, because it
*is* the data.

:func:`reminder_context` is an aiohttp ``cleanup_ctx``: the scheduler task starts with the
app and is stopped, its batch finished, before the app closes the storage and API client.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Callable
from datetime import date
from typing import Any

from aiohttp import web

from bot.reminders.channels import channels_from_settings
from bot.reminders.jobs import JobStore, MemoryJobStore, open_job_store
from bot.reminders.records import job_specs, list_subscriptions
from bot.reminders.scheduler import Scheduler
from bot.settings import TZ, Settings
from bot.storage.base import Storage
from bot.wechat_api import WeChatAPI

__all__ = ["REMINDER_INTENTS", "Reminders", "jobs_url", "reminder_context"]

log = logging.getLogger(__name__)

_RETRY_DELAYS = (5.0, 15.0, 30.0, 60.0, *(300.0,) * 11)
# Intents whose handlers change a user's reminder records.
REMINDER_INTENTS = frozenset({"remind_subscribe", "remind_cancel"})


def jobs_url(settings: Settings, storage: Storage) -> str:
    """Where jobs live: ``REMINDERS_DATABASE_URL``, else the storage's own database."""
    if settings.reminders.database_url:
        return settings.reminders.database_url
    from bot.storage.memory import MemoryStorage
    from bot.storage.sqlite import SQLiteStorage

    if isinstance(storage, MemoryStorage):
        return "memory://"
    if isinstance(storage, SQLiteStorage):
        # The same file: one thing to back up, and its WAL already serves several processes.
        return "memory://" if storage.path == ":memory:" else f"sqlite:///{storage.path}"
    from bot.storage.postgres import PostgresStorage

    if isinstance(storage, PostgresStorage):
        return storage.dsn
    # Redis holds the conversation; jobs need SQL (DATABASE_URL) or the local file.
    url = settings.storage_url
    if url.partition("://")[0].lower() in ("sqlite", "postgresql", "postgres"):
        return url
    return f"sqlite:///{settings.data_dir / 'bot.sqlite3'}"


class Reminders:
    """The chat side's handle on the jobs table."""

    def __init__(
        self,
        settings: Settings,
        storage: Storage,
        clock: Callable[[], float] = time.time,
        *,
        store: JobStore | None = None,
    ) -> None:
        """``store``: use this (caller-owned) job store instead of opening one by URL."""
        self.settings = settings
        self.storage = storage
        self.clock = clock
        self.url = jobs_url(settings, storage)
        if store is None and self.url.startswith("memory:"):
            store = MemoryJobStore()
        self._shared = store
        self._own: JobStore | None = None
        self._retries: set[asyncio.Task[None]] = set()
        self.retry_delays = _RETRY_DELAYS

    def open(self) -> tuple[JobStore, bool]:
        """A store for a long-lived user (the scheduler) and whether the caller must close it."""
        if self._shared is not None:
            return self._shared, False
        return open_job_store(self.url), True

    @contextlib.asynccontextmanager
    async def jobs(self) -> AsyncIterator[JobStore]:
        """The chat side's store, opened once and reused: opening one per reminder message
        piled up dozens of SQLite connections under load (p99 1.5 s). ``close`` releases it."""
        if self._shared is not None:
            yield self._shared
            return
        if self._own is None:
            self._own = open_job_store(self.url)
        yield self._own

    async def close(self) -> None:
        """Release the chat side's store (at shutdown; a later call reopens it)."""
        own, self._own = self._own, None
        if own is not None:
            await own.close()

    async def sync(self, user: str, today: date) -> None:
        """Make the user's pending jobs match their records (after any reminder intent).

        Never raises: with the jobs database down the chat still answers (the record is
        saved), and the sync is retried in the background until the database is back.
        """
        try:
            await self._sync(user, today)
        except Exception:
            log.warning("reminder jobs not updated; retrying", exc_info=True)
            task = asyncio.create_task(self._retry_sync(user, today))
            self._retries.add(task)
            task.add_done_callback(self._retries.discard)

    async def _sync(self, user: str, today: date) -> None:
        subs = await list_subscriptions(self.storage, user)
        specs = job_specs(user, subs, today, self.settings.reminders.send_hour, TZ)
        async with self.jobs() as store:
            await store.sync_user(user, specs, self.clock())

    async def _retry_sync(self, user: str, today: date) -> None:
        # About an hour of retries; a restart in between leaves the jobs to the user's next
        # reminder command (every one re-syncs the user's whole list).
        for delay in self.retry_delays:
            await asyncio.sleep(delay)
            try:
                await self._sync(user, today)
            except Exception:
                continue
            log.info("reminder jobs updated after a retry")
            return
        log.error("reminder jobs could not be updated", extra={"alert": True})

    async def forget(self, user: str) -> None:
        """Delete all of the user's jobs, sent history included (unsubscribe).

        A failure is logged, not raised: the records are gone already, and the scheduler
        cancels any job whose record is missing instead of sending it.
        """
        try:
            async with self.jobs() as store:
                await store.forget_user(user)
        except Exception:
            log.warning("reminder jobs of a departed user not deleted", exc_info=True)


def reminder_context(
    settings: Settings, storage: Storage, api: WeChatAPI | None, responder: Any = None
) -> Callable[[web.Application], AsyncIterator[None]]:
    """A ``cleanup_ctx`` running the scheduler for the app's lifetime (``REMINDERS_IN_SERVE``)."""

    async def context(app: web.Application) -> AsyncIterator[None]:
        if not settings.reminders.in_serve:
            yield
            return
        hub = getattr(responder, "reminders", None)
        if not isinstance(hub, Reminders):
            hub = Reminders(settings, storage)
        jobs, owned = hub.open()
        channels = channels_from_settings(settings, api, storage)
        scheduler = Scheduler(settings, jobs, storage, channels)
        stop = asyncio.Event()
        task = asyncio.create_task(scheduler.run(stop), name="reminder-scheduler")
        try:
            yield
        finally:
            stop.set()
            try:
                # Lets the batch in hand finish; what is left keeps its lease and is
                # picked up by another worker (or this one after a restart).
                await asyncio.wait_for(task, timeout=max(settings.shutdown_timeout, 0.1))
            except TimeoutError:
                log.warning("reminder scheduler stopped mid-batch; leases will expire")
            except Exception:
                log.exception("reminder scheduler failed")
            await channels.close()
            if owned:
                await jobs.close()

    return context
