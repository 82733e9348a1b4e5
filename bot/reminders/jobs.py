"""The reminder jobs table: one row per (subscription, fire date), claimed with a lease.

Life of a job::

    pending --claim--> leased --complete--> sent | stopped | failed | expired | cancelled
       ^                  |
       +--- reschedule ---+   (transient error: back off; or the lease expired: a worker died)

The row's primary key is the idempotency key (:func:`bot.reminders.records.job_key`), so a
reminder exists once however often the chat re-syncs it, and a recorded result is never
overwritten by a second sender: ``complete`` and ``reschedule`` only act while the caller
still holds the lease. A worker that dies leaves its jobs leased; once ``lease_until`` passes,
``claim`` hands them to another worker (``attempts`` counts every claim).

Backends: :class:`MemoryJobStore` (tests and the in-memory storage), SQLite
(:mod:`.sqlite_jobs`, ``BEGIN IMMEDIATE``) and PostgreSQL (:mod:`.pg_jobs`,
``FOR UPDATE SKIP LOCKED``); :func:`open_job_store` picks one by URL.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any

from bot.reminders.records import JobSpec

__all__ = ["Job", "JobState", "JobStore", "MemoryJobStore", "open_job_store"]


class JobState(StrEnum):
    PENDING = "pending"
    LEASED = "leased"
    SENT = "sent"
    STOPPED = "stopped"  # 43101/43004: the user cannot or does not want to receive it
    FAILED = "failed"  # permanent error, or transient ones beyond max_attempts
    EXPIRED = "expired"  # its deadline passed before it could be sent
    CANCELLED = "cancelled"  # its subscription is gone from the user's records


TERMINAL = frozenset(
    {JobState.SENT, JobState.STOPPED, JobState.FAILED, JobState.EXPIRED, JobState.CANCELLED}
)


@dataclass(frozen=True)
class Job:
    """A row of the jobs table."""

    key: str
    user: str
    fire_on: str
    due_at: float
    payload: dict[str, Any]
    state: JobState = JobState.PENDING
    attempts: int = 0
    lease_owner: str | None = None
    lease_until: float | None = None
    channel: str = ""
    error: str = ""
    updated_at: float = 0.0
    sent_at: float | None = None

    @classmethod
    def from_row(cls, row: Any) -> Job:
        """From a DB row (sqlite3.Row / asyncpg.Record, column names as in the schema)."""
        return cls(
            key=row["key"],
            user=row["user_id"],
            fire_on=row["fire_on"],
            due_at=float(row["due_at"]),
            payload=json.loads(row["payload"]),
            state=JobState(row["state"]),
            attempts=int(row["attempts"]),
            lease_owner=row["lease_owner"],
            lease_until=None if row["lease_until"] is None else float(row["lease_until"]),
            channel=row["channel"],
            error=row["error"],
            updated_at=float(row["updated_at"]),
            sent_at=None if row["sent_at"] is None else float(row["sent_at"]),
        )


class JobStore(ABC):
    """What the scheduler and the chat need from the jobs table; every method is atomic."""

    @abstractmethod
    async def add(self, specs: Sequence[JobSpec], now: float) -> int:
        """Insert jobs whose key is new (existing rows, sent ones included, are kept)."""

    @abstractmethod
    async def sync_user(self, user: str, specs: Sequence[JobSpec], now: float) -> None:
        """Make ``user``'s pending jobs exactly ``specs``: add new keys, drop pending others.

        Leased and finished rows stay: the first may be sending right now, the others are
        the record that stops a re-subscription from sending the same reminder twice.
        """

    @abstractmethod
    async def forget_user(self, user: str) -> int:
        """Delete every row of ``user``, history included (unsubscribe)."""

    @abstractmethod
    async def claim(self, owner: str, now: float, limit: int, lease: float) -> list[Job]:
        """Lease up to ``limit`` due jobs (pending and due, or leased with an expired lease)."""

    @abstractmethod
    async def complete(
        self,
        key: str,
        owner: str,
        state: JobState,
        now: float,
        channel: str = "",
        error: str = "",
    ) -> bool:
        """Record a final result; False (nothing written) when ``owner`` lost the lease."""

    @abstractmethod
    async def reschedule(
        self, key: str, owner: str, at: float, now: float, error: str = "", refund: bool = False
    ) -> bool:
        """Back to pending, due at ``at``; ``refund`` takes back the claim's attempt."""

    @abstractmethod
    async def stop_user(self, user: str, now: float, error: str) -> int:
        """Stop all of ``user``'s pending jobs (the user is gone)."""

    @abstractmethod
    async def jobs(self, user: str | None = None) -> list[Job]:
        """Every row (of ``user``), for status and tests."""

    @abstractmethod
    async def counts(self) -> dict[str, int]:
        """Rows per state."""

    async def unfinished(self) -> int:
        """Pending plus leased rows."""
        counts = await self.counts()
        return counts.get(JobState.PENDING, 0) + counts.get(JobState.LEASED, 0)

    @abstractmethod
    async def close(self) -> None:
        """Release connections; safe to call twice."""


