"""The codes of the service desk (SPEC §3), each with its Chinese and English label."""

from enum import StrEnum


class TicketType(StrEnum):
    CONSULTATION = "consultation"
    COMPLAINT = "complaint"
    SUGGESTION = "suggestion"
    TECH_SUPPORT = "tech_support"
    REPAIR = "repair"
    VISIT = "visit"


class Priority(StrEnum):
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"


class TicketStatus(StrEnum):
    PENDING_ASSIGNMENT = "pending_assignment"
    IN_PROGRESS = "in_progress"
    RESOLVED = "resolved"
    CLOSED = "closed"


class Mood(StrEnum):
    """A complaining customer's mood, so whoever calls back knows what to expect."""

    AGITATED = "agitated"
    CALM = "calm"
    DISAPPOINTED = "disappointed"


class Channel(StrEnum):
    """How the ticket reached us."""

    PHONE = "phone"
    EMAIL = "email"
    WEB = "web"
    WECHAT = "wechat"
    VISIT = "visit"
    OTHER = "other"


LABELS: dict[str, dict[str, tuple[str, str]]] = {
    "ticket_type": {
        TicketType.CONSULTATION: ("咨询", "Consultation"),
        TicketType.COMPLAINT: ("投诉", "Complaint"),
        TicketType.SUGGESTION: ("建议", "Suggestion"),
        TicketType.TECH_SUPPORT: ("技术支持", "Technical support"),
        TicketType.REPAIR: ("维修", "Repair"),
        TicketType.VISIT: ("上门服务", "On-site visit"),
    },
    "priority": {
        Priority.HIGH: ("高", "High"),
        Priority.MEDIUM: ("中", "Medium"),
        Priority.LOW: ("低", "Low"),
    },
    "status": {
        TicketStatus.PENDING_ASSIGNMENT: ("待分配", "Pending assignment"),
        TicketStatus.IN_PROGRESS: ("处理中", "In progress"),
        TicketStatus.RESOLVED: ("已解决", "Resolved"),
        TicketStatus.CLOSED: ("已关闭", "Closed"),
    },
    "channel": {
        Channel.PHONE: ("电话", "Phone"),
        Channel.EMAIL: ("邮件", "Email"),
        Channel.WEB: ("网站", "Web"),
        Channel.WECHAT: ("微信", "WeChat"),
        Channel.VISIT: ("到访", "Walk-in or visit"),
        Channel.OTHER: ("其他", "Other"),
    },
    "mood": {
        Mood.AGITATED: ("激动", "Agitated"),
        Mood.CALM: ("平和", "Calm"),
        Mood.DISAPPOINTED: ("失望", "Disappointed"),
    },
}
# Tickets after which a callback (回访) is scheduled once resolved (seed 003 维修回访).
CALLBACK_TYPES = frozenset({TicketType.REPAIR, TicketType.VISIT})
