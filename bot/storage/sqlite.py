"""SQLite storage, the default: embedded, zero setup, safe across worker processes.

Every operation is a single autocommit statement, so SQLite's own write lock makes ``add``
and ``incr`` atomic across connections and processes sharing the file; no BEGIN/SELECT/UPDATE
sequences that could interleave. WAL lets readers proceed during a write, and
``synchronous=NORMAL`` drops the per-commit fsync (a crash can lose the last few writes, never
corrupt the file), which is the right trade for dedup markers and conversation state.

Expiry uses the wall clock (``time.time()``) because several processes must agree on it.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import aiosqlite

from bot.storage._codec import check_amount, check_ttl, decode, encode, prefix_upper_bound
from bot.storage.base import BatchRow, Storage

__all__ = ["SQLiteStorage"]

SCHEMA_VERSION = 1

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)",
    # WITHOUT ROWID: the text key *is* the b-tree key, saving a second lookup per get.
    # value is NOT NULL on purpose: incr() relies on it to reject non-integer counters.
    "CREATE TABLE IF NOT EXISTS kv ("
    " key TEXT PRIMARY KEY, value TEXT NOT NULL, expires_at REAL) WITHOUT ROWID",
    # Partial index: only rows with a TTL matter to the purge, so permanent keys cost nothing.
    "CREATE INDEX IF NOT EXISTS kv_expires_at ON kv (expires_at) WHERE expires_at IS NOT NULL",
)

_LIVE = "(kv.expires_at IS NULL OR kv.expires_at > :now)"
_DEAD = "(kv.expires_at IS NOT NULL AND kv.expires_at <= :now)"

_GET = f"SELECT value FROM kv WHERE key = :key AND {_LIVE}"
_SET = (
    "INSERT INTO kv (key, value, expires_at) VALUES (:key, :value, :exp)"
    " ON CONFLICT (key) DO UPDATE SET value = excluded.value, expires_at = excluded.expires_at"
)
# Upsert whose update only fires on an expired row: "set if absent" in one atomic statement.
_ADD = f"{_SET} WHERE {_DEAD} RETURNING 1"
# A live counter is incremented only if its text is exactly a canonical integer; otherwise
# the CASE yields NULL and the NOT NULL constraint aborts the statement (SQL has no RAISE
# outside triggers), which incr() turns into ValueError like the other backends.
_INCR = (
    "INSERT INTO kv (key, value, expires_at) VALUES (:key, :amount, :exp)"
    " ON CONFLICT (key) DO UPDATE SET"
    f" value = CASE WHEN {_DEAD} THEN excluded.value"
    "  WHEN CAST(CAST(kv.value AS INTEGER) AS TEXT) = kv.value"
    "  THEN CAST(kv.value AS INTEGER) + :amount ELSE NULL END,"
    f" expires_at = CASE WHEN {_DEAD} THEN excluded.expires_at ELSE kv.expires_at END"
    " RETURNING value"
)
# write_batch: many rows in one upsert, i.e. one statement, one transaction, one round trip.
# A deletion is written as a row that expired at the epoch, which every statement here already
# treats as absent (and the purge removes), so deletions need no second statement.
_SET_ROW = "(?, ?, ?)"
_SET_MANY = (
    "INSERT INTO kv (key, value, expires_at) VALUES {rows}"
    " ON CONFLICT (key) DO UPDATE SET value = excluded.value, expires_at = excluded.expires_at"
)
_BATCH_ROWS = 300  # 900 parameters: within even old SQLite builds' limit of 999
_DELETE = "DELETE FROM kv WHERE key = :key"
_PURGE = "DELETE FROM kv WHERE expires_at <= :now"

# Purge expired rows after this many writes or seconds, whichever comes first; reads already
# ignore them, so this only bounds file growth.
_PURGE_EVERY_WRITES = 1000
_PURGE_EVERY_SECONDS = 300.0


class SQLiteStorage(Storage):
    """One aiosqlite connection per instance; connects and creates the schema on first use."""

    def __init__(self, path: str, *, busy_timeout: float = 5.0) -> None:
        self.path = path
        self.busy_timeout = busy_timeout
        self._conn: aiosqlite.Connection | None = None
        self._reader: sqlite3.Connection | None = None  # get_blocking's, opened on first use
        self._init_lock = asyncio.Lock()
        self._closed = False
        self._writes = 0
        self._last_purge = time.monotonic()

    @classmethod
    def from_url(cls, url: str, *, busy_timeout: float = 5.0) -> SQLiteStorage:
        """``sqlite:///relative.sqlite3``, ``sqlite:////abs.sqlite3`` or ``sqlite://:memory:``.

        Same convention as SQLAlchemy: three slashes then the path, so an absolute path has
        four. Parent directories are created on connect.
        """
        scheme, sep, rest = url.partition("://")
        if scheme.lower() != "sqlite" or not sep:
            raise ValueError(f"not a sqlite:// URL: {url!r}")
        rest = unquote(rest)
        if rest in (":memory:", "/:memory:"):
            return cls(":memory:", busy_timeout=busy_timeout)
        if not rest.startswith("/") or rest == "/":
            raise ValueError(
                f"sqlite URL needs a path, e.g. sqlite:///var/bot.sqlite3 (relative) or "
                f"sqlite:////srv/bot.sqlite3 (absolute): {url!r}"
            )
        return cls(rest[1:], busy_timeout=busy_timeout)

    # -- connection ------------------------------------------------------------------------

    async def _db(self) -> aiosqlite.Connection:
        conn = self._conn
        if conn is not None:
            return conn
        if self._closed:
            raise RuntimeError("storage is closed")
        async with self._init_lock:
            if self._conn is None:
                if self._closed:
                    raise RuntimeError("storage is closed")
                self._conn = await self._connect()
            return self._conn

    async def _connect(self) -> aiosqlite.Connection:
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        # isolation_level=None: autocommit, so the sqlite3 module never opens an implicit
        # transaction that would hold the write lock between our statements.
        conn = await aiosqlite.connect(self.path, timeout=self.busy_timeout, isolation_level=None)
        try:
            await conn.execute(f"PRAGMA busy_timeout = {int(self.busy_timeout * 1000)}")
            await self._enable_wal(conn)
            await conn.execute("PRAGMA synchronous = NORMAL")
            await self._migrate(conn)
        except BaseException:
            await conn.close()
            raise
        return conn

    async def _enable_wal(self, conn: aiosqlite.Connection) -> None:
        # WAL is persistent in the file, so this is usually a no-op read. But while another
        # process converts a fresh file, SQLite answers "database is locked" at once without
        # consulting busy_timeout, so retry here within the same time budget.
        deadline = time.monotonic() + self.busy_timeout
        delay = 0.005
        while True:
            try:
                rows = list(await conn.execute_fetchall("PRAGMA journal_mode = WAL"))
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() >= deadline:
                    raise
                await asyncio.sleep(delay)
                delay = min(delay * 2, 0.1)
                continue
            mode = str(rows[0][0]).lower() if rows else ""
            if mode != "wal" and self.path != ":memory:":  # :memory: can only be "memory"
                raise RuntimeError(f"could not enable WAL on {self.path} (mode {mode!r})")
            return

    async def _migrate(self, conn: aiosqlite.Connection) -> None:
        # IMMEDIATE takes the write lock up front, so two processes starting together create
        # the schema one after the other instead of racing.
        await conn.execute("BEGIN IMMEDIATE")
        try:
            for stmt in _SCHEMA:
                await conn.execute(stmt)
            rows = list(await conn.execute_fetchall("SELECT version FROM schema_version"))
            if not rows:
                await conn.execute(
                    "INSERT INTO schema_version (version) VALUES (?)", (SCHEMA_VERSION,)
                )
            elif rows[0][0] > SCHEMA_VERSION:
                raise RuntimeError(
                    f"{self.path} has storage schema v{rows[0][0]}, newer than this code "
                    f"(v{SCHEMA_VERSION}); upgrade the bot"
                )
            # Future migrations: `elif rows[0][0] < SCHEMA_VERSION:` step up here.
            await conn.execute("COMMIT")
        except BaseException:
            await conn.execute("ROLLBACK")
            raise

    async def _after_write(self, conn: aiosqlite.Connection, now: float, writes: int = 1) -> None:
        self._writes += writes
        mono = time.monotonic()
        if self._writes >= _PURGE_EVERY_WRITES or mono - self._last_purge >= _PURGE_EVERY_SECONDS:
            self._writes = 0
            self._last_purge = mono
            await conn.execute(_PURGE, {"now": now})

    @staticmethod
    def _expiry(ttl: float | None, now: float) -> float | None:
        ttl = check_ttl(ttl)
        return None if ttl is None else now + ttl

    # -- Storage ---------------------------------------------------------------------------

    async def get(self, key: str) -> Any | None:
        conn = await self._db()
        rows = list(await conn.execute_fetchall(_GET, {"key": key, "now": time.time()}))
        return decode(rows[0][0]) if rows else None

    def get_blocking(self, key: str) -> Any | None:
        """``get`` on the calling thread, through a second connection that only reads.

        For a cache in front of this store (``WriteBehindStorage``): a primary-key lookup in
        a WAL file takes ~10 µs, a round trip through aiosqlite's thread ~70 µs of CPU and a
        suspension. It blocks the event loop for the lookup, and never for a lock: WAL readers
        do not wait for writers, and a busy file raises at once (busy_timeout 0). Raises
        ``sqlite3.Error`` or ``RuntimeError`` when it cannot read (before the async connection
        has created the schema; ``:memory:``, which a second connection cannot see; after
        ``close()``): then use ``get``. It sees what the async connection has committed.
        """
        reader = self._reader
        if reader is None:
            if self._closed or self._conn is None or self.path == ":memory:":
                raise RuntimeError("no blocking reads now; use get()")
            reader = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            reader.execute("PRAGMA busy_timeout = 0")
            reader.execute("PRAGMA query_only = 1")
            self._reader = reader
        row = reader.execute(_GET, {"key": key, "now": time.time()}).fetchone()
        return None if row is None else decode(row[0])

    async def set(self, key: str, value: Any, ttl: float | None = None) -> None:
        now = time.time()
        params = {"key": key, "value": encode(value), "exp": self._expiry(ttl, now)}
        conn = await self._db()
        await conn.execute_fetchall(_SET, params)
        await self._after_write(conn, now)

    async def add(self, key: str, value: Any, ttl: float | None = None) -> bool:
        now = time.time()
        params = {"key": key, "value": encode(value), "exp": self._expiry(ttl, now), "now": now}
        conn = await self._db()
        rows = list(await conn.execute_fetchall(_ADD, params))
        if rows:
            await self._after_write(conn, now)
        return bool(rows)

    async def write_batch(self, rows: Sequence[BatchRow]) -> None:
        """One multi-row upsert per 300 rows (one transaction each); later rows win."""
        if not rows:
            return
        conn = await self._db()
        for start in range(0, len(rows), _BATCH_ROWS):
            chunk = rows[start : start + _BATCH_ROWS]
            params: list[str | float | None] = []
            for key, text, expires_at in chunk:
                if text is None:
                    params += (key, "null", 0.0)
                else:
                    params += (key, text, expires_at)
            sql = _SET_MANY.format(rows=", ".join([_SET_ROW] * len(chunk)))
            await conn.execute_fetchall(sql, params)
        await self._after_write(conn, time.time(), len(rows))

    async def delete(self, key: str) -> None:
        conn = await self._db()
        await conn.execute_fetchall(_DELETE, {"key": key})

    async def delete_prefix(self, prefix: str) -> int:
        now = time.time()
        # A key range instead of LIKE: no wildcard escaping, case-sensitive (SQLite's LIKE
        # is not), and it walks the primary-key index. Expired rows go too but aren't counted.
        upper = prefix_upper_bound(prefix)
        where = "key >= :lo" if upper is None else "key >= :lo AND key < :hi"
        # Liveness is judged in Python: SQLite 3.40 evaluates `expires_at IS NULL` inside a
        # DELETE's RETURNING clause as NULL, so the column itself is returned instead.
        sql = f"DELETE FROM kv WHERE {where} RETURNING expires_at"
        conn = await self._db()
        rows = await conn.execute_fetchall(sql, {"lo": prefix, "hi": upper})
        return sum(1 for (exp,) in rows if exp is None or exp > now)

    async def incr(self, key: str, amount: int = 1, ttl: float | None = None) -> int:
        check_amount(amount)
        now = time.time()
        params = {"key": key, "amount": amount, "exp": self._expiry(ttl, now), "now": now}
        conn = await self._db()
        try:
            rows = list(await conn.execute_fetchall(_INCR, params))
        except sqlite3.IntegrityError as exc:
            raise ValueError(f"value at {key!r} is not an integer counter") from exc
        await self._after_write(conn, now)
        return int(rows[0][0])

    async def ping(self) -> bool:
        try:
            conn = await self._db()
            await conn.execute_fetchall("SELECT 1")
        except Exception:
            return False
        return True

    async def close(self) -> None:
        self._closed = True
        async with self._init_lock:
            conn, self._conn = self._conn, None
        reader, self._reader = self._reader, None
        if reader is not None:
            reader.close()
        if conn is not None:
            await conn.close()
