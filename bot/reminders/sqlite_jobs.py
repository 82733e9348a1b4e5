"""Reminder jobs in SQLite (the default): the storage's own file, its own connection.

A claim is ``BEGIN IMMEDIATE`` + one ``UPDATE … RETURNING``: the immediate transaction takes
SQLite's single write lock before anything is read, so two processes on one file can never
lease the same row. Every other write is one statement checking the lease owner. This module
keeps one connection per store and serialises its use with an asyncio lock, because
statements of concurrent tasks on one connection would otherwise land inside each other's
transactions.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import time
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import TypeVar
from urllib.parse import unquote

import aiosqlite

from bot.reminders.jobs import Job, JobState, JobStore
from bot.reminders.records import JobSpec

__all__ = ["SQLiteJobStore"]

T = TypeVar("T")

# Each entry moves the schema from version n to n+1, applied in one immediate transaction.
MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (
        "CREATE TABLE reminder_jobs ("
        " key TEXT PRIMARY KEY, user_id TEXT NOT NULL, fire_on TEXT NOT NULL,"
        " due_at REAL NOT NULL, payload TEXT NOT NULL, state TEXT NOT NULL,"
        " attempts INTEGER NOT NULL DEFAULT 0, lease_owner TEXT, lease_until REAL,"
        " channel TEXT NOT NULL DEFAULT '', error TEXT NOT NULL DEFAULT '',"
        " created_at REAL NOT NULL, updated_at REAL NOT NULL, sent_at REAL)",
        # Partial indexes: the claim reads only these two small sets, never the history.
        "CREATE INDEX reminder_jobs_pending ON reminder_jobs (due_at) WHERE state = 'pending'",
        "CREATE INDEX reminder_jobs_leased ON reminder_jobs (lease_until) WHERE state = 'leased'",
        "CREATE INDEX reminder_jobs_user ON reminder_jobs (user_id)",
    ),
)
SCHEMA_VERSION = len(MIGRATIONS)

_INSERT = (
    "INSERT INTO reminder_jobs (key, user_id, fire_on, due_at, payload, state, created_at,"
    " updated_at) VALUES (?, ?, ?, ?, ?, 'pending', ?, ?) ON CONFLICT (key) DO NOTHING"
)
_CLAIM = (
    "UPDATE reminder_jobs SET state = 'leased', lease_owner = :owner, lease_until = :until,"
    " attempts = attempts + 1, updated_at = :now"
    " WHERE key IN (SELECT key FROM ("
    "  SELECT key, due_at FROM reminder_jobs WHERE state = 'pending' AND due_at <= :now"
    "  UNION ALL"
    "  SELECT key, due_at FROM reminder_jobs WHERE state = 'leased' AND lease_until <= :now"
    " ) ORDER BY due_at LIMIT :limit)"
    " RETURNING *"
)
_HELD = "key = :key AND state = 'leased' AND lease_owner = :owner"
_COMPLETE = (
    "UPDATE reminder_jobs SET state = :state, lease_owner = NULL, lease_until = NULL,"
    " channel = :channel, error = :error, updated_at = :now, sent_at = :sent"
    f" WHERE {_HELD} RETURNING 1"
)
_RESCHEDULE = (
    "UPDATE reminder_jobs SET state = 'pending', due_at = :at, lease_owner = NULL,"
    " lease_until = NULL, attempts = attempts - :refund,"
    " error = CASE WHEN :error = '' THEN error ELSE :error END, updated_at = :now"
    f" WHERE {_HELD} RETURNING 1"
)


class SQLiteJobStore(JobStore):
    """Jobs in ``reminder_jobs`` of an SQLite file (created and migrated on first use)."""

    def __init__(self, path: str, *, busy_timeout: float = 10.0) -> None:
        self.path = path
        self.busy_timeout = busy_timeout
        self._conn: aiosqlite.Connection | None = None
        self._lock = asyncio.Lock()
        self._closed = False

    @classmethod
    def from_url(cls, url: str) -> SQLiteJobStore:
        """``sqlite:///relative.sqlite3``, ``sqlite:////abs.sqlite3`` or ``sqlite://:memory:``."""
        rest = unquote(url.partition("://")[2])
        if rest in (":memory:", "/:memory:"):
            return cls(":memory:")
        if not rest.startswith("/") or rest == "/":
            raise ValueError(f"sqlite URL needs a path, e.g. sqlite:///var/bot.sqlite3: {url!r}")
        return cls(rest[1:])

    # -- connection -------------------------------------------------------------------------

    async def _db(self) -> aiosqlite.Connection:
        if self._closed:
            raise RuntimeError("job store is closed")
        if self._conn is None:
            if self.path != ":memory:":
                Path(self.path).parent.mkdir(parents=True, exist_ok=True)
            # Autocommit: transactions are opened explicitly, only where needed.
            conn = await aiosqlite.connect(
                self.path, timeout=self.busy_timeout, isolation_level=None
            )
            try:
                conn.row_factory = sqlite3.Row
                await conn.execute(f"PRAGMA busy_timeout = {int(self.busy_timeout * 1000)}")
                await self._wal(conn)
                # NORMAL: a power cut may lose the last commits (WAL is still consistent); a
                # killed process loses nothing, which is the failure the lease design covers.
                await conn.execute("PRAGMA synchronous = NORMAL")
                await self._migrate(conn)
            except BaseException:
                await conn.close()
                raise
            self._conn = conn
        return self._conn

    async def _wal(self, conn: aiosqlite.Connection) -> None:
        # The key/value storage may be converting the same fresh file to WAL right now, and
        # SQLite answers "locked" at once for that instead of waiting on busy_timeout.
        deadline = time.monotonic() + self.busy_timeout
        while True:
            try:
                await conn.execute("PRAGMA journal_mode = WAL")
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() >= deadline:
                    raise
                await asyncio.sleep(0.02)

    async def _migrate(self, conn: aiosqlite.Connection) -> None:
        await conn.execute("BEGIN IMMEDIATE")
        try:
            await conn.execute(
                "CREATE TABLE IF NOT EXISTS reminder_schema_version (version INTEGER NOT NULL)"
            )
            rows = list(await conn.execute_fetchall("SELECT version FROM reminder_schema_version"))
            version = int(rows[0][0]) if rows else 0
            if version > SCHEMA_VERSION:
                raise RuntimeError(
                    f"{self.path} has reminder schema v{version}, newer than this code "
                    f"(v{SCHEMA_VERSION}); upgrade the bot"
                )
            for statements in MIGRATIONS[version:]:
                for stmt in statements:
                    await conn.execute(stmt)
            if not rows:
                await conn.execute(
                    "INSERT INTO reminder_schema_version (version) VALUES (?)", (SCHEMA_VERSION,)
                )
            elif version < SCHEMA_VERSION:
                await conn.execute(
                    "UPDATE reminder_schema_version SET version = ?", (SCHEMA_VERSION,)
                )
            await conn.execute("COMMIT")
        except BaseException:
            await conn.execute("ROLLBACK")
            raise

    async def _run(self, work: Callable[[aiosqlite.Connection], Awaitable[T]]) -> T:
        async with self._lock:
            return await work(await self._db())

    async def _transaction(self, work: Callable[[aiosqlite.Connection], Awaitable[T]]) -> T:
        async def wrapped(conn: aiosqlite.Connection) -> T:
            await conn.execute("BEGIN IMMEDIATE")
            try:
                result = await work(conn)
            except BaseException:
                await conn.execute("ROLLBACK")
                raise
            await conn.execute("COMMIT")
            return result

        return await self._run(wrapped)

    # -- JobStore ---------------------------------------------------------------------------

    @staticmethod
    def _rows(specs: Sequence[JobSpec], now: float) -> list[tuple[object, ...]]:
        return [
            (
                s.key,
                s.user,
                s.fire_on,
                s.due_at,
                json.dumps(s.payload, ensure_ascii=False),
                now,
                now,
            )
            for s in specs
        ]

    async def add(self, specs: Sequence[JobSpec], now: float) -> int:
        if not specs:
            return 0

        async def work(conn: aiosqlite.Connection) -> int:
            before = conn.total_changes
            await conn.executemany(_INSERT, self._rows(specs, now))
            return conn.total_changes - before

        return await self._transaction(work)

    async def sync_user(self, user: str, specs: Sequence[JobSpec], now: float) -> None:
        keys = [s.key for s in specs]

        async def work(conn: aiosqlite.Connection) -> None:
            marks = ",".join("?" * len(keys))
            keep = f" AND key NOT IN ({marks})" if keys else ""
            await conn.execute(
                f"DELETE FROM reminder_jobs WHERE user_id = ? AND state = 'pending'{keep}",
                (user, *keys),
            )
            if specs:
                await conn.executemany(_INSERT, self._rows(specs, now))

        await self._transaction(work)

    async def forget_user(self, user: str) -> int:
        async def work(conn: aiosqlite.Connection) -> int:
            rows = await conn.execute_fetchall(
                "DELETE FROM reminder_jobs WHERE user_id = ? RETURNING 1", (user,)
            )
            return len(list(rows))

        return await self._run(work)

    async def claim(self, owner: str, now: float, limit: int, lease: float) -> list[Job]:
        params = {"owner": owner, "until": now + lease, "now": now, "limit": limit}

        async def work(conn: aiosqlite.Connection) -> list[Job]:
            rows = await conn.execute_fetchall(_CLAIM, params)
            return [Job.from_row(r) for r in rows]

        jobs = await self._transaction(work)
        return sorted(jobs, key=lambda j: j.due_at)

    async def complete(
        self,
        key: str,
        owner: str,
        state: JobState,
        now: float,
        channel: str = "",
        error: str = "",
    ) -> bool:
        params = {
            "key": key, "owner": owner, "state": state.value, "channel": channel,
            "error": error, "now": now, "sent": now if state is JobState.SENT else None,
        }  # fmt: skip

        async def work(conn: aiosqlite.Connection) -> bool:
            return bool(list(await conn.execute_fetchall(_COMPLETE, params)))

        return await self._run(work)

    async def reschedule(
        self, key: str, owner: str, at: float, now: float, error: str = "", refund: bool = False
    ) -> bool:
        params = {
            "key": key, "owner": owner, "at": at, "now": now, "error": error,
            "refund": 1 if refund else 0,
        }  # fmt: skip

        async def work(conn: aiosqlite.Connection) -> bool:
            return bool(list(await conn.execute_fetchall(_RESCHEDULE, params)))

        return await self._run(work)

    async def stop_user(self, user: str, now: float, error: str) -> int:
        async def work(conn: aiosqlite.Connection) -> int:
            rows = await conn.execute_fetchall(
                "UPDATE reminder_jobs SET state = 'stopped', error = ?, updated_at = ?"
                " WHERE user_id = ? AND state = 'pending' RETURNING 1",
                (error, now, user),
            )
            return len(list(rows))

        return await self._run(work)

    async def jobs(self, user: str | None = None) -> list[Job]:
        async def work(conn: aiosqlite.Connection) -> list[Job]:
            if user is None:
                rows = await conn.execute_fetchall(
                    "SELECT * FROM reminder_jobs ORDER BY due_at, key"
                )
            else:
                rows = await conn.execute_fetchall(
                    "SELECT * FROM reminder_jobs WHERE user_id = ? ORDER BY due_at, key", (user,)
                )
            return [Job.from_row(r) for r in rows]

        return await self._run(work)

    async def counts(self) -> dict[str, int]:
        async def work(conn: aiosqlite.Connection) -> dict[str, int]:
            rows = await conn.execute_fetchall(
                "SELECT state, COUNT(*) FROM reminder_jobs GROUP BY state"
            )
            return {str(r[0]): int(r[1]) for r in rows}

        return await self._run(work)

    async def close(self) -> None:
        self._closed = True
        async with self._lock:
            conn, self._conn = self._conn, None
        if conn is not None:
            await conn.close()
