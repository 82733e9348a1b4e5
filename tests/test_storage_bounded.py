"""The default worker's bounded in-process state: the capped memory store, the write-behind
conversation cache over SQLite, and how ``open_app_storage`` puts them together.

Everything runs on real SQLite files; a "failing" SQLite is a real one whose write lock another
connection holds. No test asserts a duration: waits poll for a state with a generous cap.
"""

from __future__ import annotations

import asyncio
import logging
import random
import sqlite3
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from bot.settings import Settings
from bot.storage import MemoryStorage, Storage
from bot.storage.base import BatchRow
from bot.storage.cached import WriteBehindStorage
from bot.storage.sqlite import SQLiteStorage
from bot.storage.tiered import CONVERSATION_CACHE, HOT_KEYS_MAX, open_app_storage

NEVER = 3600.0  # a flush interval no test lives to see: only batches, flush() and close() write


async def eventually(check: Callable[[], Awaitable[bool]], limit: float = 20.0) -> None:
    """Poll ``check`` until it holds; fail after ``limit`` seconds (a cap, not a timing)."""
    give_up = time.monotonic() + limit
    while not await check():
        assert time.monotonic() < give_up, "condition never held"
        await asyncio.sleep(0.02)


def rows_in_file(path: Path) -> dict[str, tuple[str, float | None]]:
    """Every row of the kv table (none before it exists), read with a separate connection."""
    conn = sqlite3.connect(path)
    try:
        rows = conn.execute("SELECT key, value, expires_at FROM kv").fetchall()
    except sqlite3.OperationalError:  # no such table (yet)
        return {}
    finally:
        conn.close()
    return {k: (v, e) for k, v, e in rows}


def live_in_file(path: Path) -> dict[str, str]:
    now = time.time()
    return {k: v for k, (v, e) in rows_in_file(path).items() if e is None or e > now}


class CountingSQLite(SQLiteStorage):
    """Real SQLite, counting the reads that reach it (either way)."""

    gets = 0

    async def get(self, key: str) -> Any | None:
        self.gets += 1
        return await super().get(key)

    def get_blocking(self, key: str) -> Any | None:
        self.gets += 1
        return super().get_blocking(key)


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "bot.sqlite3"


@pytest.fixture
async def stores() -> AsyncIterator[list[Storage]]:
    """Stores a test opens; all closed at the end (closing twice is fine)."""
    opened: list[Storage] = []
    yield opened
    for store in opened:
        await store.close()


# =============================================================================================
# MemoryStorage(max_keys=…)
# =============================================================================================


async def test_memory_unbounded_by_default() -> None:
    store = MemoryStorage()
    for i in range(3000):
        await store.add(f"dedup:{i}", {"at": 1}, ttl=300)
    assert len(store) == 3000
    assert store.evictions == 0


@pytest.mark.parametrize("bad", [0, -1, True])
def test_memory_max_keys_must_be_positive(bad: int) -> None:
    with pytest.raises(ValueError):
        MemoryStorage(max_keys=bad)


async def test_memory_bound_evicts_the_oldest_claims_first() -> None:
    store = MemoryStorage(max_keys=100)
    for i in range(1000):
        assert await store.add(f"dedup:{i}", {"at": i, "w": "me"}, ttl=300) is True
        assert len(store) <= 100
    # Equal TTLs: the soonest to expire are the oldest, so the newest 100 remain.
    for i in range(900):
        assert await store.get(f"dedup:{i}") is None
    for i in range(900, 1000):
        assert await store.get(f"dedup:{i}") == {"at": i, "w": "me"}
    assert store.evictions == 900


async def test_memory_bound_evicts_soonest_expiry_not_oldest() -> None:
    store = MemoryStorage(max_keys=3)
    await store.set("long", 1, ttl=600)
    await store.set("short", 2, ttl=30)
    await store.set("mid", 3, ttl=300)
    await store.set("new", 4, ttl=400)  # full: "short" goes, though "long" is older
    assert await store.get("short") is None
    assert [await store.get(k) for k in ("long", "mid", "new")] == [1, 3, 4]


