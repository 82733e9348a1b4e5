"""Find Chinese places in a normalised message and resolve them to prefecture-level cities.

``PlaceResolver.resolve("从福州调到北京")`` gives cities ``["福州市", "北京市"]`` in order of
mention, their provinces, and the mentions with their spans so the entity parser can tell origin
from destination. Counties and districts resolve to their prefecture (昆山 -> 苏州市), districts of
the four municipalities to the municipality (浦东 -> 上海市), and a province named alone
("广东省内") is reported as a province only.

Matching is exact dictionary lookup keyed by the first two characters of every name, alias,
known typo and stop phrase, scanning left to right and taking the longest acceptable match. All
fuzzy work (typos, ordinary-word lists, word edges) is precomputed by ``scripts/gen_regions.py``,
so a message costs a few microseconds. Guards, by how much a name can be trusted:

* names of three or more characters at province/prefecture level are taken as they are;
* two-character province/prefecture names are rejected when glued into words on both sides
  (医保|定点 around 保定), and yield to an overlapping name when glued on one side
  (医保|山东: 山东, not 保山);
* county-level names, and typos of three or more characters, are rejected when glued on either
  side (交城|乡 in 交城乡居民) and then a shorter name at the same place is tried (河南|县城);
* weak names (ordinary words such as 开封, 大同) and two-character typos (福洲) also need a place
  cue next to them (在开封, 开封医保) or must stand alone; for a typo a function word after it
  (要, 能, 吗) is no cue, since it follows any word (定系要 is Cantonese, not 定西);
* a county name shared by counties of different prefectures (朝阳区, 通州) is resolved only by
  an adjacent place before it (北京朝阳区); otherwise it is skipped;
* a typo of a big city that is also a word or a looser reading (深证, data/insurance_typos.tsv)
  counts only right before a medical-insurance word (深证医保; 深证 alone is the stock index);
* a two-character name right after a common surname, where a person is introduced (我叫杨建华,
  我是王海南, 刘桂林在吗), is a given name, not a place.
"""

from __future__ import annotations

import gc
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import IntEnum
from functools import lru_cache
from importlib import resources
from typing import NamedTuple

from region_data import Division, Level, Lexicon, load_divisions, load_lexicon

__all__ = ["PlaceMention", "PlaceResolver", "Places"]


@dataclass(frozen=True, slots=True)
class PlaceMention:
    """One place found in the text; ``text[start:end] == surface``.

    ``city`` is the normalised prefecture-level name (None when only a province was named);
    ``province`` its province (a municipality is its own province); ``level`` the level of the
    division actually named (昆山 is a county that resolves to 苏州市); ``code`` its code.
    """

    surface: str
    start: int
    end: int
    city: str | None
    province: str
    level: Level
    typo: bool = False
    code: str = ""


@dataclass(frozen=True, slots=True)
class Places:
    cities: list[str]
    provinces: list[str]
    mentions: list[PlaceMention]


class _Guard(IntEnum):
    STRONG = 0  # province/prefecture name of 3+ characters
    NAME2 = 1  # two-character province/prefecture name
    COUNTY = 2  # county-level name; typo of 3+ characters
    CUED = 3  # weak name or two-character typo: needs a place cue or to stand alone
    STOP = 4  # ordinary phrase: consumed, never a place
    INSURED = 5  # typo that is a word or a looser reading (深证): only before 医保 and the like


class _Target(NamedTuple):
    code: str
    city: str | None  # normalised city name
    province: str  # province name
    level: Level
    city_code: str
    province_code: str


class _Entry(NamedTuple):
    surface: str
    guard: _Guard
    default: _Target | None  # chosen without context; None = ambiguous or stop
    targets: tuple[_Target, ...]  # every reading, for disambiguation by an adjacent place
    typo: bool


class _Bucket(NamedTuple):
    entries: tuple[_Entry, ...]  # names and stop phrases with these first two characters
    typo_max: int  # length of the longest typo with these first two characters (0: none)


