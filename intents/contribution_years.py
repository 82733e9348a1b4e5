"""Years required for lifelong cover; paying after retirement; being short of years."""

import re
from dataclasses import dataclass
from decimal import Decimal

from bot.dialog.render import render_part
from bot.dialog.types import Figure, Part, Reply, Turn
from bot.policy import (
    CityPolicy,
    ExplanationKey,
    Provenance,
    Sex,
    YearsShortfall,
    contribution_years_shortfall,
    fmt_number,
    fmt_rate,
    is_estimate,
    years_top_up,
)
from bot.policy.payment import COMMON_CITY_REQUIRED_YEARS
from intents.base import Intent
from intents.figures import figure

# The user wants a number for their own case: worth asking for the years they have paid.
_SHORTFALL_WORDS = ("够不够", "够了吗", "差几年", "差多少", "还差", "还要交几年", "还要交多少年")
_DEEMED_WORDS = ("视同", "实际缴费")
_NOT_ENOUGH_WORDS = ("不够", "不足", "没交够", "没满", "差")
# "还差五年": the number the parser read is what is missing, not what was paid.
_STATED_SHORT = re.compile(r"差(?:了)?[0-9一二两三四五六七八九十半.]+个?年")
# "能一次性补吗", "补的话要多少钱": paying the missing years (asked after the shortfall).
_TOP_UP_WORDS = ("补", "一次性", "多少钱", "花多少", "要多少", "得多少")
# The parser marks any mention of 退休 as retired; only these phrasings say it has happened.
_RETIRED_WORDS = ("退休了", "已经退休", "已退休", "退休人员", "退休后", "退休以后", "退休老人")


@dataclass(frozen=True)
class _Basis:
    """A figure's own basis and sources when it shows only part of a policy result."""

    basis: str
    provenance: tuple[Provenance, ...]


def _span(values: tuple[Decimal, Decimal] | tuple[int, int]) -> str:
    # "15" when both ends agree, "20–25" while the user's sex is unknown.
    return "–".join(dict.fromkeys(fmt_number(v) for v in values))


def _stated_shortfall(
    turn: Turn,
    short: Decimal,
    deemed: list[Part],
    fields: dict[str, object],
    steps: tuple[Part, ...],
    materials: tuple[Part, ...],
    check: tuple[Part, ...],
) -> Reply:
    """The user says how many years are missing; the cost follows when the base is known."""
    answer = [Part("contribution_years/short_stated", {"short": fmt_number(short)}), *deemed]
    policy = turn.ctx.city(turn.slots.city)
    sex = Sex(turn.slots.gender) if turn.slots.gender else None
    probe = contribution_years_shortfall(0, city=policy, sex=sex, base=turn.slots.base)
    low, high = probe.required_years
    figures: tuple[Figure, ...] = ()
    estimate = is_estimate(probe)
    if low == high and short <= low:
        # Paid = required − missing gives the policy function the same shortfall to price.
        result = contribution_years_shortfall(
            low - short, city=policy, sex=sex, base=turn.slots.base
        )
        if result.cost is not None:
            figures = (figure("years_cost", "一次性补足约需", result.cost.display, result),)
        else:
            answer.append(Part(f"explain/{ExplanationKey.NEED_BASE}", fields))
    return Reply(
        answer=tuple(answer),
        figures=figures,
        steps=steps,
        materials=materials,
        check=check,
        estimate=estimate,
    )


