"""``python -m bot eval FILE``: per-intent precision/recall/F1, confusion matrix, errors.

FILE uses the dev-set format ``intents|cities|text`` (several accepted intents separated by ``,``,
the first preferred), like ``rasa test nlu`` reports for an NLU model.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO


@dataclass(frozen=True)
class Row:
    intents: tuple[str, ...]
    cities: tuple[str, ...]
    text: str


def load_rows(path: str | Path) -> list[Row]:
    rows = []
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#") or line.count("|") < 2:
            continue
        intents, cities, text = line.split("|", 2)
        rows.append(Row(tuple(intents.split(",")), tuple(c for c in cities.split(",") if c), text))
    return rows


def evaluate_file(path: str, out: TextIO, show_all: bool = False) -> int:
    from bot.nlu.understand import NLU

    nlu = NLU.default()
    rows = load_rows(path)
    if not rows:
        out.write(f"no labelled rows in {path}\n")
        return 1
    tp: Counter[str] = Counter()
    fp: Counter[str] = Counter()
    fn: Counter[str] = Counter()
    confusion: Counter[tuple[str, str]] = Counter()
    intent_ok = city_ok = 0
    lines = []
    for row in rows:
        u = nlu.understand(row.text)
        gold = row.intents[0]
        got = u.intent
        ok_intent = got in row.intents
        ok_city = tuple(u.cities) == row.cities
        intent_ok += ok_intent
        city_ok += ok_city
        if ok_intent:
            tp[got] += 1
            confusion[(got, got)] += 1
        else:
            fp[got] += 1
            fn[gold] += 1
            confusion[(gold, got)] += 1
        if show_all or not (ok_intent and ok_city):
            mark = "ok " if ok_intent and ok_city else "ERR"
            lines.append(
                f"{mark} {row.text}\n    want {','.join(row.intents)} {list(row.cities)}"
                f"  got {got} ({u.confidence:.2f}, then {u.runner_up}) {list(u.cities)}"
            )
    labels = sorted(set(tp) | set(fp) | set(fn))
    out.write(f"{'intent':20s} {'prec':>5s} {'rec':>5s} {'f1':>5s} {'n':>4s}\n")
    f1s = []
    for label in labels:
        p = tp[label] / (tp[label] + fp[label]) if tp[label] + fp[label] else 0.0
        r = tp[label] / (tp[label] + fn[label]) if tp[label] + fn[label] else 0.0
        f1 = 2 * p * r / (p + r) if p + r else 0.0
        f1s.append(f1)
        out.write(f"{label:20s} {p:5.2f} {r:5.2f} {f1:5.2f} {tp[label] + fn[label]:4d}\n")
    out.write("\nconfusion (rows: expected, columns: predicted; abbreviated ids)\n")
    short = {label: label[:6] for label in labels}
    out.write(" " * 20 + " ".join(f"{short[c]:>6s}" for c in labels) + "\n")
    for r_label in labels:
        cells = " ".join(f"{confusion[(r_label, c)] or '.':>6}" for c in labels)
        out.write(f"{r_label:20s}{cells}\n")
    if lines:
        out.write("\nmisclassified\n" if not show_all else "\nall lines\n")
        out.write("\n".join(lines) + "\n")
    n = len(rows)
    macro = sum(f1s) / len(f1s) if f1s else 0.0
    out.write(
        f"\nmessages={n} intent_acc={intent_ok / n:.3f} macro_f1={macro:.3f} "
        f"city_acc={city_ok / n:.3f}\n"
    )
    return 0
