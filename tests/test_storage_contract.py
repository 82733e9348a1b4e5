"""One behavioural contract, run unchanged over every storage backend (aiogram style).

Redis and Postgres run against real servers (see ``--redis-url`` / ``--postgres-url`` in
conftest); they are skipped when unreachable locally and fail under CI=true.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import textwrap
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from conftest import STORAGE_BACKENDS

from bot.storage import MemoryStorage, Storage, open_storage
from bot.storage._codec import prefix_upper_bound
from bot.storage.cached import WriteBehindStorage
from bot.storage.sqlite import SQLiteStorage
from bot.storage.tiered import open_app_storage

MakeStorage = Callable[[], Awaitable[Storage]]  # the `make_storage` fixture (tests/conftest.py)

TTL = 0.2
PAST_TTL = 0.35  # generous margin so a loaded CI box does not flake

WILDCARD_KEYS = [
    "a%b:1", "a%bc", "a_b:1", "axb:1", "a*b:1", "a?b", "a[b]:1", "ab:1", "A%B:1",
    "a\\b:1", "a\\\\b", "a^b", "a-b", "a%", "a", "b%b",
]  # fmt: skip
UNICODE_KEYS = [
    "conv:用户😀:状态", "conv:用户😀", "conv:用户", "conv:用戸", "dedup:msg id\n1",
    "ключ:1", "\u00e9t\u00e9", "e\u0301te", "z\U0010ffff", "z\U0010ffff\U0010ffffx", "z",
    "\ud7ff:a", "\ue000:a",
]  # fmt: skip


# Stores that share data between instances (memory stores are per-instance by design, so
# the cross-instance tests run on the others only).
SHARED = pytest.mark.parametrize(
    "storage_backend",
    ["sqlite", "redis", "postgres", "fallback-redis", "fallback-postgres"],
    indirect=True,
)


# Stores built here on top of conftest's: "write-behind" is the conversation cache over SQLite,
# caching every key in an LRU of 4 so most writes are evicted while still pending;
# "app-sqlite" is what the default single worker opens (open_app_storage): retry claims and
# other hot keys in bounded memory stores, conv: write-behind, the rest straight to SQLite.
LOCAL_BACKENDS = ("write-behind", "app-sqlite")


@pytest.fixture(params=(*STORAGE_BACKENDS, *LOCAL_BACKENDS))
def storage_backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
async def make_storage(
    storage_backend: str, make_storage: MakeStorage, tmp_path: Path
) -> AsyncIterator[MakeStorage]:
    if storage_backend not in LOCAL_BACKENDS:
        yield make_storage  # conftest's
        return
    url = f"sqlite:///{tmp_path}/local/store.sqlite3"
    opened: list[Storage] = []

    async def make() -> Storage:
        store: Storage
        if storage_backend == "write-behind":
            store = WriteBehindStorage(SQLiteStorage.from_url(url), max_entries=4, batch_size=16)
        else:
            store = open_app_storage(url, hot_keys_max=1000, conversation_cache=4)
        opened.append(store)
        return store

    yield make
    for store in opened:
        await store.close()


class TestStorageContract:
    # -- basic get/set/delete ----------------------------------------------------------

    async def test_get_missing_is_none(self, make_storage: MakeStorage) -> None:
        store = await make_storage()
        assert await store.get("nope") is None

    @pytest.mark.parametrize(
        "value",
        [
            {"step": "city", "slots": {"城市": "上海", "n": [1, 2.5, True, None]}},
            ["a", 1, 0.1, False],
            '文本 with "quotes" and \\ and \n',
            "",
            0,
            -7,
            2**62,
            3.25,
            True,
            False,
            {},
            [],
        ],
        ids=lambda v: type(v).__name__ + ":" + repr(v)[:20],
    )
    async def test_json_round_trip(self, make_storage: MakeStorage, value: Any) -> None:
        store = await make_storage()
        await store.set("k", value)
        got = await store.get("k")
        assert got == value
        assert type(got) is type(value)

    async def test_returned_values_are_copies_and_tuples_become_lists(
        self, make_storage: MakeStorage
    ) -> None:
        store = await make_storage()
        original = {"items": (1, 2)}
        await store.set("k", original)
        got = await store.get("k")
        assert got == {"items": [1, 2]}
        got["items"].append(3)
        assert await store.get("k") == {"items": [1, 2]}

    async def test_unserialisable_value_raises(self, make_storage: MakeStorage) -> None:
        store = await make_storage()
        with pytest.raises((TypeError, ValueError)):
            await store.set("k", {1, 2})
        with pytest.raises(ValueError):
            await store.set("k", float("nan"))
        assert await store.get("k") is None

    async def test_set_overwrites(self, make_storage: MakeStorage) -> None:
        store = await make_storage()
        await store.set("k", 1)
        await store.set("k", {"v": 2})
        assert await store.get("k") == {"v": 2}

    async def test_delete(self, make_storage: MakeStorage) -> None:
        store = await make_storage()
        await store.set("k", 1)
        await store.set("k2", 2)
        await store.delete("k")
        await store.delete("never-existed")
        assert await store.get("k") is None
        assert await store.get("k2") == 2

    async def test_none_value_caveat(self, make_storage: MakeStorage) -> None:
        # Documented: a stored None reads back like an absent key but still occupies it.
        store = await make_storage()
        await store.set("k", None)
        assert await store.get("k") is None
        assert await store.add("k", 1) is False

    # -- TTL ---------------------------------------------------------------------------

    async def test_ttl_expiry(self, make_storage: MakeStorage) -> None:
        store = await make_storage()
        await store.set("short", "v", ttl=TTL)
        await store.set("long", "v", ttl=60)
        await store.set("forever", "v")
        assert await store.get("short") == "v"
        await asyncio.sleep(PAST_TTL)
        assert await store.get("short") is None
        assert await store.get("long") == "v"
        assert await store.get("forever") == "v"

    async def test_set_without_ttl_clears_previous_ttl(self, make_storage: MakeStorage) -> None:
        store = await make_storage()
        await store.set("k", 1, ttl=TTL)
        await store.set("k", 2)
        await asyncio.sleep(PAST_TTL)
        assert await store.get("k") == 2

    async def test_expired_key_is_absent_for_add_and_incr(self, make_storage: MakeStorage) -> None:
        store = await make_storage()
        await store.set("a", "old", ttl=TTL)
        await store.set("c", 41, ttl=TTL)
        await store.set("t", "not a number", ttl=TTL)
        await asyncio.sleep(PAST_TTL)
        assert await store.add("a", "new") is True
        assert await store.get("a") == "new"
        assert await store.incr("c") == 1
        assert await store.incr("t", 5) == 5  # a dead value need not be an integer

    @pytest.mark.parametrize("ttl", [0, -1, float("inf"), float("nan")])
    async def test_invalid_ttl_rejected(self, make_storage: MakeStorage, ttl: float) -> None:
        store = await make_storage()
        with pytest.raises(ValueError):
            await store.set("k", 1, ttl=ttl)
        with pytest.raises(ValueError):
            await store.add("k", 1, ttl=ttl)
        with pytest.raises(ValueError):
            await store.incr("k", 1, ttl=ttl)
        assert await store.get("k") is None

    async def test_fractional_ttl_is_not_truncated_to_zero(
        self, make_storage: MakeStorage
    ) -> None:
        store = await make_storage()
        await store.set("k", 1, ttl=0.0004)
        await asyncio.sleep(0.05)
        assert await store.get("k") is None
        await store.set("k", 1, ttl=1.5)
        await asyncio.sleep(0.05)
        assert await store.get("k") == 1

    # -- add ---------------------------------------------------------------------------

    async def test_add_only_when_absent(self, make_storage: MakeStorage) -> None:
        store = await make_storage()
        assert await store.add("k", "first", ttl=60) is True
        assert await store.add("k", "second") is False
        assert await store.get("k") == "first"

    async def test_add_concurrent_exactly_one_wins(self, make_storage: MakeStorage) -> None:
        store = await make_storage()
        results = await asyncio.gather(*(store.add("dedup:1", i, ttl=60) for i in range(20)))
        assert results.count(True) == 1
        assert await store.get("dedup:1") == results.index(True)

    @SHARED
    async def test_add_concurrent_across_instances(
        self, make_storage: MakeStorage, storage_backend: str
    ) -> None:
        a, b = await make_storage(), await make_storage()
        for round_ in range(5):
            key = f"dedup:{round_}"
            calls = [(a if i % 2 else b).add(key, i, ttl=60) for i in range(20)]
            results = await asyncio.gather(*calls)
            assert results.count(True) == 1, results
            assert await a.get(key) == await b.get(key) == results.index(True)

    async def test_add_race_on_expired_key(self, make_storage: MakeStorage) -> None:
        store = await make_storage()
        await store.set("k", "old", ttl=TTL)
        await asyncio.sleep(PAST_TTL)
        results = await asyncio.gather(*(store.add("k", i) for i in range(20)))
        assert results.count(True) == 1

    # -- incr --------------------------------------------------------------------------

    async def test_incr(self, make_storage: MakeStorage) -> None:
        store = await make_storage()
        assert await store.incr("n") == 1
        assert await store.incr("n", 10) == 11
        assert await store.incr("n", -20) == -9
        assert await store.get("n") == -9
        await store.set("m", 5)
        assert await store.incr("m", 2) == 7

    async def test_incr_ttl_applies_on_creation_only(self, make_storage: MakeStorage) -> None:
        store = await make_storage()
        assert await store.incr("rate", ttl=TTL) == 1
        assert await store.incr("rate", ttl=60) == 2  # must not extend the window
        assert await store.incr("rate") == 3
        await asyncio.sleep(PAST_TTL)
        assert await store.get("rate") is None
        assert await store.incr("rate", ttl=60) == 1

    @pytest.mark.parametrize("value", ["text", 1.5, True, {"n": 1}, [1]])
    async def test_incr_non_integer_raises(self, make_storage: MakeStorage, value: Any) -> None:
        store = await make_storage()
        await store.set("k", value, ttl=60)
        with pytest.raises(ValueError):
            await store.incr("k")
        with pytest.raises(ValueError):
            await store.incr("k", ttl=60)
        assert await store.get("k") == value

    async def test_incr_concurrent(self, make_storage: MakeStorage) -> None:
        store = await make_storage()
        results = await asyncio.gather(*(store.incr("n", 2, ttl=60) for _ in range(50)))
        assert sorted(results) == list(range(2, 101, 2))
        assert await store.get("n") == 100

    @SHARED
    async def test_incr_concurrent_across_instances(
        self, make_storage: MakeStorage, storage_backend: str
    ) -> None:
        stores = [await make_storage() for _ in range(3)]
        calls = [stores[i % 3].incr("n", 1, ttl=60) for i in range(60)]
        results = await asyncio.gather(*calls)
        assert sorted(results) == list(range(1, 61))
        assert await stores[0].get("n") == 60

    # -- delete_prefix -----------------------------------------------------------------

    @pytest.mark.parametrize("prefix", ["a%b", "a_b", "a*b", "a?b", "a[b]", "a\\b", "a%", "a", ""])
    async def test_delete_prefix_is_literal(self, make_storage: MakeStorage, prefix: str) -> None:
        store = await make_storage()
        for key in WILDCARD_KEYS:
            await store.set(key, key)
        doomed = {k for k in WILDCARD_KEYS if k.startswith(prefix)}
        assert await store.delete_prefix(prefix) == len(doomed)
        for key in WILDCARD_KEYS:
            assert await store.get(key) == (None if key in doomed else key), key

    @pytest.mark.parametrize("prefix", ["conv:用户", "conv:用户😀", "z\U0010ffff", "z", "\ud7ff"])
    async def test_unicode_keys(self, make_storage: MakeStorage, prefix: str) -> None:
        store = await make_storage()
        for key in UNICODE_KEYS:
            await store.set(key, {"k": key})
        for key in UNICODE_KEYS:
            assert await store.get(key) == {"k": key}
        doomed = {k for k in UNICODE_KEYS if k.startswith(prefix)}
        assert await store.delete_prefix(prefix) == len(doomed)
        for key in UNICODE_KEYS:
            assert await store.get(key) == (None if key in doomed else {"k": key}), key

    async def test_delete_prefix_counts_only_live_keys(self, make_storage: MakeStorage) -> None:
        store = await make_storage()
        await store.set("u:1", 1)
        await store.set("u:2", 2, ttl=TTL)
        await store.set("v:1", 3)
        await asyncio.sleep(PAST_TTL)
        assert await store.delete_prefix("u:") == 1
        assert await store.get("v:1") == 3
        assert await store.delete_prefix("u:") == 0

    async def test_delete_prefix_many_keys(self, make_storage: MakeStorage) -> None:
        store = await make_storage()
        await asyncio.gather(*(store.set(f"bulk:{i}", i) for i in range(1200)))
        await store.set("bulky", 1)
        assert await store.delete_prefix("bulk:") == 1200
        assert await store.get("bulky") == 1

    # -- lifecycle ---------------------------------------------------------------------

    async def test_ping(self, make_storage: MakeStorage) -> None:
        store = await make_storage()
        assert await store.ping() is True

    async def test_close(self, make_storage: MakeStorage) -> None:
        store = await make_storage()
        await store.set("k", 1)
        await store.close()
        assert await store.ping() is False
        with pytest.raises(RuntimeError):
            await store.get("k")
        await store.close()  # idempotent

    @SHARED
    async def test_data_persists_across_instances(
        self, make_storage: MakeStorage, storage_backend: str
    ) -> None:
        first = await make_storage()
        await first.set("conv:u", {"step": 2}, ttl=60)
        await first.close()
        second = await make_storage()
        assert await second.get("conv:u") == {"step": 2}


# -- URL dispatch and helpers (backend-independent) ----------------------------------------


def test_open_storage_memory() -> None:
    assert isinstance(open_storage("memory://"), MemoryStorage)


@pytest.mark.parametrize("url", ["bogus://x", "no-scheme", "sqlite://", "sqlite://rel/path"])
def test_open_storage_rejects_bad_urls(url: str) -> None:
    with pytest.raises(ValueError):
        open_storage(url)


async def test_sqlite_relative_path_creates_parent_dirs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    store = open_storage("sqlite:///var/data/bot.sqlite3")
    try:
        await store.set("k", 1)
    finally:
        await store.close()
    assert (tmp_path / "var" / "data" / "bot.sqlite3").is_file()


@pytest.mark.parametrize("url", ["sqlite://:memory:", "sqlite:///:memory:"])
async def test_sqlite_in_memory(url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    store = open_storage(url)
    try:
        assert await store.add("k", 1) is True
        assert await store.get("k") == 1
    finally:
        await store.close()
    assert list(tmp_path.iterdir()) == []


def test_sqlite_atomic_across_processes(tmp_path: Path) -> None:
    # Separate interpreters, not just connections: the guarantee multi-worker deployments
    # rely on. Every process also races to create the schema on the fresh file.
    url = f"sqlite:///{tmp_path}/shared.sqlite3"
    script = textwrap.dedent(
        f"""
        import asyncio
        from bot.storage import open_storage

        async def main() -> None:
            store = open_storage({url!r})
            wins = 0
            for i in range(40):
                await store.incr("n")
                wins += await store.add(f"d:{{i}}", 1)
            await store.close()
            print(wins)

        asyncio.run(main())
        """
    )
    root = Path(__file__).resolve().parents[1]
    procs = [
        subprocess.Popen([sys.executable, "-c", script], cwd=root, stdout=subprocess.PIPE)
        for _ in range(4)
    ]
    wins = []
    for proc in procs:
        out, _ = proc.communicate(timeout=60)
        assert proc.returncode == 0
        wins.append(int(out))
    assert sum(wins) == 40

    async def total() -> object:
        store = open_storage(url)
        try:
            return await store.get("n")
        finally:
            await store.close()

    assert asyncio.run(total()) == 160


def test_redis_prefix_from_url() -> None:
    from bot.storage.redis import RedisStorage

    assert RedisStorage.from_url("redis://127.0.0.1:1/0").prefix == "yb:"
    assert RedisStorage.from_url("redis://127.0.0.1:1/0?prefix=x:").prefix == "x:"
    assert RedisStorage.from_url("redis://127.0.0.1:1/0?prefix=x:", prefix="y:").prefix == "y:"


def test_postgres_table_from_url() -> None:
    pytest.importorskip("asyncpg")
    from bot.storage.postgres import PostgresStorage

    store = PostgresStorage.from_url("postgres://u@h/db?table=kv_a&sslmode=disable")
    assert store.table == "kv_a"
    assert "table=" not in store.dsn and "sslmode=disable" in store.dsn
    with pytest.raises(ValueError):
        PostgresStorage.from_url("postgresql://u@h/db?table=kv;drop")


async def test_unreachable_server_pings_false() -> None:
    store = open_storage("redis://127.0.0.1:1/0")
    try:
        assert await store.ping() is False
    finally:
        await store.close()


@pytest.mark.parametrize("prefix", ["", "a", "ab\U0010ffff", "\U0010ffff", "\ud7ff", "用户"])
def test_prefix_upper_bound(prefix: str) -> None:
    upper = prefix_upper_bound(prefix)
    probes = [prefix + s for s in ["", "\x00", "z", "\U0010ffff" * 3]] + ["", "a", "用户", "zz"]
    for probe in probes:
        inside = probe >= prefix and (upper is None or probe < upper)
        assert inside == probe.startswith(prefix), (prefix, probe)