async def test_memory_bound_never_evicts_the_key_being_written() -> None:
    store = MemoryStorage(max_keys=2)
    await store.set("a", 1, ttl=600)
    await store.set("b", 2, ttl=600)
    await store.set("brief", 3, ttl=5)  # expires soonest of all, yet it is what was written
    assert await store.get("brief") == 3
    assert len(store) == 2
    assert await store.add("briefer", 4, ttl=1) is True
    assert await store.get("briefer") == 4
    assert await store.get("brief") is None  # the soonest of the others made room
    assert len(store) == 2


async def test_memory_bound_keeps_permanent_keys() -> None:
    store = MemoryStorage(max_keys=3)
    for i in range(3):
        await store.set(f"perm:{i}", i)
    await store.set("ttl:0", "x", ttl=60)
    assert len(store) == 4  # only permanent keys to evict besides the new one: none goes
    await store.set("perm:3", 3)
    assert await store.get("ttl:0") is None  # a TTL key goes first
    for i in range(4):
        await store.set(f"perm:{i + 4}", i)  # only permanent keys left: the writes succeed
    for i in range(8):
        assert await store.get(f"perm:{i}") is not None
    assert len(store) == 8


async def test_memory_bound_overwrites_and_incr_do_not_evict() -> None:
    store = MemoryStorage(max_keys=2)
    await store.set("a", 1, ttl=60)
    await store.set("b", 2, ttl=30)
    assert await store.incr("n", ttl=90) == 1  # a new key: "b", the soonest to expire, goes
    assert await store.get("b") is None
    for i in range(100):  # rewriting existing keys adds none: nothing more goes
        await store.set("a", i, ttl=60)
        await store.incr("n")
    assert await store.get("a") == 99
    assert await store.get("n") == 101
    assert store.evictions == 1


async def test_memory_overwrites_keep_the_expiry_heap_bounded() -> None:
    store = MemoryStorage()
    for round_ in range(20):
        for i in range(200):
            await store.set(f"conv:{i}", {"round": round_}, ttl=60 + round_)
    assert len(store._expiries) <= 2 * len(store) + 1024
    for i in range(200):
        assert await store.get(f"conv:{i}") == {"round": 19}


async def test_memory_expiry_and_incr_window_with_bound() -> None:
    store = MemoryStorage(max_keys=50)
    assert await store.incr("rate", ttl=0.2) == 1
    assert await store.incr("rate", ttl=60) == 2  # the window does not move
    await store.set("gone", 1, ttl=0.2)
    await asyncio.sleep(0.35)
    for i in range(10):
        await store.set(f"k{i}", i, ttl=60)  # writes pop what expired
    assert await store.get("rate") is None
    assert await store.get("gone") is None
    assert await store.incr("rate", ttl=60) == 1
    assert store.evictions == 0


async def test_memory_equal_values_share_one_string() -> None:
    store = MemoryStorage()
    for i in range(5):
        await store.add(f"dedup:{i}", {"at": 1, "w": "host:1:abc"}, ttl=300)
    texts = {id(store._queued[f"dedup:{i}"]) for i in range(5)}
    assert len(texts) == 1
    assert await store.get("dedup:4") == {"at": 1, "w": "host:1:abc"}


# =============================================================================================
# write_batch: SQLite's one-statement override and the generic default
# =============================================================================================


@pytest.fixture(params=["sqlite", "memory"])
async def batch_store(request: pytest.FixtureRequest, db: Path) -> AsyncIterator[Storage]:
    store: Storage = SQLiteStorage(str(db)) if request.param == "sqlite" else MemoryStorage()
    yield store
    await store.close()


async def test_write_batch_semantics(batch_store: Storage) -> None:
    now = time.time()
    await batch_store.set("gone", 1)
    await batch_store.set("old", "live", ttl=60)
    rows: list[BatchRow] = [
        ("a", '{"x":[1,2]}', None),
        ("b", '"b"', now + 60),
        ("a", "3", None),  # later rows win
        ("gone", None, None),  # deletion
        ("old", '"dead"', now - 1),  # a deadline already past: absent
        ("never", None, None),  # deleting an absent key is fine
    ]
    await batch_store.write_batch(rows)
    assert await batch_store.get("a") == 3
    assert await batch_store.get("b") == "b"
    assert await batch_store.get("gone") is None
    assert await batch_store.get("old") is None
    assert await batch_store.add("gone", 2) is True
    assert await batch_store.add("old", 2) is True
    assert await batch_store.incr("never") == 1
    assert await batch_store.delete_prefix("") == 5  # a, b, gone, old, never


