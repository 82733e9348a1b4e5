"""Entity extraction for already-normalised user messages.

The input has been normalised upstream (simplified Chinese, half-width digits and
punctuation, lower-cased latin), so every pattern here is written against that form only.

Design rules (the "why" behind the code):

* Pure and deterministic: ``today`` is passed in, the clock is never read, and nothing
  raises on odd input -- an unparseable fragment is simply not an entity.
* Every regex is compiled once at import; ``extract`` does a fixed number of scans, so a
  typical 20-character message costs ~10-20 microseconds.
* Spans claimed by a more specific entity (dates, day-of-month, durations) are reserved
  so that their digits cannot be re-read as money ("3月31日" is never 31 yuan).
* Digit runs of 11+ characters are phone / ID-card numbers and are never money.

Documented decisions:

* Durations round *up* to whole months ("三个半月" -> 4): 医保 gap and back-payment rules
  count any started calendar month as a month. "半个月" is reported as ``days=15``.
  "多" ("6个多月", "6000多") keeps the stated figure as a lower bound.
* Year phrases go to ``years`` (contribution years, ``Decimal``) when the closest
  preceding keyword in the same clause is a contribution word (交了/缴费/差/满/够/
  累计/年限/工龄...), or the phrase is followed by 的缴费/年限; otherwise they are a
  duration and go to ``months`` (x12). Gap words (断/停/没交/欠...) are checked together
  with contribution words and the closest one wins, so "断交两年" is months=24 while
  "还差两年" is years=2. "N年M个月" in a contribution context is N + M/12 years (2 dp).
* A quantity of exactly one followed by a rate word ("一个月交多少", "一年380") is a rate,
  not a duration, unless a gap word precedes it ("断了一个月要补多少").
* Only the first months / days / years phrase is kept (users state the key fact first).
* "M月D日" without a year resolves to the nearest occurrence (last, this or next year;
  ties go to the future). A bare "D号" is the next occurrence on or after ``today``
  (rolling forward past months too short for it) -- unless said of a done thing (Tense).
* Scheme precedence: explicit scheme names (职工/灵活就业/居民/新农合/退休) beat incidental
  hints (单位/公司/自己交/孩子...). Among explicit names 退休 wins (a retiree's status
  overrides their former scheme); otherwise the *last* mention wins because users tell
  their history first and the current situation last ("以前在公司，现在灵活就业").
* Cause precedence: employer beats personal ("辞职后公司没给交最后一个月" is employer).
  Gender: the first own-gender mention (男的/女职工/性别:女); 女儿/子女/妇女 are ignored.
* Money: a number is money when it carries a unit (元/块/¥/rmb), a magnitude (千/万/k/w)
  or 多/左右 with a value >= 100; a bare number only when a money word is adjacent
  (基数6000, 工资是5000, 交了350, 6000的基数). The role comes from that adjacent word, else
  the closest money word earlier in the clause. Ranges ("四五千") are not guessed, and a
  final digit before a counter belongs to the counter ("一万一个月" = 10000 per month).
* A past point said relative to today without its day ("三天前", "两周前", "一个月前",
  "上周", "上个月") goes to ``approx_dates``, resolved against ``today`` (N days / weeks /
  months back; "上周" is a week ago, "上个月" the same day last month). Such a day is only
  roughly known, so it never becomes an exact ``dates`` entry: a reply built on it says "约".
  Working days ("10个工作日前") need the holiday calendar and are left to the policy layer.
  A payment planned for a coming month without its day ("下个月补", "下月交") is the 1st of
  that month, rough like "下个月初"; "下个月" alone is no day.
* Parts of a month or year are days too: 月初 the 1st, 上旬 the 5th, 月中/中旬 the 15th,
  下旬 the 25th, 月底/月末 the last day; 年初 1 January, 年中 1 July, 年底 31 December. 月底/
  年底 as a deadline ("10月底前", "年底") are exact; every other part, and any part said of
  something already done, is rough. "前几天"/"几天前" is a rough three days back.
* Tense: a date followed in its clause by a done-verb ("3号申请的", "10月底交了", "周五办的",
  not "要交的"/"交的话") is read as the latest such day on or before ``today``: "3号" is this
  month's 3rd, or last month's when that is still ahead; "12月1号申请的" on 2026-11-25 is
  2025-12-01, which also goes to ``assumed_last_year`` so a reply can name the year it
  assumed. Explicit relative words are never moved ("下周一", "这个月底", "上个月3号").
* "10.8" / "10/8" is a date only beside a date word (截止10.8, 10.8前, 10.8号), and invalid
  dates ("2月30日", "下个月30号" in January) are dropped without re-reading their parts.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_CEILING, Decimal
from typing import Final, Literal

__all__ = [
    "Cause",
    "Entities",
    "Gender",
    "Money",
    "MoneyRole",
    "RoughDate",
    "Scheme",
    "cn_to_number",
    "extract",
    "place_roles",
]

MoneyRole = Literal["base", "wage", "arrears", "fee", "unknown"]
Scheme = Literal["employee", "flexible", "resident", "retired"]
Cause = Literal["employer", "personal"]
Gender = Literal["male", "female"]


@dataclass(frozen=True, slots=True)
class Money:
    value: Decimal
    role: MoneyRole
    span: tuple[int, int]


@dataclass(frozen=True, slots=True)
class RoughDate:
    """A day known only roughly ("上周", "三天前", "10月底申请的"; "下个月初" is one ahead), and
    where the message says it, so a caller can tell what it is about ("三个月前断的" vs
    "上周申请的")."""

    day: dt.date
    span: tuple[int, int]


@dataclass(frozen=True, slots=True)
class Entities:
    months: int | None = None
    days: int | None = None
    years: Decimal | None = None
    amounts: tuple[Money, ...] = ()
    dates: tuple[dt.date, ...] = ()
    # Days known only roughly ("上周", "三天前", "10月底申请的"); see the module notes.
    approx_dates: tuple[RoughDate, ...] = ()
    # Days said as already done whose month had not come yet this year ("12月1号申请的" on
    # 11-25): read as last year's and listed here too (they are also in dates or
    # approx_dates), so a reply can say which year it assumed.
    assumed_last_year: tuple[dt.date, ...] = ()
    day_of_month: int | None = None
    scheme: Scheme | None = None
    cause: Cause | None = None
    gender: Gender | None = None
    number_choice: int | None = None

    @property
    def base(self) -> Decimal | None:
        """The contribution base; falls back to the wage because the base is derived
        from the wage when the user only mentions their salary."""
        wage: Decimal | None = None
        for money in self.amounts:
            if money.role == "base":
                return money.value
            if money.role == "wage" and wage is None:
                wage = money.value
        return wage

    @property
    def arrears(self) -> Decimal | None:
        for money in self.amounts:
            if money.role == "arrears":
                return money.value
        return None


# ---------------------------------------------------------------------------
# Chinese numerals
# ---------------------------------------------------------------------------

_CN_DIGIT: Final[dict[str, int]] = {
    "零": 0, "〇": 0, "一": 1, "壹": 1, "二": 2, "贰": 2, "两": 2, "俩": 2,
    "三": 3, "叁": 3, "四": 4, "肆": 4, "五": 5, "伍": 5, "六": 6, "陆": 6,
    "七": 7, "柒": 7, "八": 8, "捌": 8, "九": 9, "玖": 9,
}  # fmt: skip
# "k" (thousand) and "w" (万) are chat shorthand, so they behave like the characters.
_SMALL_UNIT: Final[dict[str, int]] = {
    "十": 10, "拾": 10, "百": 100, "佰": 100, "千": 1000, "仟": 1000, "k": 1000, "K": 1000,
}  # fmt: skip
_BIG_UNIT: Final[dict[str, int]] = {
    "万": 10**4, "萬": 10**4, "w": 10**4, "W": 10**4, "亿": 10**8, "億": 10**8,
}  # fmt: skip

_CN_DIGIT_DECIMAL: Final = {k: Decimal(v) for k, v in _CN_DIGIT.items()}
_CND: Final = "零〇一二两俩三四五六七八九壹贰叁肆伍陆柒捌玖"  # Chinese digit characters
_CNU: Final = "十拾百佰千仟万萬亿億"  # Chinese unit characters
_PLAIN_RE: Final = re.compile(r"[0-9]+(?:\.[0-9]+)?")
_NUM_TOKEN_RE: Final = re.compile(r"[0-9]+(?:\.[0-9]+)?|.", re.S)
_SINGLE_DIGITS: Final = frozenset(Decimal(n) for n in range(1, 10))
_POINT_RE: Final = re.compile(r"(.+?)点([零〇一二三四五六七八九]+)(.*)")


def _tidy(value: Decimal) -> Decimal:
    # 1.5 * 10000 is Decimal("15000.0"); strip the exponent noise so callers see 15000.
    integral = value.to_integral_value()
    return integral if value == integral else value


def cn_to_number(s: str) -> Decimal | None:
    """Parse Arabic, Chinese or mixed numerals ("三千二", "1.5万", "8k") into a Decimal.

    Colloquial elision is honoured: a single digit right after a unit means one unit
    lower ("三千二" = 3200, "两万五" = 25000, "一百五" = 150), but not after 零
    ("一百零五" = 105). A run of bare digits is read positionally ("二〇二六" = 2026).
    Returns None for anything that is not a well-formed number ("万一", "三四千").
    """
    if s.isascii() and s.isdigit():  # fast path: most numbers are plain Arabic
        return Decimal(s)
    single = _CN_DIGIT_DECIMAL.get(s)
    if single is not None:
        return single
    s = s.strip()
    if not s:
        return None
    if _PLAIN_RE.fullmatch(s):
        return Decimal(s)
    if "点" in s:
        return _decimal_point(s)
    tokens = _NUM_TOKEN_RE.findall(s)
    if all(tok in _CN_DIGIT for tok in tokens):
        if len(tokens) == 1:
            return Decimal(_CN_DIGIT[tokens[0]])
        # 两/俩 only ever mean "two of something", never a digit in a positional string.
        if "两" in s or "俩" in s:
            return None
        return Decimal("".join(str(_CN_DIGIT[tok]) for tok in tokens))
    return _parse_units(tokens)


def _decimal_point(s: str) -> Decimal | None:
    match = _POINT_RE.fullmatch(s)
    if match is None:
        return None
    whole = cn_to_number(match.group(1))
    if whole is None or whole != whole.to_integral_value():
        return None
    fraction = "".join(str(_CN_DIGIT[c]) for c in match.group(2))
    return cn_to_number(f"{int(whole)}.{fraction}{match.group(3)}")


def _parse_units(tokens: list[str]) -> Decimal | None:
    total = Decimal(0)  # completed 亿 part
    wan = Decimal(0)  # completed 万 part below 亿
    section = Decimal(0)  # part below 万
    section_unit = 10**5  # small units must strictly descend inside a section
    pending: Decimal | None = None
    pending_after_unit = False
    last_unit = 0
    prev = ""  # kind of the previous token: "", "digit", "zero" or "unit"
    for tok in tokens:
        if tok[0] in "0123456789" or (tok in _CN_DIGIT and tok not in "零〇"):
            if pending is not None:
                return None
            pending = Decimal(tok) if tok[0] in "0123456789" else Decimal(_CN_DIGIT[tok])
            pending_after_unit = prev == "unit"
            prev = "digit"
        elif tok in "零〇":
            if pending is not None:
                return None
            prev = "zero"
        elif tok in _SMALL_UNIT:
            unit = _SMALL_UNIT[tok]
            if pending is None:
                # Only 十 may stand without a multiplier ("十二"), and only at the start.
                if unit != 10 or prev not in ("", "zero"):
                    return None
                pending = Decimal(1)
            if unit >= section_unit:
                return None
            section += pending * unit
            section_unit, pending, prev, last_unit = unit, None, "unit", unit
        elif tok in _BIG_UNIT:
            unit = _BIG_UNIT[tok]
            if pending is None and prev != "unit":
                return None
            value = section + (pending or 0)
            if value == 0:
                return None
            if unit == 10**4:
                if wan:
                    return None
                wan = value * unit
            else:
                if total:
                    return None
                total, wan = (wan + value) * unit, Decimal(0)
            section, section_unit, pending, prev, last_unit = Decimal(0), 10**5, None, "unit", unit
        else:
            return None
    if pending is not None:
        if pending_after_unit and last_unit >= 100 and pending in _SINGLE_DIGITS:
            pending *= last_unit // 10
        section += pending
    return _tidy(total + wan + section)


# ---------------------------------------------------------------------------
# Shared pattern pieces and helpers
# ---------------------------------------------------------------------------
# Speed: every hot pattern starts with a character class or a plain literal alternation,
# which lets `re` skip to candidate characters in C. A leading look-behind or a group-led
# alternation disables that scan (measured 2-3x slower), so "not inside a longer number"
# checks are done in Python on the one preceding character, and keyword-to-meaning
# mapping is a dict lookup on the matched text instead of one named group per meaning.

_LAST_BREAK_RE: Final = re.compile(r".*(?:[，,。!！?？；;\n~]|\.(?![0-9]))", re.S)
_DAY_NUM: Final = rf"(?:[0-9]{{1,2}}|[{_CND}十]{{1,3}})"
_NUMBER_CHARS: Final = frozenset("0123456789." + _CND + _CNU)
_HAS_NUMBERISH_RE: Final = re.compile(rf"[0-9{_CND}十拾百半]")
_DATE_WORD_RE: Final = re.compile(r"[月天日周期拜底末初旬]|年中")


def _alternation(words: Sequence[str]) -> str:
    # Longest first, so "缴费基数" wins over "缴费" and "断交" over "交".
    return "|".join(re.escape(w) for w in sorted(set(words), key=len, reverse=True))


def _clause_window(text: str, pos: int, width: int) -> str:
    window = text[max(0, pos - width) : pos]
    cut = _LAST_BREAK_RE.match(window)  # greedy, so it ends at the last break
    return window if cut is None else window[cut.end() :]


def _small_int(s: str) -> int | None:
    value = cn_to_number(s)
    if value is None or value != value.to_integral_value():
        return None
    return int(value)


def _is_free(reserved: bytearray, start: int, end: int) -> bool:
    return reserved.find(1, start, end) == -1


def _reserve(reserved: bytearray, start: int, end: int) -> None:
    reserved[start:end] = b"\x01" * (end - start)


# ---------------------------------------------------------------------------
# Dates
# ---------------------------------------------------------------------------

_WEEKDAY: Final[dict[str, int]] = {
    "一": 0, "二": 1, "三": 2, "四": 3, "五": 4, "六": 5, "日": 6, "天": 6,
    "1": 0, "2": 1, "3": 2, "4": 3, "5": 4, "6": 5, "7": 6,
}  # fmt: skip
_REL_DAY: Final[dict[str, int]] = {
    "今天": 0, "今日": 0, "明天": 1, "明日": 1, "后天": 2, "大后天": 3,
    "昨天": -1, "昨日": -1, "前天": -2,
}  # fmt: skip
_MONTH_REL: Final[dict[str, int]] = {
    "下下个月": 2, "下下月": 2, "下个月": 1, "下月": 1, "这个月": 0, "这月": 0, "本月": 0,
    "当月": 0, "上个月": -1, "上月": -1, "上上个月": -2, "上上月": -2,
}  # fmt: skip
# None = a bare weekday ("周一"): the next one on or after today.
_WEEK_REL: Final[dict[str, int | None]] = {
    "下下周": 2, "下下个星期": 2, "下下星期": 2, "下下个礼拜": 2, "下下礼拜": 2,
    "下周": 1, "下个星期": 1, "下星期": 1, "下个礼拜": 1, "下礼拜": 1,
    "这周": 0, "本周": 0, "这个星期": 0, "这星期": 0, "本星期": 0, "这个礼拜": 0, "这礼拜": 0,
    "上周": -1, "上个星期": -1, "上星期": -1, "上个礼拜": -1, "上礼拜": -1,
    "上上周": -2, "上上个星期": -2, "上上星期": -2, "上上个礼拜": -2, "上上礼拜": -2,
    "周": None, "星期": None, "礼拜": None,
}  # fmt: skip
_PERIOD_END: Final = ("月底", "月末", "年底", "年末")
_KW_DATE_RE: Final = re.compile(_alternation([*_REL_DAY, *_MONTH_REL, *_WEEK_REL, *_PERIOD_END]))
_REL_MONTH_TAIL_RE: Final = re.compile(rf"的?(?P<d>{_DAY_NUM})(?:日|号)|(?P<end>底|末)")

_NUM_DATE_RE: Final = re.compile(
    rf"(?P<n1>[0-9{_CND}十]{{1,4}}+)"
    # 2026-10-08, 2026/10/8, 2026.10.8
    r"(?:(?P<iso>[-/.])(?P<iso_m>[0-9]{1,2})[-/.](?P<iso_d>[0-9]{1,2})(?![0-9])"
    # 2026年10月8日, 26年10月8号, 二〇二六年十月八日
    rf"|(?P<ys>年)(?P<y_m>{_DAY_NUM})月(?P<y_d>{_DAY_NUM})(?:日|号)?(?![0-9])"
    # 3月31日, 3月31号, 3月31, 三月三十一日
    rf"|(?P<ms>月)(?P<md_d>{_DAY_NUM})(?P<md_sfx>日|号)?(?![0-9个多天年月次])"
    # 15号, 15日 -- but not 30日内 (a duration) or 1号线
    r"|(?P<ds>号|日)(?![0-9]|内|之内|以内|后|之后|线|楼|床|窗口)"
    # 10.8, 10/8 -- accepted only with a clear date word around it, checked in code
    r"|(?P<ss>[./])(?P<sd>[0-9]{1,2})(?![0-9.%万千元块kw])"
    r")"
)
_SHORT_DATE_BEFORE_RE: Final = re.compile(
    r"(?:截止|截至|截止到|日期|到期|期限|定于|于|最晚|最迟)$"
)
_SHORT_DATE_AFTER_RE: Final = re.compile(r"前|之前|以前|号|日|截止|到期|那天|当天")
_POSITIONAL_YEAR: Final = frozenset("〇零一二三四五六七八九")
_DAY_OF_MONTH_RE: Final = re.compile(rf"每个?月的?(?P<d>{_DAY_NUM})(?:号|日)")
# "三天前", "两周以前", "一个多月之前", "半个月前", "两年前". "月" needs 个 ("3月前" is "before
# March"), and "日" a Chinese numeral ("15日前" is "before the 15th").
_AGO_RE: Final = re.compile(
    rf"(?P<n>[0-9{_CND}十半][0-9{_CND}十]{{0,2}})(?P<ge>个)?(?P<half>半)?多?"
    r"(?P<unit>天|日|星期|礼拜|周|月|年)多?(?:前|以前|之前)"
)
_AGO_DAYS: Final[dict[str, int]] = {"天": 1, "日": 1, "星期": 7, "礼拜": 7, "周": 7}
# "前几天申请的": a few days back, taken as three. "前两天"/"前三天" is "two days ago" only
# when said of something done ("前两天免费" is "the first two days").
_FEW_DAYS_RE: Final = re.compile(
    r"前几天|前些天|几天(?:前|以前|之前)|前(?P<n>[两俩二三])天(?![内里])"
)
_FEW_DAYS: Final = 3
_WEEK: Final = dt.timedelta(days=7)

# Tense. A done-verb in the date's clause, then 了/过/的: "3号申请的", "10月底就交了",
# "12月1号在app上提交的". A modal, a negation or a condition before it makes it not done.
_DONE_VERB_RE: Final = re.compile(
    r"(?:申请|提交|递交|提出|办理|办|交|缴|转|断|停|开始|登记|参保|入职|离职|辞职|发起|弄"
    r"|填|报|上传|寄|递|跑|打|去|收|签|注销|做|搞)"
    r"[^，,。!！?？；;\n]{0,4}?(?:了|过|的(?!话|时候))"
)
_NOT_DONE_RE: Final = re.compile(
    r"要|会|准备|打算|想|计划|将|得|该|需|能|可以|再|还没|没|未|不|如果|要是|的话|吗"
)
_DONE_BEFORE_RE: Final = re.compile(r"已经|已于|已在|早在|早就|已")
_BREAK_RE: Final = re.compile(r"[，,。!！?？；;\n]")
# Parts of a month or year. Anchored on 月 / 旬 / 年 so the scan stays fast; the month or
# year they belong to is read from the characters before, in Python.
_PART_RE: Final = re.compile(
    r"月份?的?(?P<mp>初(?![一二三四五六七八九十])|上旬|中旬|下旬"
    r"|中(?![一二三四五六七八九十心间期旬])|底|末)"
    r"|(?P<xun>[上中下])旬"
    r"|年(?P<yp>初(?![一二三四五六七八九十])|底|末|中(?![一二三四五六七八九十心间期旬]))"
)
_PART_DAY: Final[dict[str, int]] = {
    "初": 1, "上旬": 5, "上": 5, "中": 15, "中旬": 15, "下旬": 25, "下": 25, "底": 31, "末": 31,
}  # fmt: skip
_YEAR_PART_MD: Final[dict[str, tuple[int, int]]] = {
    "初": (1, 1), "中": (7, 1), "底": (12, 31), "末": (12, 31),
}  # fmt: skip
_YEAR_REL: Final[dict[str, int]] = {"前": -2, "去": -1, "今": 0, "本": 0, "明": 1, "后": 2}
_MONTH_REL_BY_LEN: Final = tuple(sorted(_MONTH_REL, key=len, reverse=True))
_MONTH_NUM_BEFORE_RE: Final = re.compile(
    rf"(?:(?P<y>(?:19|20)[0-9]{{2}}|[0-9]{{2}})年)?(?P<m>[0-9]{{1,2}}|[{_CND}十]{{1,3}})$"
)
_YEAR_BEFORE_RE: Final = re.compile(
    r"(?:(?P<y>(?:19|20)[0-9]{2}|[0-9]{2})|(?P<rel>[前去今本明后]))年?$"
)
# Before a bare part these mean it is not a day: 个月底 (a duration), 每月底 (recurring),
# 正月初 / 腊月 (lunar), 岁月.
_PART_BLOCK_PREV: Final = frozenset("个每正腊岁几多整半") | _NUMBER_CHARS
_RECURRING_TAIL: Final = ("每", "每个", "每月", "每个月", "每年")


def _done_after(text: str, end: int, start: int = -1) -> bool:
    """Whether the date ending at ``end`` is said of something already done."""
    after = text[end : end + 14]
    cut = _BREAK_RE.search(after)
    after = after if cut is None else after[: cut.start()]
    verb = _DONE_VERB_RE.search(after)
    if verb is not None and _NOT_DONE_RE.search(after[: verb.end()]) is None:
        return not after[verb.end() :].startswith(("吗", "没", "么"))
    if start >= 0 and _DONE_BEFORE_RE.search(_clause_window(text, start, 4)):
        return _NOT_DONE_RE.search(after) is None
    return False


def _latest_on_or_before(month: int, day: int, today: dt.date) -> dt.date | None:
    """The latest month/day on or before today (a 29 February looks back up to 8 years)."""
    for year in range(today.year, today.year - 9, -1):
        cand = _safe_date(year, month, min(day, 31))
        if cand is not None and cand <= today:
            return cand
    return None


def _latest_day_of_month(day: int | None, today: dt.date) -> dt.date | None:
    if day is None or not 1 <= day <= 31:
        return None
    for offset in range(0, -4, -1):  # any day 1..31 exists within four consecutive months
        year, month = _shift_month(today.year, today.month, offset)
        cand = _safe_date(year, month, day)
        if cand is not None and cand <= today:
            return cand
    return None


def _part_day(year: int, month: int, part: str) -> dt.date:
    last = calendar.monthrange(year, month)[1]
    return dt.date(year, month, min(_PART_DAY[part], last))


@dataclass(frozen=True, slots=True)
class _PartDate:
    day: dt.date
    span: tuple[int, int]
    rough: bool
    moved: bool  # read as last year's because it is said as done


def _month_part(m: re.Match[str], text: str, today: dt.date) -> _PartDate | None:
    """ "10月底", "上个月初", "本月中旬", "下旬", "月中": a part of a month."""
    start, end = m.start(), m.end()
    part = m.group("mp") or m.group("xun")
    first = start  # where the whole phrase starts, with its month
    year: int | None = None
    month: int | None = None
    offset: int | None = None
    if m.group("mp"):
        with_month = text[max(0, start - 4) : start + 1]  # m.start() is the 月
        rel = next((w for w in _MONTH_REL_BY_LEN if with_month.endswith(w)), None)
        num = None
        if rel is None:
            num = _MONTH_NUM_BEFORE_RE.search(text, max(0, start - 8), start)
        if rel is not None:
            offset, first = _MONTH_REL[rel], start + 1 - len(rel)
        elif num is not None and not (num.start() and text[num.start() - 1] in _NUMBER_CHARS):
            month = _small_int(num.group("m"))
            if month is None or not 1 <= month <= 12:
                return None
            if num.group("y") is not None:
                raw = num.group("y")
                year = int(raw) + (2000 if len(raw) == 2 else 0)
            first = num.start()
        elif start and text[start - 1] in _PART_BLOCK_PREV:
            return None
    if text[max(0, first - 3) : first].endswith(_RECURRING_TAIL):
        return None
    done = _done_after(text, end, first)
    rough = done or part not in ("底", "末")
    moved = False
    if year is not None and month is not None:
        day = _part_day(year, month, part)
    elif offset is not None:
        day = _part_day(*_shift_month(today.year, today.month, offset), part)
    elif month is not None:
        cands = [_part_day(y, month, part) for y in (today.year - 1, today.year, today.year + 1)]
        nearest = min(cands, key=lambda c: (abs((c - today).days), c < today))
        if done:
            day = max(c for c in cands if c <= today)
            moved = nearest > today and day.year < today.year
        else:
            day = nearest
    else:
        this = _part_day(today.year, today.month, part)
        step = -1 if done and this > today else (1 if not done and this < today else 0)
        day = _part_day(*_shift_month(today.year, today.month, step), part)
    return _PartDate(day, (first, end), rough, moved)


def _year_part(m: re.Match[str], text: str, today: dt.date) -> _PartDate | None:
    """ "年底", "去年年底", "明年初", "2025年底": a part of a year."""
    start, end = m.start(), m.end()
    part = m.group("yp")
    before = _YEAR_BEFORE_RE.search(text, max(0, start - 5), start)
    first, year = start, None
    if before is not None and not (before.start() and text[before.start() - 1] in _NUMBER_CHARS):
        if before.group("rel") is not None:
            prev = text[before.start() - 1] if before.start() else "\0"
            if before.group("rel") == "前" and prev in "之以":
                return None
            year = today.year + _YEAR_REL[before.group("rel")]
        else:
            raw = before.group("y")
            year = int(raw) + (2000 if len(raw) == 2 else 0)
        first = before.start()
    elif start and (text[start - 1] in _PART_BLOCK_PREV or text[start - 1] == "年"):
        return None  # "两年底" / "每年年底" are not days
    if text[max(0, first - 3) : first].endswith(_RECURRING_TAIL):
        return None
    if year is None and part == "中":
        return None  # "一年中" is "in a year"
    month, day_no = _YEAR_PART_MD[part]
    done = _done_after(text, end, first)
    rough = done or part not in ("底", "末")
    moved = False
    if year is None:
        year = today.year
        this = dt.date(year, month, day_no)
        if done and this > today:
            year, moved = year - 1, True
        elif not done and this < today:
            year += 1
    return _PartDate(dt.date(year, month, day_no), (first, end), rough, moved)


def _safe_date(year: int, month: int, day: int) -> dt.date | None:
    if not (1 <= month <= 12 and 1 <= day <= 31 and 1 <= year <= 9999):
        return None
    if day > calendar.monthrange(year, month)[1]:
        return None
    return dt.date(year, month, day)


def _shift_month(year: int, month: int, offset: int) -> tuple[int, int]:
    index = year * 12 + month - 1 + offset
    return index // 12, index % 12 + 1


def _month_end(year: int, month: int) -> dt.date:
    return dt.date(year, month, calendar.monthrange(year, month)[1])


def _nearest(month: int | None, day: int | None, today: dt.date) -> dt.date | None:
    if month is None or day is None:
        return None
    best: dt.date | None = None
    best_key = (0, False)
    for year in (today.year - 1, today.year, today.year + 1):
        cand = _safe_date(year, month, day)
        if cand is None:
            continue
        # Closest to today wins; on a tie the future date (cand >= today) wins.
        key = (abs((cand - today).days), cand < today)
        if best is None or key < best_key:
            best, best_key = cand, key
    return best


def _next_day_of_month(day: int | None, today: dt.date) -> dt.date | None:
    if day is None or not 1 <= day <= 31:
        return None
    for offset in range(4):  # any day 1..31 exists within four consecutive months
        year, month = _shift_month(today.year, today.month, offset)
        cand = _safe_date(year, month, day)
        if cand is not None and cand >= today:
            return cand
    return None


def _keyword_date(m: re.Match[str], text: str, today: dt.date) -> tuple[dt.date | None, int]:
    """Resolve a date keyword match; returns the date (or None) and where it ends."""
    word, start, end = m.group(), m.start(), m.end()
    prev = text[start - 1] if start else "\0"  # "" would be "in" every string
    if word in _MONTH_REL:
        tail = _REL_MONTH_TAIL_RE.match(text, end)
        if tail is None:
            return None, end
        year, month = _shift_month(today.year, today.month, _MONTH_REL[word])
        if tail.group("end") is not None:
            return _month_end(year, month), tail.end()
        day = _small_int(tail.group("d"))
        return (None if day is None else _safe_date(year, month, day)), tail.end()
    if word in _PERIOD_END:
        if text[max(0, start - 3) : start].endswith(("每", "每个", "每月", "每个月", "每年")):
            return None, end  # recurring ("每月月底"), not one date
        if word[0] == "年":
            return dt.date(today.year + {"明": 1, "去": -1}.get(prev, 0), 12, 31), end
        return _month_end(today.year, today.month), end
    if word in _WEEK_REL:
        weekday = _WEEKDAY.get(text[end : end + 1])
        rel = _WEEK_REL[word]
        if weekday is None or (rel is None and (prev in _NUMBER_CHARS or prev in "每个")):
            return None, end  # "两周一次" / "每周一" are not dates
        if rel is None:
            return today + dt.timedelta(days=(weekday - today.weekday()) % 7), end + 1
        monday = today - dt.timedelta(days=today.weekday())
        return monday + dt.timedelta(days=7 * rel + weekday), end + 1
    # 今天 / 明天 / 后天 ...
    if (word == "后天" and prev in "以之然最前背") or (
        word == "明日" and text[end : end + 1] == "期"
    ):
        return None, end  # "以后天..." / "说明日期" are not relative days
    return today + dt.timedelta(days=_REL_DAY[word]), end


def _past_rough(word: str, text: str, end: int, today: dt.date) -> dt.date | None:
    """ "上周" / "上个月" with no day after them: a week (a month) before today, per step back.
    Only past words: "下个月" alone is a plan, not a day that already happened."""
    if word in _MONTH_REL and _MONTH_REL[word] < 0:
        if _REL_MONTH_TAIL_RE.match(text, end):
            return None  # "上个月10号" is an exact day, read by _keyword_date
        year, month = _shift_month(today.year, today.month, _MONTH_REL[word])
        return dt.date(year, month, min(today.day, calendar.monthrange(year, month)[1]))
    rel = _WEEK_REL.get(word)
    if rel is not None and rel < 0 and text[end : end + 1] not in _WEEKDAY:
        return today + dt.timedelta(days=7 * rel)
    return None


# "下个月补", "下月再交": a payment planned for a coming month without its day.
_PLAN_VERB_RE: Final = re.compile(r"(?:再|就|去|才|要|会|准备|打算)?(?:补|交|缴)")


def _planned_rough(word: str, text: str, end: int, today: dt.date) -> dt.date | None:
    """ "下个月补" / "下下月交": the 1st of that month, taken roughly like "下个月初" (a plan
    to pay, never a day already past); "下个月" alone or before anything else is no day."""
    offset = _MONTH_REL.get(word, 0)
    if offset <= 0 or _PLAN_VERB_RE.match(text, end) is None:
        return None
    year, month = _shift_month(today.year, today.month, offset)
    return dt.date(year, month, 1)


def _ago(m: re.Match[str], text: str, today: dt.date) -> dt.date | None:
    """The day "N units ago" means, or None when the phrase is not a count back in time."""
    start, raw, unit = m.start(), m.group("n"), m.group("unit")
    if start and text[start - 1] in _DUR_BLOCK_PREV:
        return None  # the tail of a longer number, an ordinal or "每"
    if (unit == "日" and raw.isascii()) or (raw.isascii() and len(raw) > 2):
        return None  # "15日前" is "before the 15th"; "2025年前" is a calendar year
    half = m.group("half") is not None
    if raw == "半":
        if half or (unit == "月" and m.group("ge") is None) or unit not in ("月", "年"):
            return None
        if unit == "月":
            return today - dt.timedelta(days=15)
        year, month = _shift_month(today.year, today.month, -6)  # "半年前"
        return dt.date(year, month, min(today.day, calendar.monthrange(year, month)[1]))
    if unit == "月" and m.group("ge") is None:
        return None
    count = _small_int(raw)
    if count is None or count <= 0:
        return None
    if unit in _AGO_DAYS:
        return today - dt.timedelta(days=count * _AGO_DAYS[unit])
    months = count * (12 if unit == "年" else 1)
    if months > 120:
        return None
    year, month = _shift_month(today.year, today.month, -months)
    day = dt.date(year, month, min(today.day, calendar.monthrange(year, month)[1]))
    return day - dt.timedelta(days=15 if half else 0)


def _numeric_date(
    m: re.Match[str], text: str, today: dt.date, done: bool = False
) -> tuple[dt.date | None, bool]:
    """The date a numeric match means, and whether a done-verb moved it to last year."""
    start = m.start()
    if start and text[start - 1] in _NUMBER_CHARS:
        return None, False  # the tail of a longer number
    g = m.group
    n1 = g("n1")
    arabic = n1.isascii() and n1.isdigit()
    if g("iso") is not None:
        if not (arabic and len(n1) == 4 and n1[:2] in ("19", "20")):
            return None, False
        return _safe_date(int(n1), int(g("iso_m")), int(g("iso_d"))), False
    if g("ys") is not None:
        if arabic:
            if len(n1) == 2:
                year = 2000 + int(n1)  # "26年" in a chat about current insurance is 2026
            elif len(n1) == 4 and n1[:2] in ("19", "20"):
                year = int(n1)
            else:
                return None, False
        elif len(n1) >= 2 and set(n1) <= _POSITIONAL_YEAR:
            year = int("".join(str(_CN_DIGIT[c]) for c in n1))
            year += 2000 if year < 100 else 0
        else:
            return None, False
        month, day = _small_int(g("y_m")), _small_int(g("y_d"))
        return (None if month is None or day is None else _safe_date(year, month, day)), False
    if g("ms") is not None:
        if g("md_sfx") is None and not g("md_d").isascii():
            return None, False  # "一月两次" is a frequency, not January 2nd
        return _month_day(_small_int(n1), _small_int(g("md_d")), today, done)
    if g("ds") is not None:
        # A lone Chinese numeral + 日 ("一日三餐") is not a date, unless said of a done thing.
        if (arabic and len(n1) > 2) or (not arabic and g("ds") == "日" and not done):
            return None, False
        if start and text[start - 1] in "第每":
            return None, False
        if done:  # "3号申请的": this month's 3rd, or last month's when that is still ahead
            return _latest_day_of_month(_small_int(n1), today), False
        return _next_day_of_month(_small_int(n1), today), False
    # 10.8 / 10/8
    if not arabic or len(n1) > 2:
        return None, False
    before = _clause_window(text, start, 4)
    if _SHORT_DATE_BEFORE_RE.search(before) or _SHORT_DATE_AFTER_RE.match(text, m.end()):
        return _month_day(int(n1), int(g("sd")), today, done)
    return None, False


def _month_day(
    month: int | None, day: int | None, today: dt.date, done: bool
) -> tuple[dt.date | None, bool]:
    """ "M月D日" without a year: the nearest one, or for a done thing the latest one on or
    before today (moved to last year when the nearest is still ahead)."""
    nearest = _nearest(month, day, today)
    if not done or month is None or day is None or (nearest is not None and nearest <= today):
        return nearest, False
    latest = _latest_on_or_before(month, day, today)
    # Moved only when this year's is still ahead: "1月10号申请的" in November is this January.
    moved = nearest is not None and latest is not None and latest.year < today.year
    return latest, moved


def _dates(
    text: str, today: dt.date, reserved: bytearray, numberish: bool
) -> tuple[tuple[dt.date, ...], int | None, tuple[RoughDate, ...], tuple[dt.date, ...]]:
    """Exact dates, the day of month of a recurring date, roughly known days, and the days
    read as last year's because they are said as done."""
    found: list[tuple[int, dt.date]] = []
    rough: list[RoughDate] = []
    moved: list[dt.date] = []
    day_of_month: int | None = None
    if numberish and "每" in text:
        for m in _DAY_OF_MONTH_RE.finditer(text):
            value = _small_int(m.group("d"))
            if value is not None and 1 <= value <= 31:
                day_of_month = day_of_month or value
                _reserve(reserved, m.start(), m.end())
    # Parts of a month or year first: "上个月初" and "10月底" are one day, not "上个月" + "月底".
    for m in _PART_RE.finditer(text):
        try:
            part = (_year_part if m.group("yp") else _month_part)(m, text, today)
        except (OverflowError, ValueError):  # only at the edges of the calendar
            part = None
        if part is None or not _is_free(reserved, *part.span):
            continue
        _reserve(reserved, *part.span)
        if part.rough:
            rough.append(RoughDate(part.day, part.span))
        else:
            found.append((part.span[0], part.day))
        if part.moved:
            moved.append(part.day)
    for m in _KW_DATE_RE.finditer(text):
        try:
            resolved, end = _keyword_date(m, text, today)
        except (OverflowError, ValueError):  # only at the edges of the calendar (year 9999)
            resolved, end = None, m.end()
        if not _is_free(reserved, m.start(), end):
            continue
        # An invalid "下个月30号" still claims its span so "30号" is not re-read alone.
        if resolved is not None or end > m.end():
            _reserve(reserved, m.start(), end)
        if resolved is not None:
            # A bare weekday said of a done thing ("周五申请的") is the last one.
            if (
                resolved > today
                and _WEEK_REL.get(m.group(), 0) is None
                and _done_after(text, end, m.start())
                and resolved > dt.date.min + _WEEK
            ):
                resolved -= _WEEK
            found.append((m.start(), resolved))
        else:
            past = _past_rough(m.group(), text, m.end(), today)
            if past is None:
                past = _planned_rough(m.group(), text, m.end(), today)
            if past is not None:
                rough.append(RoughDate(past, (m.start(), m.end())))
    if numberish:
        for m in _NUM_DATE_RE.finditer(text):
            if not _is_free(reserved, m.start(), m.end()):
                continue
            try:
                done = _done_after(text, m.end(), m.start())
                resolved, shifted = _numeric_date(m, text, today, done)
            except (OverflowError, ValueError):
                resolved, shifted = None, False
            if resolved is not None:
                _reserve(reserved, m.start(), m.end())
                found.append((m.start(), resolved))
                if shifted:
                    moved.append(resolved)
        # Counts back ("三天前") do not reserve: their number is also a duration to others
        # ("三个月前断的" is a lapse of three months).
        for m in _AGO_RE.finditer(text):
            if _is_free(reserved, m.start(), m.end()):
                past = _ago(m, text, today)
                if past is not None:
                    rough.append(RoughDate(past, (m.start(), m.end())))
    if "天" in text:
        for m in _FEW_DAYS_RE.finditer(text):
            if not _is_free(reserved, m.start(), m.end()):
                continue
            count = _FEW_DAYS
            if m.group("n") is not None:  # "前两天": only of a done thing
                if not _done_after(text, m.end(), m.start()):
                    continue
                count = 2 if m.group("n") in "两俩二" else 3
            try:
                rough.append(RoughDate(today - dt.timedelta(days=count), m.span()))
            except OverflowError:
                continue
    rough.sort(key=lambda r: r.span)
    return _in_order(found), day_of_month, tuple(rough), tuple(moved)


