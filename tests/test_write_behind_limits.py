"""Limits of the write-behind conversation cache while SQLite fails (``max_pending``), and the
serving process's start-up allocator setting (``bot.serve._pin_mmap_threshold``).

Real SQLite files throughout. A failing store is either a real file whose write lock another
connection holds (as in test_storage_bounded.py), or real SQLite whose ``write_batch`` raises
before any I/O, which keeps the order of drops exact (no batch is ever in flight while the
test writes). No test asserts a duration: waits poll for a state with a generous cap.
"""

from __future__ import annotations

import asyncio
import io
import logging
import sqlite3
import time
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

import pytest

from bot import serve
from bot.settings import Settings
from bot.storage.base import BatchRow
from bot.storage.cached import WriteBehindStorage
from bot.storage.sqlite import SQLiteStorage
from bot.storage.tiered import RoutedStorage, open_app_storage

NEVER = 3600.0  # a flush interval no test lives to see


async def eventually(check: Callable[[], Awaitable[bool] | bool], limit: float = 20.0) -> None:
    """Poll ``check`` until it holds; fail after ``limit`` seconds (a cap, not a timing)."""
    give_up = time.monotonic() + limit
    while True:
        result = check()
        if not isinstance(result, bool):
            result = await result
        if result:
            return
        assert time.monotonic() < give_up, "condition never held"
        await asyncio.sleep(0.01)


def live_in_file(path: Path) -> dict[str, str]:
    conn = sqlite3.connect(path)
    try:
        rows = conn.execute("SELECT key, value, expires_at FROM kv").fetchall()
    finally:
        conn.close()
    now = time.time()
    return {k: v for k, v, e in rows if e is None or e > now}


def hold_write_lock(db: Path) -> sqlite3.Connection:
    """Another connection takes SQLite's write lock and keeps it until closed."""
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute("BEGIN IMMEDIATE")
    return conn