async def handle(turn: Turn) -> Reply:
    """Whether more years are needed; with paid years known, how many and a rough cost."""
    city = turn.slots.city
    policy = turn.ctx.city(city)
    rule = policy.required_years if policy else None
    fields: dict[str, object] = {"city": city or "当地", "place": city or "当地", "wait": ""}
    if rule:
        fields |= {"male": rule.value.male, "female": rule.value.female}
    steps = (
        Part("contribution_years/steps_query", fields),
        Part("contribution_years/steps_retire"),
        Part("contribution_years/steps_counter"),
    )
    materials = (Part("contribution_years/materials"),)
    check = (Part("contribution_years/check", fields),)
    if turn.slots.scheme == "resident":
        return Reply(answer=(Part("contribution_years/resident"),), check=check)

    years = turn.slots.years
    if years is not None and _asks_if_years_suffice(turn.text):
        return _years_for_life(turn, years, policy, fields, steps, check)
    wants_number = any(w in turn.text for w in _SHORTFALL_WORDS)
    if years is None and wants_number and "years" not in turn.asked:
        return Reply(answer=(Part("contribution_years/ask_years"),), ask="years")

    asks_deemed = any(w in turn.text for w in _DEEMED_WORDS)
    deemed = [Part("contribution_years/deemed")] if asks_deemed else []
    retired = turn.slots.scheme == "retired" and any(w in turn.text for w in _RETIRED_WORDS)
    if years is not None and _STATED_SHORT.search(turn.text):
        return _stated_shortfall(turn, years, deemed, fields, steps, materials, check)
    if years is None:
        if retired:
            answer = [Part("contribution_years/retired")]
        else:
            general = "contribution_years/general_city" if city else "contribution_years/general"
            answer = [Part(general, fields)]
        answer += deemed
        if any(w in turn.text for w in _NOT_ENOUGH_WORDS):
            # "年限不够怎么办": what to do leads, the general rule follows.
            answer.insert(0, Part(f"explain/{ExplanationKey.PAY_UP_IN_ONE_GO}", fields))
        sex = Sex(turn.slots.gender) if turn.slots.gender else None
        if rule:
            answer += [
                Part(f"explain/{ExplanationKey.REQUIRED_YEARS_CITY}", fields),
                _required_for(policy, sex, fields)
                if sex
                else Part("contribution_years/city_rule", fields),
            ]
            if rule.value.min_actual:
                answer.append(
                    Part("contribution_years/min_actual", {"min_actual": rule.value.min_actual})
                )
        elif sex is not None:
            # The sex the user gave picks the stricter reference that applies to them.
            answer.append(_required_for(policy, sex, fields))
        else:
            answer.append(Part(f"explain/{ExplanationKey.REQUIRED_YEARS_REFERENCE}", fields))
        return Reply(
            answer=tuple(answer),
            steps=steps,
            materials=materials,
            check=check,
            estimate=rule is None,
        )

    sex = Sex(turn.slots.gender) if turn.slots.gender else None
    result = contribution_years_shortfall(years, city=policy, sex=sex, base=turn.slots.base)
    low, high = result.years_short
    if low != high and "gender" not in turn.asked:
        # Men and women need different years here, so the answer really depends on it.
        return Reply(answer=(Part("contribution_years/ask_gender", fields),), ask="gender")

    if high > 0 and any(w in turn.text for w in _TOP_UP_WORDS):
        return _top_up(turn, result, fields, steps, materials, check)

    paid, required = fmt_number(years), _span(result.required_years)
    numbers = {"paid": paid, "required": required, "short": _span(result.years_short)}
    verdict = "enough" if high == 0 else "short"
    if rule is None:
        # Only the national reference is known: the verdict itself must say it is a reference.
        verdict += "_reference"
    answer = [Part(f"contribution_years/{verdict}", {**fields, **numbers})]
    common_short = any(c.short > 0 for c in result.common_rule)
    if result.common_rule:
        # No rule of the city's own: 15 years alone could wrongly say "enough" where the
        # city asks 男25/女20, so both references are given and the city's own rule is named.
        answer.append(_common_rule_part(result, paid))
        if city:
            answer.append(Part("contribution_years/check_city_rule", {"place": city}))
        else:
            answer.append(Part("contribution_years/check_rule_unknown_place"))
    answer += deemed
    if rule and sex is None:
        answer.append(Part("contribution_years/city_rule", fields))
    if result.min_actual_years:
        answer.append(
            Part("contribution_years/min_actual", {"min_actual": result.min_actual_years})
        )
    # Sex is already settled (asked or irrelevant) and the city rule shown above.
    skip = {ExplanationKey.SEX_NEEDED, ExplanationKey.REQUIRED_YEARS_REFERENCE}
    if high == 0:
        skip |= {ExplanationKey.NEED_BASE, ExplanationKey.YEARS_ENOUGH}
    notes = [k for k in result.notes if k not in skip]
    if common_short and ExplanationKey.PAY_UP_IN_ONE_GO not in notes:
        notes.append(ExplanationKey.PAY_UP_IN_ONE_GO)
    answer += [Part(f"explain/{k}", fields) for k in notes]

    basis = render_part(Part("contribution_years/basis_short", numbers))
    short_value = f"{numbers['short']}年" if high else "0年（已够）"
    reference = f"（按{required}年参考）" if result.common_rule else ""
    label = f"还差缴费年限{reference}"
    figures: list[Figure] = [
        figure("years_short", label, short_value, _Basis(basis, result.provenance[:1]))
    ]
    if result.common_rule:
        figures.append(_common_rule_figure(result, paid))
    if result.cost is not None and high > 0:
        cost = result.cost.display
        figures.append(figure("years_cost", f"一次性补足约需{reference}", cost, result))
    return Reply(
        answer=tuple(answer),
        figures=tuple(figures),
        steps=steps,
        materials=materials,
        check=check,
        estimate=is_estimate(result),
    )


