"""The kinds of notification the notifier sends, what each is about, and the facts its
templates may use (``docs/notifier.md`` lists them for template authors).

``category``: ``transactional`` messages (a ticket's survey, an assignment, an alert) go to a
contact whatever their marketing opt-out; ``marketing`` ones never reach an opted-out contact.
``urgent`` messages (an SLA breach) ignore quiet hours; the others wait for them to end.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Kind(StrEnum):
    REMINDER = "reminder"
    TICKET_ASSIGNED = "ticket_assigned"
    SLA_WARNING = "sla_warning"
    SLA_BREACHED = "sla_breached"
    SURVEY = "survey"
    CALLBACK_DUE = "callback_due"
    OWNER_CHANGED = "owner_changed"
    CHANGE_REQUEST = "change_request"
    OPPORTUNITY_WON = "opportunity_won"
    WEBHOOK_DISABLED = "webhook_disabled"
    MESSAGE = "message"


class Category(StrEnum):
    TRANSACTIONAL = "transactional"
    MARKETING = "marketing"


@dataclass(frozen=True)
class KindInfo:
    label_zh: str
    label_en: str
    urgent: bool
    # The names a template of this kind may use (beyond ``recipient_name`` and ``link``).
    facts: tuple[str, ...]


KINDS: dict[Kind, KindInfo] = {
    Kind.REMINDER: KindInfo(
        "跟进提醒", "Reminder", False, ("title", "due_at", "customer_id", "late")
    ),
    Kind.TICKET_ASSIGNED: KindInfo(
        "工单分配",
        "Ticket assigned",
        False,
        ("code", "title", "customer_name", "priority", "reason"),
    ),
    Kind.SLA_WARNING: KindInfo(
        "SLA 预警",
        "SLA warning",
        False,
        ("code", "title", "customer_name", "clock", "due_at", "priority"),
    ),
    Kind.SLA_BREACHED: KindInfo(
        "SLA 超时",
        "SLA breached",
        True,
        ("code", "title", "customer_name", "clock", "due_at", "priority"),
    ),
    Kind.SURVEY: KindInfo(
        "满意度调查", "Satisfaction survey", False, ("code", "title", "customer_name", "expires_at")
    ),
    Kind.CALLBACK_DUE: KindInfo(
        "回访提醒", "Callback due", False, ("code", "title", "customer_name", "due_at")
    ),
    Kind.OWNER_CHANGED: KindInfo(
        "客户移交", "Customer transferred", False, ("customer_code", "customer_name", "reason")
    ),
    Kind.CHANGE_REQUEST: KindInfo(
        "待审批变更",
        "Change awaiting approval",
        False,
        ("customer_code", "customer_name", "fields"),
    ),
    Kind.OPPORTUNITY_WON: KindInfo(
        "商机成交", "Opportunity won", False, ("code", "customer_id", "amount", "owner_id")
    ),
    Kind.WEBHOOK_DISABLED: KindInfo(
        "Webhook 已停用", "Webhook disabled", True, ("partner", "url", "reason")
    ),
    Kind.MESSAGE: KindInfo("消息", "Message", False, ("subject", "text")),
}
LOCALES = ("zh-CN", "en")
