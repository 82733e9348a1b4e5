"""The command-line contract used by the evaluation, and the other commands."""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEV = ROOT.parent / "shared" / "eval" / "dev.tsv"


def run_bot(
    *args: str, stdin: str = "", env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[bytes]:
    full_env = {**os.environ, **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        input=stdin.encode("utf-8"),
        capture_output=True,
        cwd=ROOT,
        env=full_env,
        timeout=120,
    )


HOSTILE = [
    "",
    "医" * 10_000,
    "😀😀😀🙏",
    "\x01\x02\x07\x1b[31m红色\x1b[0m",
    "!!!???。。。",
    "   ",
    "\u200b\u200d\ufeff",
    "从福州调到北京工作,医保里的钱能带走吗",
    '{"json": "like"}',
    "<xml><![CDATA[]]></xml>",
]


def test_classify_contract_on_hostile_lines() -> None:
    proc = run_bot("classify", stdin="\n".join(HOSTILE) + "\n")
    assert proc.returncode == 0, proc.stderr.decode()[-2000:]
    lines = proc.stdout.decode("utf-8").splitlines()
    assert len(lines) == len(HOSTILE)
    for raw, line in zip(HOSTILE, lines, strict=True):
        obj = json.loads(line)
        assert set(obj) >= {"text", "intent", "confidence", "cities", "provinces"}
        assert obj["text"] == raw
        assert isinstance(obj["cities"], list) and isinstance(obj["provinces"], list)
        assert 0.0 <= obj["confidence"] <= 1.0
    assert json.loads(lines[7])["cities"] == ["福州市", "北京市"]
    assert json.loads(lines[7])["intent"] == "transfer"


def test_classify_handles_crlf_and_no_trailing_newline() -> None:
    proc = run_bot("classify", stdin="医保转移\r\n补交医保")
    assert proc.returncode == 0
    out = [json.loads(line) for line in proc.stdout.decode().splitlines()]
    assert [o["intent"] for o in out] == ["transfer", "back_payment"]


def test_eval_reports_per_intent_scores_and_confusion(tmp_path: Path) -> None:
    labels = tmp_path / "labels.tsv"
    labels.write_text(
        "# intents|cities|text\n"
        "transfer|福州市,北京市|从福州调到北京 医保怎么转\n"
        "withdraw||医保卡里的钱能取出来吗\n"
        "greeting||医保断缴了怎么补\n",  # deliberately mislabelled: must show as an error
        encoding="utf-8",
    )
    proc = run_bot("eval", str(labels))
    out = proc.stdout.decode()
    assert proc.returncode == 0
    assert "transfer" in out and "confusion" in out and "misclassified" in out
    assert "医保断缴了怎么补" in out
    assert "intent_acc=0.667" in out


def test_ask_json_shares_state_per_user(tmp_path: Path) -> None:
    env = {"BOT_DATA_DIR": str(tmp_path)}
    first = run_bot(
        "ask", "医保断缴了补缴要多少钱", "--user", "u1", "--today", "2026-11-25", "--json", env=env
    )
    assert first.returncode == 0, first.stderr.decode()[-2000:]
    asked = json.loads(first.stdout)
    assert asked["intent"] == "back_payment"
    second = run_bot(
        "ask", "深圳 4个月", "--user", "u1", "--today", "2026-11-25", "--json", env=env
    )
    answer = json.loads(second.stdout)
    assert answer["intent"] == "back_payment"
    assert "3200.00–3840.00元" in answer["reply"]
    assert any(f["name"] == "back_payment_amount" for f in answer["figures"])
    # Another user does not see u1's conversation.
    other = run_bot(
        "ask", "深圳 4个月", "--user", "u2", "--today", "2026-11-25", "--json", env=env
    )
    assert json.loads(other.stdout)["reply"] != answer["reply"]


def test_dev_set_scores_through_the_public_scorer() -> None:
    if not DEV.exists():
        raise AssertionError(f"shared dev set missing at {DEV}")
    scorer = DEV.parent / "score.py"
    proc = subprocess.run(
        [sys.executable, str(scorer), str(DEV), "--min-intent", "0.95", "--min-city", "0.97"],
        capture_output=True,
        cwd=ROOT,
        env={**os.environ, "BOT_PYTHON": sys.executable},
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout.decode()[-3000:]
