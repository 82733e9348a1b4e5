"""Hot-path pieces behind the performance work: state serialisation, expiry, routing, workers."""

from __future__ import annotations

import dataclasses

import pytest

from bot.dialog.state import ConversationState
from bot.serve import main as serve_main
from bot.storage import MemoryStorage
from bot.storage.tiered import FallbackStorage, RoutedStorage, open_app_storage


def test_state_to_json_has_every_field() -> None:
    # to_json is written out by hand for speed; a field added later must not be dropped.
    state = ConversationState(last_intent="payment", asked=["city"], followups={"1": "x"})
    data = state.to_json()
    assert set(data) == {f.name for f in dataclasses.fields(ConversationState)}
    assert ConversationState.from_json(data) == state


async def test_memory_expiry_needs_no_rescan() -> None:
    now = [1000.0]
    store = MemoryStorage(clock=lambda: now[0])
    for i in range(5000):
        await store.set(f"dedup:{i}", 1, ttl=10)
    await store.set("conv:kept", 1, ttl=100)
    now[0] += 11
    await store.set("conv:new", 1, ttl=10)  # the write pops what has expired, in deadline order
    assert len(store) == 2
    # Overwritten keys leave stale heap entries that must not delete the new value.
    await store.set("k", 1, ttl=1)
    await store.set("k", 2, ttl=50)
    now[0] += 2
    await store.set("other", 1)
    assert await store.get("k") == 2


async def test_routed_storage_sends_hot_keys_apart() -> None:
    hot, durable = MemoryStorage(), MemoryStorage()
    store = RoutedStorage(hot, durable)
    await store.set("conv:u", {"a": 1})
    await store.set("sub:u", [1])
    assert await hot.get("conv:u") == {"a": 1} and await durable.get("conv:u") is None
    assert await durable.get("sub:u") == [1] and await hot.get("sub:u") is None
    assert await store.delete_prefix("") == 2


def test_open_app_storage_by_settings(tmp_path: object) -> None:
    sqlite = f"sqlite:///{tmp_path}/x.sqlite3"
    one = open_app_storage(sqlite)
    assert isinstance(one, RoutedStorage) and isinstance(one.hot, MemoryStorage)
    shared = open_app_storage(sqlite, workers=2)
    assert not isinstance(shared, RoutedStorage)  # several workers share the file itself
    redis = open_app_storage(sqlite, "redis://127.0.0.1:1/0")
    assert isinstance(redis, RoutedStorage) and isinstance(redis.hot, FallbackStorage)
    pg = open_app_storage("postgresql://u@127.0.0.1:1/db")
    assert isinstance(pg, FallbackStorage)


def test_serve_rejects_zero_workers(capsys: pytest.CaptureFixture[str]) -> None:
    assert serve_main(["serve", "--workers", "0"]) == 2
    assert "--workers" in capsys.readouterr().err


def test_settle_heap_freezes_what_start_up_loaded_once_per_process() -> None:
    import gc

    from bot import app

    gc.unfreeze()
    app._heap_settled_in = 0
    kept = [{"loaded": i} for i in range(1000)]  # long-lived start-up objects
    app.settle_heap()
    frozen = gc.get_freeze_count()
    assert frozen >= len(kept)
    more = [{"later": i} for i in range(1000)]
    app.settle_heap()  # the second app of the process: nothing new is frozen
    assert gc.get_freeze_count() == frozen
    assert more
