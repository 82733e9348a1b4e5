"""Memoising pure per-text work, keeping only what repeats.

A deadline burst repeats a few phrasings word for word, while most other messages are seen
once. A plain LRU fills with those one-offs: they evict the repeats and, worse, each cached
understanding is a dozen small objects that every full garbage collection must walk (a
8,192-entry cache made those collections 40-80 ms, the whole p99 under load). Here a result
is kept only when its arguments come back: the first sighting leaves a hash in a small
"doorkeeper" set (plain ints, which the collector does not follow), the second one caches it.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, ParamSpec, TypeVar

__all__ = ["RepeatMemo"]

P = ParamSpec("P")
R = TypeVar("R")


class RepeatMemo(Generic[P, R]):
    """``fn`` memoised for positional hashable arguments, admitted on their second call.

    ``size`` bounds the cached results (least recently used go first); ``doorkeeper`` bounds
    the hashes of arguments seen once, cleared wholesale when full (a repeat that straddles a
    clear is merely computed once more).
    """

    def __init__(self, fn: Callable[P, R], size: int = 2048, doorkeeper: int = 16384) -> None:
        self._fn = fn
        self._size = size
        self._door_size = doorkeeper
        self._cache: OrderedDict[Hashable, R] = OrderedDict()
        self._door: set[int] = set()
        self.hits = self.misses = 0

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> R:
        if kwargs:  # not a shape the callers use; never cache what the key would not cover
            return self._fn(*args, **kwargs)
        key: Hashable = args
        try:
            result = self._cache[key]
        except KeyError:
            pass
        else:
            self._cache.move_to_end(key)
            self.hits += 1
            return result
        self.misses += 1
        result = self._fn(*args, **kwargs)
        mark = hash(key)
        if mark in self._door:
            self._door.discard(mark)
            self._cache[key] = result
            if len(self._cache) > self._size:
                self._cache.popitem(last=False)
        else:
            if len(self._door) >= self._door_size:
                self._door.clear()
            self._door.add(mark)
        return result

    def __len__(self) -> int:
        return len(self._cache)

    def clear(self) -> None:
        self._cache.clear()
        self._door.clear()
