"""The one way our outbound clients hold an aiohttp session."""

from __future__ import annotations

import aiohttp

DEFAULT_TIMEOUT = 10.0


class LazySession:
    """A session created on first use, so it binds to the running loop rather than the one (if
    any) at construction; a session passed in is borrowed and never closed here."""

    def __init__(
        self, session: aiohttp.ClientSession | None = None, timeout: float = DEFAULT_TIMEOUT
    ) -> None:
        self._session = session
        self._owned = session is None
        self._timeout = timeout

    def get(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=self._timeout)
            )
            self._owned = True
        return self._session

    async def close(self) -> None:
        if self._session is not None and self._owned:
            await self._session.close()
        self._session = None
