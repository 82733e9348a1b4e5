"""Async client for the few WeChat server APIs the bot calls (aiohttp, never blocks the loop).

wechatpy's client is synchronous (``requests``) and retries 40001 without a cap, so this is a
small async one. The access token lives in the shared storage because every token request
invalidates older tokens: with several workers each fetching its own they would keep knocking
each other's token out (wechatpy#737). Refreshes are single-flight: one asyncio lock within a
process plus a short storage lock across processes; the losers wait for the winner's token.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from enum import StrEnum
from typing import Any

import aiohttp

from bot.http import LazySession
from bot.logs import hash_user
from bot.settings import Settings
from bot.storage.base import Storage

__all__ = ["PushResult", "WeChatAPI", "WeChatAPIError"]

log = logging.getLogger(__name__)

# Token errors worth one refresh-and-retry: invalid credential, invalid token, token expired.
_TOKEN_ERRORS = frozenset({40001, 40014, 42001})
OUT_OF_WINDOW = 45015  # the user has not written within 48 h
QUOTA_EXCEEDED = 45047  # too many customer-service messages since the user last wrote
# Refresh well before expiry so a token never dies in flight (tokens live 7200 s).
_EARLY_REFRESH = 300.0
_LOCK_TTL = 10.0
_POLL = 0.05


class WeChatAPIError(Exception):
    """An API call failed; ``errcode`` is WeChat's code, or -1 for transport errors."""

    def __init__(self, errcode: int, errmsg: str) -> None:
        super().__init__(f"{errcode}: {errmsg}")
        self.errcode = errcode
        self.errmsg = errmsg


class PushResult(StrEnum):
    SENT = "sent"
    QUOTA = "quota"  # our own counter says the 48 h allowance is used up; nothing sent
    OUT_OF_WINDOW = "out_of_window"  # 45015
    LIMIT = "limit"  # 45047
    FAILED = "failed"


