"""A bounded in-memory LRU with write-behind in front of a durable store, for chosen prefixes.

The default single worker keeps conversations (``conv:<user>``) here, over its SQLite file:
the message path reads and writes memory only when the user's conversation is cached, and
the file gets the writes in batches, so memory stays bounded however many users write, and
conversations survive a restart.

* ``set`` and ``delete`` change the LRU and a map of pending writes (a deletion is a pending
  tombstone) and return without I/O. A background task writes pending entries every
  ``flush_interval`` seconds, or at once when ``batch_size`` of them wait, as one
  ``write_batch`` call (one multi-row statement, one transaction, on SQLite). Deadlines are
  absolute wall-clock times fixed at ``set``, so a write applied late expires on time.
* ``get`` reads the LRU, then pending writes (including the batch being written), then the
  durable store. The LRU holds the newest value of each key in it, and every write that has
  not reached the durable store is in the pending map or the batch in flight, so a read sees
  the last write at all times, also of keys already evicted from the LRU (unless that write
  was dropped during an outage, below). A miss is read with
  the durable store's ``get_blocking`` when it has one (SQLite: one primary-key lookup on
  this thread, ~10 µs, instead of an aiosqlite round trip, ~70 µs of CPU and a suspension),
  else with ``get``.
* ``add``, ``incr`` and ``delete_prefix`` of cached keys need the durable store's own atomic
  statements: they run under the flush lock after writing what is pending, and drop the keys
  they touched from the LRU (reads then go to the pending map or the durable store).
* A failed flush keeps its entries pending (newer writes win), logs once per outage and is
  retried with a growing delay (from ``retry_min`` up to ``retry_max``). ``close`` writes everything still
  pending, then closes the durable store.
* Pending writes are capped by ``max_pending`` (default four times ``max_entries``, at least
  ``batch_size``), so an outage of the durable store cannot take the worker's memory. While
  flushes are failing, a write that would exceed the cap drops the oldest pending writes
  (least recently written keys first; a batch that failed goes back in front, as the oldest,
  so at most ``max_pending`` writes wait, plus the batch being written). Drops are counted in
  ``dropped``, logged once per outage, and the line that says flushing works again tells how
  many the outage dropped. A dropped key leaves the LRU too, so it reads an older value:
  the one in a batch being written, else what the durable store has (or none), as after a restart:
  conversations are not worth the worker. Over the cap while flushes work (a burst), nothing
  is dropped: the flusher is woken at once and drains ``batch_size`` per round. A drop also
  cuts the retry delay short (at most one early retry per ``_PRESSURE_RETRY`` seconds), so
  drops stop within that time once the store works again instead of after ``retry_max``.

Only for state that one process owns: nothing tells this cache that another process wrote
the durable store. Keys outside ``prefixes`` go straight through to the durable store.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from bot.storage._codec import check_ttl, decode, encode
from bot.storage.base import BatchRow, Storage

__all__ = ["WriteBehindStorage"]

log = logging.getLogger(__name__)

# (JSON text, or None for a deletion; time.time() deadline or None)
_Entry = tuple[str | None, float | None]
_DELETED: _Entry = (None, None)
# While writes are being dropped, retry the durable store this often at most, whatever the
# back-off: dropping is the costly side, a failed attempt the cheap one.
_PRESSURE_RETRY = 0.5


class WriteBehindStorage(Storage):
    """``max_entries`` recent values of keys under ``prefixes`` in memory, written behind."""

    def __init__(
        self,
        durable: Storage,
        *,
        prefixes: tuple[str, ...] = ("",),
        max_entries: int = 10_000,
        flush_interval: float = 0.05,
        batch_size: int = 256,
        retry_max: float = 5.0,
        retry_min: float = 0.5,
        max_pending: int | None = None,
    ) -> None:
        if max_pending is None:
            max_pending = max(4 * max_entries, batch_size)
        if (
            max_entries < 1
            or batch_size < 1
            or max_pending < 1
            or flush_interval <= 0
            or retry_max <= 0
            or retry_min <= 0
        ):
            raise ValueError(
                "max_entries, batch_size, max_pending, flush_interval, retry_min/max must be > 0"
            )
        self.durable = durable
        # A durable store that can read without a round trip (SQLite) serves misses that way.
        self._get_blocking: Callable[[str], Any] | None = getattr(durable, "get_blocking", None)
        self.prefixes = prefixes
        self.max_entries = max_entries
        self.flush_interval = flush_interval
        self.batch_size = batch_size
        self.retry_max = retry_max
        self.retry_min = min(retry_min, retry_max)  # the first back-off after a failure
        self.max_pending = max_pending
        self._cache: OrderedDict[str, tuple[str, float | None]] = OrderedDict()
        # Least recently written first: the order of batches, and of drops over the cap.
        self._pending: OrderedDict[str, _Entry] = OrderedDict()
        self._flushing: dict[str, _Entry] = {}  # the batch being written, until it is
        self._lock = asyncio.Lock()  # one flush or cached-key pass-through at a time
        self._wake = asyncio.Event()
        self._flusher: asyncio.Task[None] | None = None
        self._failing = False
        self._last_attempt = 0.0  # monotonic time of the last flush attempt
        self._closed = False
        self.flushes = 0  # batches written
        self.flush_failures = 0
        self.dropped = 0  # pending writes dropped over max_pending while flushes failed
        self._dropped_in_outage = 0

    # -- internals -------------------------------------------------------------------------

    def _check_open(self) -> None:
        if self._closed:
            raise RuntimeError("storage is closed")

    def _covers(self, prefix: str) -> bool:
        """Whether keys starting with ``prefix`` can be cached ones."""
        return prefix.startswith(self.prefixes) or any(p.startswith(prefix) for p in self.prefixes)

    def _write(self, key: str, entry: _Entry) -> None:
        pending = self._pending
        pending[key] = entry
        pending.move_to_end(key)
        waiting = len(pending)
        if self._failing:
            # Backing off: only the cap matters, and a drop may call for an early retry.
            if waiting > self.max_pending:
                self._drop_over_cap()
                if time.monotonic() - self._last_attempt >= _PRESSURE_RETRY:
                    self._wake.set()
        elif waiting >= self.batch_size or waiting > self.max_pending:
            self._wake.set()  # a full batch, or a burst over the cap: write now
        self._ensure_flusher()

    def _drop_over_cap(self) -> None:
        """While flushes fail: drop the oldest pending writes beyond ``max_pending``."""
        pending = self._pending
        excess = len(pending) - self.max_pending
        if excess <= 0:
            return
        cache = self._cache
        for _ in range(excess):
            key, _entry = pending.popitem(last=False)
            # The LRU holds the newest value, which was this write: reads of the key now go to
            # the durable store, which never got it.
            cache.pop(key, None)
        self.dropped += excess
        if not self._dropped_in_outage:  # once per outage, not per write
            log.error(
                "write-behind writes over max_pending while flushes fail; dropping the oldest",
                extra={"dropped": excess, "max_pending": self.max_pending},
            )
        self._dropped_in_outage += excess

    def _ensure_flusher(self) -> None:
        # The flusher stops when nothing is pending; any write, or a failed batch put back,
        # starts it again.
        flusher = self._flusher
        if (flusher is None or flusher.done()) and not self._closed:
            self._flusher = asyncio.get_running_loop().create_task(self._flush_loop())

    async def _flush_loop(self) -> None:
        delay = self.flush_interval
        while self._pending and not self._closed:
            if self._failing or len(self._pending) < self.batch_size:
                # Back off while failing (cut short by close() or by writes being dropped),
                # else wait for the interval or a full batch.
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(delay):
                        await self._wake.wait()
            self._wake.clear()
            if self._closed:
                return  # close() writes what is left
            if await self._flush_round():
                delay = self.flush_interval
            else:
                delay = min(max(delay * 2, self.retry_min), self.retry_max)

    async def _flush_round(self) -> bool:
        """Write one batch; False (logged once per outage) when the durable store failed."""
        self._last_attempt = time.monotonic()
        try:
            async with self._lock:
                await self._write_batch()
        except Exception as exc:
            self.flush_failures += 1
            if not self._failing:
                self._failing = True
                log.error(
                    "write-behind flush failed; keeping the writes in memory and retrying",
                    extra={"pending": len(self._pending), "error": f"{type(exc).__name__}: {exc}"},
                )
            self._drop_over_cap()  # the failed batch came back as the oldest
            return False
        if self._failing:
            self._failing = False
            log.warning(
                "write-behind flush works again",
                extra={"pending": len(self._pending), "dropped": self._dropped_in_outage},
            )
            self._dropped_in_outage = 0
        return True

    async def _write_batch(self) -> None:
        """Write up to ``batch_size`` pending entries; under the lock. Raises on failure,
        leaving the entries pending unless a newer write replaced them meanwhile."""
        pending = self._pending
        if not pending:
            return
        batch: dict[str, _Entry]
        if len(pending) <= self.batch_size:
            batch, self._pending = pending, OrderedDict()
        else:
            batch = dict(pending.popitem(last=False) for _ in range(self.batch_size))
        self._flushing = batch
        rows: list[BatchRow] = [(key, text, exp) for key, (text, exp) in batch.items()]
        try:
            await self.durable.write_batch(rows)
        except BaseException:
            # Back in front, as the oldest writes, unless a newer write replaced them meanwhile.
            pending = self._pending
            for key in reversed(batch):
                if key not in pending:
                    pending[key] = batch[key]
                    pending.move_to_end(key, last=False)
            # The flusher may have stopped meanwhile, seeing nothing pending (this batch was
            # in flight, written by flush() or a pass-through): someone must retry these.
            self._ensure_flusher()
            raise
        finally:
            self._flushing = {}
        self.flushes += 1

    async def _drain(self) -> None:
        """Write every entry pending now (not those written meanwhile); under the lock."""
        for _ in range(-(-len(self._pending) // self.batch_size)):
            await self._write_batch()

    async def _through(self, key: str) -> None:
        """Before an atomic statement on a cached key: make the durable store current."""
        if key in self._pending:
            await self._drain()

    # -- Storage ---------------------------------------------------------------------------

    async def get(self, key: str) -> Any | None:
        self._check_open()
        if not key.startswith(self.prefixes):
            return await self.durable.get(key)
        cached = self._cache.get(key)
        if cached is not None:
            if cached[1] is not None and cached[1] <= time.time():
                del self._cache[key]  # the newest value, expired: absent
                return None
            self._cache.move_to_end(key)
            return decode(cached[0])
        entry = self._pending.get(key) or self._flushing.get(key)
        if entry is not None:
            text, expires_at = entry
            if text is None or (expires_at is not None and expires_at <= time.time()):
                return None
            return decode(text)
        if self._get_blocking is not None:
            try:
                return self._get_blocking(key)
            except Exception:  # cannot read that way now: the ordinary way reports real errors
                pass
        return await self.durable.get(key)

    async def set(self, key: str, value: Any, ttl: float | None = None) -> None:
        self._check_open()
        if not key.startswith(self.prefixes):
            return await self.durable.set(key, value, ttl)
        ttl = check_ttl(ttl)
        text = encode(value)
        cached = (text, None if ttl is None else time.time() + ttl)
        cache = self._cache
        cache[key] = cached
        cache.move_to_end(key)
        if len(cache) > self.max_entries:
            cache.popitem(last=False)  # still pending if not written yet: reads find it there
        self._write(key, cached)

    async def add(self, key: str, value: Any, ttl: float | None = None) -> bool:
        self._check_open()
        if not key.startswith(self.prefixes):
            return await self.durable.add(key, value, ttl)
        check_ttl(ttl)
        encode(value)  # bad values raise here, as from any store, before any I/O
        cached = self._cache.get(key)
        if cached is not None and (cached[1] is None or cached[1] > time.time()):
            return False  # the newest value, live
        async with self._lock:
            await self._through(key)
            added = await self.durable.add(key, value, ttl)
            self._cache.pop(key, None)
        return added

    async def delete(self, key: str) -> None:
        self._check_open()
        if not key.startswith(self.prefixes):
            return await self.durable.delete(key)
        self._cache.pop(key, None)
        self._write(key, _DELETED)

    async def delete_prefix(self, prefix: str) -> int:
        self._check_open()
        if not self._covers(prefix):
            return await self.durable.delete_prefix(prefix)
        async with self._lock:
            await self._drain()
            removed = await self.durable.delete_prefix(prefix)
            for key in [k for k in self._cache if k.startswith(prefix)]:
                del self._cache[key]
        return removed

    async def incr(self, key: str, amount: int = 1, ttl: float | None = None) -> int:
        self._check_open()
        if not key.startswith(self.prefixes):
            return await self.durable.incr(key, amount, ttl)
        async with self._lock:
            await self._through(key)
            try:
                return await self.durable.incr(key, amount, ttl)
            finally:
                self._cache.pop(key, None)

    async def flush(self) -> None:
        """Write every pending entry now; raises if the durable store fails (they stay)."""
        self._check_open()
        async with self._lock:
            await self._drain()

    @property
    def pending(self) -> int:
        """Writes not yet in the durable store."""
        return len(self._pending) + len(self._flushing)

    def __len__(self) -> int:
        return len(self._cache)

    async def ping(self) -> bool:
        return not self._closed and await self.durable.ping()

    async def close(self) -> None:
        """Write what is pending (three tries), then close the durable store."""
        if self._closed:
            return
        self._closed = True
        self._wake.set()
        if self._flusher is not None:
            with contextlib.suppress(Exception):
                await self._flusher  # finishes its batch in flight, if any, and stops
        try:
            for attempt in range(3):
                try:
                    async with self._lock:
                        while self._pending:
                            await self._write_batch()
                    if self._dropped_in_outage:  # the outage ended with the shutdown
                        log.warning(
                            "write-behind flush works again at close",
                            extra={"dropped": self._dropped_in_outage},
                        )
                    break
                except Exception as exc:
                    if attempt == 2:
                        log.error(
                            "write-behind writes lost at close: the durable store failed",
                            extra={
                                "lost": len(self._pending),
                                "dropped": self._dropped_in_outage,
                                "error": f"{exc}"[:200],
                            },
                        )
                    else:
                        await asyncio.sleep(0.2 * (attempt + 1))
        finally:
            self._cache.clear()
            self._pending.clear()
            await self.durable.close()
