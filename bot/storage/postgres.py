"""PostgreSQL storage (extra ``[postgres]``) on an asyncpg pool.

Each operation is one statement, so ``add``/``incr`` are atomic through ``INSERT … ON
CONFLICT`` row locking across any number of processes. Expiry uses the *server* clock
(``clock_timestamp()``), so bot hosts with skewed clocks still agree on what has expired.
"""

from __future__ import annotations

import asyncio
import re
import time
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from bot.storage._codec import check_amount, check_ttl, decode, encode
from bot.storage.base import Storage

if TYPE_CHECKING:
    import asyncpg

__all__ = ["PostgresStorage", "escape_like"]

SCHEMA_VERSION = 1
DEFAULT_TABLE = "kv"
_IDENT = re.compile(r"[a-z_][a-z0-9_]{0,50}\Z")
# Any constant works; it only has to be the same in every process creating the schema.
_SCHEMA_LOCK_ID = 0x7962_6B76  # "ybkv"

_PURGE_EVERY_WRITES = 1000
_PURGE_EVERY_SECONDS = 300.0


def escape_like(text: str) -> str:
    """Escape LIKE metacharacters (with ``\\`` as the escape) so ``text`` matches literally."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _import_asyncpg() -> Any:
    try:
        import asyncpg
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise RuntimeError(
            "postgresql:// storage needs asyncpg: pip install 'yibao-assistant[postgres]'"
        ) from exc
    return asyncpg


class PostgresStorage(Storage):
    """Key/value rows in one table (default ``kv``); pool and schema are created on first use."""

    def __init__(
        self, dsn: str, *, table: str = DEFAULT_TABLE, min_size: int = 1, max_size: int = 10
    ) -> None:
        if not _IDENT.match(table):
            raise ValueError(f"table name must be a lowercase SQL identifier: {table!r}")
        self.dsn = dsn
        self.table = table
        self.min_size = min_size
        self.max_size = max_size
        self._pool: asyncpg.Pool | None = None
        self._init_lock = asyncio.Lock()
        self._closed = False
        self._writes = 0
        self._last_purge = time.monotonic()
        self._sql = _statements(table)

    @classmethod
    def from_url(cls, url: str, *, table: str | None = None) -> PostgresStorage:
        """``postgresql://user[:pw]@host:port/db[?table=kv]`` (``postgres://`` too).

        ``table`` is ours and is stripped before the DSN reaches asyncpg, which would
        otherwise send it to the server as a run-time setting; the argument wins over it.
        """
        _import_asyncpg()
        parts = urlsplit(url)
        query = parse_qsl(parts.query, keep_blank_values=True)
        url_table = next((v for k, v in query if k == "table"), None)
        rest = [(k, v) for k, v in query if k != "table"]
        dsn = urlunsplit(parts._replace(query=urlencode(rest)))
        chosen = table if table is not None else url_table
        return cls(dsn, table=DEFAULT_TABLE if chosen is None else chosen)

    # -- connection ------------------------------------------------------------------------

    async def _get_pool(self) -> asyncpg.Pool:
        pool = self._pool
        if pool is not None:
            return pool
        if self._closed:
            raise RuntimeError("storage is closed")
        async with self._init_lock:
            if self._pool is None:
                if self._closed:
                    raise RuntimeError("storage is closed")
                self._pool = await self._connect()
            return self._pool

    async def _connect(self) -> asyncpg.Pool:
        driver = _import_asyncpg()
        pool: asyncpg.Pool = await driver.create_pool(
            self.dsn, min_size=self.min_size, max_size=self.max_size, timeout=10
        )
        try:
            async with pool.acquire() as conn, conn.transaction():
                # Serialise schema creation: concurrent CREATE TABLE IF NOT EXISTS can still
                # fail with a duplicate pg_type row when two processes start together.
                await conn.execute("SELECT pg_advisory_xact_lock($1)", _SCHEMA_LOCK_ID)
                for stmt in self._sql["schema"].split(";\n"):
                    await conn.execute(stmt)
                await conn.execute(
                    "INSERT INTO storage_schema_version (tbl, version) VALUES ($1, $2)"
                    " ON CONFLICT (tbl) DO NOTHING",
                    self.table,
                    SCHEMA_VERSION,
                )
                version = await conn.fetchval(
                    "SELECT version FROM storage_schema_version WHERE tbl = $1", self.table
                )
                if version > SCHEMA_VERSION:
                    raise RuntimeError(
                        f"table {self.table} has storage schema v{version}, newer than this "
                        f"code (v{SCHEMA_VERSION}); upgrade the bot"
                    )
                # Future migrations step up from `version` here, inside this transaction.
        except BaseException:
            await pool.close()
            raise
        return pool

    async def _after_write(self, pool: asyncpg.Pool) -> None:
        self._writes += 1
        mono = time.monotonic()
        if self._writes >= _PURGE_EVERY_WRITES or mono - self._last_purge >= _PURGE_EVERY_SECONDS:
            self._writes = 0
            self._last_purge = mono
            await pool.execute(self._sql["purge"])

    # -- Storage ---------------------------------------------------------------------------

    async def get(self, key: str) -> Any | None:
        pool = await self._get_pool()
        return decode(await pool.fetchval(self._sql["get"], key))

    async def set(self, key: str, value: Any, ttl: float | None = None) -> None:
        ttl = check_ttl(ttl)
        pool = await self._get_pool()
        await pool.execute(self._sql["set"], key, encode(value), ttl)
        await self._after_write(pool)

    async def add(self, key: str, value: Any, ttl: float | None = None) -> bool:
        ttl = check_ttl(ttl)
        pool = await self._get_pool()
        created = await pool.fetchval(self._sql["add"], key, encode(value), ttl) is not None
        if created:
            await self._after_write(pool)
        return created

    async def delete(self, key: str) -> None:
        pool = await self._get_pool()
        await pool.execute(self._sql["delete"], key)

    async def delete_prefix(self, prefix: str) -> int:
        pool = await self._get_pool()
        rows = await pool.fetch(self._sql["delete_prefix"], escape_like(prefix) + "%")
        return sum(1 for r in rows if r[0])

    async def incr(self, key: str, amount: int = 1, ttl: float | None = None) -> int:
        check_amount(amount)
        ttl = check_ttl(ttl)
        driver = _import_asyncpg()
        pool = await self._get_pool()
        try:
            raw = await pool.fetchval(self._sql["incr"], key, amount, ttl)
        except driver.DataError as exc:  # text→bigint cast failed or overflowed
            raise ValueError(f"value at {key!r} is not an integer counter") from exc
        await self._after_write(pool)
        return int(raw)

    async def ping(self) -> bool:
        try:
            pool = await self._get_pool()
            return bool(await pool.fetchval("SELECT 1", timeout=5) == 1)
        except Exception:
            return False

    async def close(self) -> None:
        self._closed = True
        async with self._init_lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            try:
                await asyncio.wait_for(pool.close(), timeout=10)
            except TimeoutError:
                pool.terminate()  # a stuck query must not block shutdown forever


def _statements(table: str) -> dict[str, str]:
    t = f'"{table}"'  # validated identifier; quoted anyway so reserved words are harmless
    live = f"({t}.expires_at IS NULL OR {t}.expires_at > clock_timestamp())"
    dead = f"({t}.expires_at IS NOT NULL AND {t}.expires_at <= clock_timestamp())"
    # NULL ttl → NULL expires_at (no expiry) falls out of NULL arithmetic.
    exp = "clock_timestamp() + $3::float8 * interval '1 second'"
    upsert = (
        f"INSERT INTO {t} (key, value, expires_at) VALUES ($1, $2, {exp})"
        " ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, expires_at = EXCLUDED.expires_at"
    )
    return {
        # COLLATE "C": byte order, so LIKE 'prefix%' can use the primary-key b-tree and
        # ordering never depends on the server's locale.
        "schema": (
            f'CREATE TABLE IF NOT EXISTS {t} (key TEXT COLLATE "C" PRIMARY KEY,'
            " value TEXT NOT NULL, expires_at TIMESTAMPTZ);\n"
            f'CREATE INDEX IF NOT EXISTS "{table}_expires_at" ON {t} (expires_at)'
            " WHERE expires_at IS NOT NULL;\n"
            "CREATE TABLE IF NOT EXISTS storage_schema_version"
            " (tbl TEXT PRIMARY KEY, version INTEGER NOT NULL)"
        ),
        "get": f"SELECT value FROM {t} WHERE key = $1 AND {live}",
        "set": upsert,
        # The update fires only over an expired row: atomic "set if absent".
        "add": f"{upsert} WHERE {dead} RETURNING 1",
        "incr": (
            f"INSERT INTO {t} (key, value, expires_at) VALUES ($1, $2::bigint::text, {exp})"
            f" ON CONFLICT (key) DO UPDATE SET"
            f" value = CASE WHEN {dead} THEN EXCLUDED.value"
            f"  ELSE ({t}.value::bigint + $2::bigint)::text END,"
            f" expires_at = CASE WHEN {dead} THEN EXCLUDED.expires_at ELSE {t}.expires_at END"
            " RETURNING value"
        ),
        "delete": f"DELETE FROM {t} WHERE key = $1",
        "delete_prefix": f"DELETE FROM {t} WHERE key LIKE $1 ESCAPE '\\' RETURNING {live}",
        "purge": f"DELETE FROM {t} WHERE expires_at <= clock_timestamp()",
    }