def _in_order(found: list[tuple[int, dt.date]]) -> tuple[dt.date, ...]:
    """The dates in the order the message says them, each once."""
    unique: list[dt.date] = []
    for _, day in sorted(found, key=lambda item: item[0]):
        if day not in unique:
            unique.append(day)
    return tuple(unique)


# ---------------------------------------------------------------------------
# Durations
# ---------------------------------------------------------------------------

_DUR_RE: Final = re.compile(
    rf"(?P<n>[0-9{_CND}十拾百半][0-9.{_CND}十拾百]{{0,7}}+)(?:多(?!少))?"
    r"(?:(?P<y>年)(?P<yh>半)?(?:多(?!少))?(?![级度代纪龄份前])"
    # "15年3月" is a date, not fifteen years and a stray month
    rf"(?!(?:零|又)?[0-9{_CND}十]{{1,3}}月)"
    rf"(?:(?:零|又)?(?P<ym>[0-9{_CND}十][0-9.{_CND}十]{{0,3}})多?个(?P<ymh>半)?多?月)?"
    r"|个(?P<mh>半)?(?:多(?!少))?(?P<m>月)"
    r"|(?P<m2>月)"
    r"|个?(?P<d>天|工作日|自然日|日(?=内|之内|以内|后|之后))"
    r"|个?(?P<w>星期|礼拜|周)(?!岁|[一二三四五六日天末1-7])"
    r")"
)
# Not inside a longer number, not an ordinal (第一年), not recurring (每一年).
_DUR_BLOCK_PREV: Final = _NUMBER_CHARS | frozenset("第每kw")

