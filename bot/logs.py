"""Structured logging: one JSON object per line, with personal data kept out of the logs.

Users write their ID-card, phone and bank-card numbers into questions ("我的社保卡号是…"), and
openids identify a person across every message, so the formatter redacts numbers in the
message and in every string field, and callers log ``hash_user(openid)`` instead of the openid.
Use ``log.info("answered", extra={"user": hash_user(openid), "intent": ...})``.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import sys
import traceback
from datetime import UTC, datetime
from typing import Any, TextIO

__all__ = ["JsonFormatter", "hash_user", "redact", "setup_logging"]

# Order matters: an 18-character ID number would also look like a bank card, and a bank card
# contains phone-like runs, so the most specific pattern goes first. Digit look-arounds keep a
# pattern from matching inside a longer number; separators cover "6222 0212 3456 7890".
_REDACTIONS: tuple[tuple[re.Pattern[str], str], ...] = (
    (
        re.compile(
            r"(?<![0-9A-Za-z])[1-9]\d{5}(?:19|20)\d{2}[01]\d[0-3]\d\d{3}[0-9Xx](?![0-9A-Za-z])"
        ),
        "[ID]",
    ),
    (re.compile(r"(?<!\d)[1-9]\d{7}[01]\d[0-3]\d\d{3}(?!\d)"), "[ID]"),  # 15-digit 1st gen
    (re.compile(r"(?<!\d)(?:\d[ -]?){15,18}\d(?!\d)"), "[CARD]"),
    (re.compile(r"(?<!\d)(?:\+?86[ -]?)?1[3-9]\d[ -]?\d{4}[ -]?\d{4}(?!\d)"), "[PHONE]"),
)

# Attributes every LogRecord has; anything else came from ``extra=`` and is emitted as a field.
_STANDARD_ATTRS = frozenset(
    logging.LogRecord("", 0, "", 0, "", (), None).__dict__.keys() | {"message", "asctime"}
)


# WeChat appends ``openid=`` to the callback URL, so any logged URL (an access log) names the user;
# and library debug output (SQL parameters, storage keys) may carry a bare openid: 28 characters
# starting with "o". Callers log ``hash_user(openid)``; these patterns are the safety net.
_OPENID_PARAM = re.compile(r"(openid=)[^&\s\"']+", re.IGNORECASE)
_OPENID = re.compile(r"(?<![A-Za-z0-9_-])o[A-Za-z0-9_-]{27}(?![A-Za-z0-9_-])")


def redact(text: str) -> str:
    """Replace ID-card, bank-card and mobile numbers, and openids, with placeholders."""
    if "penid=" in text or "PENID=" in text:
        text = _OPENID_PARAM.sub(r"\1[OPENID]", text)
    text = _OPENID.sub("[OPENID]", text)
    # Cheap pre-check: most log lines contain no long digit run, so skip the regexes.
    if not _has_long_digits(text):
        return text
    for pattern, placeholder in _REDACTIONS:
        text = pattern.sub(placeholder, text)
    return text


def _has_long_digits(text: str) -> bool:
    run = 0
    for ch in text:
        if "0" <= ch <= "9":
            run += 1
            if run >= 4:
                return True
        elif ch not in " -":
            run = 0
    return False


def hash_user(user: str) -> str:
    """A stable, non-reversible tag for a user key (openid), short enough to grep."""
    return hashlib.sha256(user.encode("utf-8")).hexdigest()[:16]


def _clean(value: Any) -> Any:
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, int | float | bool) or value is None:
        return value
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_clean(v) for v in value]
    return redact(str(value))


class JsonFormatter(logging.Formatter):
    """Formats a record as one JSON line with redacted strings."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "msg": redact(record.getMessage()),
        }
        for key, value in record.__dict__.items():
            if key not in _STANDARD_ATTRS and not key.startswith("_"):
                entry[key] = _clean(value)
        if record.exc_info and record.exc_info[0] is not None:
            # Tracebacks go to the log (one JSON string), never to an HTTP response; frame
            # locals are not included, and the text is redacted like everything else.
            entry["exc"] = redact("".join(traceback.format_exception(*record.exc_info)))
        return json.dumps(entry, ensure_ascii=False, default=str)


def setup_logging(level: str = "INFO", stream: TextIO | None = None) -> None:
    """Send every logger's records to ``stream`` (stderr) as JSON lines."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    resolved = logging.getLevelName(level.upper())
    root.setLevel(resolved if isinstance(resolved, int) else logging.INFO)
    # aiohttp's access log would print the query string, which carries the openid; drivers log
    # every statement with its parameters at DEBUG. Neither is wanted even with LOG_LEVEL=DEBUG.
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
    for chatty in ("aiosqlite", "asyncio", "asyncpg", "redis"):
        logging.getLogger(chatty).setLevel(logging.INFO)
