"""Anything not about basic medical insurance: pensions, housing fund, weather, chit-chat.

Its keywords are evidence that a message is about something else even when it shares words
with a topic (养老保险怎么转移 has 转移; 公积金提取 has 提取). Domain words count against it.
"""

from bot.dialog.types import Part, Reply, Turn
from bot.menu import TOPIC_CHOICES
from intents.base import Intent

# Other branches of social insurance get pointed to the right office instead of a shrug.
_OTHER = (
    (("养老", "退休金", "退休工资"), "养老保险", "12333人社服务热线或当地社保经办机构"),
    (("公积金",), "住房公积金", "12329住房公积金热线或当地公积金管理中心"),
    (("失业",), "失业保险", "12333人社服务热线或当地社保经办机构"),
    (("工伤",), "工伤保险", "12333人社服务热线或当地社保经办机构"),
    (
        ("商业保险", "车险", "重疾险", "寿险", "意外险", "医疗险", "理赔"),
        "商业保险",
        "所投保保险公司的客服",
    ),
)


_OURS = ("医保", "医疗保险", "社保", "新农合", "参保")


async def handle(turn: Turn) -> Reply:
    for words, topic, office in _OTHER:
        if any(w in turn.text for w in words):
            return Reply(
                answer=(Part("out_of_scope/other_insurance", {"topic": topic, "office": office}),)
            )
    if not any("\u4e00" <= ch <= "\u9fff" for ch in turn.text):
        # No Chinese at all: a message we could not read ("???", "hello"), not a topic
        # outside ours; say what we can read instead of refusing.
        latin = any(ch.isascii() and ch.isalpha() for ch in turn.text)
        key = "out_of_scope/not_chinese" if latin else "out_of_scope/unreadable"
        return Reply(answer=(Part(key),))
    place = turn.slots.city or turn.slots.province
    if place and len(turn.understanding.text) <= 8:
        # "那北京呢" with nothing before it: a place, no question yet. Ask what about it.
        return Reply(
            answer=(
                Part("out_of_scope/which_topic_place", {"place": place}),
                Part("greeting/menu"),
            ),
            choices=TOPIC_CHOICES,
        )
    if any(w in turn.text for w in _OURS):
        # About medical insurance, just not a question we recognised: offer the topics.
        return Reply(
            answer=(Part("out_of_scope/which_topic"), Part("greeting/menu")), choices=TOPIC_CHOICES
        )
    return Reply(answer=(Part("out_of_scope/unknown"),))


INTENT = Intent(
    handler=handle,
    id="out_of_scope",
    description="养老金、公积金、天气、闲聊等非医保问题",
    keywords={
        "养老": 6.0,
        "养老保险": 9.0,
        "养老金": 9.0,
        "退休金": 6.0,
        "退休工资": 6.0,
        "公积金": 9.0,
        "住房": 2.0,
        "失业金": 8.0,
        "失业保险": 8.0,
        "工伤": 8.0,
        "商业保险": 4.0,
        "重疾险": 5.0,
        "车险": 6.0,
        "寿险": 5.0,
        "意外险": 5.0,
        "天气": 6.0,
        "下雨": 6.0,
        "下雪": 6.0,
        "气温": 5.0,
        "电影": 6.0,
        "电视剧": 6.0,
        "笑话": 6.0,
        "股票": 6.0,
        "基金": 1.0,
        "彩票": 6.0,
        "贷款": 5.0,
        "房贷": 6.0,
        "个税": 5.0,
        "个人所得税": 5.5,
        "吃什么": 5.0,
        "做饭": 5.0,
        "菜谱": 6.0,
        "游戏": 5.0,
        "唱歌": 5.0,
        "写作业": 5.0,
        "作文": 5.0,
        "翻译": 5.0,
        "旅游": 5.0,
        "景点": 5.0,
        "足球": 5.0,
        "篮球": 5.0,
        "快递": 4.0,
        "外卖": 5.0,
        "违章": 5.0,
        "驾照": 5.0,
        "身份证丢了": 4.0,
        "护照": 4.0,
        "签证": 5.0,
        "结婚": 3.0,
        "离婚": 4.0,
        "房价": 5.0,
        "工资条": 3.0,
        "加班": 4.0,
        "请假": 3.0,
        "推荐": 2.0,
        "讲个": 3.0,
        "聊天": 3.0,
        "几点了": 5.0,
        "星座": 5.0,
        "手机号": 2.0,
        "话费": 5.0,
        "流量": 4.0,
        "wifi": 4.0,
        "医保": -8.0,
        "医疗保险": -8.0,
        "医保卡": -8.0,
        "新农合": -8.0,
        "个人账户": -3.0,
        "统筹": -3.0,
        "共济": -4.0,
        "社保卡": -1.0,
        "参保": -3.0,
        "个账": -3.0,
        "灵活就业": -2.0,
        "起付线": -4.0,
        "封顶线": -4.0,
        "12393": -4.0,
        "学平险": 6.0,
        "商业医疗险": 6.0,
        "医疗险": 4.0,
        "理赔": 5.0,
        "生育津贴": 6.0,
        "津贴": 3.0,
        "保险公司": 5.0,
        "领多少钱": 4.0,
        "能领多少": 4.0,
        "退休+领": 3.0,
        "惠民保": 5.0,
        "企业年金": 8.0,
        "职业年金": 8.0,
        "年金": 4.0,
        "坐车": 4.0,
        "坐高铁": 4.0,
        "高铁": 2.0,
        "火车": 2.0,
        "飞机": 2.0,
        "机票": 4.0,
        "车票": 4.0,
        "多远": 3.0,
        "导航": 4.0,
    },
    examples=(
        "养老金每年涨多少",
        "公积金怎么提取出来",
        "明天北京天气怎么样",
        "给我讲个笑话",
        "今天股市怎么样",
        "失业金怎么领",
        "养老保险交满十五年退休能拿多少",
        "公积金贷款利率是多少",
        "个税怎么退",
        "周末去哪里玩",
        "晚饭吃什么好",
        "帮我翻译一句英语",
        "驾照扣分怎么处理",
        "工伤认定需要什么材料",
        "房贷提前还款划算吗",
        "最近有什么好看的电视剧",
        "养老保险断了可以补吗",
        "住房公积金异地转移怎么办",
        "退休工资怎么算",
        "车险哪家便宜",
        "快递到哪了",
        "你喜欢什么颜色",
        "手机话费怎么充",
        "失业保险能转到外地吗",
        "护照过期怎么换",
    ),
)
