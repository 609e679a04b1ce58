"""Enumerations of the customer record: API codes (SPEC §1) with zh-CN and en labels."""

from enum import StrEnum


class CustomerKind(StrEnum):
    ENTERPRISE = "enterprise"
    INDIVIDUAL = "individual"


class Lifecycle(StrEnum):
    PROSPECT = "prospect"
    INTENT = "intent"
    WON = "won"
    LOST = "lost"


class ActivityStatus(StrEnum):
    ACTIVE = "active"
    DORMANT = "dormant"
    CHURNED = "churned"


class Grade(StrEnum):
    A = "A"
    B = "B"
    C = "C"


class Channel(StrEnum):
    """Marketing channels a contact may opt out of."""

    EMAIL = "email"
    SMS = "sms"
    WECHAT = "wechat"


class LeadSource(StrEnum):
    EXHIBITION = "exhibition"
    ONLINE_FORM = "online_form"
    REFERRAL = "referral"
    COLD_CALL = "cold_call"
    ADVERTISING = "advertising"
    PARTNER = "partner"
    WALK_IN = "walk_in"
    OTHER = "other"


class ReviewStatus(StrEnum):
    """New-record review (switched on by configuration)."""

    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"


class Recommendation(StrEnum):
    IMPROVE = "improve"
    MAINTAIN = "maintain"
    TERMINATE = "terminate"


LABELS: dict[type[StrEnum], dict[str, tuple[str, str]]] = {
    CustomerKind: {
        "enterprise": ("企业客户", "Enterprise"),
        "individual": ("个人客户", "Individual"),
    },
    Lifecycle: {
        "prospect": ("潜在客户", "Prospect"),
        "intent": ("意向客户", "Intent"),
        "won": ("成交客户", "Won"),
        "lost": ("流失客户", "Lost"),
    },
    ActivityStatus: {
        "active": ("活跃", "Active"),
        "dormant": ("沉睡", "Dormant"),
        "churned": ("流失", "Churned"),
    },
    Grade: {
        "A": ("A级(高价值)", "A (high value)"),
        "B": ("B级", "B"),
        "C": ("C级", "C"),
    },
    Channel: {"email": ("邮件", "Email"), "sms": ("短信", "SMS"), "wechat": ("微信", "WeChat")},
    LeadSource: {
        "exhibition": ("展会", "Exhibition"),
        "online_form": ("线上表单", "Online form"),
        "referral": ("转介绍", "Referral"),
        "cold_call": ("电话开发", "Cold call"),
        "advertising": ("广告", "Advertising"),
        "partner": ("合作伙伴", "Partner"),
        "walk_in": ("上门咨询", "Walk-in"),
        "other": ("其他", "Other"),
    },
    ReviewStatus: {
        "pending": ("待审核", "Pending review"),
        "approved": ("已通过", "Approved"),
        "rejected": ("已驳回", "Rejected"),
    },
    Recommendation: {
        "improve": ("改进关系", "Improve the relationship"),
        "maintain": ("维持关系", "Maintain the relationship"),
        "terminate": ("终止关系", "Terminate the relationship"),
    },
}