def _top_up(
    turn: Turn,
    result: YearsShortfall,
    fields: dict[str, object],
    steps: tuple[Part, ...],
    materials: tuple[Part, ...],
    check: tuple[Part, ...],
) -> Reply:
    """ "能一次性补吗" / "要多少钱" when the years are short: the one-off top-up as a general rule
    with its caveat, the years missing under each rule that may apply, and the cost of each:
    base × rate × missing months, or the formula and one question for the base."""
    policy = turn.ctx.city(turn.slots.city)
    base = turn.slots.base
    paid = fmt_number(result.inputs.paid_years)
    # Each rule that may apply and the years it leaves short: the city's (or the reference),
    # then the 男25/女20 many cities use where the city has no rule of its own.
    shorts: list[tuple[Part, Decimal, str]] = []
    low, high = result.years_short
    if high > 0:
        rule_key = "top_up_item_reference" if result.common_rule else "top_up_item_city"
        values = {**fields, "required": _span(result.required_years), "short": _span((low, high))}
        label = f"按{values['required']}年"
        shorts.append((Part(f"contribution_years/{rule_key}", values), high, label))
    for entry in result.common_rule:
        if entry.short > 0:
            values = {
                "sex": _SEX_SHORT[entry.sex],
                "required": entry.required,
                "short": fmt_number(entry.short),
            }
            part = Part("contribution_years/top_up_item_common", values)
            shorts.append((part, entry.short, f"按{_SEX_SHORT[entry.sex]}{entry.required}年"))
    items = "，".join(render_part(p) for p, _, _ in shorts)
    answer = [
        Part("contribution_years/top_up", fields),
        Part("contribution_years/top_up_short", {"paid": paid, "items": items}),
    ]
    figures: list[Figure] = []
    estimate = is_estimate(result)
    ask: str | None = None
    costs = [(years_top_up(short, city=policy, base=base), label) for _, short, label in shorts]
    priced = [(c, label) for c, label in costs if c.amount is not None]
    if priced:
        if base is None:
            answer.append(Part(f"explain/{ExplanationKey.BASE_FROM_CITY_WAGE}", fields))
        for cost, label in priced:
            assert cost.amount is not None
            amount = cost.amount.display
            values = {
                "short": fmt_number(cost.inputs.years_short),
                "months": fmt_number(cost.months),
                "amount": amount,
            }
            answer.append(Part("contribution_years/top_up_amount", values))
            figures.append(figure("years_cost", f"一次性补足约需（{label}）", amount, cost))
            estimate = estimate or is_estimate(cost)
    else:
        first = costs[0][0]
        answer.append(
            Part(
                "contribution_years/top_up_formula",
                {
                    "rate": fmt_rate(first.rate),
                    "short": fmt_number(first.inputs.years_short),
                    "months": fmt_number(first.months),
                },
            )
        )
        estimate = True
        if "base" not in turn.asked:
            ask = "base"
            answer.append(Part("contribution_years/ask_base"))
    if result.common_rule:
        place = turn.slots.city
        answer.append(
            Part("contribution_years/check_city_rule", {"place": place})
            if place
            else Part("contribution_years/check_rule_unknown_place")
        )
    return Reply(
        answer=tuple(answer),
        figures=tuple(figures),
        steps=steps,
        materials=materials,
        check=check,
        estimate=estimate,
        ask=ask,
    )