# Contribution words make a year phrase "contribution years"; gap words make it a
# duration. Both share one alternation (longest first) so the closest word wins and
# "断交" is not mistaken for "交".
_CONTRIB_WORDS: Final = (
    "缴费年限", "缴费", "年限", "工龄", "缴龄", "交了", "缴了", "交满", "缴满", "交够", "缴够",
    "交过", "缴过", "已交", "已缴", "累计", "一共交", "总共交", "共交", "连续交", "连续缴",
    "再交", "要交", "还要交", "需要交", "得交", "交", "缴", "差", "满", "够",
)  # fmt: skip
_GAP_WORDS: Final = (
    "断交", "断缴", "断了", "断", "停交", "停缴", "停了", "停", "没交", "没缴", "未交", "未缴",
    "漏交", "漏缴", "欠了", "欠", "晚了", "晚", "隔了", "中断", "空了", "超过", "过了", "拖了",
    "超了", "没有交", "没有缴",
)  # fmt: skip
_YEAR_CTX_KIND: Final[dict[str, str]] = {
    **{w: "contrib" for w in _CONTRIB_WORDS},
    **{w: "gap" for w in _GAP_WORDS},
}
_YEAR_CTX_RE: Final = re.compile(_alternation(list(_YEAR_CTX_KIND)))
_YEAR_CTX_AFTER_RE: Final = re.compile(r"的?(?:缴费|年限|缴龄|工龄)")
# Characters that, right after a quantity of one, mark a rate ("一个月交多少", "一年380").
_RATE_NEXT: Final = frozenset("交缴付扣多要需得大约才的能报" + "0123456789" + _CND)
_HALF: Final = Decimal("0.5")
_CENT: Final = Decimal("0.01")


