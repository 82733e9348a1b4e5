"""Command line: classify (the evaluation contract), eval, ask, chat, run, serve, warmup."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import Any, TextIO


def _understanding_json(raw: str) -> dict[str, Any]:
    from bot.nlu.understand import NLU

    u = NLU.default().understand(raw)
    return {
        "text": raw,
        "intent": u.intent,
        "confidence": u.confidence,
        "cities": list(u.cities),
        "provinces": list(u.provinces),
        "runner_up": u.runner_up,
    }


def cmd_classify(_: argparse.Namespace, stdin: TextIO, stdout: TextIO) -> int:
    """One JSON object per input line, in order; never fails on a line (the contract)."""
    from bot.nlu.understand import NLU

    NLU.default()
    out = []
    for line in stdin:
        raw = line.rstrip("\r\n")
        try:
            obj = _understanding_json(raw)
        except Exception:  # noqa: BLE001 - one bad line must not stop the other thousands
            obj = {
                "text": raw,
                "intent": "out_of_scope",
                "confidence": 0.0,
                "cities": [],
                "provinces": [],
                "runner_up": None,
            }
        out.append(json.dumps(obj, ensure_ascii=False))
        if len(out) >= 512:
            stdout.write("\n".join(out) + "\n")
            out.clear()
    if out:
        stdout.write("\n".join(out) + "\n")
    stdout.flush()
    return 0


def cmd_eval(args: argparse.Namespace, _stdin: TextIO, stdout: TextIO) -> int:
    from bot.evaluate import evaluate_file

    return evaluate_file(args.file, stdout, show_all=args.all)


def cmd_warmup(_: argparse.Namespace, _stdin: TextIO, stdout: TextIO) -> int:
    """Build the jieba cache and check the data files load (used at install and image build)."""
    from bot.nlu.understand import NLU

    nlu = NLU.default()
    nlu.understand("从福州转到北京的医保余额多久到账")
    stdout.write("warm: dictionaries and region data loaded\n")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bot", description="医保小助手")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("classify", help="stdin lines → JSON lines (intent, confidence, places)")
    p_eval = sub.add_parser("eval", help="per-intent precision/recall/F1 on a labelled file")
    p_eval.add_argument("file")
    p_eval.add_argument("--all", action="store_true", help="list every line, not only errors")
    sub.add_parser("warmup", help="load dictionaries and data once (build caches)")
    from bot import chat, serve
    from bot.reminders import cli as reminders_cli

    chat.register(sub)
    serve.register(sub)
    reminders_cli.register(sub)
    return parser


COMMANDS = {"classify": cmd_classify, "eval": cmd_eval, "warmup": cmd_warmup}


def main(argv: Sequence[str] | None = None) -> int:
    # Chinese in and out whatever the locale says (CI shells often run with LANG=C).
    for stream in (sys.stdin, sys.stdout, sys.stderr):
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(encoding="utf-8", errors="replace")
    args = build_parser().parse_args(argv)
    handler = COMMANDS.get(args.command) or getattr(args, "handler", None)
    if handler is None:
        return 2
    return int(handler(args, sys.stdin, sys.stdout))