# "交满15年就终身免费了吗": a number of years asked about, not years the user has paid.
_IF_YEARS = re.compile(
    r"(?:交|缴)(?:满|够|足|了)?\s*[0-9一二两三四五六七八九十]+\s*年(?:就|以后|之后|后|是不是|算不算)"
)
_FOR_LIFE_WORDS = ("终身", "终生", "一辈子", "免费", "不用再交", "不用交", "不交了", "享受")
_PAID_SAID = re.compile(r"我(?:已经|都)?(?:交|缴)(?:满|够|足|了)|已经(?:交|缴)")


def _asks_if_years_suffice(text: str) -> bool:
    return (
        _IF_YEARS.search(text) is not None
        and any(w in text for w in _FOR_LIFE_WORDS)
        and _PAID_SAID.search(text) is None
    )


def _years_for_life(
    turn: Turn,
    years: Decimal,
    policy: CityPolicy | None,
    fields: dict[str, object],
    steps: tuple[Part, ...],
    check: tuple[Part, ...],
) -> Reply:
    """ "交满15年就终身免费了吗": not necessarily. What counts is the cumulative years the
    insured place requires at retirement; and only employee insurance works that way."""
    rule = policy.required_years if policy else None
    values: dict[str, object] = {**fields, "asked": fmt_number(years)}
    if rule:
        male, female = rule.value.male, rule.value.female
        if years >= max(male, female):
            verdict = f"交{values['asked']}年按这个标准是够的"
        elif years >= min(male, female):
            short_sex = "男性" if male > female else "女性"
            verdict = f"只交{values['asked']}年的话{short_sex}还不够，要补足差的年数"
        else:
            verdict = f"只交{values['asked']}年还不够，要补足差的年数"
        values |= {"male": male, "female": female, "verdict": verdict}
        place = Part("contribution_years/for_life_city", values)
    else:
        common = COMMON_CITY_REQUIRED_YEARS.value
        values |= {"male": common.male, "female": common.female}
        place = Part("contribution_years/for_life_reference", values)
    answer = (
        Part("contribution_years/for_life", values),
        place,
        Part("contribution_years/for_life_after", values),
    )
    return Reply(answer=answer, steps=steps, check=check, estimate=rule is None)


_SEX_WORD = {Sex.MALE: "男性", Sex.FEMALE: "女性"}
_SEX_SHORT = {Sex.MALE: "男", Sex.FEMALE: "女"}


def _required_for(policy: CityPolicy | None, sex: Sex, fields: dict[str, object]) -> Part:
    """The years required of this sex: the city's rule, else the 15-year reference and the
    男25/女20 many cities use (nothing paid yet: the policy's shortfall is the requirement)."""
    probe = contribution_years_shortfall(0, city=policy, sex=sex)
    values = {
        **fields,
        "sex": _SEX_WORD[sex],
        "required": probe.required_years[0],
        "office": policy.name if policy else "参保地",
    }
    if not probe.common_rule:
        return Part("contribution_years/city_rule_sex", values)
    (common,) = probe.common_rule
    return Part("contribution_years/reference_sex", {**values, "common": common.required})


def _common_verdict(short: Decimal) -> str:
    if short > 0:
        return render_part(
            Part("contribution_years/common_verdict_short", {"short": fmt_number(short)})
        )
    return render_part(Part("contribution_years/common_verdict_enough"))


def _common_rule_part(result: YearsShortfall, paid: str) -> Part:
    """The same years against 男25/女20: for the user's sex, or for both while it is unknown."""
    entries = result.common_rule
    if len(entries) == 1:
        (one,) = entries
        fields = {"sex": _SEX_WORD[one.sex], "required": one.required, "paid": paid}
        if one.short > 0:
            return Part(
                "contribution_years/common_one_short", {**fields, "short": fmt_number(one.short)}
            )
        return Part("contribution_years/common_one_enough", fields)
    by_sex = {e.sex: e for e in entries}
    male, female = by_sex[Sex.MALE], by_sex[Sex.FEMALE]
    if male.short == female.short == 0:
        return Part(
            "contribution_years/common_both_enough",
            {"male": male.required, "female": female.required, "paid": paid},
        )
    return Part(
        "contribution_years/common_both",
        {
            "male": male.required,
            "female": female.required,
            "male_verdict": _common_verdict(male.short),
            "female_verdict": _common_verdict(female.short),
        },
    )


