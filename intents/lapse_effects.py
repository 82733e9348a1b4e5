"""Consequences of a lapse: benefits, waiting period, continuous years, money already paid."""

from bot.dialog.figures import explain, figure, fmt_date
from bot.dialog.types import Figure, Part, Reply, Turn
from bot.policy import LapseBucket, LapseCause, Scheme, benefit_resumption
from intents.base import Intent

_SUMMARY = {
    LapseBucket.UP_TO_3: "lapse_effects/summary_short",
    LapseBucket.THREE_TO_6: "lapse_effects/summary_mid",
    LapseBucket.OVER_6: "lapse_effects/summary_long",
}
_CIVIC = ("买房", "购房", "摇号", "落户", "积分", "上学", "入学")


def _scheme(value: str | None) -> Scheme:
    if value == "flexible":
        return Scheme.FLEXIBLE
    if value == "resident":
        return Scheme.RESIDENT
    return Scheme.EMPLOYEE


async def handle(turn: Turn) -> Reply:
    """What a lapse means for this person: by its length, scheme, cause and city."""
    s = turn.slots
    months = s.months
    extra = (Part("lapse_effects/other_effects"),) if any(w in turn.text for w in _CIVIC) else ()
    if months is None or months <= 0:
        # Answer what can be answered now; the length of the lapse refines it, so ask for it
        # once at the end instead of before answering.
        ask = None if "months" in turn.asked else "months"
        answer = [*_lead(turn.text), Part("lapse_effects/summary_general")]
        answer += [explain(k) for k in ("paid_money_kept", "account_usable_no_credit")]
        answer = _first_of_each(answer)  # a lead sentence is not said twice
        answer += [*extra, *((Part("lapse_effects/ask_more"),) if ask else ())]
        return Reply(
            answer=tuple(answer),
            steps=(Part("lapse_effects/steps"),),
            check=(Part("lapse_effects/check"),),
            estimate=True,
            ask=ask,
        )
    result = benefit_resumption(
        _scheme(s.scheme),
        months,
        city=turn.ctx.city(s.city),
        payment_date=s.date,
        cause=LapseCause(s.cause) if s.cause else LapseCause.UNKNOWN,
    )
    wait = _wait_text(result.waiting_months, result.waiting_days)
    common = {"city": s.city or "当地", "wait": wait, "resume_from": fmt_date(result.resume_from)}
    answer = [Part(_SUMMARY[result.bucket], {"place": s.city or "", "months": months})]
    if _is_general(turn.text):  # "之前交的还在吗": that answer goes first
        answer.insert(0, explain("paid_money_kept"))
    figures: list[Figure] = [figure("waiting_period", "等待期", wait, result)]
    if result.resume_from is not None and s.date is not None:
        resume_text = fmt_date(result.resume_from)
        if result.resume_by and result.resume_by != result.resume_from:
            resume_text = f"{resume_text}至{fmt_date(result.resume_by)}之间"
        answer.append(
            Part(
                "lapse_effects/resume_date", {"paid": fmt_date(s.date), "resume_text": resume_text}
            )
        )
        figures.append(figure("resume_date", "恢复待遇", resume_text, result))
    answer.extend(explain(key, common) for key in result.explanation_keys)
    answer.extend(extra)
    return Reply(
        answer=tuple(answer),
        figures=tuple(figures),
        steps=(Part("lapse_effects/steps"),),
        check=(Part("lapse_effects/check"),),
        remember={"months": months},
        estimate=any(p.kind == "national" for p in result.provenance),
    )


def _first_of_each(parts: list[Part]) -> list[Part]:
    kept: list[Part] = []
    for part in parts:
        if all(part.key != k.key for k in kept):
            kept.append(part)
    return kept


def _lead(text: str) -> list[Part]:
    """The sentence that answers the question asked, to say first."""
    if any(w in text for w in ("白交", "白缴", "还在", "作废", "算数", "还算")):
        return [explain("paid_money_kept")]
    if any(w in text for w in ("个人账户", "刷卡", "能用", "买药")):
        return [explain("account_usable_no_credit")]
    if any(w in text for w in ("恢复", "生效", "多久能", "什么时候能")):
        return [explain("resume_month_after_payment"), explain("back_pay_then_wait")]
    if any(w in text for w in ("额度", "封顶", "最高")):
        return [explain("cap_may_drop")]
    if any(w in text for w in ("报销", "看病", "住院", "门诊", "自费")):
        return [explain("benefits_stop_next_month")]
    return []


def _is_general(text: str) -> bool:
    """Questions whose answer does not depend on how long the lapse was."""
    return any(
        w in text for w in ("白交", "白缴", "还在", "作废", "算数", "个人账户", "能用", *_CIVIC)
    )