class WeChatAPI:
    """Access token, customer-service messages and the custom menu."""

    def __init__(
        self,
        settings: Settings,
        storage: Storage,
        session: aiohttp.ClientSession | None = None,
    ) -> None:
        self._settings = settings
        self._storage = storage
        self._base = settings.wechat_api_base.rstrip("/") + "/"
        self._sessions = LazySession(session)
        self._lock = asyncio.Lock()
        # Per-process memo so the hot path does not read storage for every call.
        self._token = ""
        self._token_expires = 0.0  # wall-clock epoch, comparable across processes
        self._token_key = f"wechat:token:{settings.wechat_app_id}"
        self._lock_key = f"lock:token:{settings.wechat_app_id}"

    async def close(self) -> None:
        await self._sessions.close()

    def _http(self) -> aiohttp.ClientSession:
        return self._sessions.get()

    # -- access token ---------------------------------------------------------------------------

    async def access_token(self) -> str:
        """A valid token: memo, then shared storage, then a (single-flight) refresh."""
        if self._token and time.time() < self._token_expires:
            return self._token
        cached = await self._cached_token()
        if cached:
            return cached
        return await self._refresh(stale=None)

    async def _cached_token(self) -> str:
        value = await self._storage.get(self._token_key)
        if (
            isinstance(value, dict)
            and isinstance(value.get("token"), str)
            and isinstance(value.get("expires_at"), int | float)
            and time.time() < value["expires_at"]
        ):
            self._token, self._token_expires = value["token"], float(value["expires_at"])
            return self._token
        return ""

    async def _refresh(self, stale: str | None) -> str:
        """Fetch a new token unless someone else already replaced ``stale``."""
        async with self._lock:
            cached = await self._cached_token()
            if cached and cached != stale:
                return cached
            owner = await self._storage.add(self._lock_key, True, ttl=_LOCK_TTL)
            if not owner:
                token = await self._wait_for_other_worker(stale)
                if token:
                    return token
            try:
                token, expires_in = await self._request_token(force=stale is not None)
                expires_at = time.time() + max(expires_in - _EARLY_REFRESH, 60.0)
                await self._storage.set(
                    self._token_key,
                    {"token": token, "expires_at": expires_at},
                    ttl=max(expires_at - time.time(), 1.0),
                )
                self._token, self._token_expires = token, expires_at
                return token
            finally:
                if owner:
                    await self._storage.delete(self._lock_key)

    async def _wait_for_other_worker(self, stale: str | None) -> str:
        deadline = time.monotonic() + _LOCK_TTL
        while time.monotonic() < deadline:
            await asyncio.sleep(_POLL)
            token = await self._cached_token()
            if token and token != stale:
                return token
        return ""

    async def _request_token(self, force: bool) -> tuple[str, float]:
        # stable_token: old and new tokens overlap for 5 minutes, unlike /token which kills
        # the previous one at once. force_refresh only after WeChat rejected the token.
        payload = {
            "grant_type": "client_credential",
            "appid": self._settings.wechat_app_id,
            "secret": self._settings.wechat_app_secret,
            "force_refresh": force,
        }
        data = await self._post("stable_token", None, payload)
        token, expires_in = data.get("access_token"), data.get("expires_in", 7200)
        if not isinstance(token, str) or not token:
            raise WeChatAPIError(_errcode(data) or -1, str(data.get("errmsg", "no access_token")))
        return token, float(expires_in) if isinstance(expires_in, int | float) else 7200.0

    # -- calls ------------------------------------------------------------------------------------

    async def _post(self, path: str, token: str | None, payload: dict[str, Any]) -> dict[str, Any]:
        params = {"access_token": token} if token else None
        # WeChat counts content length in raw UTF-8, so no \\u escapes.
        body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
        try:
            async with self._http().post(
                self._base + path,
                params=params,
                data=body,
                headers={"Content-Type": "application/json; charset=utf-8"},
            ) as resp:
                if resp.status != 200:
                    raise WeChatAPIError(-1, f"HTTP {resp.status} from {path}")
                data = await resp.json(content_type=None)
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            # Never include the URL: its query string carries the access token.
            raise WeChatAPIError(-1, f"{type(exc).__name__} calling {path}") from exc
        if not isinstance(data, dict):
            raise WeChatAPIError(-1, f"unexpected response from {path}")
        return data

    async def call(self, path: str, payload: dict[str, Any]) -> dict[str, Any]:
        """POST with the access token; on a token error refresh and retry exactly once."""
        token = await self.access_token()
        data = await self._post(path, token, payload)
        if _errcode(data) in _TOKEN_ERRORS:
            log.warning("access token rejected; refreshing", extra={"errcode": _errcode(data)})
            token = await self._refresh(stale=token)
            data = await self._post(path, token, payload)
        code = _errcode(data)
        if code:
            raise WeChatAPIError(code, str(data.get("errmsg", "")))
        return data

    async def send_text(self, openid: str, text: str) -> None:
        """One customer-service (客服) text message; raises ``WeChatAPIError``."""
        await self.call(
            "message/custom/send",
            {"touser": openid, "msgtype": "text", "text": {"content": text}},
        )

    async def push_text(self, openid: str, text: str) -> PushResult:
        """Send a customer-service message within our 48-hour quota; never raises."""
        quota_key = f"csq:{openid}"
        used = await self._storage.incr(quota_key, 1, ttl=self._settings.cs_window)
        if used > self._settings.cs_quota:
            return PushResult.QUOTA
        try:
            await self.send_text(openid, text)
        except WeChatAPIError as exc:
            if exc.errcode in (OUT_OF_WINDOW, QUOTA_EXCEEDED):
                # WeChat's own count disagrees with ours: stop trying for this window.
                await self._storage.set(
                    quota_key, self._settings.cs_quota, ttl=self._settings.cs_window
                )
                result = (
                    PushResult.OUT_OF_WINDOW if exc.errcode == OUT_OF_WINDOW else PushResult.LIMIT
                )
            else:
                result = PushResult.FAILED
            log.warning(
                "customer-service push failed",
                extra={"user": hash_user(openid), "errcode": exc.errcode, "result": result},
            )
            return result
        return PushResult.SENT

    async def create_menu(self, menu: dict[str, Any]) -> None:
        """Publish the custom menu; raises ``WeChatAPIError``."""
        await self.call("menu/create", menu)


def _errcode(data: dict[str, Any]) -> int:
    code = data.get("errcode", 0)
    return code if isinstance(code, int) else -1