async def test_write_batch_many_rows_and_deadlines(db: Path) -> None:
    store = SQLiteStorage(str(db))
    try:
        deadline = time.time() + 100
        rows: list[BatchRow] = [(f"k:{i}", str(i), deadline) for i in range(1000)]
        await store.write_batch(rows)
        assert await store.get("k:999") == 999
        assert await store.delete_prefix("k:") == 1000
        await store.write_batch([("k:1", "1", deadline)])
        assert rows_in_file(db)["k:1"] == ("1", deadline)  # absolute: exactly as given
    finally:
        await store.close()


# =============================================================================================
# WriteBehindStorage over SQLite
# =============================================================================================


def write_behind(db: Path, **kwargs: Any) -> WriteBehindStorage:
    options: dict[str, Any] = {"prefixes": ("conv:",), "max_entries": 3, "flush_interval": NEVER}
    options.update(kwargs)
    return WriteBehindStorage(CountingSQLite(str(db)), **options)


async def test_read_your_writes_before_any_flush(db: Path, stores: list[Storage]) -> None:
    store = write_behind(db)
    stores.append(store)
    await store.set("conv:a", {"step": 1}, ttl=60)
    await store.set("conv:b", [1, (2, 3)])
    assert await store.get("conv:a") == {"step": 1}
    assert await store.get("conv:b") == [1, [2, 3]]
    got = await store.get("conv:a")
    got["step"] = 99  # a copy, as from every store
    assert await store.get("conv:a") == {"step": 1}
    assert store.pending == 2
    await store.get("conv:missing")  # a miss reads SQLite (and creates the file)
    assert "conv:a" not in rows_in_file(db)  # written behind: not yet
    await store.flush()
    assert store.pending == 0
    assert live_in_file(db) == {"conv:a": '{"step":1}', "conv:b": "[1,[2,3]]"}


async def test_cached_reads_do_not_reach_sqlite(db: Path, stores: list[Storage]) -> None:
    store = write_behind(db, max_entries=3)
    stores.append(store)
    durable = store.durable
    assert isinstance(durable, CountingSQLite)
    for i in range(3):
        await store.set(f"conv:{i}", i, ttl=60)
    await store.flush()
    for _ in range(50):
        for i in range(3):
            assert await store.get(f"conv:{i}") == i
    assert durable.gets == 0
    await store.set("conv:3", 3, ttl=60)  # evicts conv:0 from the LRU
    await store.flush()
    assert await store.get("conv:0") == 0  # from SQLite, without a round trip
    assert durable.gets == 1
    assert await store.get("sub:x") is None  # other prefixes: straight through
    assert durable.gets == 2


async def test_sqlite_blocking_reads(db: Path, tmp_path: Path) -> None:
    store = SQLiteStorage(str(db))
    try:
        with pytest.raises(RuntimeError):
            store.get_blocking("k")  # no schema before the async connection made it
        await store.set("k", {"v": 1}, ttl=60)
        await store.set("short", 1, ttl=0.05)
        assert store.get_blocking("k") == {"v": 1}
        assert store.get_blocking("missing") is None
        await store.set("k", [2])  # sees what the async connection commits
        assert store.get_blocking("k") == [2]
        await asyncio.sleep(0.1)
        assert store.get_blocking("short") is None
        with pytest.raises(sqlite3.Error):
            store._reader.execute("DELETE FROM kv")  # type: ignore[union-attr]  # read-only
    finally:
        await store.close()
    with pytest.raises(RuntimeError):
        store.get_blocking("k")
    memory = SQLiteStorage(":memory:")
    try:
        await memory.set("k", 1)
        with pytest.raises(RuntimeError):
            memory.get_blocking("k")  # a second connection would see another database
    finally:
        await memory.close()


@pytest.mark.parametrize("path", ["file", ":memory:"])
async def test_misses_read_sqlite_either_way(db: Path, path: str) -> None:
    durable = SQLiteStorage(str(db) if path == "file" else ":memory:")
    store = WriteBehindStorage(durable, max_entries=1, flush_interval=NEVER)
    try:
        assert await store.get("conv:fresh") is None  # first use: the async connection
        await store.set("conv:a", "a")
        await store.set("conv:b", "b")
        await store.flush()
        assert await store.get("conv:a") == "a"  # evicted, read back from the file
    finally:
        await store.close()


