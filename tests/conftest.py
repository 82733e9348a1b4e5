"""Shared pytest fixtures, one clearly marked section per area; append new sections below."""

from __future__ import annotations

# =============================================================================================
# Storage backends (bot/storage). Options, reachability, and the `make_storage` factory that
# the contract tests run over every backend. Redis/Postgres are skipped when unreachable, but
# FAIL when CI=true so a misconfigured pipeline cannot silently skip them.
# =============================================================================================
import os
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

import pytest

from bot.storage import MemoryStorage, Storage, open_storage

if TYPE_CHECKING:
    from bot.pipeline import Pipeline

# "routed": per-message keys in memory, the rest in SQLite (the default single worker);
# "fallback-*": the server store behind FallbackStorage, as the app opens it (bot/storage/tiered).
STORAGE_BACKENDS = (
    "memory", "sqlite", "redis", "postgres", "routed", "fallback-redis", "fallback-postgres"
)  # fmt: skip
MakeStorage = Callable[[], Awaitable[Storage]]

_unreachable: dict[str, str] = {}  # url -> reason, so a dead server costs one timeout per run


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("storage", "storage backend servers")
    group.addoption(
        "--redis-url",
        default=os.environ.get("REDIS_URL_TEST", "redis://127.0.0.1:6379/15"),
        help="Redis for storage tests (env REDIS_URL_TEST); keys go under a per-test prefix",
    )
    group.addoption(
        "--postgres-url",
        default=os.environ.get("POSTGRES_URL_TEST", "postgresql://postgres@127.0.0.1:5432/test"),
        help="PostgreSQL for storage tests (env POSTGRES_URL_TEST); uses kv_test_* tables",
    )


def _backend_unavailable(reason: str) -> NoReturn:
    if os.environ.get("CI", "").lower() in ("true", "1"):
        pytest.fail(f"{reason} (CI=true, so this is a failure, not a skip)", pytrace=False)
    pytest.skip(reason)


async def _probe(backend: str, url: str, store: Storage) -> None:
    if url in _unreachable:
        await store.close()
        _backend_unavailable(_unreachable[url])
    if not await store.ping():
        await store.close()
        _unreachable[url] = f"{backend} not reachable at {url}"
        _backend_unavailable(_unreachable[url])


@pytest.fixture(params=STORAGE_BACKENDS)
def storage_backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
async def make_storage(
    storage_backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> AsyncIterator[MakeStorage]:
    """Factory: every call opens another store on the SAME data (file, Redis prefix, table).

    Memory stores cannot share data, so each call there gives an independent store. Data is
    private to the test (tmp file, random Redis prefix, random Postgres table) and removed
    afterwards; every store opened is closed.
    """
    token = uuid.uuid4().hex[:12]
    kind = storage_backend.removeprefix("fallback-")
    if storage_backend == "memory":
        url = "memory://"
    elif storage_backend in ("sqlite", "routed"):
        url = f"sqlite:///{tmp_path}/nested/dir/store.sqlite3"  # absolute: four slashes
    elif kind == "redis":
        base = str(request.config.getoption("--redis-url"))
        url = f"{base}{'&' if '?' in base else '?'}prefix=yb:test:{token}:"
    else:
        base = str(request.config.getoption("--postgres-url"))
        url = f"{base}{'&' if '?' in base else '?'}table=kv_test_{token}"

    opened: list[Storage] = []

    async def make() -> Storage:
        try:
            store = open_storage(url)
        except RuntimeError as exc:  # optional driver not installed
            _backend_unavailable(str(exc))
        if not opened and kind in ("redis", "postgres"):
            await _probe(kind, url.partition("?")[0], store)
        if storage_backend == "routed":
            from bot.storage.tiered import RoutedStorage

            store = RoutedStorage(MemoryStorage(), store)
        elif storage_backend.startswith("fallback-"):
            from bot.storage.tiered import FallbackStorage

            store = FallbackStorage(store, kind)
        opened.append(store)
        return store

    yield make

    if opened and kind == "redis":
        cleaner = open_storage(url)
        await cleaner.delete_prefix("")
        await cleaner.close()
    for store in opened:
        await store.close()
    if opened and kind == "postgres":
        import asyncpg

        conn = await asyncpg.connect(url.partition("?")[0])
        try:
            await conn.execute(f'DROP TABLE IF EXISTS "kv_test_{token}"')
            await conn.execute(
                "DELETE FROM storage_schema_version WHERE tbl = $1", f"kv_test_{token}"
            )
        finally:
            await conn.close()


# =============================================================================================
# The whole pipeline on in-memory storage, as a chat user meets it (the reply and dialog tests).
# `bot` and `pipeline` are the same fixture under the two names the test files grew up with.
# =============================================================================================


@pytest.fixture
async def pipeline() -> AsyncIterator[Pipeline]:
    from bot.pipeline import Pipeline as _Pipeline
    from bot.settings import Settings

    storage = open_storage("memory://")
    yield _Pipeline(Settings(), storage)
    await storage.close()


@pytest.fixture
def bot(pipeline: Pipeline) -> Pipeline:
    return pipeline
