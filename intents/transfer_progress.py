"""How long a transfer takes, when the balance arrives, and how to follow its progress."""

from bot.dialog.figures import explain, figure, fmt_date
from bot.dialog.types import Part, Reply, Turn
from bot.policy import Place, TransferKind, classify_transfer, transfer_timeline
from intents.base import Intent


async def handle(turn: Turn) -> Reply:
    """Time limits, and the dates they mean for this application in real working days."""
    s = turn.slots
    kind = TransferKind.CROSS_PROVINCE
    if s.origin and s.destination and s.origin_province and s.destination_province:
        kind = classify_transfer(
            Place(s.origin, s.origin_province), Place(s.destination, s.destination_province)
        )
    if kind is TransferKind.SAME_CITY:
        return Reply(answer=(Part("transfer_progress/same_city"),))
    origin_name = s.origin or s.city
    origin = turn.ctx.city(origin_name)
    applied = s.date if s.date is not None and s.date <= turn.today else turn.today
    timeline = transfer_timeline(applied, kind=kind, origin=origin)
    from_text = f"从{origin_name}转出，" if origin_name else ""
    answer = [
        Part("transfer_progress/answer"),
        Part(
            "transfer_progress/dates",
            {
                "from_text": from_text,
                "applied": "今天" if applied == turn.today else fmt_date(applied),
                "origin_done": fmt_date(timeline.origin_done_by),
                "process_done": fmt_date(timeline.process_done_by),
                "balance_by": fmt_date(timeline.balance_by),
                "balance_latest": fmt_date(timeline.balance_latest),
                "follow_up": fmt_date(timeline.follow_up_on),
            },
        ),
    ]
    city_notes = [p.note for p in timeline.provenance if p.kind == "city"]
    if city_notes and origin_name:
        answer.append(
            Part("transfer_progress/city_timing", {"city": origin_name, "note": city_notes[0]})
        )
    if timeline.calendar_fallback:
        years = "、".join(f"{y}年" for y in timeline.fallback_years)
        answer.append(explain("calendar_fallback", {"wait": years}))
    if any(w in turn.text for w in ("还没", "没到", "没收到", "一直", "超过")):
        answer.append(Part("transfer_progress/slow"))
    figures = (
        figure("origin_done_by", "转出地办结", fmt_date(timeline.origin_done_by), timeline),
        figure(
            "balance_by",
            "余额到账",
            f"{fmt_date(timeline.balance_by)}–{fmt_date(timeline.balance_latest)}",
            timeline,
        ),
    )
    return Reply(
        answer=tuple(answer),
        figures=figures,
        steps=(Part("transfer_progress/steps"),),
        estimate=any(p.kind == "national" for p in timeline.provenance),
    )


INTENT = Intent(
    handler=handle,
    id="transfer_progress",
    extra={"topic": "医保转移"},
    description="转移接续办理时限、余额到账时间、进度查询",
    slots=("origin", "destination"),
    keywords={
        "进度": 3.5,
        "办到哪": 4.0,
        "哪一步": 3.5,
        "到哪一步": 4.0,
        "查进度": 4.5,
        "转+多久": 4.0,
        "转+多长时间": 4.0,
        "转+几天": 4.0,
        "转+多少天": 4.0,
        "转+工作日": 4.0,
        "转+到账": 3.0,
        "转+什么时候": 3.5,
        "转+还没": 2.5,
        "接续+多久": 4.0,
        "接续+几天": 4.0,
        "接续+时间": 2.0,
        "迁移+多久": 4.0,
        "转+时限": 3.0,
        "转+审核": 2.0,
        "转+查询": 1.5,
        "转+一直": 2.0,
        "转+时间": 1.5,
        "工作日": 1.5,
        "到账": 1.0,
        "多久": 0.5,
        "审核中": 2.0,
        "转+办结": 2.5,
        "转+完成": 1.5,
        "转+好了没": 2.5,
        "转+没到": 3.0,
        "转+没收到": 3.0,
        "转+成功": 3.0,
        "状态": 3.0,
        "提交了": 2.0,
        "慢": 1.5,
        "国庆": 1.5,
        "春节": 1.5,
        "转+多少时间": 4.0,
        "时限": 2.5,
        "办好": 1.5,
        "办完": 1.5,
        "转+什么时候到": 2.0,
        "转+啥时候": 3.0,
        "这么久": 2.0,
        "节后": 1.5,
        "能到吗": 2.0,
        "转+到吗": 2.0,
        "入口": 1.5,
        "转移+查询": 2.0,
        "转+了没": 2.0,
        "确认": 1.5,
        "还没转": 3.5,
        "没转过来": 3.5,
        "转过来了吗": 4.5,
        "转过来没": 4.5,
        "转+到了吗": 3.0,
        "转+了吗": 2.0,
        "会不会+慢": 2.0,
    },
    examples=(
        "医保转移一般要多长时间",
        "转出地审核要几个工作日",
        "医保关系转过去大概多久能办好",
        "个人账户余额转移多久到新账户",
        "申请了医保转移怎么查办理进度",
        "跨省转移接续整个流程要多少天",
        "医保转出去半个月了还没到账怎么办",
        "转移申请一直显示审核中正常吗",
        "怎么知道医保转移有没有成功",
        "医保转入要等几天才能用",
        "余额什么时候能转到新的医保卡上",
        "转移接续办结一般多少个工作日",
        "在app上怎么查医保转移到哪一步了",
        "医保转移提交了怎么看状态",
        "南京医保余额转出多久到银行卡",
        "郑州医保余额转到省医保要多久",
        "转移接续国庆期间会不会更慢",
        "医保关系转入地多长时间办完",
        "医保转了一个月了还没转过来",
        "转出之后多久能在新地方报销",
        "医保转移进度查询电话是多少",
        "转移医保要几天 着急用",
        "医保转移手续多久能完成",
        "办了转移接续 钱一直没收到",
        "医保余额划转需要多少时间",
        "转移接续的时限有规定吗",
        "线上申请的转移多久有结果",
    ),
)
