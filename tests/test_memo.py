"""The understanding cache keeps only texts that come back (bot.memo)."""

from __future__ import annotations

from bot.memo import RepeatMemo


def test_results_are_cached_only_from_the_second_sighting() -> None:
    calls: list[str] = []

    def work(text: str) -> str:
        calls.append(text)
        return text.upper()

    memo = RepeatMemo(work, size=4)
    assert memo("a") == "A" and len(memo) == 0  # seen once: computed, not kept
    assert memo("a") == "A" and len(memo) == 1  # seen twice: kept
    assert memo("a") == "A"
    assert calls == ["a", "a"] and memo.hits == 1 and memo.misses == 2


def test_least_recently_used_goes_first_and_size_is_bounded() -> None:
    memo = RepeatMemo(lambda x: x * 2, size=2)
    for key in (1, 1, 2, 2, 3, 3):
        memo(key)
    assert len(memo) == 2
    hits = memo.hits
    memo(1)  # evicted: computed again
    assert memo.hits == hits
    memo(3)
    assert memo.hits == hits + 1


def test_the_doorkeeper_is_bounded_and_one_offs_never_fill_the_cache() -> None:
    memo = RepeatMemo(lambda x: x, size=8, doorkeeper=16)
    for i in range(1000):
        memo(i)
    assert len(memo) == 0
    assert len(memo._door) <= 16


def test_keyword_calls_are_passed_through_uncached() -> None:
    memo = RepeatMemo(lambda x, y=0: x + y)
    assert memo(1, y=2) == 3 and memo(1, y=2) == 3
    assert len(memo) == 0
