"""Enumerations of follow-ups, reminders and plans: API codes (SPEC §2) with zh-CN and en
labels, served by ``GET /v1/engagement/enums`` for UIs."""

from enum import StrEnum


class FollowUpMethod(StrEnum):
    PHONE = "phone"
    VISIT = "visit"
    EMAIL = "email"
    WECHAT = "wechat"
    MEETING = "meeting"
    SMS = "sms"  # the half-yearly greeting of grade C plans
    SYSTEM = "system"  # written by the service itself (a resolved complaint), never by a person


class Feedback(StrEnum):
    POSITIVE = "positive"
    NEUTRAL = "neutral"
    NEGATIVE = "negative"


class Outcome(StrEnum):
    CONTINUE = "continue"
    PRIORITY = "priority"
    PAUSED = "paused"
    WON = "won"
    INVALID = "invalid"


class ReminderKind(StrEnum):
    NEXT_FOLLOW_UP = "next_follow_up"
    ACTION_ITEM_OVERDUE = "action_item_overdue"
    CADENCE_OVERDUE = "cadence_overdue"
    FIRST_FOLLOW_UP_MISSING = "first_follow_up_missing"
    PLAN_TASK = "plan_task"


class PlanTouch(StrEnum):
    CALL = "call"
    VISIT = "visit"
    GIFT = "gift"
    GREETING = "greeting"


class PlanTaskStatus(StrEnum):
    OPEN = "open"
    DONE = "done"
    CANCELLED = "cancelled"


LABELS: dict[type[StrEnum], dict[str, tuple[str, str]]] = {
    FollowUpMethod: {
        "phone": ("电话", "Phone"),
        "visit": ("拜访", "Visit"),
        "email": ("邮件", "Email"),
        "wechat": ("微信", "WeChat"),
        "meeting": ("会议", "Meeting"),
        "sms": ("短信", "SMS"),
        "system": ("系统", "System"),
    },
    Feedback: {
        "positive": ("积极", "Positive"),
        "neutral": ("中性", "Neutral"),
        "negative": ("消极", "Negative"),
    },
    Outcome: {
        "continue": ("持续跟进", "Continue"),
        "priority": ("需重点跟进", "Priority"),
        "paused": ("暂缓跟进", "Paused"),
        "won": ("成交", "Won"),
        "invalid": ("无效", "Invalid"),
    },
    ReminderKind: {
        "next_follow_up": ("下次跟进提醒", "Next follow-up"),
        "action_item_overdue": ("行动项逾期", "Action item overdue"),
        "cadence_overdue": ("跟进频率逾期", "Cadence overdue"),
        "first_follow_up_missing": ("新客户未首次跟进", "First follow-up missing"),
        "plan_task": ("维护计划任务", "Maintenance plan task"),
    },
    PlanTouch: {
        "call": ("电话回访", "Call"),
        "visit": ("上门拜访", "Visit"),
        "gift": ("节日礼品", "Holiday gift"),
        "greeting": ("短信/邮件问候", "SMS/email greeting"),
    },
    PlanTaskStatus: {
        "open": ("待办", "Open"),
        "done": ("已完成", "Done"),
        "cancelled": ("已取消", "Cancelled"),
    },
}

ENUM_NAMES: dict[str, type[StrEnum]] = {
    "followup_method": FollowUpMethod,
    "followup_feedback": Feedback,
    "followup_outcome": Outcome,
    "reminder_kind": ReminderKind,
    "plan_touch": PlanTouch,
    "plan_task_status": PlanTaskStatus,
}


def label(enum: type[StrEnum], code: str) -> str:
    """The zh-CN label of ``code`` (the code itself if unknown)."""
    return LABELS[enum].get(code, (code, code))[0]
