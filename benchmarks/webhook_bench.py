"""Webhook throughput against a bare aiohttp handler (the ceiling), as in spec/performance.md.

Each server runs in its own process pinned to CPU 0; wrk (apt-get install wrk) runs on CPU 1
and POSTs signed plain-mode text messages, each with a fresh MsgId so dedup never short-cuts.

    .venv/bin/python benchmarks/webhook_bench.py [--seconds 10] [--storage memory://]

Prints requests/s and latency for: bare, webhook with an instant bot (transport cost only),
webhook with the real pipeline; and each one's ratio to the bare ceiling.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import textwrap
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "bench-token"

SERVER = textwrap.dedent(
    """
    import sys
    from datetime import date
    from aiohttp import web

    kind, port, storage_url = sys.argv[1], int(sys.argv[2]), sys.argv[3]

    if kind == "bare":
        async def handler(request):
            await request.read()
            return web.Response(text="success")
        async def health(request):
            return web.Response(text="ok")
        app = web.Application()
        app.router.add_post("/wechat", handler)
        app.router.add_get("/healthz", health)
    else:
        from bot.app import create_app
        from bot.logs import setup_logging
        from bot.pipeline import Answer
        from bot.settings import Settings
        settings = Settings.from_env()
        setup_logging("WARNING")

        class Instant:
            def warmup(self): pass
            async def respond(self, user, text, *, today=None, channel="wechat"):
                return Answer(text="您好，职工医保住院报销比例一般在八成以上。", intent="reimbursement")
            async def forget(self, user): pass

        app = create_app(settings, responder=Instant() if kind == "instant" else None)
    web.run_app(app, host="127.0.0.1", port=port, access_log=None, print=None)
    """
)

LUA = textwrap.dedent(
    """
    local counter = 0
    local questions = {"异地就医怎么报销", "医保断缴了怎么补缴", "从福州调到北京医保怎么转",
                       "居民医保一年交多少钱", "医保个人账户余额怎么查"}
    request = function()
      counter = counter + 1
      local q = questions[(counter % #questions) + 1]
      local body = "<xml><ToUserName><![CDATA[gh_bench]]></ToUserName>" ..
        "<FromUserName><![CDATA[oBench" .. (counter % 1000) .. "]]></FromUserName>" ..
        "<CreateTime>1700000000</CreateTime><MsgType><![CDATA[text]]></MsgType>" ..
        "<Content><![CDATA[" .. q .. "]]></Content>" ..
        "<MsgId>" .. (math.random(1, 2000000000) * 1000 + counter % 1000) .. "</MsgId></xml>"
      return wrk.format("POST", nil, {["Content-Type"] = "text/xml"}, body)
    end
    """
)


def signed_path() -> str:
    import hashlib

    ts, nonce = str(int(time.time())), "12345"
    sig = hashlib.sha1("".join(sorted([TOKEN, ts, nonce])).encode()).hexdigest()
    return f"/wechat?signature={sig}&timestamp={ts}&nonce={nonce}&openid=oBench"


def cpu_seconds(pid: int) -> float:
    """User+system CPU of a process: robust to other load on a shared machine, unlike req/s."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run(kind: str, port: int, storage: str, seconds: int, workdir: Path) -> dict[str, float]:
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "WECHAT_TOKEN": TOKEN,
        "DATABASE_URL": storage,
        "BOT_DATA_DIR": str(workdir),
        "LOG_LEVEL": "WARNING",
    }
    script = workdir / "server.py"
    script.write_text(SERVER)
    proc = subprocess.Popen(
        ["taskset", "-c", "0", sys.executable, str(script), kind, str(port), storage],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(300):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1)
                break
            except OSError:
                time.sleep(0.1)
        lua = workdir / "bench.lua"
        lua.write_text(LUA)
        url = f"http://127.0.0.1:{port}{signed_path()}"
        subprocess.run(  # warm-up
            ["taskset", "-c", "1", "wrk", "-t1", "-c32", "-d2s", "-s", str(lua), url],
            capture_output=True,
            check=True,
        )
        cpu_before = cpu_seconds(proc.pid)
        out = subprocess.run(
            ["taskset", "-c", "1", "wrk", "-t1", "-c32", f"-d{seconds}s", "--latency", "-s",
             str(lua), url],
            capture_output=True,
            text=True,
            check=True,
        ).stdout  # fmt: skip
        cpu = cpu_seconds(proc.pid) - cpu_before
    finally:
        proc.terminate()
        proc.wait(10)
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    total = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    p50 = re.search(r"50%\s+([\d.]+)(us|ms|s)", out)
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)", out)

    def ms(match: re.Match[str] | None) -> float:
        if not match:
            return float("nan")
        value, unit = float(match.group(1)), match.group(2)
        return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value

    return {
        "rps": rps,
        "cpu_us": cpu / total * 1e6,
        "p50": ms(p50),
        "p99": ms(p99),
        "errors": float(non2xx.group(1)) if non2xx else 0.0,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--storage", default="memory://")
    parser.add_argument("--kinds", default="bare,instant,pipeline")
    args = parser.parse_args()
    if not shutil.which("wrk") or not shutil.which("taskset"):
        sys.stderr.write("needs wrk and taskset (apt-get install wrk util-linux)\n")
        return 2
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for i, kind in enumerate(args.kinds.split(",")):
            storage = args.storage
            if storage.startswith("sqlite"):
                storage = f"sqlite:///{tmp}/bench-{kind}.sqlite3"
            results[kind] = run(kind, 18600 + i, storage, args.seconds, Path(tmp))
    ceiling = results.get("bare", {}).get("rps")
    bare_cpu = results.get("bare", {}).get("cpu_us")
    sys.stdout.write(
        f"{'server':<10} {'req/s':>9} {'ratio':>6} {'CPU us/req':>11} {'CPU ratio':>9} "
        f"{'p50 ms':>7} {'p99 ms':>7}  non-2xx\n"
    )
    for kind, r in results.items():
        ratio = f"{r['rps'] / ceiling:.2f}" if ceiling else "-"
        cpu_ratio = f"{bare_cpu / r['cpu_us']:.2f}" if bare_cpu else "-"
        sys.stdout.write(
            f"{kind:<10} {r['rps']:>9.0f} {ratio:>6} {r['cpu_us']:>11.0f} {cpu_ratio:>9} "
            f"{r['p50']:>7.2f} {r['p99']:>7.2f}  {int(r['errors'])}\n"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
