"""QA regressions: dated residents' rules, years from today, residents' transfers, relative
application days, and the withdrawal and family-sharing replies.

Expected dates are computed from the policy functions (never copied from a reply), so a change
of rule or region data shows up as a changed reply, not as a stale test.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from importlib import resources

import pytest

from bot.dialog.figures import fmt_date
from bot.dialog.render import MAX_BYTES, render_part
from bot.dialog.types import Answer, Part
from bot.nlu.entities import extract
from bot.pipeline import Pipeline
from bot.policy import TransferKind, add_months, transfer_timeline
from bot.policy.lapse import resident_late_payment
from bot.policy.transfer import resident_cover_start
from region_data.city_policy import default_city_policies

TODAY = date(2026, 11, 25)
CITIES = default_city_policies()
NANJING = CITIES.city("南京市")
CROSS = TransferKind.CROSS_PROVINCE


async def ask(bot: Pipeline, text: str, user: str = "u", today: date = TODAY) -> Answer:
    answer = await bot.respond(user, text, today=today)
    assert len(answer.text.encode("utf-8")) <= MAX_BYTES, answer.text
    assert "${" not in answer.text
    return answer


def block(key: str, **fields: object) -> str:
    return render_part(Part(key, fields))


def head(answer: Answer) -> str:
    """The answer part of a reply: before the figures and the sections."""
    return answer.text.split("\n\n")[0]


def figure(answer: Answer, name: str) -> dict[str, str]:
    return next(f for f in answer.figures if f["name"] == name)


# --- 1. 南京 residents: which cover year waits, which does not --------------------------------


# fmt: off
LATE_CASES = [
    # (today, [(cover year, wait if paid today, running year)])
    ("2026-11-25", [(2026, 60, True), (2027, 0, False)]),
    ("2027-02-10", [(2027, 0, True)]),
    ("2027-03-01", [(2027, 60, True), (2028, 0, False)]),
]
# fmt: on


@pytest.mark.parametrize(("today", "cases"), LATE_CASES)
def test_nanjing_late_payment_has_one_case_per_cover_year(
    today: str, cases: list[tuple[int, int, bool]]
) -> None:
    result = resident_late_payment(date.fromisoformat(today), city=NANJING)
    assert [(c.cover_year, c.wait_days_now, c.current) for c in result.cases] == cases
    for case in result.cases:
        # Each case's basis names its own cover year, and only that one.
        assert set(re.findall(r"(\d{4})年度", case.basis)) == {str(case.cover_year)}
        assert {p.kind for p in case.provenance} == {"city"}


@pytest.mark.parametrize(
    "text",
    [
        "南京居民医保断缴了怎么补",
        "南京居民医保今年忘交了，有等待期吗",
        "南京居民医保断了3个月有什么影响",
        "南京居民医保断缴补交有等待期吗",
    ],
)
async def test_nanjing_residents_hear_each_cover_year_as_its_own_case(
    bot: Pipeline, text: str
) -> None:
    answer = await ask(bot, text, user=f"nj-{text}")
    late = resident_late_payment(TODAY, city=NANJING)
    running, coming = late.cases
    lines = head(answer).splitlines()
    years_of = [set(re.findall(r"(\d{4})年度", line)) for line in lines]
    waits = [i for i, line in enumerate(lines) if f"等{running.wait_days_now}天才能报销" in line]
    no_wait = [i for i, line in enumerate(lines) if "没有等待期" in line]
    assert waits and no_wait
    # "要等60天" is said of the running cover year, "没有等待期" of the coming one, each on a
    # line naming only its own year; the running year (the user's lapse) comes first.
    assert all(years_of[i] == {str(running.cover_year)} for i in waits)
    assert all(years_of[i] == {str(coming.cover_year)} for i in no_wait)
    assert max(waits) < min(no_wait)
    assert fmt_date(TODAY) in head(answer)  # "按今天…算"
    assert figure(answer, "wait_if_paid_now")["value"] == f"{running.wait_days_now}天"
    assert figure(answer, "no_wait_deadline")["kind"] == "city"


async def test_nanjing_before_the_no_wait_day_has_one_rule_for_one_year(bot: Pipeline) -> None:
    today = date(2027, 1, 15)
    answer = await ask(bot, "南京居民医保断缴了", user="nj-jan", today=today)
    (case,) = resident_late_payment(today, city=NANJING).cases
    assert set(re.findall(r"(\d{4})年度", head(answer))) == {str(case.cover_year)}
    assert "没有等待期" in head(answer)


async def test_payment_reply_dates_the_city_late_rule(bot: Pipeline) -> None:
    answer = await ask(bot, "南京居民医保什么时候交", user="nj-pay")
    assert answer.intent == "payment"
    late = resident_late_payment(TODAY, city=NANJING)
    assert late.no_wait_before is not None
    last = fmt_date(late.no_wait_before - timedelta(days=1))
    assert f"{late.cover_year}年度的保费最晚{last}前补交没有等待期" in answer.text
    assert "规定日期" not in answer.text


# --- 2. years come from today or from a dated source ------------------------------------------


@pytest.mark.parametrize(
    ("today", "window_said"),
    [
        (date(2026, 11, 25), "下一次这样的补缴期在2027年初"),
        (date(2027, 2, 10), "现在（2027年初）正是这类补缴期"),
        (date(2028, 6, 1), "下一次这样的补缴期在2029年初"),
    ],
)
async def test_national_residents_window_is_counted_from_today(
    bot: Pipeline, today: date, window_said: str
) -> None:
    answer = await ask(bot, "居民医保断了有等待期吗", user=f"nat-{today}", today=today)
    text = head(answer)
    assert window_said in text
    late = resident_late_payment(today, city=None)
    assert late.example_window is not None
    example = late.example_window[0].year
    # A past year appears only as the year of a cited source, never as an example for now.
    for match in re.finditer(r"(20\d\d)年", text):
        if int(match.group(1)) < today.year:
            assert "资料" in text[max(0, match.start() - 12) : match.start()], text
    assert f"{example}年的补缴期是" not in answer.text
    assert (
        f"据资料{late.provenance[-1].source}，{example}年"
        in figure(answer, "waiting_period")["basis"]
    )


def test_templates_hold_no_fixed_year() -> None:
    """Years in replies come from ``today`` or from dated region data, never a template."""
    folder = resources.files("bot") / "templates"
    for entry in folder.iterdir():
        if not entry.name.endswith(".txt"):
            continue
        for line in entry.read_text(encoding="utf-8").splitlines():
            # A document number ("国办发〔2021〕14号") is a dated source, not an example year.
            body = re.sub(r"〔20\d\d〕", "", line)
            if not line.startswith("#"):
                assert not re.search(r"20\d\d", body), f"{entry.name}: {line}"


# --- 3. residents' transfers: no balance, the residents' rules --------------------------------


def test_resident_cover_start_counts_from_today() -> None:
    now = resident_cover_start(TODAY, city=None)
    assert (now.cover_year, now.pay_by, now.covered_from) == (
        2027,
        date(2026, 12, 31),
        date(2027, 1, 1),
    )
    later = resident_cover_start(date(2027, 2, 1), city=None)
    assert later.cover_year == 2028 and later.opens_on > date(2027, 2, 1)
    assert all(p.kind == "national" for p in now.provenance)


@pytest.mark.parametrize(
    ("text", "applied", "destination"),
    [
        ("居民医保转移到哪一步了", None, None),
        ("我是居民医保，转移上周申请的，到哪一步了", TODAY - timedelta(days=7), None),
        ("我的居民医保从福州转到北京 上个月10号申请的 还没好", date(2026, 10, 10), "北京市"),
    ],
)
async def test_residents_transfer_progress_speaks_of_residents_rules(
    bot: Pipeline, text: str, applied: date | None, destination: str | None
) -> None:
    answer = await ask(bot, text, user=f"rt-{text}")
    assert answer.intent == "transfer_progress"
    names = {f["name"] for f in answer.figures}
    assert "balance_by" not in names
    assert "余额约" not in answer.text and "到账：" not in answer.text
    assert "停保" in answer.text and "参保交费" in answer.text
    cover = resident_cover_start(TODAY, city=CITIES.city(destination) if destination else None)
    assert fmt_date(cover.covered_from) in head(answer)
    assert figure(answer, "resident_covered_from")["value"] == fmt_date(cover.covered_from)
    if applied is not None:
        timeline = transfer_timeline(applied, kind=CROSS, origin=None)
        assert fmt_date(applied) in head(answer)
        assert fmt_date(timeline.process_done_by) in head(answer)


async def test_residents_transfer_question_says_when_cover_starts(bot: Pipeline) -> None:
    answer = await ask(bot, "居民医保从福州转到北京怎么办", user="rt-how")
    assert answer.intent == "transfer"
    cover = resident_cover_start(TODAY, city=CITIES.city("北京市"))
    assert fmt_date(cover.covered_from) in head(answer)
    assert "余额到账" not in answer.text


# --- 4. relative application days --------------------------------------------------------------


# fmt: off
ROUGH = [
    ("上周申请的", TODAY - timedelta(days=7)),
    ("上上周申请的", TODAY - timedelta(days=14)),
    ("三天前提交的", TODAY - timedelta(days=3)),
    ("两周前申请的", TODAY - timedelta(days=14)),
    ("半个月前申请的", TODAY - timedelta(days=15)),
    ("一个多月前办的", add_months(TODAY, -1)),
    ("上个月申请的", add_months(TODAY, -1)),
    ("半年前申请的", add_months(TODAY, -6)),
]
EXACT = [
    ("前天申请的", TODAY - timedelta(days=2)),
    ("上个月10号申请的", date(2026, 10, 10)),
    ("上周三申请的", date(2026, 11, 18)),
]
# fmt: on


@pytest.mark.parametrize(("text", "day"), ROUGH)
def test_rough_past_days_are_read_against_today(text: str, day: date) -> None:
    entities = extract(text, TODAY)
    assert [r.day for r in entities.approx_dates] == [day]
    assert entities.dates == ()


@pytest.mark.parametrize(("text", "day"), EXACT)
def test_exact_relative_days_stay_exact(text: str, day: date) -> None:
    entities = extract(text, TODAY)
    assert entities.dates == (day,) and entities.approx_dates == ()


@pytest.mark.parametrize("text", ["3月前交", "15日前要交", "下个月", "第3天前", "10个工作日前"])
def test_not_a_count_back(text: str) -> None:
    assert extract(text, TODAY).approx_dates == ()


@pytest.mark.parametrize(("text", "day"), [*ROUGH, *EXACT])
async def test_transfer_progress_counts_from_the_day_said(
    bot: Pipeline, text: str, day: date
) -> None:
    answer = await ask(bot, f"医保转移{text} 现在到哪一步了", user=f"rel-{text}")
    assert answer.intent == "transfer_progress"
    timeline = transfer_timeline(day, kind=CROSS, origin=None)
    first = head(answer).splitlines()[0]
    assert "今天申请" not in answer.text
    assert fmt_date(day) in first
    assert ("约" + fmt_date(day) in first) is ((text, day) in ROUGH)
    assert fmt_date(timeline.process_done_by) in head(answer)


async def test_a_rough_day_about_something_else_is_not_the_application(bot: Pipeline) -> None:
    answer = await ask(bot, "三个月前断缴了，医保转移要多久", user="rel-other")
    assert answer.intent == "transfer_progress"
    assert "今天申请" in answer.text


# --- 5. withdrawal and family sharing ---------------------------------------------------------


async def test_residents_asking_to_withdraw_hear_there_is_no_account(bot: Pipeline) -> None:
    answer = await ask(bot, "居民医保的钱能取吗", user="wd-res")
    assert answer.intent == "withdraw"
    assert answer.text.startswith(block("withdraw/case_resident"))
    assert "家庭共济" not in answer.text
    assert "就能用个人账户的钱" not in answer.text


async def test_living_away_from_the_insured_city_is_the_long_stay_case(bot: Pipeline) -> None:
    answer = await ask(bot, "我在三亚住了8个月 医保是哈尔滨的 能取吗", user="wd-away")
    assert answer.text.startswith(block("withdraw/case_long_term_elsewhere_yes", months=8, need=6))
    assert "months_elsewhere" in {f["name"] for f in answer.figures}


async def test_a_short_stay_says_how_long_is_left(bot: Pipeline) -> None:
    answer = await ask(bot, "长期在外地住了4个月 医保余额能取吗", user="wd-short")
    assert "还差2个月" in head(answer)


@pytest.mark.parametrize(
    "text", ["我的医保卡可以给我妈买药吗", "家庭共济怎么绑定", "南京家庭共济能给孩子用吗"]
)
async def test_family_sharing_says_how_it_works_and_on_what_basis(
    bot: Pipeline, text: str
) -> None:
    answer = await ask(bot, text, user=f"fs-{text}")
    assert answer.intent == "family_share"
    first = head(answer).splitlines()[0]
    assert first.startswith("可以") and "自己的医保卡或医保电子凭证" in first
    assert "国办发〔2021〕14号" in answer.text and "全国通行" in answer.text
    assert "【办理步骤】" in answer.text and "【在哪查询】" in answer.text
