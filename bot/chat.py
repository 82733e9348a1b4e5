"""Local ways to talk to the bot: ``ask`` (one message), ``chat`` (a terminal conversation).

Both go through the same :class:`~bot.pipeline.Pipeline` as WeChat, with the embedded storage
from ``Settings.from_env()`` (SQLite under ``var/`` by default), so ``ask --user U`` calls share
a conversation.
"""

from __future__ import annotations

import argparse
import asyncio
import json
from datetime import date
from typing import TextIO

from bot.settings import Settings


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p_ask = sub.add_parser("ask", help="answer one message as a chat user would see it")
    p_ask.add_argument("message")
    p_ask.add_argument("--user", default="cli")
    p_ask.add_argument("--today", type=date.fromisoformat, default=None)
    p_ask.add_argument("--json", action="store_true", help="also show intent, places, figures")
    p_ask.set_defaults(handler=cmd_ask)
    p_chat = sub.add_parser("chat", help="a conversation in the terminal")
    p_chat.add_argument("--user", default="terminal")
    p_chat.add_argument("--today", type=date.fromisoformat, default=None)
    p_chat.set_defaults(handler=cmd_chat)


def cmd_ask(args: argparse.Namespace, _stdin: TextIO, stdout: TextIO) -> int:
    return asyncio.run(_ask(args, stdout))


async def _ask(args: argparse.Namespace, stdout: TextIO) -> int:
    from bot.pipeline import Pipeline
    from bot.storage import open_storage

    settings = Settings.from_env()
    storage = open_storage(settings.storage_url)
    pipeline = Pipeline(settings, storage)
    try:
        answer = await pipeline.respond(args.user, args.message, today=args.today)
    finally:
        await pipeline.close()
        await storage.close()
    if args.json:
        payload = {
            "text": args.message,
            "intent": answer.intent,
            "confidence": answer.confidence,
            "cities": list(answer.cities),
            "figures": list(answer.figures),
            "reply": answer.text,
        }
        stdout.write(json.dumps(payload, ensure_ascii=False, indent=2) + "\n")
    else:
        stdout.write(answer.text + "\n")
    return 0


def cmd_chat(args: argparse.Namespace, stdin: TextIO, stdout: TextIO) -> int:
    return asyncio.run(_chat(args, stdin, stdout))


async def _chat(args: argparse.Namespace, stdin: TextIO, stdout: TextIO) -> int:
    from bot.pipeline import Pipeline
    from bot.storage import open_storage

    settings = Settings.from_env()
    storage = open_storage(settings.storage_url)
    pipeline = Pipeline(settings, storage)
    pipeline.warmup()
    stdout.write("医保小助手（输入问题，回车发送；输入 exit 退出）\n")
    try:
        while True:
            stdout.write("你：")
            stdout.flush()
            line = await asyncio.to_thread(stdin.readline)
            if not line or line.strip().lower() in {"exit", "quit", "q", "退出"}:
                break
            if not line.strip():
                continue
            answer = await pipeline.respond(args.user, line.strip(), today=args.today)
            stdout.write(f"助手：{answer.text}\n\n")
    finally:
        await pipeline.close()
        await storage.close()
    return 0