def _wait_text(months: tuple[int, int], days: tuple[int, int] | None) -> str:
    if days and days[1]:
        return f"{days[0]}天" if days[0] == days[1] else f"{days[0]}–{days[1]}天"
    low, high = months
    if high == 0:
        return "无（补缴后次月恢复）"
    return f"{low}个月" if low == high else f"{low}–{high}个月"


INTENT = Intent(
    handler=handle,
    id="lapse_effects",
    extra={"topic": "医保断缴"},
    description="断缴后果、等待期、连续参保年限、之前的钱是否白交、何时恢复待遇",
    slots=("months", "scheme"),
    keywords={
        "断缴": 2.5,
        "断交": 2.5,
        "断保": 2.5,
        "断了": 1.5,
        "停保": 2.0,
        "停缴": 2.0,
        "中断": 2.0,
        "不交了": 2.0,
        "不想交": 1.5,
        "停交": 2.0,
        "没交": 0.5,
        "后果": 3.5,
        "影响": 3.0,
        "会怎样": 3.5,
        "会怎么样": 3.5,
        "有什么问题": 2.0,
        "白交": 4.0,
        "白缴": 4.0,
        "作废": 3.0,
        "清零": 3.0,
        "还在吗": 3.0,
        "浪费": 2.0,
        "等待期": 4.0,
        "恢复": 3.0,
        "生效": 2.5,
        "重新计算": 3.0,
        "连续": 2.0,
        "累计": 1.0,
        "断缴+报销": 4.0,
        "断交+报销": 4.0,
        "断了+报销": 3.5,
        "停保+报销": 4.0,
        "断缴+看病": 3.0,
        "断了+看病": 3.0,
        "断+住院": 2.0,
        "期间+报销": 2.0,
        "补缴+报销": 3.0,
        "补交+报销": 3.0,
        "补+多久能": 2.0,
        "补+什么时候": 1.5,
        "还能用": 1.5,
        "能用吗": 1.0,
        "买房": 1.0,
        "摇号": 1.0,
        "落户": 1.0,
        "购房": 1.0,
        "积分": 1.5,
        "等多久": 2.0,
        "要等": 1.5,
        "没续上": 3.0,
        "没续": 2.5,
        "补+恢复": 3.0,
        "补+生效": 3.0,
        "补+待遇": 2.5,
        "补+能报": 3.5,
        "补+看病": 2.5,
        "还在不在": 3.0,
        "还在": 1.5,
        "之前交的": 2.0,
        "以前交的": 2.0,
        "没续+报": 3.0,
        "待遇": 1.5,
        "断了+封顶": 3.0,
        "会降": 2.0,
        "重新参保": 2.5,
        "重新参保+报销": 3.0,
        "还算数": 3.0,
        "算数": 2.5,
        "还能用多久": 3.0,
        "离职": 1.0,
        "辞职": 1.0,
        "重新算": 3.0,
        "断": 1.0,
        "停": 1.0,
        "要紧": 2.5,
        "断了+进钱": 2.5,
        "等+天": 2.0,
        "断过": 2.5,
        "断过+额度": 2.0,
        "还认": 2.5,
        "认吗": 2.0,
        "多久才能用": 3.0,
        "刚参保": 2.5,
        "没按时": 2.0,
        "断+刷卡": 3.0,
        "断+门诊": 2.5,
        "停了+看病": 3.0,
        "这期间": 2.5,
        "期间": 1.5,
        "全自费": 2.0,
        "停了": 2.0,
        "算断缴": 3.5,
        "算不算断": 3.5,
        "断+买房": 2.5,
        "断+落户": 2.5,
        "断+摇号": 2.5,
        "断+购房": 2.5,
        "断+上学": 2.5,
        "停+买房": 2.5,
    },
    examples=(
        "医保停了三个月有什么后果",
        "断交医保以后之前交的会不会作废",
        "医保没续上这段时间住院能报吗",
        "断缴以后个人账户里的钱还能刷吗",
        "医保断了重新交要等多久才能报销",
        "断缴超过半年连续年限会清零吗",
        "断保对以后退休有影响吗",
        "医保中断一个月还能正常用吗",
        "补交了之后多久恢复医保待遇",
        "重新参保有等待期吗",
        "断了医保之前的钱算白交了吗",
        "医保停缴会影响孩子上学吗",
        "灵活就业医保断了几个月会怎么样",
        "居民医保没续 明年看病还能报吗",
        "断缴会不会影响买房资格",
        "医保不交了 以前交的还算数吗",
        "断缴后再交 年限是累计还是重新算",
        "医保断了两个月报销比例会降吗",
        "断缴期间生病了怎么办",
        "中间断了一段 医保的连续参保怎么算",
        "停保之后医保卡还能买药吗",
        "医保新交的什么时候开始生效",
        "断了半年医保 最高能报多少会变吗",
        "辞职后医保不交会有什么影响",
        "断缴三个月和断缴六个月有什么区别",
        "断交一年了之前交的年限还在不在",
        "补缴以后看病的钱能报吗",
    ),
)
