"""National defaults: every figure used when a place has no figure of its own.

Each default names its basis (source file id in shared/sources, policy-facts section or national
document) and is labelled ``kind="national"``, so a reply built on it says it is an estimate.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from types import MappingProxyType
from typing import TypeVar

from region_data.city_policy import (
    NATIONAL_LABEL,
    CollectionWindow,
    Provenance,
    RateRange,
    Sourced,
)

T = TypeVar("T")


def national(source: str, as_of: str | int, note: str) -> Provenance:
    """Provenance of a national default."""
    return Provenance(kind="national", source=source, as_of=as_of, note=note)


def _default(value: T, source: str, as_of: str | int, note: str) -> Sourced[T]:
    return Sourced(value, national(source, as_of, note))


LABEL = NATIONAL_LABEL

# --- money -----------------------------------------------------------------------------------
CONTRIBUTION_RATE = _default(
    RateRange(Decimal("0.10"), Decimal("0.12")),
    "000, 003, 004",
    2025,
    "补缴按单位+个人合计缴费比例10%–12%估算",
)
LATE_FEE_DAILY_RATE = _default(
    Decimal("0.0005"),
    "000, 003, 004",
    2025,
    "个人原因欠费按日加收欠费额万分之五的滞纳金（部分地区收取）",
)
IN_SERVICE_CREDIT_RATE = _default(
    Decimal("0.02"),
    "国办发〔2021〕14号",
    2021,
    "在职职工个人账户每月划入本人缴费，一般为缴费基数的2%",
)
RETIREE_CREDIT_RULE = national(
    "国办发〔2021〕14号",
    2021,
    "退休人员个人账户由统筹基金按定额划入，金额由各省确定（约为改革当年当地基本养老金平均水平的2%）",
)
NO_RESIDENT_ACCOUNT = national("policy-facts §7", 2025, "居民医保一般不设个人账户")
REFERENCE_REQUIRED_YEARS = _default(
    15,
    "000, 003; policy-facts §8",
    2025,
    "医保最低缴费年限各地不同，常见参考15年（不少城市为男25年、女20年）",
)

# --- lapse -----------------------------------------------------------------------------------
LAPSE_CONSEQUENCES = national(
    "000, 002, 003",
    2025,
    "断缴次月起暂停待遇；已缴费用和缴费年限保留；个人账户余额可用但不再划入",
)
SHORT_LAPSE_MONTHS = _default(
    3, "000, 003, 004", 2025, "断缴3个月内多数地区可补缴，补缴后次月恢复待遇"
)
MEDIUM_LAPSE_MONTHS = _default(
    6, "000, 003, 004", 2025, "断缴超过6个月可能需按新参保办理，连续参保年限清零"
)
MEDIUM_LAPSE_WAIT_MONTHS = _default(
    (1, 6), "000, 003, 004", 2025, "断缴3–6个月，部分地区补缴后需等待1–6个月恢复待遇"
)
LONG_LAPSE_WAIT_MONTHS = _default(6, "000, 003", 2025, "断缴超过3个月重新参保，等待期通常为6个月")
OVERDUE_DAYS_RULE = national(
    "000, 003, 004",
    2025,
    "逾期天数未知时按各月月底到期、今天补缴估算（每月按30天），滞纳金按日万分之五",
)
YEARS_TOP_UP = national(
    "000, 003, 004",
    2025,
    "退休时累计缴费年限不足的，不少地方可一次性补缴至规定年限（也有地方要求继续按月缴费），"
    "金额约为缴费基数 × 费率 × 所差月数",
)
CONTINUOUS_RESET = national(
    "000, 003, 004",
    2025,
    "断缴超过3个月再续保，连续参保年限重新计算，可能影响年度最高支付限额",
)
EMPLOYER_BACK_PAYMENT = national(
    "000, 003, 004",
    2025,
    "单位原因断缴由单位补缴，个人不承担滞纳金，断缴期间费用可追溯报销",
)
RESIDENT_LATE_WAIT_MONTHS = _default(
    3, "003", 2025, "居民错过集中参保期后补缴，有3个月待遇等待期（2025年做法）"
)

# --- residents' collection period --------------------------------------------------------------
RESIDENT_COLLECTION = _default(
    CollectionWindow(start_month=9, start_day=1, end_month=12, end_day=31),
    "policy-facts §9",
    2025,
    "居民医保集中缴费期一般在上一年秋季开始（多为9月或10月），12月31日截止",
)
# Many provinces open in October rather than September; the estimate gives both.
RESIDENT_COLLECTION_LATEST_OPEN = (10, 1)
RESIDENT_BACK_PAYMENT_WINDOWS: Mapping[int, Sourced[tuple[date, date]]] = MappingProxyType(
    {
        2025: _default(
            (date(2025, 1, 1), date(2025, 3, 31)),
            "003",
            2025,
            "2025年1月1日至3月31日为城乡居民医保补缴期，补缴后有3个月等待期",
        )
    }
)
FLEXIBLE_MONTHLY_DUE = national(
    "policy-facts §9", 2025, "灵活就业人员一般按月缴费，在当月月底前缴清；具体日期各地不同"
)

# --- transfer --------------------------------------------------------------------------------
ORIGIN_WORKING_DAYS = _default(10, "001", 2025, "转出地一般在10个工作日内办结")
CROSS_PROVINCE_WORKING_DAYS = _default(15, "001", 2025, "跨省转移接续全流程不超过15个工作日")
BALANCE_WORKING_DAYS = _default(
    (15, 30), "000, 001", 2025, "个人账户余额一般15个工作日内到账，慢的15–30个工作日"
)
FOLLOW_UP_MONTHS = _default(1, "001", 2025, "申请后约1个月查询转移结果")
CALENDAR_FALLBACK = national(
    "chinese_calendar",
    "未公布年份",
    "该年放假安排尚未公布，按周末和法定节假日估算工作日，调休和连休未计入，实际可能顺延",
)
CROSS_PROVINCE_BALANCE = national(
    "000, 001",
    2025,
    "跨省转移职工医保时个人账户余额随关系转移，统筹基金不转移；无法直接划转的可申请转入本人银行账户",
)
YEARS_ADD_UP = national(
    "社会保险法 第三十二条", 2018, "跨统筹地区就业，医保关系随本人转移，缴费年限累计计算"
)
INTRA_PROVINCE_VARIES = national(
    "000", 2025, "省内转移时个人账户余额是否随转各省规定不同，以当地为准"
)
SAME_CITY = national(
    "policy-facts §1", 2025, "同一统筹地区（同一城市）内换单位无需办理跨地区转移接续"
)
RESIDENT_TRANSFER = national(
    "001", 2025, "居民医保户籍或常住地变动后，先在新参保地参加下一年度居民医保，再申请转移接续"
)
TRANSFER_CONDITIONS = national("001", 2025, "申请前原参保地需已停保且无欠费，新参保地已正常参保")

# --- withdrawal ------------------------------------------------------------------------------
WITHDRAWAL = national(
    "004",
    2025,
    "个人账户一般不能提取，仅出国定居、长期异地居住、新参保地不接收、部分地区大病、参保人去世、"
    "部分地区放弃职工医保等情形可申请；提取后个人账户注销",
)
LONG_TERM_ELSEWHERE_MONTHS = _default(
    6, "004", 2025, "异地就医备案后满6个月未在参保地就医，可申请提取"
)
NO_CASH_TO_WALLET = national(
    "policy-facts §5",
    2025,
    "个人账户余额不能转到微信或支付宝；可用微信、支付宝里的医保电子凭证在药店等支付",
)

# --- reimbursement caps and fees ------------------------------------------------------------
EMPLOYEE_CAP_EXAMPLE = _default(
    Decimal("350000"),
    "policy-facts §10 (002)",
    2025,
    "职工医保年度最高支付限额常见约35万元，各地不同",
)
RESIDENT_CAP_EXAMPLE = _default(
    Decimal("300000"),
    "policy-facts §10 (002)",
    2025,
    "居民医保年度最高支付限额常见约30万元，各地不同",
)
CRITICAL_ILLNESS_CAP_EXAMPLE = _default(
    Decimal("1000000"),
    "policy-facts §10 (002)",
    2025,
    "加上大病保险后年度最高支付可达约100万元，各地不同",
)
NEWBORN_VARIES = national(
    "policy-facts §9", 2025, "新生儿参保期限、待遇起始时间和缴费标准各地不同，以当地为准"
)
