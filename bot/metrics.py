"""Prometheus text exposition (format 0.0.4) without a client library.

Only what the bot needs: labelled counters and one latency histogram. Each app owns its
``Metrics`` (no process-global registry), so tests building several apps do not share counts.
Updates are plain dict operations on the event-loop thread, cheap enough for the hot path.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Iterable, Sequence

__all__ = ["Counter", "Histogram", "Metrics"]

Labels = tuple[tuple[str, str], ...]

# Webhook answers are either fast (<50 ms) or hit the 4.5 s deadline; buckets cover both.
DEFAULT_BUCKETS: tuple[float, ...] = (
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 4.5, 5.0, 10.0,
)  # fmt: skip


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _labels(labels: Labels, extra: Labels = ()) -> str:
    items = labels + extra
    if not items:
        return ""
    return "{" + ",".join(f'{k}="{_escape(v)}"' for k, v in items) + "}"


def _number(value: float) -> str:
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if value == int(value) and abs(value) < 1e15:
        return str(int(value))
    return repr(value)


class Counter:
    """A monotonically increasing count per label set."""

    def __init__(self, name: str, help_text: str, label_names: Sequence[str] = ()) -> None:
        self.name = name
        self.help_text = help_text
        self.label_names = tuple(label_names)
        self._values: dict[Labels, float] = {}

    def inc(self, amount: float = 1.0, **labels: str) -> None:
        key = tuple((n, labels.get(n, "")) for n in self.label_names)
        self._values[key] = self._values.get(key, 0.0) + amount

    def value(self, **labels: str) -> float:
        key = tuple((n, labels.get(n, "")) for n in self.label_names)
        return self._values.get(key, 0.0)

    def render(self) -> Iterable[str]:
        yield f"# HELP {self.name} {self.help_text}"
        yield f"# TYPE {self.name} counter"
        for key, value in sorted(self._values.items()):
            yield f"{self.name}{_labels(key)} {_number(value)}"


class Histogram:
    """Cumulative buckets, sum and count per label set."""

    def __init__(
        self,
        name: str,
        help_text: str,
        label_names: Sequence[str] = (),
        buckets: Sequence[float] = DEFAULT_BUCKETS,
    ) -> None:
        self.name = name
        self.help_text = help_text
        self.label_names = tuple(label_names)
        self.buckets = tuple(sorted(buckets))
        # Per label set: per-bucket (non-cumulative) counts with a trailing +Inf slot, and sum.
        self._counts: dict[Labels, list[int]] = {}
        self._sums: dict[Labels, float] = {}

    def observe(self, value: float, **labels: str) -> None:
        key = tuple((n, labels.get(n, "")) for n in self.label_names)
        counts = self._counts.get(key)
        if counts is None:
            counts = self._counts[key] = [0] * (len(self.buckets) + 1)
            self._sums[key] = 0.0
        counts[bisect.bisect_left(self.buckets, value)] += 1
        self._sums[key] += value

    def count(self, **labels: str) -> int:
        key = tuple((n, labels.get(n, "")) for n in self.label_names)
        return sum(self._counts.get(key, ()))

    def render(self) -> Iterable[str]:
        yield f"# HELP {self.name} {self.help_text}"
        yield f"# TYPE {self.name} histogram"
        for key in sorted(self._counts):
            running = 0
            for bound, count in zip((*self.buckets, math.inf), self._counts[key], strict=True):
                running += count
                le = (("le", _number(bound)),)
                yield f"{self.name}_bucket{_labels(key, le)} {running}"
            yield f"{self.name}_sum{_labels(key)} {_number(self._sums[key])}"
            yield f"{self.name}_count{_labels(key)} {running}"


class Metrics:
    """The bot's metrics; ``render()`` is the body of ``GET /metrics``."""

    def __init__(self) -> None:
        self.requests = Counter(
            "bot_http_requests_total", "HTTP requests by route and status.", ("route", "status")
        )
        self.latency = Histogram(
            "bot_http_request_duration_seconds", "HTTP request latency by route.", ("route",)
        )
        self.messages = Counter("bot_wechat_messages_total", "WeChat messages by type.", ("type",))
        self.intents = Counter(
            "bot_intents_total", "Answers by intent and channel.", ("intent", "channel")
        )
        self.errors = Counter("bot_errors_total", "Handled errors by kind.", ("kind",))
        self.dedup_hits = Counter(
            "bot_dedup_hits_total", "WeChat retries answered without running the bot again."
        )
        self.late_answers = Counter(
            "bot_late_answers_total", "Answers not ready by the reply deadline."
        )
        self.pushes = Counter(
            "bot_customer_service_pushes_total",
            "Customer-service messages by result.",
            ("result",),
        )

    def render(self) -> str:
        metrics = (
            self.requests,
            self.latency,
            self.messages,
            self.intents,
            self.errors,
            self.dedup_hits,
            self.late_answers,
            self.pushes,
        )
        lines = [line for metric in metrics for line in metric.render()]
        return "\n".join(lines) + "\n"