async def test_entries_evicted_while_pending_stay_readable(
    db: Path, stores: list[Storage]
) -> None:
    store = write_behind(db, max_entries=2, batch_size=1000)
    stores.append(store)
    for i in range(50):
        await store.set(f"conv:{i}", {"i": i}, ttl=60)
    assert len(store) == 2 and store.pending == 50
    for i in range(50):
        assert await store.get(f"conv:{i}") == {"i": i}
    await store.delete("conv:7")  # a pending deletion of an evicted, pending key
    assert await store.get("conv:7") is None
    await store.flush()
    assert len(live_in_file(db)) == 49
    assert await store.get("conv:7") is None
    assert await store.get("conv:8") == {"i": 8}


async def test_full_batches_are_written_without_waiting_for_the_interval(
    db: Path, stores: list[Storage]
) -> None:
    store = write_behind(db, batch_size=10)
    stores.append(store)
    for i in range(35):
        await store.set(f"conv:{i}", i)

    async def written() -> bool:
        return len(rows_in_file(db)) >= 30

    await eventually(written)
    assert store.flushes >= 3
    for i in range(35):
        assert await store.get(f"conv:{i}") == i


async def test_interval_flush_writes_in_the_background(db: Path, stores: list[Storage]) -> None:
    store = write_behind(db, flush_interval=0.01)
    stores.append(store)
    await store.set("conv:u", {"a": 1})

    async def written() -> bool:
        return store.pending == 0

    await eventually(written)
    assert live_in_file(db) == {"conv:u": '{"a":1}'}


async def test_ttl_is_an_absolute_deadline_like_sqlite(db: Path, stores: list[Storage]) -> None:
    store = write_behind(db)
    stores.append(store)
    before = time.time()
    await store.set("conv:t", "v", ttl=120)
    after = time.time()
    await store.set("conv:short", "v", ttl=0.2)
    await store.set("conv:perm", "v", ttl=0.2)
    await store.set("conv:perm", "w")  # set replaces the TTL
    await asyncio.sleep(0.35)
    assert await store.get("conv:short") is None  # expired in the LRU
    await store.set("conv:x1", 1)
    await store.set("conv:x2", 2)
    await store.set("conv:x3", 3)  # conv:t and conv:perm leave the LRU, still pending
    assert await store.get("conv:t") == "v"
    await store.flush()  # written late, expiring when it was meant to
    rows = rows_in_file(db)
    expires = rows["conv:t"][1]
    assert expires is not None and before + 120 <= expires <= after + 120
    assert rows["conv:perm"] == ('"w"', None)
    assert await store.get("conv:short") is None
    assert await store.get("conv:perm") == "w"
    assert await store.add("conv:short", "again", ttl=60) is True
    with pytest.raises(ValueError):
        await store.set("conv:bad", 1, ttl=0)
    assert await store.get("conv:bad") is None


async def test_expired_pending_write_hides_an_older_durable_value(
    db: Path, stores: list[Storage]
) -> None:
    store = write_behind(db, max_entries=1)
    stores.append(store)
    await store.set("conv:k", "old")
    await store.flush()
    await store.set("conv:k", "new", ttl=0.1)
    await store.set("conv:other", 1)  # evicts conv:k from the LRU; its write is pending
    await asyncio.sleep(0.25)
    assert await store.get("conv:k") is None
    await store.flush()
    assert await store.get("conv:k") is None
    assert "conv:k" not in live_in_file(db)


async def test_close_flushes_and_data_survives_reopen(db: Path) -> None:
    store = write_behind(db, max_entries=5, batch_size=7)
    await store.set("conv:gone", 1)
    await store.flush()
    for i in range(40):
        await store.set(f"conv:{i}", {"i": i}, ttl=600)
    await store.delete("conv:gone")
    await store.set("sub:x", [1])  # not cached: written at once
    await store.close()
    assert await store.ping() is False
    with pytest.raises(RuntimeError):
        await store.get("conv:1")
    with pytest.raises(RuntimeError):
        await store.set("conv:1", 1)
    await store.close()  # twice is fine

    again = write_behind(db)
    try:
        for i in range(40):
            assert await again.get(f"conv:{i}") == {"i": i}
        assert await again.get("conv:gone") is None
        assert await again.get("sub:x") == [1]
    finally:
        await again.close()