def _ctx_before(text: str, start: int) -> str | None:
    # finditer (left to right, longest first) keeps "断交" whole; the last hit is closest.
    kind = None
    for match in _YEAR_CTX_RE.finditer(_clause_window(text, start, 8)):
        kind = _YEAR_CTX_KIND[match.group()]
    return kind


def _is_rate(text: str, start: int, end: int, raw: str) -> bool:
    if raw not in ("1", "一"):
        return False
    if start and text[start - 1] in "元块钱":
        return True  # "3000元一个月", "多少钱一年"
    if end >= len(text) or text[end] not in _RATE_NEXT:
        return False
    return _ctx_before(text, start) != "gap"  # "断了一个月要补多少" is still a duration


def _ceil_int(value: Decimal) -> int:
    return int(value.to_integral_value(rounding=ROUND_CEILING))


def _durations(text: str, reserved: bytearray) -> tuple[int | None, int | None, Decimal | None]:
    months: int | None = None
    days: int | None = None
    years: Decimal | None = None
    for m in _DUR_RE.finditer(text):
        start, end = m.span()
        if (start and text[start - 1] in _DUR_BLOCK_PREV) or not _is_free(reserved, start, end):
            continue
        g = m.group
        raw = g("n")
        if raw[0] == "半":
            if raw != "半":
                continue
            if g("m") is not None and g("mh") is None and days is None:
                days = 15  # 半个月
                _reserve(reserved, start, end)
            elif (
                g("y") is not None
                and g("ym") is None
                and g("yh") is None
                and not (start and text[start - 1] in "上下前后")  # 上半年 is a period
            ):
                months, years = _year_phrase(text, m, _HALF, Decimal(0), months, years, reserved)
            continue
        count = cn_to_number(raw)
        if count is None or count <= 0 or _is_rate(text, start, end, raw):
            continue
        if g("m2") is not None:
            if raw in ("两", "俩") and months is None:  # 两月 = two months; 3月 is a date
                months = 2
                _reserve(reserved, start, end)
        elif g("m") is not None:
            total = count + (_HALF if g("mh") else 0)
            if months is None and total <= 600:
                months = _ceil_int(total)
                _reserve(reserved, start, end)
        elif g("y") is not None:
            if count > 60:
                continue  # "2015年" is a calendar year, not a duration
            extra = Decimal(0)
            if g("ym") is not None:
                ym = cn_to_number(g("ym"))
                if ym is None:
                    continue
                extra = ym + (_HALF if g("ymh") else 0)
            year_part = count + (_HALF if g("yh") else 0)
            months, years = _year_phrase(text, m, year_part, extra, months, years, reserved)
        elif days is None:
            total = count * (7 if g("w") is not None else 1)
            if total <= 3660:
                days = _ceil_int(total)
                _reserve(reserved, start, end)
        if months is not None and days is not None and years is not None:
            break
    return months, days, years


