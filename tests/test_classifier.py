"""Intent classification: examples route to their own intent, the fallback and damping rules."""

from collections import Counter

import pytest

from bot.nlu.understand import NLU
from intents import ALL, BY_ID


@pytest.fixture(scope="module")
def nlu() -> NLU:
    return NLU.default()


def test_every_intent_has_its_declarations() -> None:
    ids = [i.id for i in ALL]
    assert len(ids) == len(set(ids)) == 15
    for intent in ALL:
        assert len(intent.examples) >= 25, intent.id
        assert intent.keywords, intent.id
        assert intent.handler is not None, intent.id


@pytest.mark.parametrize("intent", ALL, ids=lambda i: i.id)
def test_examples_route_to_their_intent_when_left_out(nlu: NLU, intent) -> None:
    """Each example is classified with itself removed from the similarity index, so this
    measures the keywords and the *other* examples, and catches keyword collisions."""
    wrong = []
    for example in intent.examples:
        got = nlu.understand(example, leave_out=True).intent
        if got != intent.id:
            wrong.append(f"{example} -> {got}")
    # A few borderline sentences may fall to a neighbour; more means a collision.
    assert len(wrong) <= max(1, len(intent.examples) // 10), wrong


def test_leave_one_out_accuracy_overall(nlu: NLU) -> None:
    total = Counter()
    for intent in ALL:
        for example in intent.examples:
            total[nlu.understand(example, leave_out=True).intent == intent.id] += 1
    assert total[True] / sum(total.values()) >= 0.95


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("养老保险怎么转移", "out_of_scope"),  # shares 转移 with transfer
        ("住房公积金怎么提取", "out_of_scope"),  # shares 提取 with withdraw
        ("车险到期了提醒我", "out_of_scope"),  # shares 提醒 with remind_subscribe
        ("意外险能报销门诊吗", "out_of_scope"),
        ("明天会下雨吗", "out_of_scope"),
        ("养老保险和医保都断了三个月有什么影响", "lapse_effects"),  # ours is named too
        ("你好，医保怎么转到北京", "transfer"),  # greeting damped by a real question
        ("你好", "greeting"),
        ("转人工", "human"),
        ("医保停了一个月要紧吗", "lapse_effects"),  # weak evidence but clearly our domain
        # 关 near 提醒 cancels only when it is the reminder being turned off, not set up again
        ("把每个月那个交费提醒关了吧", "remind_cancel"),
        ("我不小心把提醒关了，怎么再设置", "remind_subscribe"),
        ("之前把提醒关了，现在想重新打开提醒", "remind_subscribe"),
        ("收到通知说医保大厅关了，怎么交费", "payment"),
        # 怎么走 is "what is the procedure", not travel; travel alone is out of scope
        ("报销流程怎么走", "reimbursement"),
        ("补缴手续怎么走", "back_payment"),
        ("坐飞机去外地看病异地备案怎么办", "reimbursement"),
        ("郑州到开封怎么坐车", "out_of_scope"),
        ("企业年金能取吗", "out_of_scope"),
        # a double payment is refunded by the payment office; 重疾险 is no double payment
        ("交医保的钱交重了能退吗", "payment"),
        ("用医保个人账户交重疾险可以吗", "family_share"),
        ("我在外地能用医保吗", "reimbursement"),
        ("我的银行卡丢了 医保钱能转到新卡吗", "withdraw"),
        ("医保卡丢了怎么补办", "reimbursement"),
    ],
)
def test_domain_rules(nlu: NLU, text: str, intent: str) -> None:
    assert nlu.understand(text).intent == intent


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        # Cantonese: 几耐 is 多久 (how long a transfer takes), 点样 怎样, 定系 还是
        ("东莞转去惠州嘅医保几耐先搞掂", "transfer_progress"),
        ("珠海转中山嘅医保要几耐", "transfer_progress"),
        ("我喺佛山断咗两个月医保 系唔系要补交", "back_payment"),
        # 提/取 with the balance as object takes it out; 余额 alone is checking it
        ("微信上能提医保个人账户余额吗", "withdraw"),
        ("医保余额可以提到银行卡吗", "withdraw"),
        ("个人账户余额能取吗", "withdraw"),
        ("医保余额怎么查", "balance"),
        ("医保余额还剩多少", "balance"),
        # 补 inside another word is no back payment
        ("公司的补充医疗跟医保可以同时报吗", "reimbursement"),
        ("买了补充医疗保险 和基本医保能一起报销吗", "reimbursement"),
        ("住院伙食补助能报吗", "reimbursement"),
        # arrears: whether any are owed, how many months
        ("查一下我的社保有没有欠缴", "back_payment"),
        ("医保欠没欠费在哪看", "back_payment"),
        ("医保欠了几个月怎么查", "back_payment"),
        # did the transfer go through: progress; can it: transfer
        ("我的职工医保转出去了没", "transfer_progress"),
        ("新农合转过来了没有", "transfer_progress"),
        ("居民医保转走了吗", "transfer_progress"),
        ("职工医保能转过去吗", "transfer"),
        # 人呢 ending a word for people is a follow-up about them, not a call for a human
        ("那个人呢", "out_of_scope"),
        ("老人呢", "out_of_scope"),
        ("病人呢", "out_of_scope"),
        ("人呢", "human"),
        ("人呢 怎么不回", "human"),
        # a story before the question: the question clause carries it
        ("去年断了两个月医保后来补交了，现在要从广州调去佛山，医保要怎么转", "transfer"),
        ("我媳妇是家庭主妇 她的医保怎么交", "payment"),
        ("我老公是开出租的 他的医保怎么交", "payment"),
        ("前几年断过两次后来都补了，现在换单位了，医保要转吗", "transfer"),
        # ... but a question that leans on what came before is read with it
        ("医保停了 卡还能在药店刷吗", "lapse_effects"),
        ("从深圳搬去惠州 医保个人账户余额咋处理", "transfer"),
    ],
)
def test_topic_words_in_context(nlu: NLU, text: str, intent: str) -> None:
    assert nlu.understand(text).intent == intent


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        # paying ahead for next year is paying; a reminder needs a request to be told
        ("明年的居民医保能不能提前缴", "payment"),
        ("下一年度的新农合现在可以先交上吗", "payment"),
        ("可以预缴明年的医保吗", "payment"),
        ("下一年的医保能提前缴费吗", "payment"),
        ("想提前把明年医保交了可以吗", "payment"),
        ("明年开始交医保的时候提前通知我", "remind_subscribe"),
        ("提前两天提醒我交新农合", "remind_subscribe"),
        # using the insurance while in arrears or unpaid: what the lapse does
        ("欠费的医保卡还能刷吗", "lapse_effects"),
        ("居民医保欠费了还能用吗", "lapse_effects"),
        ("欠费的医保还能买药吗", "lapse_effects"),
        ("这个月医保没交 还能用医保看病吗", "lapse_effects"),
        ("欠费了还能补吗", "back_payment"),
        # too late to pay this year, or a never-insured person joining: payment ...
        ("今天交医保还来得及不", "payment"),
        ("这会儿交今年的居民医保还来得及吗", "payment"),
        ("我爸从来没交过新农合，现在还能办吗", "payment"),
        ("现在交今年的还来得及不", "payment"),
        ("老公一直没参保，现在还能交居民医保吗", "payment"),
        ("我奶奶没参加过医保 现在能交吗", "payment"),
        ("孩子从来没买过医保 现在能买吗", "payment"),
        # ... but after a lapse it is arrears
        ("断了两个月现在补还来得及吗", "back_payment"),
        ("欠了三个月 现在交还来得及吗", "back_payment"),
        # when cover starts after enrolling is the waiting period; a claim's payout is not
        ("刚交的居民医保多久才能报销", "lapse_effects"),
        ("新参保的医保多久可以报销", "lapse_effects"),
        ("第一次交了医保要过多久能用", "lapse_effects"),
        ("看病的钱报销多久能到账", "reimbursement"),
        # whom the balance is for
        ("那给我爸用呢", "family_share"),
        ("给老婆用行不行", "family_share"),
    ],
)
def test_what_is_asked_decides_between_neighbours(nlu: NLU, text: str, intent: str) -> None:
    assert nlu.understand(text).intent == intent


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("👋", "greeting"),
        ("🙏🙏", "greeting"),
        ("😊", "greeting"),
        ("👋🏻", "greeting"),  # with a skin tone
        ("你好👋", "greeting"),
        ("[握手]", "greeting"),  # WeChat's own stickers arrive as codes
        ("[抱拳][抱拳]", "greeting"),
        ("😭", "out_of_scope"),
        ("🤔🤔", "out_of_scope"),
        ("🎉", "out_of_scope"),
        ("[流泪]", "out_of_scope"),
        ("🙏 医保怎么转", "transfer"),
    ],
)
def test_emoji_alone(nlu: NLU, text: str, intent: str) -> None:
    assert nlu.understand(text).intent == intent


