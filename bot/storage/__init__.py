"""Storage backends behind one interface; pick one with ``open_storage(url)``.

==========================================  ==========================================
URL                                         backend
==========================================  ==========================================
``memory://``                               :class:`MemoryStorage` (tests, one process)
``sqlite:///var/bot.sqlite3``               SQLite, path relative to the working dir
``sqlite:////abs/path.sqlite3``             SQLite, absolute path
``sqlite://:memory:``                       SQLite in RAM (one connection only)
``redis://host:6379/0?prefix=yb:``          Redis (our own client, no extra)
``postgresql://user@host/db?table=kv``      PostgreSQL (extra ``[postgres]``)
==========================================  ==========================================

``open_storage`` is synchronous and cheap: SQL/Redis backends connect (and create their
schema) lazily on first use, so it can be called while building the app outside a running
loop. Call ``await store.ping()`` at startup to fail fast on a bad URL or unreachable server.
Backend modules are imported on demand so a fresh install without the optional drivers
(extra ``[postgres]``) still works with memory and SQLite.
"""

from __future__ import annotations

from bot.storage.base import Storage
from bot.storage.memory import MemoryStorage

__all__ = ["MemoryStorage", "Storage", "open_storage"]


def open_storage(url: str) -> Storage:
    """Return the store named by ``url`` (see the module docstring for the URL forms)."""
    scheme, sep, _ = url.partition("://")
    if not sep:
        raise ValueError(f"storage URL needs a scheme, e.g. sqlite:///var/bot.sqlite3: {url!r}")
    scheme = scheme.lower()
    if scheme == "memory":
        return MemoryStorage.from_url(url)
    if scheme == "sqlite":
        from bot.storage.sqlite import SQLiteStorage

        return SQLiteStorage.from_url(url)
    if scheme in ("redis", "rediss", "unix"):
        from bot.storage.redis import RedisStorage

        return RedisStorage.from_url(url)
    if scheme in ("postgresql", "postgres"):
        from bot.storage.postgres import PostgresStorage

        return PostgresStorage.from_url(url)
    raise ValueError(
        f"unknown storage scheme {scheme!r}; use memory://, sqlite:///, redis:// or postgresql://"
    )