def drop_logs(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [
        r for r in caplog.records if r.levelno == logging.ERROR and "dropping" in r.getMessage()
    ]


class BrokenWrites(SQLiteStorage):
    """Real SQLite whose batched writes fail (before any I/O) while ``failing`` is set; with
    a ``gate``, a failing write waits for it first (a batch held in flight)."""

    failing = False
    gate: asyncio.Event | None = None
    held: list[str] | None = None  # the keys of the batch waiting at the gate

    async def write_batch(self, rows: Sequence[BatchRow]) -> None:
        if self.failing:
            if self.gate is not None and not self.gate.is_set():
                self.held = [key for key, _text, _exp in rows]
                await self.gate.wait()
            raise sqlite3.OperationalError("disk I/O error")
        await super().write_batch(rows)


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "bot.sqlite3"


# =============================================================================================
# max_pending: while flushes fail
# =============================================================================================


async def test_outage_drops_least_recently_written_first(
    db: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="bot.storage.cached")
    durable = BrokenWrites(str(db))
    store = WriteBehindStorage(
        durable,
        prefixes=("conv:",),
        max_entries=3,
        max_pending=5,
        batch_size=2,
        flush_interval=0.01,
        retry_max=0.02,
    )
    try:
        await store.set("conv:k0", "durable k0")
        await store.set("conv:k4", "durable k4")
        await store.flush()
        durable.failing = True
        await store.set("conv:k0", "v0")
        await eventually(lambda: store.flush_failures >= 1)  # the outage is noticed
        for i in range(1, 10):
            await store.set(f"conv:k{i}", f"v{i}")
            assert store.pending <= 5  # the cap, at every write
        await store.set("conv:k5", "v5 again")  # rewritten: now the newest pending write
        await store.set("conv:k10", "v10")
        assert store.pending == 5
        # k0..k4 and k6 were the least recently written when the cap was hit.
        assert store.dropped == 6
        for i in (7, 8, 9, 10):
            assert await store.get(f"conv:k{i}") == f"v{i}"
        assert await store.get("conv:k5") == "v5 again"
        # A dropped key reads what SQLite has: its value before the outage, or nothing.
        assert await store.get("conv:k0") == "durable k0"
        assert await store.get("conv:k4") == "durable k4"
        for i in (1, 2, 3, 6):
            assert await store.get(f"conv:k{i}") is None
        await eventually(lambda: store.flush_failures >= 4)  # retries drop nothing more
        assert store.dropped == 6 and store.pending == 5
        # Failed batches went back in front: the order survived the retries, k7 is oldest.
        await store.set("conv:k11", "v11")
        assert store.dropped == 7 and store.pending == 5
        assert await store.get("conv:k7") is None
        for i in (8, 9, 10, 11):
            assert await store.get(f"conv:k{i}") == f"v{i}"
        assert len(drop_logs(caplog)) == 1

        durable.failing = False
        await eventually(lambda: store.pending == 0)
        assert live_in_file(db) == {
            "conv:k0": '"durable k0"',
            "conv:k4": '"durable k4"',
            "conv:k5": '"v5 again"',
            "conv:k8": '"v8"',
            "conv:k9": '"v9"',
            "conv:k10": '"v10"',
            "conv:k11": '"v11"',
        }
        back = [r for r in caplog.records if "works again" in r.getMessage()]
        assert len(back) == 1 and getattr(back[0], "dropped", None) == 7
    finally:
        await store.close()


async def test_batch_failing_in_flight_comes_back_as_the_oldest(db: Path) -> None:
    durable = BrokenWrites(str(db))
    store = WriteBehindStorage(
        durable,
        prefixes=("conv:",),
        max_entries=2,
        max_pending=4,
        batch_size=2,
        flush_interval=0.01,
        retry_max=0.02,
    )
    try:
        await store.set("conv:seed", 0)
        await store.flush()
        durable.failing = True
        await store.set("conv:a", "a")
        await eventually(lambda: store.flush_failures >= 1)
        durable.gate = asyncio.Event()
        await store.set("conv:b", "b")
        await eventually(lambda: durable.held is not None)  # [a, b] in flight
        assert durable.held == ["conv:a", "conv:b"]
        for name in "cdefg":  # c is dropped at g: a and b cannot be, being written
            await store.set(f"conv:{name}", name)
        assert store.dropped == 1 and store.pending == 6
        failures = store.flush_failures
        durable.gate.set()
        await eventually(lambda: store.flush_failures > failures)
        # a and b failed, came back in front, and went as the oldest: the newest four remain.
        assert store.dropped == 3 and store.pending == 4
        for name in "abc":
            assert await store.get(f"conv:{name}") is None
        for name in "defg":
            assert await store.get(f"conv:{name}") == name
        durable.failing = False
        await eventually(lambda: store.pending == 0)
        assert live_in_file(db) == {"conv:seed": "0"} | {f"conv:{n}": f'"{n}"' for n in "defg"}
    finally:
        await store.close()


async def test_dropped_key_leaves_the_lru_too(db: Path) -> None:
    durable = BrokenWrites(str(db))
    store = WriteBehindStorage(
        durable, prefixes=("conv:",), max_entries=3, max_pending=3, flush_interval=0.01
    )
    try:
        await store.set("conv:hot", "durable")
        await store.flush()
        durable.failing = True
        await store.set("conv:hot", "lost")
        await eventually(lambda: store.flush_failures >= 1)
        for i in range(3):
            assert await store.get("conv:hot") == "lost"  # kept first in the LRU by reads
            await store.set(f"conv:other{i}", i)
        # Its write was the oldest pending one, so it was dropped; the LRU must not answer
        # with a value SQLite never got.
        assert store.dropped == 1
        assert await store.get("conv:hot") == "durable"
        durable.failing = False
        await eventually(lambda: store.pending == 0)
        assert await store.get("conv:hot") == "durable"
        assert live_in_file(db)["conv:hot"] == '"durable"'
    finally:
        await store.close()


async def test_cap_with_a_locked_sqlite_file_one_log_per_outage(
    db: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="bot.storage.cached")
    store = WriteBehindStorage(
        SQLiteStorage(str(db), busy_timeout=0.02),
        prefixes=("conv:",),
        max_entries=2,
        max_pending=10,
        batch_size=4,
        flush_interval=0.01,
        retry_max=0.02,
    )
    try:
        for i in range(5):
            await store.set(f"conv:{i}", "before")
        await store.flush()
        for outage in (1, 2):
            locker = hold_write_lock(db)
            try:
                failures = store.flush_failures
                await store.set("conv:first", outage)
                await eventually(lambda: store.flush_failures > failures)  # noqa: B023
                failures = store.flush_failures
                for i in range(30):
                    await store.set(f"conv:{i}", f"outage {outage}: {i}")
                # A batch may be in flight while the test writes; it comes back as the oldest.
                assert store.pending <= 10 + 4
                await eventually(lambda: store.flush_failures >= failures + 2)  # noqa: B023
                assert store.pending <= 10
                assert store.dropped == 21 * outage  # conv:first and conv:0..19
                for i in range(20, 30):
                    assert await store.get(f"conv:{i}") == f"outage {outage}: {i}"
                expected_old = "before" if outage == 1 else None  # conv:0..4, last written
                for i in range(5):
                    assert await store.get(f"conv:{i}") == expected_old
                for i in range(5, 20):
                    assert await store.get(f"conv:{i}") is None
                # Dropped: SQLite's value (written between the outages), or none.
                assert await store.get("conv:first") == (None if outage == 1 else 1)
                assert len(drop_logs(caplog)) == outage  # once per outage, not per drop
            finally:
                locker.rollback()
                locker.close()
            await eventually(lambda: store.pending == 0)
            rows = live_in_file(db)
            for i in range(20, 30):  # what remained pending is written on recovery
                assert rows[f"conv:{i}"] == f'"outage {outage}: {i}"'
            if outage == 1:
                assert rows["conv:0"] == '"before"'
                await store.delete_prefix("conv:")  # the second outage starts from nothing
                await store.set("conv:first", 1)
                await store.flush()
        assert len(drop_logs(caplog)) == 2
        assert sum("works again" in r.getMessage() for r in caplog.records) == 2
    finally:
        await store.close()


async def test_burst_over_the_cap_while_healthy_wakes_the_flusher(db: Path) -> None:
    # No interval flush and batches bigger than the burst: only the cap wakes the flusher.
    store = WriteBehindStorage(
        SQLiteStorage(str(db)),
        prefixes=("conv:",),
        max_entries=3,
        max_pending=10,
        batch_size=1000,
        flush_interval=NEVER,
    )
    try:
        await store.set("conv:seed", 0)
        await store.flush()  # connected, schema created
        for i in range(50):
            await store.set(f"conv:{i}", i)
        assert store.pending == 50 and store.dropped == 0  # nothing dropped: flushes work
        await eventually(lambda: store.pending == 0)
        assert store.dropped == 0
        rows = live_in_file(db)
        assert all(rows[f"conv:{i}"] == str(i) for i in range(50))
        for i in range(50):
            assert await store.get(f"conv:{i}") == i
    finally:
        await store.close()


async def test_burst_drains_in_batches_without_dropping(db: Path) -> None:
    store = WriteBehindStorage(
        SQLiteStorage(str(db)),
        prefixes=("conv:",),
        max_entries=3,
        max_pending=10,
        batch_size=4,
        flush_interval=NEVER,
    )
    try:
        for i in range(50):
            await store.set(f"conv:{i}", {"i": i})
        # Full batches go at once; the last two wait for the interval (never, here).
        await eventually(lambda: store.pending == 2)
        assert store.dropped == 0 and store.flushes == 12
        assert len(live_in_file(db)) == 48
        await store.flush()
        assert len(live_in_file(db)) == 50
    finally:
        await store.close()


def test_max_pending_bounds(db: Path) -> None:
    with pytest.raises(ValueError):
        WriteBehindStorage(SQLiteStorage(str(db)), max_pending=0)
    assert WriteBehindStorage(SQLiteStorage(str(db)), max_entries=700).max_pending == 2800
    # At least one batch, however small the cache.
    small = WriteBehindStorage(SQLiteStorage(str(db)), max_entries=7, batch_size=50)
    assert small.max_pending == 50


async def test_app_storage_caps_pending_conversations(db: Path) -> None:
    store = open_app_storage(f"sqlite:///{db}", hot_keys_max=100, conversation_cache=7)
    try:
        assert isinstance(store, RoutedStorage) and isinstance(store.durable, RoutedStorage)
        conversations = store.durable.durable
        assert isinstance(conversations, WriteBehindStorage)
        assert conversations.max_entries == 7
        # four times the cache, but never under one batch (or a healthy flow would force
        # a flush every few writes)
        assert conversations.max_pending == conversations.batch_size == 256
    finally:
        await store.close()
    store = open_app_storage(f"sqlite:///{db}", hot_keys_max=100, conversation_cache=700)
    try:
        assert isinstance(store, RoutedStorage) and isinstance(store.durable, RoutedStorage)
        conversations = store.durable.durable
        assert isinstance(conversations, WriteBehindStorage)
        assert conversations.max_pending == 2800
    finally:
        await store.close()


# =============================================================================================
# bot.serve: glibc's mmap threshold, pinned at start-up
# =============================================================================================


class FakeLibc:
    def __init__(self) -> None:
        self.calls: list[tuple[int, int]] = []

    def mallopt(self, param: int, value: int) -> int:
        self.calls.append((param, value))
        return 1


def test_mmap_threshold_pinned_once_per_process(monkeypatch: pytest.MonkeyPatch) -> None:
    libc = FakeLibc()
    monkeypatch.setattr(serve, "_mmap_threshold_pinned", False)
    monkeypatch.setattr(serve.ctypes, "CDLL", lambda _name: libc)
    serve._pin_mmap_threshold()
    serve._pin_mmap_threshold()
    assert libc.calls == [(-3, 128 * 1024)]  # M_MMAP_THRESHOLD, glibc's initial value


@pytest.mark.parametrize("missing", ["no mallopt", "no libc"])
def test_mmap_threshold_is_a_no_op_off_glibc(
    monkeypatch: pytest.MonkeyPatch, missing: str
) -> None:
    def cdll(_name: object) -> object:
        if missing == "no libc":
            raise OSError("dlopen failed")
        return object()  # musl: no mallopt attribute

    monkeypatch.setattr(serve, "_mmap_threshold_pinned", False)
    monkeypatch.setattr(serve.ctypes, "CDLL", cdll)
    serve._pin_mmap_threshold()  # does not raise


def test_serving_process_pins_before_the_app_builds_storage(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    order: list[str] = []

    def create_app(settings: Settings, **_: Any) -> Any:
        order.append("create_app")
        raise ValueError("stop here")  # _serve_one reports it and returns 2

    monkeypatch.setattr(serve, "_pin_mmap_threshold", lambda: order.append("pin"))
    monkeypatch.setattr(serve, "create_app", create_app)
    assert serve._serve_one(Settings.from_env({}), io.StringIO()) == 2
    assert order == ["pin", "create_app"]


# =============================================================================================
# Recovery under pressure, and close() during a long back-off
# =============================================================================================


async def test_drops_stop_soon_after_the_store_recovers_not_after_the_back_off(
    db: Path,
) -> None:
    durable = BrokenWrites(str(db))
    store = WriteBehindStorage(
        durable,
        prefixes=("conv:",),
        max_entries=4,
        max_pending=4,
        batch_size=2,
        flush_interval=0.01,
        retry_min=NEVER,  # without early retries the flusher would sleep through the test
        retry_max=NEVER,
    )
    try:
        durable.failing = True
        await store.set("conv:a", 0)
        await eventually(lambda: store.flush_failures >= 1)
        durable.failing = False  # the store works again; the flusher sleeps in its back-off
        i = 0

        async def writes_drain() -> bool:
            nonlocal i
            i += 1
            await store.set(f"conv:u{i}", i)  # over the cap: a drop, and an early retry
            await asyncio.sleep(0.05)
            return store.pending == 0 or not store._failing

        await eventually(writes_drain)
        dropped = store.dropped
        for j in range(20):  # healthy again: nothing more is dropped
            await store.set(f"conv:w{j}", j)
        assert store.dropped == dropped
        await store.flush()
        assert live_in_file(db)["conv:w19"] == "19"
    finally:
        await store.close()


async def test_close_does_not_wait_out_a_long_back_off(db: Path) -> None:
    durable = BrokenWrites(str(db))
    store = WriteBehindStorage(
        durable, prefixes=("conv:",), flush_interval=0.01, retry_min=NEVER, retry_max=NEVER
    )
    durable.failing = True
    await store.set("conv:a", 1)
    await eventually(lambda: store.flush_failures >= 1)
    durable.failing = False  # back in service while the flusher sleeps for seconds
    # close() must wake it rather than wait its back-off out; 20 s is a cap, not a timing.
    await asyncio.wait_for(store.close(), 20)
    assert live_in_file(db) == {"conv:a": "1"}
