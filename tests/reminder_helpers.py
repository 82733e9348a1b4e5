"""Helpers for the reminder tests: job stores on every backend, seeding, scheduler processes."""

from __future__ import annotations

import asyncio
import os
import sys
import time
import uuid
from collections.abc import Sequence
from dataclasses import asdict
from datetime import date, timedelta
from pathlib import Path

from bot.reminders.jobs import JobStore
from bot.reminders.records import KEY_PREFIX, JobSpec, Subscription, job_key
from bot.storage.base import Storage

ROOT = Path(__file__).resolve().parent.parent


def pg_table() -> str:
    return f"reminder_jobs_test_{uuid.uuid4().hex[:10]}"


async def drop_pg_table(base_url: str, table: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(base_url)
    try:
        await conn.execute(f'DROP TABLE IF EXISTS "{table}"')
        await conn.execute("DELETE FROM reminder_schema_version WHERE tbl = $1", table)
    finally:
        await conn.close()


def subscription(today: date, *, kind: str = "collection_end", due_in: int = 3) -> Subscription:
    """A record whose only reminder day is ``today``."""
    due = today + timedelta(days=due_in)
    return Subscription(
        id=1,
        kind=kind,
        title="2027年度居民医保集中缴费截止",
        city="",
        due=due.isoformat(),
        remind_on=(today.isoformat(),),
        created=today.isoformat(),
    )


async def seed(
    storage: Storage,
    jobs: JobStore,
    users: Sequence[str],
    today: date,
    due_at: float,
) -> list[JobSpec]:
    """One record and one job due at ``due_at`` per user."""
    specs = []
    for user in users:
        sub = subscription(today)
        await storage.set(KEY_PREFIX + user, [asdict(sub)])
        payload = {"kind": sub.kind, "title": sub.title, "city": "", "due": sub.due, "last": True}
        key = job_key(user, sub.kind, sub.due, sub.remind_on[0])
        specs.append(JobSpec(key, user, sub.remind_on[0], due_at, payload))
    await jobs.add(specs, time.time())
    return specs


def scheduler_env(
    tmp_path: Path, api_base: str, storage_url: str, jobs_url: str, **extra: str
) -> dict[str, str]:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp_path),
        "LANG": "C.UTF-8",
        "PYTHONPATH": str(ROOT),
        "TMPDIR": os.environ.get("TMPDIR", "/tmp"),
        "BOT_DATA_DIR": str(tmp_path / "data"),
        "DATABASE_URL": storage_url,
        "REMINDERS_DATABASE_URL": jobs_url,
        "WECHAT_APP_ID": "wx1234567890abcdef",
        "WECHAT_APP_SECRET": "app-secret",
        "WECHAT_API_BASE": api_base,
        "REMINDER_CHANNELS": "template",
        "REMINDER_TEMPLATE_ID": "TPL-REMIND",
        "REMINDER_POLL": "0.05",
        "LOG_LEVEL": "WARNING",
    }
    env.update(extra)
    return env


async def start_scheduler(env: dict[str, str], *args: str) -> asyncio.subprocess.Process:
    """``python -m bot reminders run …`` as a real process (asyncio: the fake keeps serving)."""
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "reminders", "run", *args,
        cwd=ROOT, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
