"""Run the real server (``python -m bot serve``) in a subprocess for end-to-end tests."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def dockerfile_cmd() -> list[str]:
    """The exec-form CMD of the Dockerfile, e.g. ["python", "-m", "bot", "serve", …]."""
    for line in (ROOT / "Dockerfile").read_text(encoding="utf-8").splitlines():
        if line.startswith("CMD "):
            cmd: list[str] = json.loads(line[4:])
            return cmd
    raise AssertionError("Dockerfile has no exec-form CMD")


def dockerfile_healthcheck() -> list[str]:
    text = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    start = text.index("HEALTHCHECK")
    cmd_at = text.index("CMD ", start)
    line = text[cmd_at + 4 :].splitlines()[0]
    check: list[str] = json.loads(line)
    return check


class ServerProcess:
    """``with ServerProcess(tmp_path, env) as server:`` — started and ready, stopped after."""

    def __init__(
        self,
        workdir: Path,
        env: dict[str, str],
        command: list[str] | None = None,
        port: int | None = None,
    ) -> None:
        self.port = port or free_port()
        self.workdir = workdir
        self.url = f"http://127.0.0.1:{self.port}"
        base = command or ["python", "-m", "bot", "serve", "--host", "127.0.0.1"]
        # The image's "python" is this interpreter here; everything else is run verbatim.
        self.command = [sys.executable if part == "python" else part for part in base]
        self.env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(workdir),
            "LANG": "C.UTF-8",
            "PYTHONPATH": str(ROOT),
            "PORT": str(self.port),
            "BOT_DATA_DIR": str(workdir / "data"),
            "TMPDIR": os.environ.get("TMPDIR", "/tmp"),  # jieba's cache lives there
            **env,
        }
        self.stdout_path = workdir / f"server-{self.port}.out"
        self.stderr_path = workdir / f"server-{self.port}.err"
        self.proc: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> ServerProcess:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self, timeout: float = 60.0) -> None:
        with self.stdout_path.open("wb") as out, self.stderr_path.open("wb") as err:
            self.proc = subprocess.Popen(
                self.command, cwd=ROOT, env=self.env, stdout=out, stderr=err
            )
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if self.proc.poll() is not None:
                raise AssertionError(f"server exited {self.proc.returncode}:\n{self.stderr()}")
            try:
                with urllib.request.urlopen(self.url + "/healthz", timeout=1) as resp:
                    if resp.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            time.sleep(0.1)
        self.stop()
        raise AssertionError(f"server not ready in {timeout}s:\n{self.stderr()}")

    def stop(self, timeout: float = 15.0) -> int | None:
        """SIGTERM (graceful shutdown) and wait; kill if it hangs. Returns the exit code."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode

    def stdout(self) -> str:
        return self.stdout_path.read_text(encoding="utf-8", errors="replace")

    def stderr(self) -> str:
        return self.stderr_path.read_text(encoding="utf-8", errors="replace")