def _common_rule_figure(result: YearsShortfall, paid: str) -> Figure:
    rule = "、".join(f"{_SEX_SHORT[e.sex]}{e.required}年" for e in result.common_rule)
    values = [
        f"{fmt_number(e.short)}年" if e.short > 0 else "0年（已够）" for e in result.common_rule
    ]
    if len(values) == 1:
        value = values[0]
    else:
        value = "、".join(
            f"{_SEX_SHORT[e.sex]}{v}" for e, v in zip(result.common_rule, values, strict=True)
        )
    basis = "；".join(
        render_part(
            Part(
                "contribution_years/basis_short",
                {"required": f"{_SEX_SHORT[e.sex]}{e.required}", "paid": paid},
            )
        )
        for e in result.common_rule
    )
    source = COMMON_CITY_REQUIRED_YEARS.provenance
    return figure(
        "years_short_common",
        f"还差缴费年限（按不少城市的{rule}）",
        value,
        _Basis(basis, (source,)),
    )


# Keyword tables read better as lines of words than as one word a line.
# fmt: off
INTENT = Intent(
    handler=handle,
    id="contribution_years",
    extra={"topic": "医保缴费年限"},
    description="缴费年限要求、退休后是否还要交、年限不够怎么办",
    slots=("years", "gender"),
    keywords={
        "年限": 3.0, "缴费年限": 3.5, "交多少年": 4.0, "缴多少年": 4.0, "交几年": 4.0,
        "交够": 3.5, "缴够": 3.5, "交满": 3.5, "缴满": 3.5, "满几年": 3.5, "多少年": 2.0,
        "终身": 4.0, "终生": 4.0, "一辈子": 3.0, "不用交了": 3.0, "不用再交": 3.0,
        "退休+交": 2.0, "退休+还要": 2.5, "退休+年限": 2.0, "退休后+医保": 1.5,
        "视同缴费": 4.0, "实际缴费": 3.0, "最低缴费": 3.0, "25年": 2.5, "20年": 2.0,
        "15年": 2.5, "十五年": 2.5, "二十年": 2.0, "二十五年": 2.5, "三十年": 2.0,
        "够不够": 2.0, "不够": 1.5, "差几年": 2.5, "年限+不够": 2.0, "待遇+退休": 1.5,
        "交到什么时候": 3.5, "交到多少岁": 3.5, "免费": 1.0,
        "断缴": -1.5,
        "断了": -1.0,
        "断交": -1.5,
        "还差": 2.5,
        "差+年": 2.5,
        "快退休": 2.5,
        "能补": -2.0,
        "补吗": -1.5,
        "补缴": -1.5,
        "补交": -1.5,
    },
    examples=(
        "医保要交满多少年才能终身享受",
        "退休以后还用继续交医保吗",
        "职工医保最低缴费年限是多少",
        "医保交够年限后退休看病要花钱吗",
        "男的医保要交多少年 女的呢",
        "医保年限差五年退休了怎么办",
        "实际缴费年限和视同缴费年限有什么区别",
        "医保交到什么时候可以不交",
        "外地交的医保年限能算到退休地吗",
        "退休时医保年限不够要一次性交多少",
        "医保交满十五年就可以不交了吗",
        "灵活就业医保要交几年",
        "医保需要交到多少岁",
        "退休人员医保还要个人缴费吗",
        "医保缴费年限怎么查",
        "医保交了二十年够不够退休",
        "医保年限不足能退休吗",
        "医保终身享受需要什么条件",
        "居民医保要交够多少年",
        "北京医保要交多少年退休才不用交",
        "医保交满年限后退休每月还返钱吗",
        "医保年限是按连续算还是累计算",
        "医保交几年以后就一辈子不用交了",
        "办退休的时候医保年限怎么认定",
        "医保年限不够可以继续交到够吗",
        "女职工医保年限要求多少",
    ),
)
# fmt: on