def _year_phrase(
    text: str,
    m: re.Match[str],
    year_part: Decimal,
    month_part: Decimal,
    months: int | None,
    years: Decimal | None,
    reserved: bytearray,
) -> tuple[int | None, Decimal | None]:
    """File a year phrase under contribution years or under the months duration."""
    start, end = m.span()
    contrib = _ctx_before(text, start) == "contrib" or bool(_YEAR_CTX_AFTER_RE.match(text, end))
    if contrib and years is None:
        value = year_part + month_part / 12
        years = _tidy(value.quantize(_CENT) if month_part else value)
        _reserve(reserved, start, end)
    elif not contrib and months is None:
        months = _ceil_int(year_part * 12 + month_part)
        _reserve(reserved, start, end)
    return months, years


# ---------------------------------------------------------------------------
# Money
# ---------------------------------------------------------------------------

_MONEY_RE: Final = re.compile(
    rf"(?P<num>[0-9{_CND}十拾](?:[0-9]{{0,2}}(?:,[0-9]{{3}})+(?![0-9])|[0-9]*)(?:\.[0-9]+)?"
    rf"(?:[{_CND}{_CNU}kKwW]|[0-9](?![0-9]))*)"
    r"(?P<approx>多(?!少)|余)?"
    r"(?P<unit>块钱|块|元钱|元(?!旦)|圆|rmb|人民币)?"
    r"(?P<about>左右|上下)?"
)
_MAGNITUDE: Final = frozenset("千仟万萬亿億kKwW")
# After a unit-less number these characters mean it counts something other than money.
_NOT_MONEY_NEXT: Final = frozenset(
    "个年月天日号岁周%％次人倍成折分时点期级档里斤楼路名位家米条张度班套项"
)
# A trailing digit right before a counter belongs to the counter: "一万一个月" is
# 10000 per month, not 11000.
_COUNTER: Final = frozenset("个年月天周次人岁")
_DIGITS: Final = "0123456789"
_DIGITS_COMMA: Final = _DIGITS + ","

