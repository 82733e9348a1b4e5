"""The real server process on 127.0.0.1: started with the Dockerfile's CMD, real bot, SQLite.

Requests are signed and AES-encrypted with wechatpy exactly as WeChat sends them. The bot is the
real pipeline, so replies are checked for shape (not wording, which the dialogue layer owns).
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from fake_wechat_api import (
    OFFICIAL_ID,
    OPENID,
    OTHER_AES_KEY,
    TEST_AES_KEY,
    FakeWeChatAPI,
    WeChatSender,
    xml_message,
)
from server_process import ServerProcess, dockerfile_cmd, dockerfile_healthcheck

from bot import menu
from bot.logs import hash_user

TOKEN = "server-test-token"
APP_ID = "wx1234567890abcdef"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    workdir = tmp_path_factory.mktemp("server")
    env = {
        "WECHAT_TOKEN": TOKEN,
        "WECHAT_APP_ID": APP_ID,
        "WECHAT_APP_SECRET": "unused-secret",
        "WECHAT_ENCODING_AES_KEY": TEST_AES_KEY,
        "WECHAT_API_BASE": "http://127.0.0.1:9/cgi-bin/",  # nothing listens: no pushes expected
        "DATABASE_URL": f"sqlite:///{workdir / 'bot.sqlite3'}",
        "LOG_LEVEL": "DEBUG",  # per-message lines are DEBUG
    }
    # Exactly what the container runs (with --host 0.0.0.0), port from $PORT as in the image.
    process = ServerProcess(workdir, env, command=dockerfile_cmd())
    with process:
        yield process
    assert process.proc is not None and process.proc.returncode == 0, process.stderr()


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as session:
        yield session


@pytest.fixture
def sender() -> WeChatSender:
    return WeChatSender(token=TOKEN, app_id=APP_ID, aes_key=TEST_AES_KEY)


async def send(
    http: aiohttp.ClientSession, server: ServerProcess, query: dict[str, str], body: str
) -> tuple[int, str]:
    async with http.post(server.url + "/wechat", params=query, data=body.encode()) as resp:
        return resp.status, await resp.text()


async def ask(
    http: aiohttp.ClientSession, server: ServerProcess, sender: WeChatSender, plaintext: str
) -> dict[str, Any] | str:
    """Encrypt, post, and decrypt the reply; returns the reply fields or the raw body."""
    query, body = sender.encrypt(plaintext)
    status, text = await send(http, server, query, body)
    assert status == 200, text
    return text if text == "success" else sender.decrypt_reply(text)


async def metric(http: aiohttp.ClientSession, server: ServerProcess, name: str) -> float:
    """The sum of a metric over all its label sets."""
    async with http.get(server.url + "/metrics") as resp:
        text = await resp.text()
    values = re.findall(rf"^{re.escape(name)}(?:{{[^}}]*}})? (\S+)$", text, re.MULTILINE)
    return sum(float(v) for v in values)


def test_dockerfile_runs_the_serve_command() -> None:
    assert dockerfile_cmd() == ["python", "-m", "bot", "serve", "--host", "0.0.0.0"]
    text = (Path(__file__).parent.parent / "Dockerfile").read_text()
    assert "EXPOSE 8080" in text
    assert re.search(r"^USER (?!root)\w+", text, re.MULTILINE)
    assert "python -m bot warmup" in text
    assert text.index("COPY pyproject.toml") < text.index("COPY bot")  # deps layer first


def test_dockerfile_installs_every_runtime_dependency_and_the_postgres_driver() -> None:
    """The image reads its requirements from pyproject: run that snippet as the build does."""
    import shlex

    text = (Path(__file__).parent.parent / "Dockerfile").read_text(encoding="utf-8")
    snippet = re.search(r'RUN python -c "(.+?)" \\\n', text)
    assert snippet is not None
    code = shlex.split(f'"{snippet.group(1)}"')[0]
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=Path(__file__).parent.parent,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert any(r.startswith("asyncpg") for r in out)
    for dependency in ("aiohttp", "jieba", "rapidfuzz", "aiosqlite", "chinese-calendar"):
        assert any(r.startswith(dependency) for r in out), dependency
    assert not any(r.startswith("redis") for r in out)  # our own client: no driver


def test_healthcheck_command_passes(server: ServerProcess) -> None:
    check = [sys.executable if p == "python" else p for p in dockerfile_healthcheck()]
    result = subprocess.run(
        check, env={**os.environ, "PORT": str(server.port)}, capture_output=True, timeout=20
    )
    assert result.returncode == 0, result.stderr


async def test_health_and_chat_page(server: ServerProcess, http: aiohttp.ClientSession) -> None:
    async with http.get(server.url + "/healthz") as resp:
        assert resp.status == 200
        assert (await resp.json())["status"] == "ok"
    async with http.get(server.url + "/") as resp:
        assert resp.status == 200
        assert "医保小助手" in await resp.text()
    assert f"http://127.0.0.1:{server.port}/" in server.stdout()


async def test_url_verification(server: ServerProcess, http: aiohttp.ClientSession) -> None:
    query = {**WeChatSender(token=TOKEN).query(), "echostr": "8147598471238947"}
    async with http.get(server.url + "/wechat", params=query) as resp:
        assert resp.status == 200
        assert await resp.text() == "8147598471238947"
    query["signature"] = "0" * 40
    async with http.get(server.url + "/wechat", params=query) as resp:
        assert resp.status == 403


async def test_safe_mode_text_round_trip(
    server: ServerProcess, http: aiohttp.ClientSession, sender: WeChatSender
) -> None:
    fields = await ask(http, server, sender, sender.text("从福州调到北京工作，医保怎么转？"))
    assert isinstance(fields, dict)
    assert fields["ToUserName"] == OPENID
    assert fields["FromUserName"] == OFFICIAL_ID
    assert fields["MsgType"] == "text"
    assert 0 < len(fields["Content"].encode()) <= 2048


async def test_every_message_and_event_type(
    server: ServerProcess, http: aiohttp.ClientSession, sender: WeChatSender
) -> None:
    def msg(msg_type: str, **extra: Any) -> str:
        return xml_message(sender.fields(msg_type, MsgId=sender.next_id(), **extra))

    welcome = await ask(http, server, sender, sender.event("subscribe"))
    assert isinstance(welcome, dict) and welcome["Content"] == menu.WELCOME_TEXT
    scan = await ask(http, server, sender, sender.event("SCAN", EventKey="1", Ticket="T"))
    assert isinstance(scan, dict) and scan["Content"] == menu.WELCOME_TEXT
    voice = await ask(http, server, sender, msg("voice", MediaId="m", Recognition="医保怎么交"))
    assert isinstance(voice, dict) and voice["Content"]
    unheard = await ask(http, server, sender, msg("voice", MediaId="m", Recognition=""))
    assert isinstance(unheard, dict) and unheard["Content"] == menu.PROMPT_TEXT
    for kind, extra in (
        ("image", {"PicUrl": "http://x/y.jpg", "MediaId": "m"}),
        ("location", {"Location_X": "23.1", "Location_Y": "113.2", "Scale": "20", "Label": "x"}),
        ("link", {"Title": "t", "Description": "d", "Url": "http://x"}),
        ("video", {"MediaId": "m", "ThumbMediaId": "t"}),
    ):
        note = await ask(http, server, sender, msg(kind, **extra))
        assert isinstance(note, dict) and note["Content"] == menu.UNSUPPORTED_TEXT
    click = await ask(http, server, sender, sender.event("CLICK", EventKey="Q_PAYMENT"))
    assert isinstance(click, dict) and click["Content"]
    helped = await ask(http, server, sender, sender.event("CLICK", EventKey="HELP"))
    assert isinstance(helped, dict) and helped["Content"] == menu.HELP_TEXT
    for event, extra in (
        ("VIEW", {"EventKey": "https://example.org/"}),
        ("LOCATION", {"Latitude": "23.1", "Longitude": "113.2", "Precision": "50"}),
        ("brand_new_event", {}),
        ("unsubscribe", {}),
    ):
        assert await ask(http, server, sender, sender.event(event, **extra)) == "success"


async def test_hostile_requests(
    server: ServerProcess, http: aiohttp.ClientSession, sender: WeChatSender
) -> None:
    plaintext = sender.text("你好")
    before = await metric(http, server, "bot_intents_total")
    cases: list[tuple[dict[str, str], str]] = []
    query, body = sender.encrypt(plaintext)
    cases.append(({**query, "signature": "0" * 40}, body))  # URL signature
    cases.append(({**query, "msg_signature": "0" * 40}, body))  # envelope signature
    cases.append(sender.encrypt(plaintext, timestamp=int(time.time()) - 3600))  # stale
    cases.append(sender.encrypt(plaintext, aes_key=OTHER_AES_KEY))  # wrong key
    cases.append(sender.encrypt(plaintext, app_id="wx_another_account"))  # wrong appid
    cases.append((sender.query(), plaintext))  # plaintext in safe mode
    for hostile in (
        '<!DOCTYPE x [<!ENTITY a SYSTEM "file:///etc/passwd">]><xml><Encrypt>&a;</Encrypt></xml>',
        "<xml><Encrypt>",
        "<root/>",
        "<xml/>",
    ):
        cases.append((query, hostile))
    for case_query, case_body in cases:
        status, text = await send(http, server, case_query, case_body)
        assert 400 <= status < 500, (status, text)
        assert "Traceback" not in text and "root:" not in text
    big = "<xml><Encrypt>" + "A" * 70_000 + "</Encrypt></xml>"
    assert (await send(http, server, query, big))[0] == 413
    after = await metric(http, server, "bot_intents_total")
    assert after == before  # the bot never ran


async def test_duplicate_and_concurrent_retries(
    server: ServerProcess, http: aiohttp.ClientSession, sender: WeChatSender
) -> None:
    hits = await metric(http, server, "bot_dedup_hits_total")
    answered = await metric(http, server, "bot_intents_total")
    plaintext = sender.text("居民医保一年交多少钱", msg_id=sender.next_id())
    # WeChat re-sends the same message; each request is signed anew.
    replies = await asyncio.gather(*(ask(http, server, sender, plaintext) for _ in range(5)))
    replies.append(await ask(http, server, sender, plaintext))
    contents = {r["Content"] for r in replies if isinstance(r, dict)}
    assert len(contents) == 1
    assert await metric(http, server, "bot_dedup_hits_total") == hits + 5
    assert await metric(http, server, "bot_intents_total") == answered + 1  # one bot run


def test_logs_are_json_lines_without_openids(server: ServerProcess) -> None:
    lines = [line for line in server.stderr().splitlines() if line.strip()]
    assert lines
    records = [json.loads(line) for line in lines]
    assert any(r["msg"] == "wechat message" for r in records)
    assert OPENID not in server.stderr()
    assert any(r.get("user") == hash_user(OPENID) for r in records)


async def test_slow_path_pushes_through_customer_service(tmp_path: Path) -> None:
    fake = FakeWeChatAPI(app_id=APP_ID, secret="real-secret")
    await fake.start()
    env = {
        "WECHAT_TOKEN": TOKEN,
        "WECHAT_APP_ID": APP_ID,
        "WECHAT_APP_SECRET": "real-secret",
        "WECHAT_API_BASE": fake.base_url,
        "DATABASE_URL": "memory://",
        "REPLY_DEADLINE": "0",  # every answer misses the deadline and is pushed
    }
    process = ServerProcess(tmp_path, env)
    await asyncio.to_thread(process.start)
    try:
        plain = WeChatSender(token=TOKEN, app_id=APP_ID)
        async with aiohttp.ClientSession() as http:
            status, text = await send(http, process, plain.query(), plain.text("医保断缴了怎么补"))
            assert (status, text) == (200, "success")
            end = time.monotonic() + 10
            while not fake.sent and time.monotonic() < end:
                await asyncio.sleep(0.05)
        assert len(fake.sent) == 1, process.stderr()
        pushed = fake.sent[0]
        assert pushed["touser"] == OPENID and pushed["msgtype"] == "text"
        assert 0 < len(pushed["text"]["content"].encode()) <= 2048
        assert fake.token_fetches == 1
    finally:
        code = await asyncio.to_thread(process.stop)
        await fake.close()
    assert code == 0  # SIGTERM → graceful shutdown, clean exit


def _cli_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp_path),
        "LANG": "C.UTF-8",
        "PYTHONPATH": str(Path(__file__).resolve().parent.parent),
        "BOT_DATA_DIR": str(tmp_path / "data"),
        **extra,
    }


def test_menu_command_prints_the_menu(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bot", "menu"],
        env=_cli_env(tmp_path),
        capture_output=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == menu.menu_json()


async def test_menu_push_publishes_through_the_api(tmp_path: Path) -> None:
    fake = FakeWeChatAPI(app_id=APP_ID, secret="menu-secret")
    await fake.start()
    try:
        env = _cli_env(
            tmp_path,
            WECHAT_APP_ID=APP_ID,
            WECHAT_APP_SECRET="menu-secret",
            WECHAT_API_BASE=fake.base_url,
            DATABASE_URL="memory://",
        )
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "menu", "--push", env=env,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        out, err = await asyncio.wait_for(proc.communicate(), 60)
        assert proc.returncode == 0, err.decode()
        assert "menu published" in out.decode()
        assert [c.body for c in fake.calls_to("menu/create")] == [menu.menu_json()]

        fake.fail_next("menu/create", 40016, "invalid button size")
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "menu", "--push", env=env,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        out, err = await asyncio.wait_for(proc.communicate(), 60)
        assert proc.returncode == 1
        assert "40016" in err.decode() and "Traceback" not in err.decode()
        assert "menu-secret" not in err.decode() + out.decode()
    finally:
        await fake.close()


def test_menu_push_without_credentials_fails_cleanly(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bot", "menu", "--push"],
        env=_cli_env(tmp_path),
        capture_output=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert b"WECHAT_APP_ID" in result.stderr and b"Traceback" not in result.stderr


def test_serve_refuses_a_malformed_aes_key(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bot", "serve", "--port", "1"],
        env=_cli_env(
            tmp_path,
            WECHAT_TOKEN="t",
            WECHAT_APP_ID=APP_ID,
            WECHAT_ENCODING_AES_KEY="too-short",
            DATABASE_URL="memory://",
        ),
        capture_output=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert b"WECHAT_ENCODING_AES_KEY" in result.stderr and b"Traceback" not in result.stderr
