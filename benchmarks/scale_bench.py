"""One run: bare aiohttp (the ceiling), the bot with one worker, then on Redis with one and
two workers; prints requests/s, latencies and the ratios the issue asks about. Then the same
two-worker arrangement with a bare handler that burns the bot's CPU per request and shares
nothing (how far two processes of that weight scale on this machine at all), and with two
default workers that share nothing but the port (how far the bot scales without Redis).

    .venv/bin/python benchmarks/scale_bench.py [--seconds 10] [--fresh 0.5] [--skip-redis]

Capacity runs are closed-loop wrk (apt-get install wrk; 1 thread, 32 connections) POSTing
signed plain-mode text messages: held-out questions, ``--fresh`` of them prefixed with a city
so the understanding cache misses, 100,000 users, a new MsgId per request. One-worker servers
are pinned to CPU 0 and wrk to CPU 1; two workers need both CPUs, so there wrk shares them
(on a 2-core machine the load generator cannot be pinned apart). Then the Python load
generator (benchmarks/loadgen.py) sends half of the one-worker capacity open-loop, for the
p99-at-half-load figure. Redis is a throw-away ``redis-server`` on a free 127.0.0.1 port.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))
from loadgen import REMINDER_INTENTS, cities, questions, sign  # noqa: E402

TOKEN = "bench-token"

BARE = textwrap.dedent(
    """
    import os
    import sys
    import time
    from aiohttp import web

    spin = float(sys.argv[3]) / 1e6 if len(sys.argv) > 3 else 0.0

    async def handler(request):
        await request.read()
        if spin:  # a stand-in for the bot's own work: this much CPU, no I/O, nothing shared
            start = time.thread_time()
            while time.thread_time() - start < spin:
                pass
        return web.Response(text="success")

    async def health(request):
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_post("/wechat", handler)
    app.router.add_get("/healthz", health)
    workers = int(sys.argv[2]) if len(sys.argv) > 2 else 1
    for _ in range(workers - 1):  # as `bot serve --workers N`: forked, SO_REUSEPORT
        if os.fork() == 0:
            break
    web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), access_log=None, print=None,
                reuse_port=workers > 1 or None)
    """
)


def shared_nothing(work: Path, processes: int) -> list[str]:
    """A shell command running ``processes`` default single workers on one port (SO_REUSEPORT),
    each with its own data directory, so they share nothing but the port."""
    one = (
        f"{shlex.quote(sys.executable)} -c 'import sys; from bot.serve import _serve_one; "
        "from bot.settings import Settings; "
        "sys.exit(_serve_one(Settings.from_env(), sys.stdout, reuse_port=True))'"
    )
    runs = []
    for i in range(processes):
        data = work / f"alone{processes}-{i}"
        data.mkdir(parents=True, exist_ok=True)
        runs.append(f"BOT_DATA_DIR={shlex.quote(str(data))} {one} &")
    return ["sh", "-c", " ".join(runs) + " wait"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def lua_script(
    fresh: float, users: int, seed: int = 7, check: bool = True, no_reminders: bool = False
) -> str:
    """wrk request generator: held-out questions in a shuffled order, ``fresh`` of them
    prefixed with a city drawn per request (as benchmarks/loadgen.py does: a fixed table of
    prefixed texts would repeat every few thousand requests and let the understanding cache
    answer them), random users, unique MsgIds (built as strings: Lua prints large numbers as
    1.2e+14); with ``check``, counts replies that carry an answer (XML) and those that do not
    (``success``, errors)."""
    rng = random.Random(seed)
    qs, cs = questions(REMINDER_INTENTS if no_reminders else frozenset()), cities()
    texts = qs * 12
    rng.shuffle(texts)
    table = ",".join(json.dumps(t, ensure_ascii=False) for t in texts)
    places = ",".join(json.dumps(c, ensure_ascii=False) for c in cs)
    script = textwrap.dedent(
        """
        local texts = {%s}
        local places = {%s}
        local fresh = %f
        local counter = 0
        local threads = {}
        answered, unanswered = 0, 0
        function setup(thread) table.insert(threads, thread) end
        function init(args)
          math.randomseed(os.time())
          -- per wrk run, so the warm-up's MsgIds never come back as retries
          msgbase = string.format("%%05d%%04d", os.time() %% 100000, math.random(0, 9999))
        end
        request = function()
          counter = counter + 1
          local text = texts[(counter %% #texts) + 1]
          if math.random() < fresh then text = places[math.random(1, #places)] .. text end
          local user = math.random(0, %d)
          local body = "<xml><ToUserName><![CDATA[gh_bench]]></ToUserName>" ..
            "<FromUserName><![CDATA[oBench" .. user .. "]]></FromUserName>" ..
            "<CreateTime>1700000000</CreateTime><MsgType><![CDATA[text]]></MsgType>" ..
            "<Content><![CDATA[" .. text .. "]]></Content>" ..
            "<MsgId>" .. msgbase .. string.format("%%09d", counter) .. "</MsgId></xml>"
          return wrk.format("POST", nil, {["Content-Type"] = "text/xml"}, body)
        end
        function done(summary, latency, requests)
          local a, u = 0, 0
          for _, t in ipairs(threads) do a = a + t:get("answered"); u = u + t:get("unanswered") end
          io.write(string.format("ANSWERED %%d UNANSWERED %%d\\n", a, u))
        end
        """
    ) % (table, places, fresh, users - 1)
    if check:
        script += textwrap.dedent(
            """
            response = function(status, headers, body)
              if status == 200 and string.sub(body, 1, 5) == "<xml>" then
                answered = answered + 1
              else
                unanswered = unanswered + 1
              end
            end
            """
        )
    return script


def signed_url(port: int) -> str:
    ts, nonce = str(int(time.time())), "12345"
    return (
        f"http://127.0.0.1:{port}/wechat?signature={sign(TOKEN, ts, nonce)}"
        f"&timestamp={ts}&nonce={nonce}&openid=oBench"
    )


def wait_ready(port: int, proc: subprocess.Popen[bytes], timeout: float = 60) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1)
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("server not ready")


def cpu_seconds(pids: list[int]) -> float:
    total = 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def children(pid: int) -> list[int]:
    try:
        out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout
    except OSError:
        return []
    return [int(x) for x in out.split()]


def wrk(
    url: str, lua: Path, seconds: float, cpu: str | None, pids: list[int] | None = None
) -> dict[str, float]:
    """Warm up for 2 s, then measure; with ``pids``, also their CPU time per request during
    the measured run only (``cpu_us``)."""
    pin = ["taskset", "-c", cpu] if cpu else []
    base = [*pin, "wrk", "-t1", "-c32", "-s", str(lua)]
    subprocess.run([*base, "-d2s", url], capture_output=True, check=True)  # warm-up
    before = cpu_seconds(pids) if pids else 0.0
    out = subprocess.run(
        [*base, f"-d{int(seconds)}s", "--latency", url], capture_output=True, text=True, check=True
    ).stdout

    def ms(label: str) -> float:
        match = re.search(rf"{label}\s+([\d.]+)(us|ms|s)\b", out)
        if not match:
            return float("nan")
        value, unit = float(match.group(1)), match.group(2)
        return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value

    used = cpu_seconds(pids) - before if pids else float("nan")
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    answers = re.search(r"ANSWERED (\d+) UNANSWERED (\d+)", out)
    sock = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    requests = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    return {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),  # type: ignore[union-attr]
        "requests": requests,
        "cpu_us": used / max(requests, 1) * 1e6,
        "p50_ms": ms("50%"),
        "p90_ms": ms("90%"),
        "p99_ms": ms("99%"),
        "max_ms": ms("Latency"),  # placeholder, replaced below
        "errors": (int(errors.group(1)) if errors else 0)
        + (sum(int(x) for x in sock.groups()) if sock else 0),
        "unanswered": int(answers.group(2)) if answers else 0,
        "checked": bool(answers and int(answers.group(1)) + int(answers.group(2))),
        "_max": float("nan")
        if not (m := re.search(r"Latency\s+\S+\s+\S+\s+([\d.]+)(us|ms|s)", out))
        else float(m.group(1)) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[m.group(2)],
    }


def measure(
    name: str,
    cmd: list[str],
    env: dict[str, str],
    port: int,
    lua: Path,
    seconds: float,
    pin_server: str | None,
    pin_load: str | None,
) -> dict[str, float]:
    full = (["taskset", "-c", pin_server] if pin_server else []) + cmd
    proc = subprocess.Popen(
        full, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        wait_ready(port, proc)
        time.sleep(0.5)
        pids = [proc.pid, *children(proc.pid)]
        result = wrk(signed_url(port), lua, seconds, pin_load, pids)
        result["max_ms"] = result.pop("_max")
    finally:
        for pid in children(proc.pid):  # the spinning bare server forks without reaping
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGTERM)
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    sys.stderr.write(f"  {name}: {result['rps']:.0f} req/s\n")
    return result


def half_load(cmd: list[str], env: dict[str, str], port: int, rate: float, seconds: float,
              fresh: float, pin_server: str, extra: list[str]) -> dict[str, float]:  # fmt: skip
    proc = subprocess.Popen(
        ["taskset", "-c", pin_server, *cmd],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_ready(port, proc)
        out = subprocess.run(
            ["taskset", "-c", "1", sys.executable, str(ROOT / "benchmarks/loadgen.py"),
             "--url", f"http://127.0.0.1:{port}/wechat", "--token", TOKEN, "--rate",
             f"{rate:.0f}", "--seconds", str(seconds), "--fresh", str(fresh), "--json", *extra],
            capture_output=True, text=True, check=False,
        ).stdout  # fmt: skip
    finally:
        proc.terminate()
        proc.wait(20)
    result: dict[str, float] = json.loads(out.strip().splitlines()[-1])
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--fresh", type=float, default=0.5)
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--skip-redis", action="store_true")
    parser.add_argument("--no-reminders", action="store_true", help="leave reminder requests out")
    args = parser.parse_args()
    for tool in ("wrk", "taskset"):
        if not shutil.which(tool):
            sys.stderr.write(f"needs {tool} (apt-get install wrk util-linux)\n")
            return 2
    results: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        lua = work / "bench.lua"
        lua.write_text(
            lua_script(args.fresh, args.users, no_reminders=args.no_reminders), encoding="utf-8"
        )
        bare_lua = work / "bare.lua"  # no reply check: it would slow wrk, flattering the ratio
        bare_lua.write_text(
            lua_script(args.fresh, args.users, check=False, no_reminders=args.no_reminders),
            encoding="utf-8",
        )
        (work / "bare.py").write_text(BARE)
        base_env = {
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "WECHAT_TOKEN": TOKEN,
            "LOG_LEVEL": "WARNING",
            "REMINDERS_IN_SERVE": "0",
        }
        bot = [sys.executable, "-m", "bot", "serve", "--host", "127.0.0.1"]

        port = free_port()
        results["bare"] = measure(
            "bare", [sys.executable, str(work / "bare.py"), str(port)], base_env, port, bare_lua,
            args.seconds, "0", "1",
        )  # fmt: skip

        port = free_port()
        env = {**base_env, "BOT_DATA_DIR": str(work / "one"), "PORT": str(port)}
        results["bot-1"] = measure("bot 1 worker", bot, env, port, lua, args.seconds, "0", "1")

        redis = None
        if not args.skip_redis and shutil.which("redis-server"):
            rport = free_port()
            redis = subprocess.Popen(
                ["redis-server", "--port", str(rport), "--bind", "127.0.0.1", "--save", "",
                 "--appendonly", "no"],
                stdout=subprocess.DEVNULL,
            )  # fmt: skip
            time.sleep(0.5)
            try:
                for workers, pin in ((1, "0"), (2, None)):
                    port = free_port()
                    env = {
                        **base_env,
                        "BOT_DATA_DIR": str(work / f"redis{workers}"),
                        "PORT": str(port),
                        "REDIS_URL": f"redis://127.0.0.1:{rport}/0",
                    }
                    cmd = [*bot, "--workers", str(workers)]
                    results[f"redis-{workers}"] = measure(
                        f"bot on redis, {workers} worker(s)", cmd, env, port, lua,
                        args.seconds, pin, "1" if pin else None,
                    )  # fmt: skip
            finally:
                redis.terminate()
                redis.wait(10)
            # The machine's own scale-out ceiling for a server of the bot's weight: a bare
            # handler that burns the bot's extra CPU per request (nothing shared, no Redis),
            # one process pinned as redis-1, then two arranged as redis-2.
            spin = max(results["redis-1"]["cpu_us"] - results["bare"]["cpu_us"], 0.0)
            for workers, pin in ((1, "0"), (2, None)):
                port = free_port()
                cmd = [
                    sys.executable,
                    str(work / "bare.py"),
                    str(port),
                    str(workers),
                    f"{spin:.0f}",
                ]
                results[f"spin-{workers}"] = measure(
                    f"bare + {spin:.0f} µs CPU, {workers} process(es)", cmd, base_env, port,
                    bare_lua, args.seconds, pin, "1" if pin else None,
                )  # fmt: skip

        # The bot's own scale-out without sharing anything: N default workers (each its own
        # SQLite file, in-process state) on one port, arranged as redis-1 and redis-2. What
        # Redis costs two workers is the gap between these rows and the Redis ones.
        for workers, pin in ((1, "0"), (2, None)):
            port = free_port()
            env = {**base_env, "PORT": str(port)}
            results[f"alone-{workers}"] = measure(
                f"bot alone, {workers} process(es)", shared_nothing(work, workers), env, port,
                lua, args.seconds, pin, "1" if pin else None,
            )  # fmt: skip

        port = free_port()
        env = {**base_env, "BOT_DATA_DIR": str(work / "half"), "PORT": str(port)}
        rate = results["bot-1"]["rps"] / 2
        extra = ["--no-reminders"] if args.no_reminders else []
        results["bot-1 @ half"] = half_load(
            bot, env, port, rate, args.seconds, args.fresh, "0", extra
        )
        results["bot-1 @ half"]["cpu_us"] = float("nan")

    ceiling = results["bare"]["rps"]
    sys.stdout.write(
        f"{'server':<14} {'req/s':>8} {'÷bare':>6} {'CPU µs/req':>10} {'p50':>6} {'p90':>6} "
        f"{'p99':>6} {'max':>7}  errors  unanswered\n"
    )
    for name, r in results.items():
        sys.stdout.write(
            f"{name:<14} {r['rps']:>8.0f} {r['rps'] / ceiling:>6.2f} {r['cpu_us']:>10.0f} "
            f"{r['p50_ms']:>6.1f} {r['p90_ms']:>6.1f} {r['p99_ms']:>6.1f} {r['max_ms']:>7.1f}  "
            f"{int(r['errors']):>6}  {int(r.get('unanswered', 0)):>10}\n"
        )
    if "redis-1" in results and "redis-2" in results:
        sys.stdout.write(
            f"two workers / one worker (Redis): {results['redis-2']['rps'] / results['redis-1']['rps']:.2f}×\n"
        )
    if "spin-1" in results and "spin-2" in results:
        sys.stdout.write(
            "this machine's ceiling for that ratio (two / one spinning bare process): "
            f"{results['spin-2']['rps'] / results['spin-1']['rps']:.2f}×\n"
        )
    if "alone-1" in results and "alone-2" in results:
        sys.stdout.write(
            "two / one default worker sharing nothing: "
            f"{results['alone-2']['rps'] / results['alone-1']['rps']:.2f}×\n"
        )
    sys.stdout.write(f"one worker / bare: {results['bot-1']['rps'] / ceiling:.2f}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