async def test_add_incr_delete_prefix_see_pending_writes(db: Path, stores: list[Storage]) -> None:
    store = write_behind(db, max_entries=2)
    stores.append(store)
    await store.set("conv:n", 5)
    assert await store.incr("conv:n", 2) == 7  # the pending 5 was written first
    assert await store.get("conv:n") == 7
    await store.set("conv:n", 1)
    assert await store.incr("conv:n") == 2
    await store.set("conv:s", "text", ttl=60)
    with pytest.raises(ValueError):
        await store.incr("conv:s")
    assert await store.get("conv:s") == "text"

    await store.set("conv:n", "x")
    assert await store.add("conv:n", 0) is False  # cached and live
    for i in range(5):
        await store.set(f"conv:f{i}", i)  # conv:n leaves the LRU
    assert await store.add("conv:n", 0) is False  # in SQLite
    await store.delete("conv:n")
    assert await store.add("conv:n", "fresh", ttl=60) is True  # pending deletion first
    assert await store.get("conv:n") == "fresh"

    for i in range(6):
        await store.set(f"conv:user{i}", i)
    await store.set("conv:usex", 1)
    await store.delete("conv:user0")
    await store.set("sub:user", 1)
    assert await store.delete_prefix("conv:user") == 5
    for i in range(6):
        assert await store.get(f"conv:user{i}") is None
    assert await store.get("conv:usex") == 1
    assert await store.get("sub:user") == 1
    assert await store.delete_prefix("") == 9  # conv: s, n, f0-f4, usex; sub:user
    assert await store.get("conv:usex") is None


async def test_concurrent_tasks_read_their_writes(db: Path) -> None:
    store = write_behind(db, max_entries=8, batch_size=5, flush_interval=0.001)
    last: dict[str, Any] = {}

    async def user(n: int) -> None:
        rng = random.Random(n)
        key = f"conv:{n:03d}"  # no key a prefix of another: delete_prefix(key) is one key
        for step in range(30):
            roll = rng.random()
            if roll < 0.7:
                value = {"n": n, "step": step}
                await store.set(key, value, ttl=600)
                last[key] = value
            elif roll < 0.8:
                await store.delete(key)
                last.pop(key, None)
            elif roll < 0.85:
                await store.delete_prefix(key)
                last.pop(key, None)
            assert await store.get(key) == last.get(key), (key, step)
            if rng.random() < 0.3:
                await asyncio.sleep(0)

    counters = [store.incr("conv:counter", 1, ttl=600) for _ in range(100)]
    claims = [store.add("conv:claim", i, ttl=600) for i in range(30)]
    results = await asyncio.gather(*(user(n) for n in range(200)), *counters, *claims)
    assert sorted(results[200:300]) == list(range(1, 101))
    assert results[300:].count(True) == 1
    await store.close()

    reopened = SQLiteStorage(str(db))
    try:
        for n in range(200):
            assert await reopened.get(f"conv:{n:03d}") == last.get(f"conv:{n:03d}")
        assert await reopened.get("conv:counter") == 100
    finally:
        await reopened.close()


def hold_write_lock(db: Path) -> sqlite3.Connection:
    """Another connection takes SQLite's write lock and keeps it until closed."""
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute("BEGIN IMMEDIATE")
    return conn


async def test_flush_failure_keeps_writes_and_recovers(
    db: Path, stores: list[Storage], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="bot.storage.cached")
    store = WriteBehindStorage(
        SQLiteStorage(str(db), busy_timeout=0.05),
        prefixes=("conv:",),
        max_entries=2,
        flush_interval=0.01,
        retry_max=0.05,
    )
    stores.append(store)
    await store.set("conv:before", 0)
    await store.flush()  # connected, schema created
    locker = hold_write_lock(db)
    try:
        for i in range(10):
            await store.set(f"conv:{i}", i)
        with pytest.raises(sqlite3.OperationalError):
            await store.flush()  # an explicit flush reports the failure

        async def failed_a_few_times() -> bool:
            return store.flush_failures >= 4

        await eventually(failed_a_few_times)  # the background flush keeps trying
        for i in range(10):  # still readable, though evicted from the LRU and not written
            assert await store.get(f"conv:{i}") == i
        await store.set("conv:3", "newer")  # newer than the value in the failing batch
        assert store.pending >= 10
    finally:
        locker.rollback()
        locker.close()

    async def written() -> bool:
        return store.pending == 0

    await eventually(written)
    assert await store.get("conv:3") == "newer"
    rows = live_in_file(db)
    assert rows["conv:3"] == '"newer"'
    assert len(rows) == 11
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1  # once per outage, not per retry
    assert any("works again" in r.getMessage() for r in caplog.records)