_MONEY_KW: Final[dict[str, MoneyRole | None]] = {
    "缴费基数": "base", "缴纳基数": "base", "参保基数": "base", "基数": "base",
    "档次": "base", "按": "base",
    "工资": "wage", "月薪": "wage", "年薪": "wage", "收入": "wage", "薪资": "wage",
    "薪水": "wage", "底薪": "wage", "到手": "wage", "税前": "wage", "税后": "wage",
    "月入": "wage", "工钱": "wage",
    "补缴金额": "arrears", "补缴": "arrears", "补交": "arrears", "补齐": "arrears",
    "欠费": "arrears", "欠缴": "arrears", "欠款": "arrears", "欠": "arrears",
    "差额": "arrears", "差": "arrears", "漏缴": "arrears",
    "缴费金额": "fee", "缴费": "fee", "保费": "fee", "交了": "fee", "缴了": "fee",
    "交": "fee", "缴": "fee", "花了": "fee", "花费": "fee", "自付": "fee", "自费": "fee",
    "费用": "fee", "扣了": "fee", "扣": "fee", "滞纳金": "fee", "医药费": "fee",
    "住院费": "fee", "收费": "fee", "付了": "fee",
    # "差不多" means "about"; listing it stops 差 (arrears) matching inside it.
    "差不多": None,
}  # fmt: skip
# Words allowed between a money word and its number: "工资是5000", "欠了大概1000".
_FILLERS: Final = (
    "是", "为", "了", "有", "约", "大概", "大约", "差不多", "将近", "接近", "不到", "超过", "才",
    "只有", "只", "就", "都", "也", "还", "共", "一共", "总共", "合计", "要", "得", "需要",
    "应该", "能", "可以", "每月", "每个月", "一个月", "每年", "一年", "月", "年", ":", "的",
    "在", "给", " ",
)  # fmt: skip
_MONEY_KW_RE: Final = re.compile(_alternation(list(_MONEY_KW)))
# Matched against the reversed look-back window, so one anchored .match() finds
# "keyword + fillers" ending right at the number instead of scanning every position.
_ADJACENT_REV_RE: Final = re.compile(
    rf"(?:{_alternation([f[::-1] for f in _FILLERS])})*"
    rf"(?P<kw>{_alternation([k[::-1] for k in _MONEY_KW])})"
)
_POSTFIX_KW_RE: Final = re.compile(
    r"\s*的?(?P<kw>缴费基数|基数|工资|月薪|收入|底薪|欠费|保费|费用|差额)"
)