def test_result_shape(nlu: NLU) -> None:
    u = nlu.understand("从福州调到北京工作,医保里的钱能带走吗")
    assert u.intent == "transfer"
    assert 0.0 <= u.confidence <= 1.0
    assert u.runner_up is not None and u.runner_up != u.intent
    assert u.cities == ("福州市", "北京市")
    assert u.provinces == ("福建省", "北京市")


def test_gibberish_is_out_of_scope_with_low_topic_confidence(nlu: NLU) -> None:
    u = nlu.understand("啊啊啊啊啊")
    assert u.intent == "out_of_scope"
    assert u.runner_up in BY_ID


@pytest.mark.parametrize("text", ["", " ", "😀", "!!!", "\x00", "医" * 10_000])
def test_hostile_text_never_raises(nlu: NLU, text: str) -> None:
    u = nlu.understand(text)
    assert u.intent in BY_ID


# -- qa5: acknowledgements, paying on after a lapse, "will it lapse", delays, Cantonese -------


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        # An acknowledgement alone is a social turn, not a question out of scope.
        ("嗯嗯", "greeting"),
        ("收到", "greeting"),
        ("ok", "greeting"),
        ("好嘞", "greeting"),
        ("懂了", "greeting"),
        # ... but "收到" in a question about money arriving is no acknowledgement.
        ("余额还没收到", "transfer_progress"),
        # Paying on after a lapse is what the lapse leaves, not its arrears.
        ("医保停了半年 还能继续交吗", "lapse_effects"),
        ("断交三个月了以后还可以接着缴吗", "lapse_effects"),
        ("灵活就业断了3个月 现在还能接着交吗", "lapse_effects"),
        ("自由职业医保断了几个月 还可以接着交不", "lapse_effects"),
        ("医保断了两个月还能补交吗", "back_payment"),
        ("我妈62了 医保只交了8年 还能继续交吗", "contribution_years"),
        # Whether a missed month makes a lapse.
        ("居民医保今年没交会不会断", "lapse_effects"),
        ("单位这个月没给交 算断吗", "lapse_effects"),
        ("灵活就业这个月忘交了 会断吗", "lapse_effects"),
        # A holiday holding a transfer up.
        ("会不会是国庆放假耽搁了", "transfer_progress"),
        # 怎样补 / 如何补 (and Cantonese 点样补, normalised to 怎样补) ask how to pay arrears.
        ("社保断了点样补", "back_payment"),
        ("医保断咗怎样补", "back_payment"),
        ("医保断了如何补", "back_payment"),
        ("医保卡怎么补办", "reimbursement"),
        # A reminder's day changed, with the reminder named.
        ("把缴费提醒改到15号", "remind_subscribe"),
        ("提醒时间改成每月10号", "remind_subscribe"),
    ],
)
def test_qa5_kinds_of_message(nlu: NLU, text: str, intent: str) -> None:
    assert nlu.understand(text).intent == intent