class MemoryJobStore(JobStore):
    """A dict of jobs: one process, no persistence (the ``memory://`` storage's companion)."""

    def __init__(self) -> None:
        self._rows: dict[str, Job] = {}

    async def add(self, specs: Sequence[JobSpec], now: float) -> int:
        added = 0
        for spec in specs:
            if spec.key not in self._rows:
                self._rows[spec.key] = Job(
                    spec.key, spec.user, spec.fire_on, spec.due_at, dict(spec.payload),
                    updated_at=now,
                )  # fmt: skip
                added += 1
        return added

    async def sync_user(self, user: str, specs: Sequence[JobSpec], now: float) -> None:
        wanted = {s.key for s in specs}
        for key, job in list(self._rows.items()):
            if job.user == user and job.state is JobState.PENDING and key not in wanted:
                del self._rows[key]
        await self.add(specs, now)

    async def forget_user(self, user: str) -> int:
        gone = [k for k, j in self._rows.items() if j.user == user]
        for key in gone:
            del self._rows[key]
        return len(gone)

    async def claim(self, owner: str, now: float, limit: int, lease: float) -> list[Job]:
        due = sorted(
            (
                j
                for j in self._rows.values()
                if (j.state is JobState.PENDING and j.due_at <= now)
                or (j.state is JobState.LEASED and (j.lease_until or 0.0) <= now)
            ),
            key=lambda j: j.due_at,
        )[:limit]
        claimed = []
        for job in due:
            job = replace(
                job,
                state=JobState.LEASED,
                lease_owner=owner,
                lease_until=now + lease,
                attempts=job.attempts + 1,
                updated_at=now,
            )
            self._rows[job.key] = job
            claimed.append(job)
        return claimed

    def _held(self, key: str, owner: str) -> Job | None:
        job = self._rows.get(key)
        if job is None or job.state is not JobState.LEASED or job.lease_owner != owner:
            return None
        return job

    async def complete(
        self,
        key: str,
        owner: str,
        state: JobState,
        now: float,
        channel: str = "",
        error: str = "",
    ) -> bool:
        job = self._held(key, owner)
        if job is None:
            return False
        self._rows[key] = replace(
            job,
            state=state,
            lease_owner=None,
            lease_until=None,
            channel=channel,
            error=error,
            updated_at=now,
            sent_at=now if state is JobState.SENT else None,
        )
        return True

    async def reschedule(
        self, key: str, owner: str, at: float, now: float, error: str = "", refund: bool = False
    ) -> bool:
        job = self._held(key, owner)
        if job is None:
            return False
        self._rows[key] = replace(
            job,
            state=JobState.PENDING,
            due_at=at,
            lease_owner=None,
            lease_until=None,
            attempts=job.attempts - 1 if refund else job.attempts,
            error=error or job.error,
            updated_at=now,
        )
        return True

    async def stop_user(self, user: str, now: float, error: str) -> int:
        stopped = 0
        for key, job in list(self._rows.items()):
            if job.user == user and job.state is JobState.PENDING:
                self._rows[key] = replace(job, state=JobState.STOPPED, error=error, updated_at=now)
                stopped += 1
        return stopped

    async def jobs(self, user: str | None = None) -> list[Job]:
        rows = [j for j in self._rows.values() if user is None or j.user == user]
        return sorted(rows, key=lambda j: (j.due_at, j.key))

    async def counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for job in self._rows.values():
            counts[job.state] = counts.get(job.state, 0) + 1
        return counts

    async def close(self) -> None:
        return None


def open_job_store(url: str) -> JobStore:
    """``memory://``, ``sqlite:///path`` (the storage's URL forms) or ``postgresql://…[?jobs_table=]``.

    Connections open lazily, on first use, as with the key/value storage.
    """
    scheme = url.partition("://")[0].lower()
    if scheme == "memory":
        return MemoryJobStore()
    if scheme == "sqlite":
        from bot.reminders.sqlite_jobs import SQLiteJobStore

        return SQLiteJobStore.from_url(url)
    if scheme in ("postgresql", "postgres"):
        from bot.reminders.pg_jobs import PostgresJobStore

        return PostgresJobStore.from_url(url)
    raise ValueError(f"reminder jobs need memory://, sqlite:/// or postgresql://, not {url!r}")