def _adjacent_role(text: str, start: int) -> MoneyRole | None:
    match = _ADJACENT_REV_RE.match(_clause_window(text, start, 10)[::-1])
    return None if match is None else _MONEY_KW[match.group("kw")[::-1]]


def _window_role(text: str, start: int) -> MoneyRole | None:
    role: MoneyRole | None = None
    for match in _MONEY_KW_RE.finditer(_clause_window(text, start, 12)):
        role = _MONEY_KW[match.group()] or role
    return role


def _money(text: str, reserved: bytearray) -> tuple[Money, ...]:
    found: list[Money] = []
    for m in _MONEY_RE.finditer(text):
        start, end = m.span()
        prev = text[start - 1] if start else "\0"  # "" would be "in" every string
        if prev and (
            prev in _DIGITS
            or prev == "."
            or "a" <= prev <= "z"
            or (prev == "," and start >= 2 and text[start - 2] in _DIGITS)
        ):
            continue  # the tail of a longer number or of a code like "v2"
        if not _is_free(reserved, start, end):
            continue
        num, unit = m.group("num"), m.group("unit")
        if len(num) >= 11 and len(num) - len(num.lstrip(_DIGITS_COMMA)) - num.count(",") >= 11:
            continue  # phone or ID-card number
        if (
            unit is None
            and m.group("approx") is None
            and end < len(text)
            and text[end] in _COUNTER
            and len(num) >= 2
            and num[-1] in _CN_DIGIT
            and (num[-2] in _CNU or cn_to_number(num) is None)
        ):
            num, end = num[:-1], end - 1
        value = cn_to_number(num.replace(",", ""))
        if value is None or value <= 0:
            continue
        nxt = text[end] if end < len(text) else ""
        has_unit = unit is not None or prev in "¥￥"
        if not has_unit and (nxt in _NOT_MONEY_NEXT or "a" <= nxt <= "z"):
            continue
        if unit == "块" and value < 10 and num[0] not in _DIGITS:
            continue  # "一块交" means "together"
        approx = m.group("approx") is not None or m.group("about") is not None
        # A bare number is money only right next to a money word, and never a single digit.
        bare = not (has_unit or not _MAGNITUDE.isdisjoint(num) or (approx and value >= 100))
        if bare and value < 10:
            continue
        role = _adjacent_role(text, start)
        if role is None:
            post = _POSTFIX_KW_RE.match(text, end)
            role = None if post is None else _MONEY_KW[post.group("kw")]
        if role is None:
            if bare:
                continue
            role = _window_role(text, start)
        span_start = start - 1 if prev in ("¥", "￥") else start
        found.append(Money(value, role or "unknown", (span_start, end)))
    return tuple(found)


# ---------------------------------------------------------------------------
# Scheme, cause, gender, menu choice
# ---------------------------------------------------------------------------

# (explicit, scheme): explicit scheme names outrank incidental hints.
_SCHEME_WORDS: Final[dict[str, tuple[bool, Scheme]]] = {
    "退休": (True, "retired"), "离休": (True, "retired"),
    "灵活就业": (True, "flexible"), "自由职业": (True, "flexible"),
    "个体工商户": (True, "flexible"), "个体户": (True, "flexible"), "个体": (True, "flexible"),
    "城乡居民": (True, "resident"), "居民医保": (True, "resident"), "居民": (True, "resident"),
    "新农合": (True, "resident"), "农合": (True, "resident"), "合作医疗": (True, "resident"),
    "职工": (True, "employee"), "在职": (True, "employee"),
    "自己交": (False, "flexible"), "自己缴": (False, "flexible"), "自己买": (False, "flexible"),
    "自己办": (False, "flexible"), "自己在交": (False, "flexible"),
    "以个人身份": (False, "flexible"), "以个人名义": (False, "flexible"),
    "新生儿": (False, "resident"), "大学生": (False, "resident"), "学生": (False, "resident"),
    "小孩": (False, "resident"), "孩子": (False, "resident"), "宝宝": (False, "resident"),
    "婴儿": (False, "resident"), "儿童": (False, "resident"), "幼儿": (False, "resident"),
    "用人单位": (False, "employee"), "单位": (False, "employee"), "公司": (False, "employee"),
    "企业": (False, "employee"), "上班": (False, "employee"), "老板": (False, "employee"),
    "厂里": (False, "employee"), "入职": (False, "employee"),
}  # fmt: skip
_SCHEME_RE: Final = re.compile(_alternation(list(_SCHEME_WORDS)))
# 快退休 / 办退休 / 50岁退休 / 退休前 / 退休年龄 talk about a future retirement.
_NOT_RETIRED_PREV: Final = frozenset("快要到等办想离距才能岁")
_NOT_RETIRED_NEXT: Final = ("前", "年龄", "手续", "条件", "时", "的时候")

_EMPLOYER_RE: Final = re.compile(
    r"(?:用人单位|单位|公司|老板|企业|厂里|厂子|雇主)"
    # A short gap ("公司给我停了"), but never across the user's own action
    # ("公司交了但自己断了" is personal).
    r"(?:(?!自己|交了|缴了|都交|正常)[^,，。!！?？;；]){0,4}?"
    r"(?:漏缴|漏交|漏了|没交|没缴|没有交|没有缴|没给|没有给|不给|不交|不缴|未缴|未交|欠缴|欠交"
    r"|欠费|拖欠|停缴|停交|停了|断缴|断交|断了|少交|少缴|没上|没办|没买|不买|没帮|给停)"
    r"|被(?:单位|公司)?(?:漏缴|停缴|断缴|停保)"
    # The employer is to blame: 单位的原因, 是公司的问题, 老板那边的责任 (not 不是单位的原因).
    r"|(?<!不是)(?<!并非)(?:用人单位|单位|公司|老板|企业|厂里|厂子|雇主)(?:那边|这边|方面)?的?"
    r"(?:原因|问题|责任|过错|过失|疏忽|失误)"
)
_PERSONAL_RE: Final = re.compile(
    r"个人原因|自身原因|自己(?:的原因|原因|断了|断缴|断交|停了|停缴|没交|没缴|不交|忘了|没续)"
    r"|忘(?:了|记)?(?:交|缴|续)|辞职|离职|失业|下岗|没钱|交不起|缴不起|没有?工作|没上班"
    r"|不想交|没及时|没按时|我(?:自己)?断(?:了|缴|交)|我没(?:交|缴)"
    # The person pays the arrears themselves (个人补缴, 个人交); not a share named beside the
    # employer's (单位和个人交的比例), nor 个人补充医疗.
    r"|(?<![和与及跟、])个人(?:自己)?(?:补(?![充助贴偿])|交|缴)"
)
_GENDER_RE: Final = re.compile(r"[男女](?=的|性|士|生|职工|同志|人|子|[,，、\s:0-9]|$)")
# 女儿 / 子女 / 孙女 / 妇女 are relatives or groups, not the user's own gender.
_GENDER_BLOCK_PREV: Final = frozenset("儿子妇孙侄甥母父外")
_CHOICE_RE: Final = re.compile(
    r"(?:我?选择?|就)?\s*(?:第\s*)?(?P<n>[0-9]{1,2}|[零一二两三四五六七八九十]{1,3})"
    r"\s*(?:个|项|条|种)?\s*[.。、)）:：!！]?"
    r"|[(（]\s*(?P<p>[0-9]{1,2})\s*[)）]"
    r"|(?P<c>[\u2460-\u249b\u2776-\u2793])"
)
# Circled / parenthesised / dotted numbers: (first code point, count) blocks.
_CIRCLED_BLOCKS: Final = ((0x2460, 20), (0x2474, 20), (0x2488, 20), (0x2776, 10),
                          (0x2780, 10), (0x278A, 10))  # fmt: skip


