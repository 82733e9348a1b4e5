"""Reminder jobs in PostgreSQL (several workers or hosts): asyncpg pool, lazily connected.

A claim is one ``UPDATE … FROM (SELECT … FOR UPDATE SKIP LOCKED)``: concurrent claimers skip
rows another transaction has locked instead of waiting for them, and a row whose lease a
committed claim just renewed no longer matches when it is re-checked, so no row is leased
twice. Times are epoch seconds from the caller's clock; leases are long (a minute) next to
any sane clock skew between hosts.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from bot.reminders.jobs import Job, JobState, JobStore
from bot.reminders.records import JobSpec

if TYPE_CHECKING:
    import asyncpg

__all__ = ["PostgresJobStore"]

DEFAULT_TABLE = "reminder_jobs"
_IDENT = re.compile(r"[a-z_][a-z0-9_]{0,50}\Z")
_SCHEMA_LOCK_ID = 0x7962_726A  # "ybrj": any constant shared by every process


def _migrations(t: str) -> tuple[tuple[str, ...], ...]:
    """Schema steps for table ``t``: entry n moves version n to n+1."""
    return (
        (
            f"CREATE TABLE {t} ("
            " key TEXT PRIMARY KEY, user_id TEXT NOT NULL, fire_on TEXT NOT NULL,"
            " due_at DOUBLE PRECISION NOT NULL, payload TEXT NOT NULL, state TEXT NOT NULL,"
            " attempts INTEGER NOT NULL DEFAULT 0, lease_owner TEXT,"
            " lease_until DOUBLE PRECISION, channel TEXT NOT NULL DEFAULT '',"
            " error TEXT NOT NULL DEFAULT '', created_at DOUBLE PRECISION NOT NULL,"
            " updated_at DOUBLE PRECISION NOT NULL, sent_at DOUBLE PRECISION)",
            f"CREATE INDEX {t}_pending ON {t} (due_at) WHERE state = 'pending'",
            f"CREATE INDEX {t}_leased ON {t} (lease_until) WHERE state = 'leased'",
            f"CREATE INDEX {t}_user ON {t} (user_id)",
        ),
    )


SCHEMA_VERSION = len(_migrations("t"))


class PostgresJobStore(JobStore):
    """Jobs in one table (default ``reminder_jobs``), created and migrated on first use."""

    def __init__(self, dsn: str, *, table: str = DEFAULT_TABLE, max_size: int = 8) -> None:
        if not _IDENT.match(table):
            raise ValueError(f"table name must be a lowercase SQL identifier: {table!r}")
        self.dsn = dsn
        self.table = table
        self.max_size = max_size
        self._pool: asyncpg.Pool | None = None
        self._init_lock = asyncio.Lock()
        self._closed = False
        t = table
        # One statement for any number of jobs (arrays unnested server-side).
        self._insert = (
            f"INSERT INTO {t} (key, user_id, fire_on, due_at, payload, state, created_at,"
            " updated_at) SELECT k, u, f, d, p, 'pending', $6, $6 FROM unnest("
            "$1::text[], $2::text[], $3::text[], $4::float8[], $5::text[]) AS x(k, u, f, d, p)"
            " ON CONFLICT (key) DO NOTHING"
        )
        self._claim = (
            f"UPDATE {t} j SET state = 'leased', lease_owner = $1, lease_until = $2,"
            " attempts = j.attempts + 1, updated_at = $3"
            f" FROM (SELECT key FROM {t}"
            "  WHERE (state = 'pending' AND due_at <= $3)"
            "   OR (state = 'leased' AND lease_until <= $3)"
            "  ORDER BY due_at LIMIT $4 FOR UPDATE SKIP LOCKED) c"
            " WHERE j.key = c.key RETURNING j.*"
        )
        held = "key = $1 AND state = 'leased' AND lease_owner = $2"
        self._complete = (
            f"UPDATE {t} SET state = $3, lease_owner = NULL, lease_until = NULL,"
            f" channel = $4, error = $5, updated_at = $6, sent_at = $7 WHERE {held}"
        )
        self._reschedule = (
            f"UPDATE {t} SET state = 'pending', due_at = $3, lease_owner = NULL,"
            " lease_until = NULL, attempts = attempts - $4,"
            f" error = CASE WHEN $5 = '' THEN error ELSE $5 END, updated_at = $6 WHERE {held}"
        )

    @classmethod
    def from_url(cls, url: str) -> PostgresJobStore:
        """``postgresql://user@host/db[?jobs_table=reminder_jobs]``; ``jobs_table`` is ours, not
        asyncpg's. The key/value storage's ``?table=`` is dropped: the reminders usually share
        ``DATABASE_URL`` with it, and taking that name too would put both in one table."""
        parts = urlsplit(url)
        query = parse_qsl(parts.query, keep_blank_values=True)
        table = next((v for k, v in query if k == "jobs_table"), DEFAULT_TABLE)
        rest = [(k, v) for k, v in query if k not in ("table", "jobs_table")]
        return cls(urlunsplit(parts._replace(query=urlencode(rest))), table=table)

    async def _get_pool(self) -> asyncpg.Pool:
        if self._closed:
            raise RuntimeError("job store is closed")
        if self._pool is None:
            async with self._init_lock:
                if self._pool is None:
                    self._pool = await self._connect()
        return self._pool

    async def _connect(self) -> asyncpg.Pool:
        try:
            import asyncpg
        except ImportError as exc:  # pragma: no cover - depends on the install
            raise RuntimeError(
                "postgresql:// reminders need asyncpg: pip install 'yibao-assistant[postgres]'"
            ) from exc
        # command_timeout: a connection that hangs without being reset (a lost packet, not a
        # refused one) would otherwise hang the scheduler's loop for good.
        pool: asyncpg.Pool = await asyncpg.create_pool(
            self.dsn, min_size=1, max_size=self.max_size, timeout=10, command_timeout=30
        )
        try:
            async with pool.acquire() as conn, conn.transaction():
                # Two workers starting together must not both create the table.
                await conn.execute("SELECT pg_advisory_xact_lock($1)", _SCHEMA_LOCK_ID)
                await conn.execute(
                    "CREATE TABLE IF NOT EXISTS reminder_schema_version"
                    " (tbl TEXT PRIMARY KEY, version INTEGER NOT NULL)"
                )
                version = await conn.fetchval(
                    "SELECT version FROM reminder_schema_version WHERE tbl = $1", self.table
                )
                version = int(version or 0)
                if version > SCHEMA_VERSION:
                    raise RuntimeError(
                        f"table {self.table} has reminder schema v{version}, newer than this "
                        f"code (v{SCHEMA_VERSION}); upgrade the bot"
                    )
                for statements in _migrations(self.table)[version:]:
                    for stmt in statements:
                        await conn.execute(stmt)
                await conn.execute(
                    "INSERT INTO reminder_schema_version (tbl, version) VALUES ($1, $2)"
                    " ON CONFLICT (tbl) DO UPDATE SET version = excluded.version",
                    self.table,
                    SCHEMA_VERSION,
                )
        except BaseException:
            await pool.close()
            raise
        return pool

    # -- JobStore ---------------------------------------------------------------------------

    @staticmethod
    def _args(specs: Sequence[JobSpec], now: float) -> tuple[Any, ...]:
        return (
            [s.key for s in specs],
            [s.user for s in specs],
            [s.fire_on for s in specs],
            [s.due_at for s in specs],
            [json.dumps(s.payload, ensure_ascii=False) for s in specs],
            now,
        )

    async def add(self, specs: Sequence[JobSpec], now: float) -> int:
        if not specs:
            return 0
        pool = await self._get_pool()
        status = await pool.execute(self._insert, *self._args(specs, now))
        return int(status.split()[-1])

    async def sync_user(self, user: str, specs: Sequence[JobSpec], now: float) -> None:
        pool = await self._get_pool()
        async with pool.acquire() as conn, conn.transaction():
            await conn.execute(
                f"DELETE FROM {self.table} WHERE user_id = $1 AND state = 'pending'"
                " AND NOT (key = ANY($2::text[]))",
                user,
                [s.key for s in specs],
            )
            if specs:
                await conn.execute(self._insert, *self._args(specs, now))

    async def forget_user(self, user: str) -> int:
        pool = await self._get_pool()
        status = await pool.execute(f"DELETE FROM {self.table} WHERE user_id = $1", user)
        return int(status.split()[-1])

    async def claim(self, owner: str, now: float, limit: int, lease: float) -> list[Job]:
        pool = await self._get_pool()
        rows = await pool.fetch(self._claim, owner, now + lease, now, limit)
        return sorted((Job.from_row(r) for r in rows), key=lambda j: j.due_at)

    async def complete(
        self,
        key: str,
        owner: str,
        state: JobState,
        now: float,
        channel: str = "",
        error: str = "",
    ) -> bool:
        pool = await self._get_pool()
        sent = now if state is JobState.SENT else None
        status = await pool.execute(
            self._complete, key, owner, state.value, channel, error, now, sent
        )
        return bool(status.endswith(" 1"))

    async def reschedule(
        self, key: str, owner: str, at: float, now: float, error: str = "", refund: bool = False
    ) -> bool:
        pool = await self._get_pool()
        status = await pool.execute(
            self._reschedule, key, owner, at, 1 if refund else 0, error, now
        )
        return bool(status.endswith(" 1"))

    async def stop_user(self, user: str, now: float, error: str) -> int:
        pool = await self._get_pool()
        status = await pool.execute(
            f"UPDATE {self.table} SET state = 'stopped', error = $2, updated_at = $3"
            " WHERE user_id = $1 AND state = 'pending'",
            user,
            error,
            now,
        )
        return int(status.split()[-1])

    async def jobs(self, user: str | None = None) -> list[Job]:
        pool = await self._get_pool()
        if user is None:
            rows = await pool.fetch(f"SELECT * FROM {self.table} ORDER BY due_at, key")
        else:
            rows = await pool.fetch(
                f"SELECT * FROM {self.table} WHERE user_id = $1 ORDER BY due_at, key", user
            )
        return [Job.from_row(r) for r in rows]

    async def counts(self) -> dict[str, int]:
        pool = await self._get_pool()
        rows = await pool.fetch(f"SELECT state, COUNT(*) AS n FROM {self.table} GROUP BY state")
        return {str(r["state"]): int(r["n"]) for r in rows}

    async def close(self) -> None:
        self._closed = True
        async with self._init_lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            await pool.close()
