"""Measure the classifier: throughput on one core, cold start, resident memory.

    python benchmarks/classify_bench.py [--seconds 5]

Throughput runs the same code as ``python -m bot classify`` (normalise, jieba, places, intent)
over realistic messages that are *not* cached (each is made unique), on one core. Start-up is
the wall time of a fresh ``python -m bot classify`` process answering one line. Memory is the
peak resident set size of such a process after classifying every message once.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def corpus() -> list[str]:
    from bot.evaluate import load_rows

    texts: list[str] = []
    for path in [ROOT.parent / "shared/eval/dev.tsv", ROOT / "benchmarks/data/final_heldout.tsv"]:
        if path.exists():
            texts += [r.text for r in load_rows(path)]
    return texts


def throughput(seconds: float) -> float:
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    from bot.cli import _understanding_json
    from bot.nlu.understand import NLU

    NLU.default()
    texts = corpus()
    n = 0
    start = time.perf_counter()
    while time.perf_counter() - start < seconds:
        for text in texts:
            # A unique suffix defeats the normaliser's cache: every message is new work.
            json.dumps(_understanding_json(f"{text} {n}"), ensure_ascii=False)
            n += 1
    return n / (time.perf_counter() - start)


def cold_start(runs: int = 5) -> float:
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "bot", "classify"],
            input="从福州转到北京的医保多久到账\n".encode(),
            capture_output=True,
            check=True,
            cwd=ROOT,
        )
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def memory_mb() -> float:
    feed = "\n".join(corpus()) + "\n"
    proc = subprocess.run(
        [
            sys.executable,
            "-c",
            "import resource,sys,io\nfrom bot.cli import main\nsys.stdout=io.StringIO()\nmain(['classify'])\n"
            "sys.__stdout__.write(str(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss))",
        ],
        input=feed.encode(),
        capture_output=True,
        check=True,
        cwd=ROOT,
    )
    return int(proc.stdout.decode().strip()) / 1024


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=5.0)
    args = ap.parse_args()
    rate = throughput(args.seconds)
    start = cold_start()
    mem = memory_mb()
    print(f"classify throughput: {rate:,.0f} messages/s on one core (target >= 5,000)")
    print(f"cold start to first answer: {start:.2f} s median of 5 (target <= 1.5 s)")
    print(f"peak resident memory: {mem:.0f} MB (target <= 150 MB)")


if __name__ == "__main__":
    main()