# A place cue right before a weak name: 在开封, 从大同, 回日照, 是安康(人), 老家大理, 请问大同.
_LEFT_CUES = frozenset("在从到去回来往至是和与及跟同由自转调迁离住于家问")
# A verb of moving followed by 了 cues a place as well: 去了中山, 回了开封.
_MOVE_CUES = frozenset("去到回来住搬调迁")
# ... or right after it: 开封医保, 大同市, 日照人, 安康的.
_RIGHT_CUES = (
    "市", "省", "县", "区", "州", "医保", "社保", "医疗", "参保", "户口", "户籍", "人", "的", "本地",
    "地区", "那边", "这边", "那里", "这里", "工作", "上班", "打工", "转", "调", "交", "缴", "和",
    "与", "跟", "到", "去", "回", "办", "看病", "就医", "住院", "报销", "生活", "读书", "上学",
    "职工", "居民", "城乡", "灵活", "新农合", "异地", "老家", "当地", "政府", "医院", "定居", "落户",
    "退休", "参加", "农村", "哪", "怎", "能", "可以", "要", "有", "吗", "断缴", "断交", "断保",
    "断了", "补缴", "补交", "停保", "欠费", "缴费", "交费", "呢",
)  # fmt: skip
# Cues above that are function words: they follow any word ("定系要" is Cantonese "or ... must",
# not a typo of 定西), so they are no cue for a two-character typo, the least certain reading.
_FUNCTION_CUES = ("要", "能", "可以", "有", "吗", "哪", "怎", "呢")
# What must follow an INSURED typo (after an optional 市 and 的): 深证医保, 深证市的社保.
_INSURANCE_WORDS = (
    "医保",
    "社保",
    "医疗",
    "参保",
    "新农合",
    "农合",
    "合作医疗",
    "职工医保",
    "居民医保",
)
_INSURED_TYPOS = resources.files("bot.nlu") / "data" / "insurance_typos.tsv"
# Characters that attach to a place name (福州人, 乐清市); they never make it part of a word.
_SUFFIXES = frozenset("人市省县区籍")
# Text between two mentions that still makes the first one context for the second (北京的朝阳区).
_ADJACENT_GAPS = frozenset({"", " ", "的"})
# Common surnames that are not also prepositions or adjectives placed before a place (和, 于,
# 向, 同, 原, 东…): a two-character place right after one of them, introduced as a name (我叫,
# 我是, 姓名, or opening the message), is a given name: 我叫杨建华, 我是王海南, 刘桂林在吗.
_SURNAMES = frozenset(
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗郑梁谢宋唐许韩冯邓曹彭曾肖董袁潘蔡蒋杜叶程苏魏"
    "吕丁沈姚卢姜崔钟谭陆汪范廖贾夏韦邹孟熊秦邱尹薛闫段雷侯陶黎贺顾毛郝龚邵钱严覃戴莫孔汤"
)
_NAME_CUES = frozenset("叫是名")
# Where a clause opens: the start, punctuation, a space (not a digit: 3张|福州的发票).
_CLAUSE_OPENERS = frozenset(" \t\n，,。.！!？?：:；;、~～…")


def _insured_typos() -> Iterable[tuple[str, str]]:
    """(surface, normalised name) pairs of ``data/insurance_typos.tsv``."""
    for line in _INSURED_TYPOS.read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            name, _, surfaces = line.partition("\t")
            for surface in surfaces.split(","):
                yield surface, name


def _rank(div: Division) -> int:
    """Province names beat prefecture names beat county names (吉林 is the province, 朝阳 the
    prefecture in 辽宁); 省直辖 units (仙桃) count as prefectures."""
    if div.level == "province":
        return 0
    return 1 if div.level == "prefecture" or div.city == div.code else 2


def _is_cjk(ch: str) -> bool:
    return "\u4e00" <= ch <= "\u9fff"