def _scheme(text: str) -> Scheme | None:
    explicit: Scheme | None = None
    hinted: Scheme | None = None
    for m in _SCHEME_RE.finditer(text):
        word = m.group()
        is_explicit, scheme = _SCHEME_WORDS[word]
        if scheme == "retired":
            prev = text[m.start() - 1] if m.start() else "\0"
            if prev not in _NOT_RETIRED_PREV and not text.startswith(_NOT_RETIRED_NEXT, m.end()):
                return scheme
            continue
        if word == "居民" and text.startswith("身份证", m.end()):
            continue
        if is_explicit:
            explicit = scheme
        else:
            hinted = scheme
    return explicit or hinted


def _gender(text: str) -> Gender | None:
    for m in _GENDER_RE.finditer(text):
        if m.start() and text[m.start() - 1] in _GENDER_BLOCK_PREV:
            continue
        return "male" if m.group() == "男" else "female"
    return None


def _number_choice(text: str) -> int | None:
    stripped = text.strip()
    if not stripped or len(stripped) > 8:
        return None
    m = _CHOICE_RE.fullmatch(stripped)
    if m is None:
        return None
    if m.group("c") is not None:
        code = ord(m.group("c"))
        for first, count in _CIRCLED_BLOCKS:
            if first <= code < first + count:
                return code - first + 1
        return None
    value = _small_int(m.group("n") or m.group("p"))
    return value if value is not None and 1 <= value <= 99 else None


# ---------------------------------------------------------------------------
# Public entry point
# ---------------------------------------------------------------------------


_NOTHING: Final = Entities()


def extract(text: str, today: dt.date) -> Entities:
    """Extract all entities from one normalised message; never raises on odd input."""
    choice = _number_choice(text)
    if choice is not None:
        # A bare menu reply ("2", "第二个", "①") leaves no room for any other entity.
        return Entities(number_choice=choice)
    # One byte per character; set where a more specific entity already claimed the text.
    reserved = bytearray(len(text))
    numberish = _HAS_NUMBERISH_RE.search(text) is not None
    dates: tuple[dt.date, ...] = ()
    approx_dates: tuple[RoughDate, ...] = ()
    moved: tuple[dt.date, ...] = ()
    day_of_month: int | None = None
    if numberish or _DATE_WORD_RE.search(text) is not None:
        dates, day_of_month, approx_dates, moved = _dates(text, today, reserved, numberish)

    months = days = None
    years: Decimal | None = None
    amounts: tuple[Money, ...] = ()
    if numberish:
        months, days, years = _durations(text, reserved)
        amounts = _money(text, reserved)

    cause: Cause | None = None
    if _EMPLOYER_RE.search(text):
        cause = "employer"
    elif _PERSONAL_RE.search(text):
        cause = "personal"

    scheme, gender = _scheme(text), _gender(text)
    found = (months, days, years, amounts, dates, approx_dates, day_of_month, scheme, cause)
    if not (any(found) or gender):
        return _NOTHING  # immutable, so sharing it is safe and saves the constructor
    return Entities(
        months=months,
        days=days,
        years=years,
        amounts=amounts,
        dates=dates,
        approx_dates=approx_dates,
        assumed_last_year=moved,
        day_of_month=day_of_month,
        scheme=scheme,
        cause=cause,
        gender=gender,
    )


# ---------------------------------------------------------------------------
# Place roles
# ---------------------------------------------------------------------------

_TRANSFER_VERB: Final = "转|迁|调|搬|到|去|至|往|回|来|→|->|—|-"
_PLACE_FILLER: Final = r"(?:了|我|我的|老家|我老家|那边|这边)?"
_ORIGIN_BEFORE_RE: Final = re.compile(r"(?:从|由|自|离开|离开了|出了)" + _PLACE_FILLER + r"$")
_DEST_BEFORE_RE: Final = re.compile(
    r"(?:转到|转入|转去|转往|转回|转至|转移到|迁到|迁入|迁往|迁回|调到|调去|调往|调回|调入"
    r"|搬到|搬去|搬回|回到|落户到|接续到|续到|转|回|去|到|来|往|至)" + _PLACE_FILLER + r"$"
)
_ROLE_AFTER_RE: Final = re.compile(
    r"(?:的|那边|这边|那里)?(?:医保|社保|医保关系|社保关系|关系|户口)?"
    r"(?P<role>转出|迁出|调出|转走|转移出|转入|迁入|调入|转进|迁进)"
)
_PAIR_VERB_RE: Final = re.compile(_TRANSFER_VERB)
_PAIR_BLOCK_RE: Final = re.compile(r"和|与|跟|还是|或者|或|比|对比|哪个|[，,。!！?？；;\n]")


def place_roles(text: str, spans: Sequence[tuple[int, int]]) -> list[str]:
    """Label each place mention (spans in text order) as origin / destination / unknown.

    Rules run from most to least explicit and never overwrite an earlier decision:
    a marker right after the place (A转出 / B转入), a marker right before it
    (从A / 离开A / 转到B / 去B / 回老家B), then a transfer verb between two neighbouring
    places (A转B, A的医保转去B, A到B) makes the first the origin and the second the
    destination. Comparisons (A和B, A还是B) and clause breaks block the pair rule.
    """
    roles: list[str] = ["unknown"] * len(spans)
    valid = [0 <= s < e <= len(text) for s, e in spans]
    for i, (start, end) in enumerate(spans):
        if not valid[i]:
            continue
        after = _ROLE_AFTER_RE.match(text, end)
        # "A转入B" uses 转入 as a connective, which the pair rule below handles.
        connective = (
            after is not None
            and i + 1 < len(spans)
            and text[after.end() : spans[i + 1][0]] in ("", "了", "到")
        )
        if after is not None and not connective:
            # 转出, 迁出, 转走: leaving that place; 转入, 迁进: arriving there.
            roles[i] = "origin" if after.group("role")[-1] in "出走" else "destination"
            continue
        prev_end = spans[i - 1][1] if i and valid[i - 1] and spans[i - 1][1] <= start else 0
        before = _clause_window(text, start, min(8, start - prev_end))
        if _ORIGIN_BEFORE_RE.search(before):
            roles[i] = "origin"
        elif _DEST_BEFORE_RE.search(before):
            roles[i] = "destination"
    for i in range(len(spans) - 1):
        if not (valid[i] and valid[i + 1]):
            continue
        between = text[spans[i][1] : spans[i + 1][0]]
        if not 0 < len(between) <= 10 or _PAIR_BLOCK_RE.search(between):
            continue
        if not _PAIR_VERB_RE.search(between):
            continue
        if roles[i] == "destination" or roles[i + 1] == "origin":
            continue
        roles[i] = "origin"
        roles[i + 1] = "destination"
    # "在A交了5年,想转到B": with a destination but no origin, the place the user says
    # they are "在" before it is where the insurance currently is.
    if "destination" in roles and "origin" not in roles:
        for i in range(roles.index("destination")):
            if roles[i] == "unknown" and valid[i] and text[: spans[i][0]].endswith("在"):
                roles[i] = "origin"
                break
    return roles
