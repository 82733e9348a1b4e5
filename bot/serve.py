"""``serve`` and ``menu`` subcommands: run the web server, print or publish the custom menu.

``bot/cli.py`` calls ``register(subparsers)``; each subcommand stores its handler in
``args.handler`` (``handler(args, stdin, stdout) -> int``, the exit code), the CLI's convention.
``python -m bot.serve …`` works too.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ctypes
import dataclasses
import io
import json
import logging
import os
import signal
import sys
import time
from typing import Any, TextIO

from aiohttp import web

from bot.app import create_app
from bot.logs import setup_logging
from bot.menu import menu_json
from bot.settings import Settings
from bot.storage import open_storage
from bot.wechat_api import WeChatAPI, WeChatAPIError

__all__ = ["main", "register", "run_menu", "run_serve"]

log = logging.getLogger(__name__)


def register(subparsers: Any) -> None:
    """Add ``serve`` and ``menu`` to an ``argparse`` subparsers object."""
    serve = subparsers.add_parser(
        "serve", help="run the WeChat webhook and the local chat page (aiohttp)"
    )
    serve.add_argument("--host", help="address to bind (default: $HOST or 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port to bind (default: $PORT or 8080)")
    serve.add_argument(
        "--workers",
        type=int,
        help="processes sharing the port via SO_REUSEPORT (default: $WORKERS or 1)",
    )
    serve.set_defaults(handler=run_serve)

    menu = subparsers.add_parser("menu", help="print the custom menu JSON (--push publishes it)")
    menu.add_argument("--push", action="store_true", help="create the menu through the WeChat API")
    menu.set_defaults(handler=run_menu)


def run_serve(args: argparse.Namespace, stdin: TextIO, stdout: TextIO) -> int:
    settings = Settings.from_env()
    overrides: dict[str, Any] = {}
    if getattr(args, "host", None):
        overrides["host"] = args.host
    if getattr(args, "port", None) is not None:
        overrides["port"] = args.port
    if getattr(args, "workers", None) is not None:
        if args.workers < 1:
            sys.stderr.write("error: --workers must be at least 1\n")
            return 2
        overrides["workers"] = args.workers
    settings = dataclasses.replace(settings, **overrides)
    setup_logging(settings.log_level)
    if settings.workers > 1:
        return supervise(settings, stdout)
    return _serve_one(settings, stdout)


_M_MMAP_THRESHOLD = -3  # glibc mallopt parameter
_mmap_threshold_pinned = False


def _pin_mmap_threshold(limit: int = 128 * 1024) -> None:
    """Make glibc serve blocks of ``limit`` bytes and more with their own mmap, always.

    Such blocks are mostly dict tables: bounded stores and the LRU churn steadily, and their
    big dicts reallocate their tables every few tens of thousands of writes. glibc raises its
    mmap threshold to the size of each mmap'd block freed (up to 32 MiB), after which those
    tables come from the brk heap instead, where the holes they leave are not given back:
    resident memory then crept ~3 MiB per 30 s at half load with every store bounded, and
    stayed flat with this. Setting the threshold once turns that adjustment off; 128 KiB is
    glibc's own initial value. Process-wide, once per serving process, before the app builds
    its storage (``_serve_one``: the single server, or each forked worker); a no-op where
    mallopt is missing (musl, macOS).
    """
    global _mmap_threshold_pinned
    if _mmap_threshold_pinned:
        return
    _mmap_threshold_pinned = True
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (AttributeError, OSError):
        return
    mallopt(_M_MMAP_THRESHOLD, limit)


def _serve_one(settings: Settings, stdout: TextIO, *, reuse_port: bool = False) -> int:
    _pin_mmap_threshold()
    try:
        app = create_app(settings)
    except ValueError as exc:  # a malformed AES key or storage URL: say so, no traceback
        log.error("cannot start", extra={"error": str(exc)})
        sys.stderr.write(f"error: {exc}\n")
        return 2
    shown_host = "127.0.0.1" if settings.host in ("0.0.0.0", "::", "") else settings.host
    log.info("serving", extra={"host": settings.host, "port": settings.port})
    stdout.write(f"医保小助手 chat page: http://{shown_host}:{settings.port}/\n")
    stdout.flush()
    web.run_app(
        app,
        host=settings.host,
        port=settings.port,
        # The default access log prints query strings, which carry openids and signatures.
        access_log=None,
        print=None,
        # Open requests end by the reply deadline; pending answers get their own budget later.
        shutdown_timeout=min(settings.reply_deadline + 0.5, settings.shutdown_timeout + 0.5),
        reuse_port=reuse_port or None,
    )
    return 0


# -- several workers ------------------------------------------------------------------------------

_RESTART_BACKOFF = (0.5, 1.0, 2.0, 5.0)  # seconds before restarting a worker that keeps dying


def supervise(settings: Settings, stdout: TextIO) -> int:
    """Run ``settings.workers`` server processes on one port; restart any that dies.

    Each worker binds its own socket with SO_REUSEPORT and the kernel spreads connections
    over them; a worker that dies loses only the connections it held (WeChat retries those,
    and the shared store answers the retry once). Dictionaries load once here, before the
    fork, so workers start at once and share those pages copy-on-write. SIGTERM/SIGINT go to
    every worker, which shut down gracefully; the supervisor exits when they have.
    """
    from bot.app import settle_heap
    from bot.pipeline import Pipeline
    from bot.storage import MemoryStorage

    Pipeline(settings, MemoryStorage()).warmup()  # no storage is opened before the fork
    settle_heap()
    stopping = False
    children: dict[int, tuple[int, float]] = {}  # pid -> (worker index, started)
    failures = [0] * settings.workers

    def spawn(index: int) -> None:
        pid = os.fork()
        if pid == 0:  # the worker
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            signal.signal(signal.SIGINT, signal.SIG_DFL)
            code = 1
            try:
                code = _serve_one(
                    settings, stdout if index == 0 else io.StringIO(), reuse_port=True
                )
            finally:
                os._exit(code)  # never return into the supervisor's stack
        children[pid] = (index, time.monotonic())

    def stop(signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True
        for pid in list(children):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    log.info("starting workers", extra={"workers": settings.workers, "port": settings.port})
    for index in range(settings.workers):
        spawn(index)
    exit_code = 0
    while children:
        try:
            pid, status = os.wait()
        except ChildProcessError:
            break
        except InterruptedError:  # pragma: no cover - PEP 475 retries, kept for clarity
            continue
        if pid not in children:
            continue
        index, started = children.pop(pid)
        code = os.waitstatus_to_exitcode(status)
        if code == 2 and not stopping:  # a configuration error: every worker would hit it
            exit_code = 2
            stop(signal.SIGTERM, None)
        if stopping:
            exit_code = exit_code or (code if code > 0 else 0)
            continue
        log.error("worker died; restarting it", extra={"worker": index, "exit": code})
        if time.monotonic() - started > 60:
            failures[index] = 0  # it had been healthy: this is not a crash loop
        delay = _RESTART_BACKOFF[min(failures[index], len(_RESTART_BACKOFF) - 1)]
        failures[index] += 1
        time.sleep(delay)
        if not stopping:
            spawn(index)
    return exit_code


def run_menu(args: argparse.Namespace, stdin: TextIO, stdout: TextIO) -> int:
    body = menu_json()
    stdout.write(json.dumps(body, ensure_ascii=False, indent=2) + "\n")
    if not getattr(args, "push", False):
        return 0
    settings = Settings.from_env()
    setup_logging(settings.log_level)
    if not settings.wechat_app_id or not settings.wechat_app_secret:
        sys.stderr.write("error: WECHAT_APP_ID and WECHAT_APP_SECRET are required for --push\n")
        return 2
    try:
        asyncio.run(_push_menu(settings, body))
    except WeChatAPIError as exc:
        sys.stderr.write(f"error: menu/create failed: {exc}\n")
        return 1
    stdout.write("menu published\n")
    return 0


async def _push_menu(settings: Settings, body: dict[str, Any]) -> None:
    storage = open_storage(settings.storage_url)
    api = WeChatAPI(settings, storage)
    try:
        await api.create_menu(body)
    finally:
        await api.close()
        await storage.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot.serve", description=__doc__)
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    result: int = args.handler(args, sys.stdin, sys.stdout)
    return result


if __name__ == "__main__":
    sys.exit(main())