class PlaceResolver:
    """Built once from region_data; ``resolve`` is pure and thread-safe."""

    def __init__(self, divisions: Iterable[Division], lexicon: Lexicon) -> None:
        self._divisions = tuple(divisions)
        self._edges: Mapping[str, tuple[str, str]] = lexicon.edges
        # Building allocates ~20k small tuples; pausing the cyclic GC halves start-up time.
        gc_was_enabled = gc.isenabled()
        gc.disable()
        try:
            self._index, self._names = self._build(lexicon)
        finally:
            if gc_was_enabled:
                gc.enable()

    def _build(self, lexicon: Lexicon) -> tuple[dict[str, _Bucket], list[str]]:
        by_code = {d.code: d for d in self._divisions}
        targets = {
            d.code: _Target(
                d.code,
                by_code[d.city].name if d.city else None,
                by_code[d.province].name,
                d.level,
                d.city,
                d.province,
            )
            for d in self._divisions
        }
        self._targets = targets
        self._typos = lexicon.typos
        readings: dict[str, list[Division]] = defaultdict(list)
        weak: set[str] = set()
        for div in self._divisions:
            weak.update(div.weak)
            for name in div.names:
                if name not in lexicon.mutes:
                    readings[name].append(div)

        entries: dict[str, list[_Entry]] = defaultdict(list)
        for surface, divs in readings.items():
            entries[surface[:2]].append(self._exact_entry(surface, divs, weak, targets))
        for phrase in lexicon.stops:
            entries[phrase[:2]].append(_Entry(phrase, _Guard.STOP, None, (), False))
        by_name = {d.name: targets[d.code] for d in self._divisions if d.level != "county"}
        for surface, name in _insured_typos():
            if surface not in readings and surface not in lexicon.typos:
                t = by_name[name]
                entries[surface[:2]].append(_Entry(surface, _Guard.INSURED, t, (t,), True))
        # Typos (~11k) get no entry of their own: a bucket only records the longest typo that
        # starts with its two characters, and the typo table is consulted when the text gets there.
        typo_max: dict[str, int] = {}
        for surface in lexicon.typos:
            head = surface[:2]
            if len(surface) > typo_max.get(head, 0):
                typo_max[head] = len(surface)
        index = {head: _Bucket((), n) for head, n in typo_max.items()}
        for head, bucket in entries.items():
            if len(bucket) > 1:
                bucket.sort(key=lambda e: -len(e.surface))
            index[head] = _Bucket(tuple(bucket), typo_max.get(head, 0))
        return index, sorted(readings)

    @staticmethod
    def _exact_entry(
        surface: str, divs: list[Division], weak: set[str], targets: Mapping[str, _Target]
    ) -> _Entry:
        if len(divs) == 1:  # the common case, kept cheap for start-up
            top = _rank(divs[0])
            readings: tuple[_Target, ...] = (targets[divs[0].code],)
            default: _Target | None = readings[0]
        else:
            ordered = sorted(divs, key=_rank)
            readings = tuple(targets[d.code] for d in ordered)
            top = _rank(ordered[0])
            best = [t for d, t in zip(ordered, readings, strict=True) if _rank(d) == top]
            places = {t.city_code or t.province_code for t in best}
            default = best[0] if len(places) == 1 else None
        if surface in weak:
            guard = _Guard.CUED
        elif top == 2:
            guard = _Guard.COUNTY
        elif len(surface) == 2:
            guard = _Guard.NAME2
        else:
            guard = _Guard.STRONG
        return _Entry(surface, guard, default, readings, False)

    @classmethod
    @lru_cache(maxsize=1)
    def default(cls) -> PlaceResolver:
        return cls(load_divisions(), load_lexicon())

    def vocabulary(self) -> list[str]:
        """Every name and alias (no typos), e.g. for jieba's user dictionary."""
        return list(self._names)

    # -----------------------------------------------------------------------------------------

    def resolve(self, text: str) -> Places:
        mentions = self.mentions(text)
        cities: list[str] = []
        provinces: list[str] = []
        for m in mentions:
            if m.city is not None and m.city not in cities:
                cities.append(m.city)
            if m.province not in provinces:
                provinces.append(m.province)
        return Places(cities, provinces, mentions)

    def mentions(self, text: str) -> list[PlaceMention]:
        index = self._index
        found: list[PlaceMention] = []
        n = len(text)
        p = 0
        while p < n - 1:
            bucket = index.get(text[p : p + 2])
            if bucket is None:
                p += 1
                continue
            end = self._match_at(text, p, bucket, found)
            p = end if end else p + 1
        return found

    def _match_at(self, text: str, p: int, bucket: _Bucket, found: list[PlaceMention]) -> int:
        """Append the mention starting at p, if any; return the end of the consumed span or 0.

        Candidates are tried longest first (names, stop phrases and typos interleaved by length).
        """
        entries = bucket.entries
        typo_len = bucket.typo_max
        i = 0
        while True:
            exact_len = len(entries[i].surface) if i < len(entries) else 0
            if typo_len > exact_len and typo_len >= 2:
                surface = text[p : p + typo_len]
                typo_len -= 1
                code = self._typos.get(surface)
                if code is None:
                    continue
                t = self._targets[code]
                guard = _Guard.CUED if len(surface) == 2 else _Guard.COUNTY
                entry = _Entry(surface, guard, t, (t,), True)
            elif exact_len:
                entry = entries[i]
                i += 1
                if not text.startswith(entry.surface, p):
                    continue
            else:
                return 0
            end = p + len(entry.surface)
            if entry.guard is _Guard.STOP:
                return end
            verdict = self._guard(entry, text, p, end, found)
            if verdict < 0:
                continue  # glued into words: try a shorter name here
            if verdict == 0:
                return 0  # an overlapping name further on fits better
            chosen = self._choose(entry, text, p, found)
            if chosen is None:
                return end  # an ambiguous county name: skip it whole
            if entry.typo and end < len(text) and text[end] in "市省":
                end += 1  # 福洲市: the suffix belongs to the mention
            found.append(
                PlaceMention(
                    text[p:end],
                    p,
                    end,
                    chosen.city,
                    chosen.province,
                    chosen.level,
                    entry.typo,
                    chosen.code,
                )
            )
            return end

    def _guard(self, entry: _Entry, text: str, p: int, end: int, found: list[PlaceMention]) -> int:
        """1 = accept, -1 = reject this entry, 0 = give way to an overlapping later match."""
        guard = entry.guard
        if guard is _Guard.STRONG:
            return 1
        if guard is _Guard.INSURED:
            q = end + (text.startswith("市", end))
            q += text.startswith("的", q)
            return 1 if text.startswith(_INSURANCE_WORDS, q) else -1
        surface = entry.surface
        before = text[p - 1] if p else ""
        after = text[end] if end < len(text) else ""
        if before in _SURNAMES and len(surface) == 2 and self._given_name(text, p, after, found):
            return -1
        # A cue or a place right before the name outweighs a word that the character before
        # would form with it (从|中山 although 从中 is a word). After a real name only a suffix
        # does (乐清|人 although 清人 is a word); other cues are often verbs that glue (广周|到
        # is 周到, not a typo of 广州).
        left_cue = (
            before in _LEFT_CUES
            or (bool(found) and found[-1].end == p)
            or (before == "了" and p >= 2 and text[p - 2] in _MOVE_CUES)  # 去了中山
        )
        right_cue = text.startswith(_RIGHT_CUES, end) and not (
            entry.typo and len(surface) == 2 and text.startswith(_FUNCTION_CUES, end)
        )
        left_glue = bool(before) and not left_cue and before in self._edge(surface[0])[0]
        right_glue = (
            bool(after)
            and after in self._edge(surface[-1])[1]
            and (entry.typo or after not in _SUFFIXES)
        )
        if guard is _Guard.NAME2:
            if left_glue and right_glue:
                return -1  # 医保|定点
            if (left_glue or right_glue) and self._overlapped(text, p, end, strong_only=False):
                return 0  # 医保|山东: 山东, not 保山
            return 1
        if left_glue or right_glue:
            return -1
        # 从江|苏: the province 江苏, not the county 从江; and a county name that starts with a
        # cue character gives way to any name (从化|德 is "from 化德").
        if self._overlapped(text, p, end, strong_only=surface[0] not in _LEFT_CUES):
            return 0
        if guard is _Guard.COUNTY:
            return 1
        # CUED: a place cue on either side, or the name standing alone.
        if left_cue or right_cue:
            return 1
        alone_left = not before or not _is_cjk(before)
        alone_right = not after or not _is_cjk(after)
        return 1 if alone_left and alone_right else -1

    @staticmethod
    def _given_name(text: str, p: int, after: str, found: list[PlaceMention]) -> bool:
        """Is the two-character name at p the given name of a person (surname at p - 1)?

        Only where a name is introduced: after 叫/是/名, or opening the message or a clause;
        never when the surname character ends an earlier place (江苏|常州) or a place suffix
        follows (王|海南省 is a place after all)."""
        if found and found[-1].end >= p:
            return False
        if after and after in _SUFFIXES:
            return False
        cue = text[p - 2] if p >= 2 else ""
        return not cue or cue in _NAME_CUES or cue in _CLAUSE_OPENERS

    def _edge(self, ch: str) -> tuple[str, str]:
        return self._edges.get(ch, ("", ""))

    def _overlapped(self, text: str, p: int, end: int, *, strong_only: bool) -> bool:
        """Does a name start inside (p, end) and reach beyond end?

        With ``strong_only``, only a province/prefecture name that is not itself glued to the
        next word counts (从江苏 yields 江苏; 昆山东部 keeps 昆山, as 东部 is a word).
        """
        for q in range(p + 1, end):
            bucket = self._index.get(text[q : q + 2])
            if bucket is None:
                continue
            for entry in bucket.entries:
                stop = q + len(entry.surface)
                if stop <= end or not text.startswith(entry.surface, q):
                    continue
                if entry.guard is _Guard.STOP:
                    return False
                if entry.guard is _Guard.INSURED:
                    continue
                if not strong_only:
                    return True
                if entry.guard is _Guard.STRONG:
                    return True
                if entry.guard is _Guard.NAME2:
                    after = text[stop] if stop < len(text) else ""
                    glued = bool(after) and after in self._edge(entry.surface[-1])[1]
                    return not glued or text.startswith(_RIGHT_CUES, stop)
        return False

    @staticmethod
    def _choose(entry: _Entry, text: str, p: int, found: list[PlaceMention]) -> _Target | None:
        """Pick the reading: an adjacent earlier place decides (北京朝阳 -> 北京's 朝阳区)."""
        if found and len(entry.targets) > 1:
            prev = found[-1]
            if text[prev.end : p] in _ADJACENT_GAPS:
                for t in entry.targets:
                    if prev.city is not None and t.city == prev.city:
                        return t
                for t in entry.targets:
                    if t.province == prev.province:
                        return t
        if entry.default is not None:
            return entry.default
        provinces = {t.province_code for t in entry.targets}
        if len(provinces) == 1:  # several counties, one province: report the province
            t = entry.targets[0]
            return _Target(t.province_code, None, t.province, "province", "", t.province_code)
        return None
