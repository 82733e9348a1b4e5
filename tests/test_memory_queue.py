"""MemoryStorage's expiry queue (keys written in deadline order) against a plain model.

The queue holds keys whose deadline is no earlier than the last queued one; everything else
goes to the heap. Both must behave as one store: exact expiry, eviction of the soonest
deadline, rewrites and deletes that leave orphaned queue slots behind. A fake clock drives
expiry; the store's methods never await, so each call is run to completion synchronously.
"""

from __future__ import annotations

from collections.abc import Coroutine
from typing import Any, TypeVar

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.storage import MemoryStorage

T = TypeVar("T")


def run(coro: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine that never suspends (every MemoryStorage method)."""
    try:
        coro.send(None)
    except StopIteration as done:
        return done.value  # type: ignore[no-any-return]
    raise AssertionError("MemoryStorage awaited something")


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Model:
    """What the store must look like: key → (value, deadline or None), evicting by deadline."""

    def __init__(self, clock: Clock, max_keys: int | None) -> None:
        self.clock, self.max_keys = clock, max_keys
        self.data: dict[str, tuple[Any, float | None]] = {}

    def _expire(self) -> None:
        now = self.clock.now
        self.data = {k: v for k, v in self.data.items() if v[1] is None or v[1] > now}

    def _room(self, keep: str) -> None:
        while self.max_keys is not None and len(self.data) > self.max_keys:
            timed = [(d, k) for k, (_, d) in self.data.items() if d is not None and k != keep]
            if not timed:
                return
            del self.data[min(timed)[1]]

    def get(self, key: str) -> Any:
        self._expire()
        entry = self.data.get(key)
        return None if entry is None else entry[0]

    def set(self, key: str, value: Any, ttl: float | None) -> None:
        self._expire()
        grew = key not in self.data
        self.data[key] = (value, None if ttl is None else self.clock.now + ttl)
        if grew:
            self._room(key)

    def add(self, key: str, value: Any, ttl: float | None) -> bool:
        self._expire()
        if key in self.data:
            return False
        self.set(key, value, ttl)
        return True

    def incr(self, key: str, amount: int, ttl: float | None) -> int:
        self._expire()
        if key not in self.data:
            self.set(key, amount, ttl)
            return amount
        value, deadline = self.data[key]
        self.data[key] = (value + amount, deadline)
        return int(value + amount)

    def delete(self, key: str) -> None:
        self._expire()
        self.data.pop(key, None)


KEYS = st.sampled_from([f"k{i}" for i in range(12)])
# Distinct-looking TTLs and clock steps: two deadlines never tie, so "soonest" is one key.
TTLS = st.one_of(st.none(), st.sampled_from([0.5, 1.3, 2.9, 7.7, 30.1]))
OPS = st.lists(
    st.tuples(
        st.sampled_from(["set", "add", "incr", "delete", "get", "tick"]),
        KEYS,
        TTLS,
        st.integers(1, 50).map(lambda n: n * 0.0371),
    ),
    max_size=120,
)


@settings(max_examples=300, deadline=None)
@given(ops=OPS, max_keys=st.one_of(st.none(), st.integers(1, 6)))
def test_store_matches_the_model(
    ops: list[tuple[str, str, float | None, float]], max_keys: int | None
) -> None:
    clock = Clock()
    store = MemoryStorage(max_keys=max_keys, clock=clock)
    model = Model(clock, max_keys)
    for n, (op, key, ttl, step) in enumerate(ops):
        clock.now += step
        if op == "set":
            run(store.set(key, n, ttl))
            model.set(key, n, ttl)
        elif op == "add":
            assert run(store.add(key, n, ttl)) == model.add(key, n, ttl)
        elif op == "incr":
            if isinstance(model.get(key), int) or model.get(key) is None:
                assert run(store.incr(key, 2, ttl)) == model.incr(key, 2, ttl)
        elif op == "delete":
            run(store.delete(key))
            model.delete(key)
        elif op == "tick":
            clock.now += ttl or 1.0
        for k in (f"k{i}" for i in range(12)):
            assert run(store.get(k)) == model.get(k), (op, key, k)
        assert len(store) == len(model.data)


def test_claims_share_the_queue_and_expire_in_order() -> None:
    clock = Clock()
    store = MemoryStorage(clock=clock)
    for i in range(1000):
        clock.now += 0.01
        assert run(store.add(f"dedup:{i}", {"at": 1}, ttl=300)) is True
    assert len(store._queued) == 1000 and not store._data  # one TTL: all queued
    clock.now += 300 - 5  # the first 500 or so are due
    assert run(store.get("dedup:0")) is None
    assert run(store.get("dedup:999")) == {"at": 1}
    assert 495 <= len(store) <= 505


def test_a_shorter_ttl_after_a_longer_one_goes_to_the_heap() -> None:
    clock = Clock()
    store = MemoryStorage(clock=clock)
    run(store.set("long", 1, ttl=600))
    run(store.set("short", 2, ttl=30))
    assert "long" in store._queued and "short" in store._data
    clock.now += 31
    assert run(store.get("short")) is None
    assert run(store.get("long")) == 1


def test_rewrites_leave_a_bounded_queue() -> None:
    clock = Clock()
    store = MemoryStorage(clock=clock)
    for round_ in range(50):
        for i in range(100):
            clock.now += 0.001
            run(store.set(f"conv:{i}", {"round": round_}, ttl=3600))
    # 5,000 writes of 100 keys, none expired: orphaned slots are compacted away.
    assert len(store._q_keys) <= 3 * len(store) + 1024
    assert [run(store.get(f"conv:{i}")) for i in range(100)] == [{"round": 49}] * 100


def test_deleted_then_readded_key_is_not_expired_by_its_old_slot() -> None:
    clock = Clock()
    store = MemoryStorage(clock=clock)
    run(store.add("k", 1, ttl=10))
    run(store.delete("k"))
    clock.now += 5
    run(store.add("k", 2, ttl=10))  # a new slot, due at 15
    clock.now += 6  # the old slot (due at 10) goes; the key must stay
    assert run(store.get("k")) == 2
    clock.now += 5
    assert run(store.get("k")) is None


def test_incr_on_a_queued_counter_keeps_its_window_and_export_reads_it() -> None:
    clock = Clock()
    store = MemoryStorage(clock=clock)
    assert run(store.incr("csq:u", ttl=60)) == 1
    clock.now += 20
    assert run(store.incr("csq:u", ttl=60)) == 2  # the window does not move
    value, ttl = store.export("csq:u") or (None, None)
    assert value == 2 and ttl is not None and abs(ttl - 40) < 1e-6
    clock.now += 40
    assert run(store.get("csq:u")) is None