async def test_close_while_sqlite_fails_logs_the_loss(
    db: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR, logger="bot.storage.cached")
    store = WriteBehindStorage(
        SQLiteStorage(str(db), busy_timeout=0.05), prefixes=("conv:",), flush_interval=NEVER
    )
    await store.set("conv:a", 1)
    await store.flush()
    await store.set("conv:b", 2)
    locker = hold_write_lock(db)
    try:
        await store.close()  # does not raise
    finally:
        locker.rollback()
        locker.close()
    assert any("lost" in r.getMessage() for r in caplog.records)
    assert live_in_file(db) == {"conv:a": "1"}
    with pytest.raises(RuntimeError):
        await store.get("conv:a")


def test_write_behind_rejects_bad_bounds(db: Path) -> None:
    with pytest.raises(ValueError):
        write_behind(db, max_entries=0)
    with pytest.raises(ValueError):
        write_behind(db, batch_size=0)


# =============================================================================================
# open_app_storage: the default single SQLite worker
# =============================================================================================


async def test_app_storage_bounds_claims_and_keeps_replies(db: Path) -> None:
    store = open_app_storage(f"sqlite:///{db}", hot_keys_max=100, conversation_cache=10)
    try:
        for i in range(150):
            await store.set(f"reply:m:{i}", f"answer {i}", ttl=30)
        for i in range(1000):
            assert await store.add(f"dedup:m:{i}", {"at": i, "w": "me"}, ttl=300) is True
        # Claims are capped, the newest kept; replies have a store of their own, so claims
        # never pushed them out, although they expire sooner.
        assert await store.get("dedup:m:999") == {"at": 999, "w": "me"}
        assert await store.get("dedup:m:0") is None
        assert sum([await store.get(f"dedup:m:{i}") is not None for i in range(1000)]) == 100
        assert await store.get("reply:m:149") == "answer 149"
        assert sum([await store.get(f"reply:m:{i}") is not None for i in range(150)]) == 100
        await store.set("sub:u", {"city": "福州"})  # durable keys: straight to the file
        assert live_in_file(db)["sub:u"] == '{"city":"福州"}'
        assert "dedup:m:999" not in rows_in_file(db)
    finally:
        await store.close()


async def test_app_storage_conversations_survive_restart(db: Path) -> None:
    url = f"sqlite:///{db}"
    store = open_app_storage(url, hot_keys_max=100, conversation_cache=2)
    for i in range(20):
        await store.set(f"conv:u{i}", {"last_intent": f"i{i}"}, ttl=1800)
    await store.add("dedup:m:1", {"at": 1}, ttl=300)
    assert await store.delete_prefix("conv:u1") == 11  # u1, u10..u19
    await store.close()

    store = open_app_storage(url, hot_keys_max=100, conversation_cache=2)
    try:
        assert await store.get("conv:u0") == {"last_intent": "i0"}
        assert await store.get("conv:u9") == {"last_intent": "i9"}
        assert await store.get("conv:u15") is None
        assert await store.get("dedup:m:1") is None  # claims are memory only
    finally:
        await store.close()


def test_bounds_come_from_settings() -> None:
    settings = Settings.from_env({"HOT_KEYS_MAX": "5000", "CONVERSATION_CACHE": "300"})
    assert (settings.hot_keys_max, settings.conversation_cache) == (5000, 300)
    settings = Settings.from_env({"HOT_KEYS_MAX": "0", "CONVERSATION_CACHE": "x"})
    assert (settings.hot_keys_max, settings.conversation_cache) == (
        HOT_KEYS_MAX,
        CONVERSATION_CACHE,
    )
