"""Build the bot's trimmed jieba dictionary from jieba's bundled one.

jieba's full dictionary (349k words) costs ~0.9 s and ~100 MB to load in every process. Chat
messages use everyday vocabulary, so the most frequent words plus our domain terms and every place
name (added at run time) segment them just as well at a fraction of the cost.

    python scripts/gen_jieba_dict.py [--top 60000]

Writes bot/nlu/data/jieba_dict.txt (committed; not needed at run time to regenerate).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import jieba

OUT = Path(__file__).resolve().parent.parent / "bot" / "nlu" / "data" / "jieba_dict.txt"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--top", type=int, default=60000)
    args = ap.parse_args()
    source = Path(jieba.__file__).parent / "dict.txt"
    rows = []
    for line in source.read_text(encoding="utf-8").splitlines():
        parts = line.split()
        if len(parts) >= 2 and parts[1].isdigit():
            rows.append((parts[0], int(parts[1]), parts[2] if len(parts) > 2 else "x"))
    rows.sort(key=lambda r: -r[1])
    kept = rows[: args.top]
    # Every single character stays, so unknown words still split into known characters.
    kept_words = {w for w, _, _ in kept}
    kept += [r for r in rows[args.top :] if len(r[0]) == 1 and r[0] not in kept_words]
    kept.sort(key=lambda r: r[0])
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text("".join(f"{w} {f} {t}\n" for w, f, t in kept), encoding="utf-8")
    print(f"wrote {len(kept)} words to {OUT}")


if __name__ == "__main__":
    main()
