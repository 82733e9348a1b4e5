"""Soak: the bot (one worker, default SQLite) at half its capacity for five minutes.

    .venv/bin/python benchmarks/soak.py [--minutes 5] [--rate 0] [--no-reminders]

Measures capacity first (10 s closed loop, unless ``--rate`` is given), then sends half of it
open-loop with benchmarks/loadgen.py in 30-second rounds, printing each round's latencies and
the server's resident memory. Ends with errors and memory growth from the first round (after
caches have filled their working set) to the last. The server is pinned to CPU 0, the load to
CPU 1.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))
from scale_bench import TOKEN, free_port, wait_ready  # noqa: E402


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def loadgen(
    port: int, seconds: float, rate: float, extra: list[str], seed: int = 7
) -> dict[str, float]:
    out = subprocess.run(
        ["taskset", "-c", "1", sys.executable, str(ROOT / "benchmarks/loadgen.py"),
         "--url", f"http://127.0.0.1:{port}/wechat", "--token", TOKEN, "--seconds",
         str(seconds), "--warmup", "0.5", "--rate", f"{rate:.0f}", "--seed", str(seed),
         "--json", *extra],
        capture_output=True, text=True, check=False,
    ).stdout  # fmt: skip
    result: dict[str, float] = json.loads(out.strip().splitlines()[-1])
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--minutes", type=float, default=5.0)
    parser.add_argument("--rate", type=float, default=0.0, help="requests/s; 0 = half capacity")
    parser.add_argument("--no-reminders", action="store_true")
    args = parser.parse_args()
    extra = ["--no-reminders"] if args.no_reminders else []
    with tempfile.TemporaryDirectory() as tmp:
        port = free_port()
        env = {
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "WECHAT_TOKEN": TOKEN,
            "LOG_LEVEL": "WARNING",
            "BOT_DATA_DIR": tmp,
            "PORT": str(port),
            "REMINDERS_IN_SERVE": "0",
        }
        proc = subprocess.Popen(
            ["taskset", "-c", "0", sys.executable, "-m", "bot", "serve"],
            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            wait_ready(port, proc)
            rate = args.rate
            if rate <= 0:
                capacity = loadgen(port, 10, 0, extra)["rps"]
                rate = capacity / 2
                sys.stdout.write(f"capacity {capacity:.0f} req/s; soaking at {rate:.0f}\n")
            rounds = max(1, round(args.minutes * 2))
            first_rss = 0.0
            errors = requests = 0
            worst_p99 = 0.0
            for i in range(rounds):
                # A new seed per round: new users and texts, not a replay of the first round.
                r = loadgen(port, 30, rate, extra, seed=100 + i)
                rss = rss_mib(proc.pid)
                first_rss = first_rss or rss
                errors += int(r["errors"])
                requests += int(r["requests"])
                worst_p99 = max(worst_p99, r["p99_ms"])
                sys.stdout.write(
                    f"round {i + 1:>2}: {r['rps']:.0f} req/s  p50 {r['p50_ms']:.1f}  "
                    f"p99 {r['p99_ms']:.1f}  max {r['max_ms']:.1f} ms  errors {int(r['errors'])}"
                    f"  RSS {rss:.1f} MiB ({(rss / first_rss - 1) * 100:+.1f}%)\n"
                )
                sys.stdout.flush()
            growth = (rss / first_rss - 1) * 100
            sys.stdout.write(
                f"total {requests} requests, {errors} errors, worst p99 {worst_p99:.1f} ms; "
                f"RSS {first_rss:.1f} → {rss:.1f} MiB ({growth:+.1f}%)\n"
            )
        finally:
            proc.terminate()
            proc.wait(20)
    return 0 if errors == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
